/**
 * The browser's pending-edit journal (DESIGN tier 1): edit batches kept in IndexedDB from before
 * they are sent until the kernel acknowledges (or rejects) them.
 *
 * One database `voxwidget-pending`, one object store `batches` whose key is an auto-incremented
 * sequence number (`seq`, so records keep the order they were written in, across views, reloads
 * and tabs of one origin), with an index on the label map id (`lm`) and a unique index on the batch
 * id (`id`). A record is `{seq, lm, id, stroke, dtype, edits: [{key, base, offsets, values}], t}`
 * (typed arrays are stored as they are, structured-clone style; `t` is the creation time: when the
 * batch was first written, ms since the epoch).
 *
 * Hygiene: {@link PendingDB#sweep} drops records of any label map older than a limit (the widget's
 * `pending_max_age_days`, 30 by default) with a console note, before a view loads its own;
 * {@link PendingDB#discardAll} drops this map's records (`w.discard_pending()`, after the user
 * confirmed in the view); the views report what they hold (`pending_batches`, `w.pending_edits()`).
 *
 * {@link PendingDB} keeps the pending-store contract of `store/pendingstore.js` (`put` returns a Promise
 * that resolves once the batch is in IndexedDB; `get`, `delete`, `all`, `size` work on an in-memory
 * mirror, synchronously). `load()` reads what earlier views (before a reload, a kernel restart or a
 * re-run cell) left for the same label map, oldest first, so the view can show and replay it.
 *
 * When IndexedDB is unavailable (no `indexedDB`, open refused, e.g. some private modes or a
 * sandboxed frame) the store keeps working in memory only and reports a visible warning through
 * `warning` / `onWarning`: the edits are still sent and acknowledged, they just do not survive a
 * reload.
 * @module store/pendingdb
 */

import { keyString } from "../core/grid.js";
import { done, openDB, req } from "./idb.js";

export const DB_NAME = "voxwidget-pending";
export const DB_VERSION = 1;
const STORE = "batches";

/** The warning shown when edits cannot be kept in the browser. */
export const NO_IDB_WARNING =
  "edits are not kept in this browser (IndexedDB unavailable): a reload loses unsaved ones";

function upgradePending(db) {
  if (!db.objectStoreNames.contains(STORE)) {
    const s = db.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
    s.createIndex("lm", "lm", { unique: false });
    s.createIndex("id", "id", { unique: true });
  }
}

/** A batch as stored (no runtime fields, no derived `ks`). */
function toRecord(lm, batch) {
  return {
    lm,
    id: batch.id,
    stroke: batch.stroke,
    dtype: batch.dtype,
    edits: batch.edits.map((e) => ({ key: e.key, base: e.base, offsets: e.offsets, values: e.values })),
    preserve: batch.preserve === true,
    t: batch.t ?? Date.now(),
  };
}

/** A stored record as an edit-queue batch. */
function fromRecord(rec) {
  return {
    id: rec.id,
    stroke: rec.stroke,
    dtype: rec.dtype,
    edits: rec.edits.map((e) => ({ ...e, ks: keyString(e.key) })),
    preserve: rec.preserve === true,
    sent: false,
    seq: rec.seq,
    t: rec.t,
    loaded: true,
  };
}

/**
 * Pending batches of one label map, kept in IndexedDB (see the module doc).
 */
export class PendingDB {
  /**
   * @param {object} p
   * @param {string} p.labelmapId the label store's stable id (`VoxWidget.labelmap_id`)
   * @param {IDBFactory|null} [p.indexedDB] defaults to `globalThis.indexedDB`
   * @param {string} [p.name] database name
   * @param {"default"|"relaxed"|"strict"} [p.durability] of write transactions
   * @param {(text: string) => void} [p.onWarning] called once when IndexedDB cannot be used
   */
  constructor({
    labelmapId,
    indexedDB: idb = globalThis.indexedDB,
    name = DB_NAME,
    durability = "relaxed",
    onWarning = () => {},
  }) {
    this.labelmapId = String(labelmapId ?? "");
    this.durability = durability;
    this.onWarning = onWarning;
    /** @type {Map<string, object>} batch id -> batch, in write order */
    this.map = new Map();
    /** @type {string|null} why the store is memory-only, or null */
    this.warning = null;
    this.writes = 0; // IndexedDB writes not yet complete
    this.db = idb
      ? openDB(idb, name, DB_VERSION, upgradePending).catch((err) => this.degrade(err))
      : Promise.resolve(this.degrade(null));
  }

  /**
   * Switch to memory-only mode (keeps working, with a warning).
   * @param {unknown} err
   * @returns {null}
   */
  degrade(err) {
    if (this.warning === null) {
      this.warning = NO_IDB_WARNING;
      console.warn(`voxwidget: ${NO_IDB_WARNING}`, err ?? "");
      this.onWarning(this.warning);
    }
    return null;
  }

  /** @returns {boolean} whether batches are kept in IndexedDB */
  get persistent() {
    return this.warning === null;
  }

  /**
   * Store a batch: in the mirror at once, in IndexedDB before the returned Promise resolves. A
   * failed write degrades the store to memory (with a warning) and still resolves: the batch
   * must be sent either way.
   * @param {object} batch
   * @returns {Promise<void>}
   */
  put(batch) {
    if (batch.t === undefined) batch.t = Date.now();
    this.map.set(batch.id, batch);
    this.writes++;
    return this.db
      .then(async (db) => {
        if (!db) return;
        const tx = db.transaction(STORE, "readwrite", { durability: this.durability });
        const store = tx.objectStore(STORE);
        const existing = await req(store.index("id").getKey(batch.id));
        const seq = existing ?? (await req(store.put(toRecord(this.labelmapId, batch))));
        await done(tx);
        batch.seq = seq;
      })
      .catch((err) => {
        this.degrade(err);
      })
      .finally(() => {
        this.writes--;
      });
  }

  /** @returns {object|undefined} */
  get(id) {
    return this.map.get(id);
  }

  /**
   * Forget a batch (acknowledged or rejected): from the mirror at once, from IndexedDB soon.
   * @param {string} id
   * @returns {Promise<void>}
   */
  delete(id) {
    this.map.delete(id);
    return this.db
      .then(async (db) => {
        if (!db) return;
        const tx = db.transaction(STORE, "readwrite", { durability: this.durability });
        const store = tx.objectStore(STORE);
        const key = await req(store.index("id").getKey(id));
        if (key !== undefined) store.delete(key);
        await done(tx);
      })
      .catch((err) => console.warn("voxwidget: could not delete an acknowledged batch", err));
  }

  /** @returns {object[]} pending batches, oldest first */
  all() {
    return [...this.map.values()];
  }

  /** @returns {number} */
  get size() {
    return this.map.size;
  }

  /**
   * Read the batches left in IndexedDB for a label map (oldest first). For this store's own label
   * map they join the mirror ahead of batches put since (they are older), without duplicates.
   * @param {string} [labelmapId]
   * @returns {Promise<object[]>} the loaded batches (with `loaded: true`, `sent: false`)
   */
  async load(labelmapId = this.labelmapId) {
    const db = await this.db;
    if (!db) return [];
    let recs;
    try {
      const tx = db.transaction(STORE, "readonly");
      recs = await req(tx.objectStore(STORE).index("lm").getAll(String(labelmapId)));
    } catch (err) {
      this.degrade(err);
      return [];
    }
    recs.sort((a, b) => a.seq - b.seq);
    const batches = recs.map(fromRecord);
    if (String(labelmapId) === this.labelmapId) {
      const fresh = batches.filter((b) => !this.map.has(b.id));
      this.map = new Map([...fresh.map((b) => [b.id, b]), ...this.map]);
      return fresh;
    }
    return batches;
  }

  /**
   * Drop the records of every label map written more than `maxAgeMs` ago (from IndexedDB and the
   * mirror), with a console note naming how many of which maps.
   * @param {{maxAgeMs: number, now?: number}} p
   * @returns {Promise<Record<string, number>>} dropped records per label map id
   */
  async sweep({ maxAgeMs, now = Date.now() }) {
    const dropped = {};
    if (!(maxAgeMs > 0)) return dropped;
    const db = await this.db;
    const cut = now - maxAgeMs;
    for (const [id, b] of this.map) {
      if ((b.t ?? now) < cut) this.map.delete(id);
    }
    if (!db) return dropped;
    try {
      const tx = db.transaction(STORE, "readwrite", { durability: this.durability });
      const store = tx.objectStore(STORE);
      for (const r of await req(store.getAll())) {
        if (!(r.t >= cut)) {
          store.delete(r.seq);
          dropped[r.lm] = (dropped[r.lm] ?? 0) + 1;
        }
      }
      await done(tx);
    } catch (err) {
      console.warn("voxwidget: could not sweep old pending edits", err);
      return {};
    }
    const n = Object.values(dropped).reduce((a, b) => a + b, 0);
    if (n) {
      const days = Math.round((maxAgeMs / 86400000) * 100) / 100;
      const maps = Object.entries(dropped)
        .map(([lm, k]) => `${k} of label map ${lm}`)
        .join(", ");
      console.info(`voxwidget: dropped ${n} unsaved edit batches older than ${days} days (${maps})`);
    }
    return dropped;
  }

  /**
   * Drop every pending batch of this label map (mirror and IndexedDB).
   * @returns {Promise<object[]>} the batches dropped (from the mirror)
   */
  async discardAll() {
    const gone = this.all();
    this.map.clear();
    const db = await this.db;
    if (!db) return gone;
    const tx = db.transaction(STORE, "readwrite", { durability: this.durability });
    const store = tx.objectStore(STORE);
    const keys = await req(store.index("lm").getAllKeys(this.labelmapId));
    for (const k of keys) store.delete(k);
    await done(tx);
    return gone;
  }

  /**
   * How many batches each label map has in IndexedDB (diagnostics, tests).
   * @returns {Promise<Record<string, number>>}
   */
  async counts() {
    const db = await this.db;
    if (!db) return {};
    const tx = db.transaction(STORE, "readonly");
    const recs = await req(tx.objectStore(STORE).getAll());
    const out = {};
    for (const r of recs) out[r.lm] = (out[r.lm] ?? 0) + 1;
    return out;
  }
}
