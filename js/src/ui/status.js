/**
 * The status line of one view (its elements made by ui/dom.js): the voxel under the cursor with
 * its image value and label id, the loading progress, and the sync state (`voxwidget-sync`:
 * "saved", "pending N", "kernel busy (N pending)" (a cell is running: edits wait, stored),
 * "offline (N pending)", "replaying N" or the last error; a passing note such
 * as "nothing to undo" shows in place of "saved" for 2 s).
 * @module ui/status
 */

const STATUS_MS = 100; // the status line follows streaming progress at most this often
const NOTE_MS = 2000; // a note shows this long

/** One view's status line, and its sync state (see the module doc). */
export class StatusLine {
  /**
   * @param {object} p
   * @param {{readout: HTMLElement, loading: HTMLElement, sync: HTMLElement}} p.ui from `buildUI`
   * @param {import("../views/view2d.js").View2D} p.view the cursor and the values under it
   * @param {import("../net/client.js").ChunkClient} p.client loading progress
   * @param {import("../net/editqueue.js").EditQueue} p.queue pending and replaying batches
   * @param {import("../net/connection.js").Connection} p.conn online/offline (and why)
   * @param {() => void} [p.onUpdate] after every update (the sync_status report)
   */
  constructor({ ui, view, client, queue, conn, onUpdate = () => {} }) {
    Object.assign(this, { ui, view, client, queue, conn, onUpdate });
    this.error = null; // last error shown in the sync status
    this.note = null; // a passing note shown instead of "saved"
    this.noteTimer = undefined;
    this.statusTimer = null;
    this.disposed = false;
  }

  /**
   * Show an error in the sync status (until a new stroke clears it).
   * @param {string} text
   */
  showError(text) {
    this.error = text;
    this.update();
  }

  /**
   * Show a note in place of "saved" for a moment.
   * @param {string} text
   */
  flash(text) {
    this.note = text;
    this.update();
    clearTimeout(this.noteTimer);
    this.noteTimer = setTimeout(() => {
      this.note = null;
      this.update();
    }, NOTE_MS);
  }

  /**
   * Update the status line soon (at most every STATUS_MS while tiles stream: its text changes
   * relayout the notebook page, which cost frames while scrolling).
   */
  soon() {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      if (!this.disposed) this.update();
    }, STATUS_MS);
  }

  /** Update the status line now. */
  update() {
    const { readout, loading, sync } = this.ui;
    const cur = this.view.state.cursor;
    if (cur) {
      const p = this.view.voxelAt(cur.x, cur.y);
      if (this.view.inside(p)) {
        const vals = this.view.valuesAt(p);
        readout.textContent = `z y x = ${p.join(" ")}  image ${vals.image ?? "…"}  label ${vals.label ?? "…"}`;
      } else readout.textContent = `z y x = ${p.join(" ")}  (outside)`;
    }
    const { loading: n, total } = this.client.progress();
    const more = this.extra?.() ?? ""; // the 3D panel's brick progress (widget/viewmodes.js)
    const loadText = [n ? `loading ${total - n}/${total}` : "", more].filter(Boolean).join("  ");
    if (loading.textContent !== loadText) loading.textContent = loadText;
    const { state, text } = this.syncState();
    if (sync.textContent !== text) sync.textContent = text;
    sync.title = this.error ?? (state === "offline" || state === "busy" ? this.conn.why : "");
    sync.dataset.state = state;
    this.onUpdate();
  }

  /** @returns {{state: string, pending: number, text: string}} this view's sync state */
  syncState() {
    const pending = this.queue.pendingCount + (this.queue.acc.size ? 1 : 0);
    const replaying = this.queue.replayCount;
    if (this.error) return { state: "error", pending, text: `error: ${this.error}` };
    if (this.conn.state === "offline")
      return { state: "offline", pending, text: `offline (${pending} pending)` };
    if (this.conn.state === "busy")
      return { state: "busy", pending, text: `kernel busy (${pending} pending)` };
    if (replaying) return { state: "replaying", pending, text: `replaying ${replaying}` };
    if (pending) return { state: "pending", pending, text: `pending ${pending}` };
    return { state: "saved", pending: 0, text: this.note ?? "saved" };
  }

  /** Stop the timers (unmount). */
  dispose() {
    this.disposed = true;
    clearTimeout(this.noteTimer);
    clearTimeout(this.statusTimer);
  }
}
