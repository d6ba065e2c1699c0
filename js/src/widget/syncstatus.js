/**
 * The model's `sync_status` trait: the views of one model on this page, and the report of their
 * union. One view (the most recently active: made, or painting) owns the trait and reports the
 * worst sync state of all of them and the number of their pending batches, throttled, and only when
 * it changed; when the owner goes away, another view takes over. With it, `pending_batches`: the
 * batches those views hold for the label map, oldest first (`w.pending_edits()`).
 * @module widget/syncstatus
 */

const SYNC_STATUS_MS = 150; // at most this often the owning view reports sync_status to Python
const MAX_LISTED = 10000; // pending_batches lists at most this many (oldest first)
const SEVERITY = { saved: 0, pending: 1, busy: 2, replaying: 3, offline: 4, error: 5 };

/**
 * The views of each model on this page (as their reporters), and the one that owns `sync_status`.
 * @type {WeakMap<object, {views: Set<SyncReporter>, owner: SyncReporter|null}>}
 */
const SIBLINGS = new WeakMap();

function siblings(model) {
  let s = SIBLINGS.get(model);
  if (!s) {
    s = { views: new Set(), owner: null };
    SIBLINGS.set(model, s);
  }
  return s;
}

/** One view's part in its model's `sync_status` (see the module doc). */
export class SyncReporter {
  /**
   * @param {object} p
   * @param {object} p.model anywidget model
   * @param {import("../ui/status.js").StatusLine} p.status this view's sync state and error
   * @param {import("../net/editqueue.js").EditQueue} p.queue this view's pending batches
   * @param {import("../net/connection.js").Connection} p.conn reports go out only while online
   */
  constructor({ model, status, queue, conn }) {
    Object.assign(this, { model, status, queue, conn });
    this.sib = siblings(model);
    this.reported = null; // the sync_status last set
    this.timer = null;
    this.disposed = false;
  }

  /**
   * Join the model's views as their owner.
   * @returns {() => void} leave (another view takes over and reports)
   */
  join() {
    const sib = this.sib;
    sib.views.add(this);
    sib.owner = this;
    return () => {
      sib.views.delete(this);
      if (sib.owner === this) sib.owner = sib.views.values().next().value ?? null;
      sib.owner?.report();
    };
  }

  /** This view becomes the owner (it is being used). */
  claim() {
    this.sib.owner = this;
  }

  /**
   * Report the sync state of all views of this model to Python (`sync_status`), if this view owns
   * it and the kernel is there; throttled, and only when it changed.
   */
  report() {
    const sib = this.sib;
    if (sib.owner !== this || this.disposed) return;
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (sib.owner !== this || this.disposed || !this.conn.online) return;
      let worst = "saved";
      let error;
      const ids = new Map();
      let accumulating = 0;
      for (const v of sib.views) {
        const s = v.status.syncState();
        if (SEVERITY[s.state] > SEVERITY[worst]) worst = s.state;
        if (s.state === "error") error = v.status.error;
        for (const b of v.queue.store.all()) ids.set(b.id, b);
        if (v.queue.acc.size) accumulating++;
      }
      const status = { state: worst, pending: ids.size + accumulating };
      if (error !== undefined) status.error = String(error);
      const listed = [...ids.values()].slice(0, MAX_LISTED).map((b) => ({
        id: b.id,
        stroke: b.stroke,
        created: b.t ?? null,
        chunks: b.edits.length,
        voxels: b.edits.reduce((n, e) => n + e.offsets.length, 0),
      }));
      const key = JSON.stringify([status, listed]);
      if (key === this.reported) return;
      try {
        this.model.set("pending_batches", listed);
        this.model.set("sync_status", status);
        this.model.save_changes();
        this.reported = key;
      } catch (err) {
        console.warn("voxwidget: could not report sync_status", err);
      }
    }, SYNC_STATUS_MS);
  }

  /** This view goes away: no more reports from it (leaving is the disposer {@link join} returned). */
  dispose() {
    this.disposed = true;
    clearTimeout(this.timer);
  }
}
