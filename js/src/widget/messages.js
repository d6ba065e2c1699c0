/**
 * Kernel → view message routing. Every message is validated (net/protocol.js) first; then:
 * - `pong` (and `welcome`): the connection's (net/connection.js), which brings the view online;
 *   a `welcome` to this view's `hello` with another protocol version is shown as an error;
 * - `edits.ack` / `edits.reject`: the edit queue's (net/editqueue.js);
 * - `command.result`: the commands' (widget/commands.js);
 * - `chunks.data` / `chunks.changed`: the chunk client's (net/client.js), and those of the `view`
 *   trait's extra panels (widget/viewmodes.js: slice views, the 3D panel's brick client);
 * - `error`: whoever sent what it answers (an edit batch: a reject; a command; a tile request),
 *   shown in the status line; an error answering nothing of this view's shows only when it
 *   answers its `hello` or nothing at all;
 * - `cache.clear`: empty the persistent chunk cache;
 * - `labels.counts`: the label panel's (widget/labels.js);
 * - `pending.discard`: ask the user, then drop this map's pending batches (widget/discard.js);
 * - `screenshot`: answered with a PNG of the view's panels (widget/capture.js).
 * Replies to other views' requests are ignored (they carry ids this view did not make).
 * @module widget/messages
 */

import { PROTOCOL_VERSION, ProtocolError, validate } from "../net/protocol.js";
import { askDiscard } from "./discard.js";

/**
 * Handle one kernel message in view `vox`.
 * @param {import("./voxview.js").VoxView} vox
 * @param {object} msg
 * @param {Array<DataView|ArrayBuffer>} buffers
 */
export function routeMessage(vox, msg, buffers) {
  const { status } = vox;
  try {
    validate(msg, buffers.length, "kernel");
  } catch (err) {
    if (err instanceof ProtocolError) {
      console.warn("voxwidget: bad message from the kernel:", err.message);
      status.showError(`bad message: ${err.message}`);
      return;
    }
    throw err;
  }
  if (vox.conn.received(msg)) return; // the heartbeat's pong
  switch (msg.kind) {
    case "pending.discard":
      askDiscard(vox);
      return;
    case "cache.clear":
      vox.clearCache();
      return;
    case "labels.counts":
      vox.labels.handle(msg);
      return;
    case "screenshot":
      vox.capture.answer(msg);
      return;
    case "welcome":
      if (msg.reply_to === vox.helloId && msg.protocol !== PROTOCOL_VERSION) {
        status.showError(
          `kernel speaks protocol ${msg.protocol}, this view ${PROTOCOL_VERSION}: reload the page`,
        );
      }
      return;
    case "edits.ack":
    case "edits.reject":
      vox.queue.handle(msg);
      status.update();
      return;
    case "command.result":
      vox.commands.result(msg);
      return;
    case "error":
      if (msg.reply_to !== undefined && vox.queue.store.get(msg.reply_to)) {
        vox.queue.handle({ kind: "edits.reject", reply_to: msg.reply_to, error: msg.error });
        status.update();
        return;
      }
      if (vox.commands.failed(msg)) return;
      if (vox.client.handle(msg, buffers) || vox.modes?.clients.some((c) => c.handle(msg, buffers))) {
        status.showError(msg.error);
        return;
      }
      if (msg.reply_to === undefined || msg.reply_to === vox.helloId) status.showError(msg.error);
      return;
    default:
      // replies go to the client that asked (ids are unique); change notices to every client
      if (vox.client.handle(msg, buffers) && msg.kind === "chunks.data") return;
      for (const c of vox.modes?.clients ?? [])
        if (c.handle(msg, buffers) && msg.kind === "chunks.data") return;
  }
}
