/**
 * Kernel commands (undo, redo, fill, fill_polygon, interpolate, replace; net/protocol.js
 * `COMMANDS`): a `command` message sent once every batch painted before it went out (so it cannot
 * overtake them), and its `command.result` (or `error`) shown in the status line: an error as the
 * error, else what the command's `done` callback says (undo/redo: "nothing to undo" when there was
 * nothing).
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
    /** @type {Map<string, {name: string, done: ((changed: number) => void)|null}>} by command id */
    this.sent = new Map();
  }

  /**
   * Send a command (offline: say it needs the kernel).
   * @param {string} name one of `COMMANDS`
   * @param {object} [fields] its arguments (see net/protocol.js `COMMANDS`)
   * @param {(changed: number) => void} [done] on success, with `command.result.changed`
   */
  run(name, fields = {}, done = null) {
    if (!this.conn.online) {
      this.queue.flush();
      this.status.flash(`offline: ${name} needs the kernel`);
      this.status.update();
      return;
    }
    // after every painted batch went out, so the command cannot overtake them
    this.queue.afterSent(() => {
      const id = newId();
      let msg;
      try {
        msg = make("command", { ...fields, id, name });
      } catch (err) {
        this.status.showError(`${name}: ${err.message}`);
        return;
      }
      this.sent.set(id, { name, done });
      this.send(msg);
    });
  }

  /**
   * A `command.result` for one of this view's commands: an error, or "nothing to …", shown.
   * @param {object} msg validated message
   */
  result(msg) {
    const sent = this.sent.get(msg.reply_to);
    if (sent === undefined) return;
    this.sent.delete(msg.reply_to);
    const { name, done } = sent;
    if (!msg.ok) this.status.showError(msg.error ?? `${name} failed`);
    else if (done) done(msg.changed ?? 0);
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
