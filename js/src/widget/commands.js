/**
 * Undo and redo: a `command` message sent once every batch painted before it went out (so it
 * cannot overtake them), and its `command.result` (or `error`) shown in the status line.
 * @module widget/commands
 */

import { newId } from "../net/ids.js";
import { make } from "../net/protocol.js";

/** The commands one view sent and awaits answers to. */
export class Commands {
  /**
   * @param {object} p
   * @param {(msg: object, buffers?: ArrayBuffer[]) => void} p.send to the kernel
   * @param {import("../net/connection.js").Connection} p.conn commands need the kernel
   * @param {import("../net/editqueue.js").EditQueue} p.queue batches go out first
   * @param {import("../ui/status.js").StatusLine} p.status
   */
  constructor({ send, conn, queue, status }) {
    Object.assign(this, { send, conn, queue, status });
    /** @type {Map<string, string>} command id -> name */
    this.sent = new Map();
  }

  /**
   * Send a command (offline: say it needs the kernel).
   * @param {"undo"|"redo"} name
   */
  run(name) {
    if (!this.conn.online) {
      this.queue.flush();
      this.status.flash(`offline: ${name} needs the kernel`);
      this.status.update();
      return;
    }
    // after every painted batch went out, so the command cannot overtake them
    this.queue.afterSent(() => {
      const id = newId();
      this.sent.set(id, name);
      this.send(make("command", { id, name }));
    });
  }

  /**
   * A `command.result` for one of this view's commands: an error, or "nothing to …", shown.
   * @param {object} msg validated message
   */
  result(msg) {
    const name = this.sent.get(msg.reply_to);
    if (name === undefined) return;
    this.sent.delete(msg.reply_to);
    if (!msg.ok) this.status.showError(msg.error ?? `${name} failed`);
    else if (msg.changed === 0) this.status.flash(`nothing to ${name}`);
    this.status.update();
  }

  /**
   * An `error` message: shown if it answers one of this view's commands.
   * @param {object} msg validated message
   * @returns {boolean} whether it did
   */
  failed(msg) {
    if (msg.reply_to === undefined || !this.sent.has(msg.reply_to)) return false;
    this.sent.delete(msg.reply_to);
    this.status.showError(msg.error);
    return true;
  }
}
