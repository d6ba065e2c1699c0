/**
 * The optimistic overlay and the edit pipeline.
 *
 * A stroke (pointer down → up) has a stroke id. Painted voxels are written at once into the cached
 * label tiles (the canvas shows them immediately) and accumulated per chunk; every `flushMs` during
 * the stroke and at its end the accumulated voxels go out as `edits.apply` batches (pipelined: never
 * waiting for acks), split so no message carries more than `maxBytes` of buffers.
 *
 * Unacknowledged batches live in a pending store: `MemoryPendingStore` (store/pendingstore.js, which
 * states the contract), or the IndexedDB one of `store/pendingdb.js` (a batch is `put` before it is
 * sent and deleted on ack or reject); their messages are built by `net/edits.js`. On `edits.ack`
 * the painted tiles move to the new versions; on `edits.reject` the touched chunks are refetched
 * whole, which reverts the optimistic paint, except a reject with `retry` (valid, but the kernel
 * could not make it durable, e.g. a full disk, and rolled it back): that batch stays pending and
 * in the overlay and is resent after a backoff (2 s doubling to 30 s; reset by an ack). Tiles arriving while batches for their chunk are
 * pending get those voxels re-applied on top, so a stale reply never hides a stroke.
 *
 * A stroke with `preserve` (preserve_labels) paints only voxels this view does not know to hold a
 * label ({@link EditQueue#unlabelled}) and sends its batches flagged `preserve`: the kernel sets
 * only the voxels that hold 0 when the batch arrives, and on its ack the touched tiles are
 * refetched, so the overlay shows what the kernel kept.
 *
 * Offline: while `online` is false batches are stored but not sent. {@link EditQueue#replay}
 * (the connection came back) sends every pending batch again, oldest first, whether it was sent
 * before or not; the kernel applies a batch id at most once. Batches go out strictly in store order:
 * one whose `put` has not resolved yet holds back the later ones. Batches an earlier view left in
 * the store (a reload, a re-run cell) join through {@link EditQueue#adopt}: shown in the overlay at
 * once, replayed with the rest.
 * @module net/editqueue
 */

import { TYPED } from "../core/dtypes.js";
import { keyString, offsetToLocal, tileIndex } from "../core/grid.js";
import { MemoryPendingStore } from "../store/pendingstore.js";
import { batchMessage, encodeBatches, MAX_BATCH_BYTES } from "./edits.js";
import { LABEL_DTYPES } from "./protocol.js";

/** First and longest wait before resending batches the kernel could not make durable. */
export const RETRY_MIN_MS = 2000;
export const RETRY_MAX_MS = 30000;

/**
 * Write voxels (chunk-local offsets, values) into one cached tile of their chunk.
 * @param {object} tile cache entry
 * @param {number[]} chunks nominal chunk shape
 * @param {ArrayLike<number>} offsets
 * @param {ArrayLike<number|bigint>|number|bigint} values one per offset, or a single value
 * @returns {number} voxels written
 */
export function writeVoxels(tile, chunks, offsets, values) {
  const local = [0, 0, 0];
  const one = typeof values === "number" || typeof values === "bigint";
  const data = tile.data;
  const big = data instanceof BigUint64Array || data instanceof BigInt64Array;
  let n = 0;
  for (let i = 0; i < offsets.length; i++) {
    offsetToLocal(offsets[i], chunks, local);
    const j = tileIndex(local, tile.key, chunks, tile.shape, tile.axis, tile.index);
    if (j < 0) continue;
    const v = one ? values : values[i];
    data[j] = big ? BigInt(v) : Number(v);
    n++;
  }
  if (n) tile.rev++;
  return n;
}

/** The edit pipeline of one view: strokes, the optimistic overlay, batches (see the module doc). */
export class EditQueue {
  /**
   * @param {object} p
   * @param {(msg: object, buffers: ArrayBuffer[]) => boolean|void} p.send returns false when the
   *   message could not be handed over (offline): the batch stays unsent
   * @param {import("./client.js").ChunkClient} p.client tile cache and version bookkeeping
   * @param {string} p.dtype label dtype
   * @param {number[]} p.chunks nominal chunk shape
   * @param {object} [p.store] pending store (see `MemoryPendingStore` in store/pendingstore.js)
   * @param {number} [p.flushMs] flush period during a stroke
   * @param {number} [p.maxBytes] buffer bytes per message
   * @param {() => string} [p.makeId]
   * @param {(fn: () => void, ms: number) => any} [p.setTimer]
   * @param {(t: any) => void} [p.clearTimer]
   * @param {(event: {kind: string, error?: string}) => void} [p.onEvent] ack/reject/paint notices
   * @param {boolean} [p.online] whether batches may be sent now (see {@link EditQueue#setOnline})
   */
  constructor({
    send,
    client,
    dtype,
    chunks,
    store = new MemoryPendingStore(),
    flushMs = 40,
    maxBytes = MAX_BATCH_BYTES,
    makeId = () => globalThis.crypto.randomUUID(),
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (t) => clearTimeout(t),
    onEvent = () => {},
    online = true,
  }) {
    if (!LABEL_DTYPES.includes(dtype)) throw new RangeError(`'${dtype}' is not a label dtype`);
    Object.assign(this, { send, client, dtype, chunks, store, flushMs, maxBytes, makeId });
    Object.assign(this, { setTimer, clearTimer, onEvent });
    this.stroke = null; // current stroke id
    this.preserve = false; // the current stroke paints only background (preserve_labels)
    /** @type {Map<string, {key: number[], base: number, voxels: Map<number, number|bigint>}>} */
    this.acc = new Map();
    this.timer = null;
    this.recent = new Set(); // ids of batches this queue sent (bounded), for chunks.changed origins
    this.lastError = null;
    this.online = online;
    this.retryMs = RETRY_MIN_MS; // backoff for batches the kernel could not make durable
    this.retryTimer = null;
    /** @type {Set<string>} ids of batches sent by the last replay and not yet answered */
    this.replaying = new Set();
    /** @type {(() => void)[]} run once every stored batch has been sent (commands) */
    this.waiting = [];
    /** @type {object[]|null} every paint, when recording (test hook) */
    this.record = null;
    client.overlay = { reapply: (tile) => this.reapply(tile), isOwn: (id) => this.isOwn(id) };
  }

  /** @returns {number} batches sent and not yet acknowledged or rejected */
  get pendingCount() {
    return this.store.size;
  }

  /** @returns {number} batches whose `put` has not resolved (not yet safe in the store) */
  get unstored() {
    let n = 0;
    for (const b of this.store.all()) if (b.stored === false) n++;
    return n;
  }

  /** @returns {number} pending batches sent by the last replay and not yet answered */
  get replayCount() {
    let n = 0;
    for (const id of this.replaying) if (this.store.get(id)) n++;
    return n;
  }

  /** @returns {boolean} no stroke open, nothing accumulated, nothing pending */
  get idle() {
    return this.stroke === null && this.acc.size === 0 && this.store.size === 0;
  }

  /** @returns {boolean} whether `batchId` was sent by this queue */
  isOwn(batchId) {
    return this.store.get(batchId) !== undefined || this.recent.has(batchId);
  }

  /**
   * Open a stroke (pointer down). A stroke already open is ended first.
   * @param {{preserve?: boolean}} [opts] preserve: paint only background (preserve_labels)
   * @returns {string} the stroke id
   */
  beginStroke({ preserve = false } = {}) {
    if (this.stroke) this.endStroke();
    this.stroke = this.makeId();
    this.preserve = preserve;
    return this.stroke;
  }

  /**
   * The voxels of `groups` not known to hold a label: those whose value in a cached tile of
   * their chunk is non-zero are left out (unknown ones stay: the kernel decides).
   * @param {Map<string, {key: number[], offsets: Uint32Array}>} groups
   * @returns {Map<string, {key: number[], offsets: Uint32Array}>}
   */
  unlabelled(groups) {
    const out = new Map();
    const local = [0, 0, 0];
    for (const [ks, g] of groups) {
      const tiles = this.client.cache.ofChunk("labels", this.client.level, ks);
      const keep = [];
      for (const o of g.offsets) {
        offsetToLocal(o, this.chunks, local);
        let labelled = false;
        for (const t of tiles) {
          const j = tileIndex(local, t.key, this.chunks, t.shape, t.axis, t.index);
          if (j >= 0 && Number(t.data[j]) !== 0) labelled = true;
        }
        if (!labelled) keep.push(o);
      }
      if (keep.length) out.set(ks, { key: g.key, offsets: Uint32Array.from(keep) });
    }
    return out;
  }

  /**
   * Paint voxels: shown at once in the cached tiles, sent with the next flush.
   * @param {Map<string, {key: number[], offsets: Uint32Array}>} groups voxels per chunk (core/brush.js)
   * @param {number|bigint} value label value (BigInt for uint64)
   * @returns {number} voxels painted
   */
  paint(groups, value) {
    if (!this.stroke) this.beginStroke();
    const v = this.dtype === "uint64" ? BigInt(value) : Number(value);
    let n = 0;
    for (const [ks, g] of groups) {
      let a = this.acc.get(ks);
      if (!a) {
        a = { key: g.key, base: this.client.chunkVersion("labels", ks), voxels: new Map() };
        this.acc.set(ks, a);
      }
      for (let i = 0; i < g.offsets.length; i++) a.voxels.set(g.offsets[i], v);
      if (this.record)
        this.record.push({ key: g.key, offsets: Uint32Array.from(g.offsets), value: v, stroke: this.stroke });
      for (const tile of this.client.cache.ofChunk("labels", this.client.level, ks)) {
        writeVoxels(tile, this.chunks, g.offsets, v);
      }
      n += g.offsets.length;
    }
    if (n && this.timer === null) {
      this.timer = this.setTimer(() => {
        this.timer = null;
        this.flush();
      }, this.flushMs);
    }
    if (n) this.onEvent({ kind: "paint" });
    return n;
  }

  /** Close the stroke (pointer up) and send what it painted. */
  endStroke() {
    this.flush();
    this.stroke = null;
  }

  /** Send the accumulated voxels now as one or more `edits.apply` batches. */
  flush() {
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    if (!this.acc.size) return;
    const T = TYPED[this.dtype];
    const entries = [];
    for (const a of this.acc.values()) {
      const offsets = new Uint32Array(a.voxels.size);
      const values = new T(a.voxels.size);
      let i = 0;
      for (const [o, v] of a.voxels) {
        offsets[i] = o;
        values[i++] = v;
      }
      entries.push({ key: a.key, base: a.base, offsets, values });
    }
    this.acc.clear();
    const stroke = this.stroke ?? this.makeId();
    for (const { batch } of encodeBatches({
      stroke,
      dtype: this.dtype,
      entries,
      makeId: this.makeId,
      maxBytes: this.maxBytes,
      preserve: this.stroke !== null && this.preserve,
    })) {
      this.remember(batch.id);
      const stored = this.store.put(batch);
      if (stored && typeof stored.then === "function") {
        const go = () => {
          batch.stored = true;
          this.pump();
        };
        stored.then(go, go); // a failed write still sends (the store warns); nothing is dropped
      } else batch.stored = true;
    }
    this.pump();
  }

  /**
   * Send stored, unsent batches in store order while online; a batch whose `put` is still
   * running holds back the later ones. Then run what waited for everything to be sent.
   */
  pump() {
    if (!this.online) return;
    for (const batch of this.store.all()) {
      if (batch.stored === false) return;
      if (batch.sent || batch.retry) continue;
      const { msg, buffers } = batchMessage(batch);
      if (this.send(msg, buffers) === false) return; // went offline: replayed when back
      batch.sent = true;
    }
    if (this.waiting.length) {
      const waiting = this.waiting.splice(0);
      for (const fn of waiting) fn();
    }
  }

  /**
   * Run `fn` once every batch painted so far has been sent (so a command cannot overtake them).
   * @param {() => void} fn
   */
  afterSent(fn) {
    this.flush();
    this.waiting.push(fn);
    this.pump();
  }

  /**
   * Allow or stop sending. Going online does not resend by itself: see {@link replay}.
   * @param {boolean} online
   */
  setOnline(online) {
    this.online = online;
    if (online) this.pump();
  }

  /**
   * Send every pending batch again, oldest first (the connection came back: batches sent before
   * may have been lost). The kernel answers a batch it already applied with a duplicate ack.
   * @returns {number} batches replayed
   */
  replay() {
    this.online = true;
    this.replaying.clear();
    for (const batch of this.store.all()) {
      batch.sent = false;
      batch.retry = false;
      this.replaying.add(batch.id);
    }
    const n = this.replaying.size;
    if (n) this.onEvent({ kind: "replay", count: n });
    this.pump();
    return n;
  }

  /**
   * Take in batches an earlier view left in the store (already in it): show their voxels in the
   * cached tiles now (tiles fetched later get them through {@link reapply}); they are sent with
   * the next {@link replay} or {@link pump}.
   * @param {object[]} batches
   */
  adopt(batches) {
    if (!batches.length) return;
    const level = this.client.level;
    for (const batch of batches) {
      batch.stored = true;
      batch.sent = false;
      this.remember(batch.id);
      for (const e of batch.edits) {
        for (const tile of this.client.cache.ofChunk("labels", level, e.ks)) {
          if (writeVoxels(tile, this.chunks, e.offsets, e.values)) {
            if (!tile.overlaid) tile.overlaid = new Set();
            tile.overlaid.add(batch.id);
          }
        }
      }
    }
    this.onEvent({ kind: "adopt", count: batches.length });
  }

  remember(id) {
    this.recent.add(id);
    if (this.recent.size > 4096) this.recent.delete(this.recent.values().next().value);
  }

  /**
   * Handle `edits.ack` / `edits.reject` for this queue's batches.
   * @param {object} msg validated message
   * @returns {boolean} whether it was one of ours
   */
  handle(msg) {
    if (msg.kind !== "edits.ack" && msg.kind !== "edits.reject") return false;
    const batch = this.store.get(msg.reply_to);
    if (!batch) return this.recent.has(msg.reply_to); // a duplicate answer, or another view's
    if (msg.kind === "edits.reject" && msg.retry) {
      // valid but not saved (disk full…): the kernel rolled it back; keep it pending, resend later
      this.lastError = msg.error;
      batch.retry = true;
      this.scheduleRetry();
      this.onEvent({ kind: "retry", error: msg.error });
      return true;
    }
    this.store.delete(batch.id);
    this.replaying.delete(batch.id);
    const level = this.client.level;
    if (msg.kind === "edits.ack") {
      this.retryMs = RETRY_MIN_MS;
      for (let i = 0; i < msg.keys.length; i++) {
        const ks = keyString(msg.keys[i]);
        const v = msg.versions[i];
        for (const t of this.client.cache.ofChunk("labels", level, ks)) {
          // re-applied on data that already held this batch and maybe later changes: refetch
          if (t.overlaid?.has(batch.id)) {
            t.overlaid.delete(batch.id);
            if (t.version > v) t.dirty = true;
          }
        }
        this.client.noteVersion("labels", ks, v, true);
        if (batch.preserve) this.client.markDirty("labels", ks); // the kernel may have kept labels
      }
      this.onEvent({ kind: "ack" });
    } else {
      this.lastError = msg.error;
      for (const e of batch.edits) this.client.markDirty("labels", e.ks);
      this.onEvent({ kind: "reject", error: msg.error });
    }
    this.client.refresh();
    return true;
  }

  /**
   * Drop every pending batch and what the open stroke accumulated (the user confirmed
   * `w.discard_pending()`): their chunks are refetched whole, which reverts their optimistic paint.
   * @returns {Promise<number>} batches dropped
   */
  async discard() {
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    const chunks = new Set(this.acc.keys());
    this.acc.clear();
    let gone;
    if (typeof this.store.discardAll === "function") gone = await this.store.discardAll();
    else {
      gone = this.store.all();
      for (const b of gone) this.store.delete(b.id);
    }
    for (const b of gone) for (const e of b.edits) chunks.add(e.ks);
    for (const ks of chunks) this.client.markDirty("labels", ks);
    this.replaying.clear();
    this.client.refresh();
    this.onEvent({ kind: "discard", count: gone.length });
    return gone.length;
  }

  /** Resend the batches the kernel could not save, after a backoff (2 s doubling to 30 s). */
  scheduleRetry() {
    if (this.retryTimer !== null) return;
    const ms = this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, ms * 2);
    this.retryTimer = this.setTimer(() => {
      this.retryTimer = null;
      for (const b of this.store.all()) {
        if (b.retry) {
          b.retry = false;
          b.sent = false;
        }
      }
      this.pump();
    }, ms);
  }

  /**
   * Re-apply pending and accumulated voxels of the tile's chunk onto a tile that just arrived.
   * @param {object} tile
   */
  reapply(tile) {
    for (const batch of this.store.all()) {
      for (const e of batch.edits) {
        if (e.ks !== tile.ks) continue;
        if (writeVoxels(tile, this.chunks, e.offsets, e.values)) {
          if (!tile.overlaid) tile.overlaid = new Set();
          tile.overlaid.add(batch.id);
        }
      }
    }
    const a = this.acc.get(tile.ks);
    if (a) {
      for (const [o, v] of a.voxels) writeVoxels(tile, this.chunks, [o], v);
    }
  }
}
