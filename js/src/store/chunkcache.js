/**
 * The browser's persistent chunk cache (DESIGN tier 1): decoded tiles kept in IndexedDB so that
 * reopening a notebook draws the last slice before the kernel answers, and revisiting a region costs
 * only an "unchanged" reply. The database and its records: `store/chunkdb.js`.
 *
 * Entries are never trusted: a view draws them at once and asks the kernel with their version as
 * `known`; the kernel answers "unchanged" (no bytes) or sends the newer tile, which replaces it.
 * The total size is bounded (`budget` bytes); least recently used entries go first. Writes are
 * batched (one transaction per flush). Without IndexedDB the cache does nothing (`enabled` false).
 *
 * Write policy (what reaches IndexedDB): only tiles of planes the view *rested* on, see
 * `store/resttracker.js` (the client, `net/persistence.js`, applies it).
 *
 * All-zero tiles (`zero`, never painted) are not kept: the kernel answers them without bytes
 * anyway and they draw nothing, so they would only cost IndexedDB writes (half of them while
 * scrolling a volume without labels).
 * The cache keeps the set of its keys in memory (read once, then kept up to date by its own writes,
 * evictions and clears), so {@link ChunkCache#mayHave} tells without a database round trip that
 * tiles are not there: a view asks the kernel for those at once instead of after a lookup. Another
 * page writing to the same database is not seen by that set (its tiles are fetched from the kernel,
 * which is correct, only not cached); entries another page evicted are looked up and missed.
 * @module store/chunkcache
 */

import { DB_NAME, DB_VERSION, eachEntry, entryOf, LRU, TILES, toTile, upgradeChunks } from "./chunkdb.js";
import { done, openDB, req } from "./idb.js";

const FLUSH_MS = 200;
const INDEX_MAX_KEYS = 1_000_000; // beyond this many entries the key set is not kept (always look up)

/** The persistent tile cache of one page (see the module doc). */
export class ChunkCache {
  /**
   * @param {object} [p]
   * @param {IDBFactory|null} [p.indexedDB] defaults to the global one
   * @param {number} [p.budget] bytes kept at most
   * @param {string} [p.name] database name
   * @param {() => number} [p.now] clock (ms), for tests
   */
  constructor({
    indexedDB = globalThis.indexedDB ?? null,
    budget = 256 * 2 ** 20,
    name = DB_NAME,
    now = () => Date.now(),
  } = {}) {
    this.idb = indexedDB;
    this.budget = budget;
    this.name = name;
    this.now = now;
    this.enabled = !!indexedDB && budget > 0;
    this.bytes = null; // total size, known after the first write or evict
    this.queue = new Map(); // key -> value waiting to be written
    this.pendingSizes = new Map(); // key -> size of the entry it replaces (from the key set)
    this.touched = new Map(); // key -> used time waiting to be written
    this.timer = null;
    this.writing = Promise.resolve();
    this.stats = { hits: 0, misses: 0, writes: 0, evicted: 0 };
    this.clock = 0;
    /** @type {Map<string, number>|null} key -> size of every entry (null until read, or when too many) */
    this.index = null;
    this.indexing = null;
    if (this.enabled) this.loadIndex();
  }

  /**
   * Read the set of keys (once).
   * @returns {Promise<void>}
   */
  loadIndex() {
    if (!this.indexing) {
      this.indexing = (async () => {
        const db = await this.db();
        if (!db) return;
        const tx = db.transaction(TILES, "readonly");
        const store = tx.objectStore(TILES);
        const n = await req(store.count());
        if (n > INDEX_MAX_KEYS) return;
        const index = new Map();
        await eachEntry(store.index(LRU), (k, _used, size) => {
          index.set(k, size);
          return true;
        });
        for (const [k, v] of this.queue) index.set(k, v.nbytes);
        this.index = index;
      })().catch(() => {
        this.index = null;
      });
    }
    return this.indexing;
  }

  /**
   * Whether any of `keys` may be in the cache (false only when surely none is).
   * @param {string[]} keys
   * @returns {boolean}
   */
  mayHave(keys) {
    if (!this.enabled) return false;
    if (this.index === null) return true;
    for (const k of keys) if (this.index.has(k) || this.queue.has(k)) return true;
    return false;
  }

  /** A strictly increasing use time (so entries used in one millisecond keep their order). */
  stamp() {
    this.clock = Math.max(this.clock + 1e-3, this.now());
    return this.clock;
  }

  async db() {
    if (!this.enabled) return null;
    try {
      return await openDB(this.idb, this.name, DB_VERSION, upgradeChunks);
    } catch (err) {
      console.warn("voxwidget: the chunk cache is off (IndexedDB unavailable)", err);
      this.enabled = false;
      return null;
    }
  }

  /**
   * Look several tiles up at once; found ones are marked used.
   * @param {string[]} keys
   * @returns {Promise<Map<string, {version: number, shape: number[], dtype: string, data: ArrayBufferView}>>}
   */
  async getMany(keys) {
    const out = new Map();
    if (!keys.length) return out;
    for (const k of keys) {
      const q = this.queue.get(k);
      const v = q && entryOf(q);
      if (v) out.set(k, toTile({ ...v, bytes: v.bytes.slice(0) }));
    }
    const db = await this.db();
    if (!db) return out;
    const rest = keys.filter((k) => !out.has(k));
    if (rest.length) {
      const tx = db.transaction(TILES, "readonly");
      const store = tx.objectStore(TILES);
      const values = await Promise.all(rest.map((k) => req(store.get(k))));
      rest.forEach((k, i) => {
        if (values[i]) out.set(k, toTile(values[i]));
      });
    }
    this.stats.hits += out.size;
    this.stats.misses += keys.length - out.size;
    for (const k of out.keys()) this.touched.set(k, this.stamp());
    if (out.size) this.schedule();
    return out;
  }

  /**
   * Keep a tile (written in the next batch).
   * @param {string} key
   * @param {{version: number, shape: number[], dtype: string, data: ArrayBufferView}} tile
   */
  put(key, tile) {
    if (!this.enabled) return;
    if (tile.zero && !tile.rev) return; // all zero: nothing worth a write (see the module doc)
    // the tile itself waits for the write (no copy now); written only if still unchanged then
    const nbytes = tile.data.byteLength;
    this.queue.set(key, { tile, rev: tile.rev, version: tile.version, nbytes });
    if (!this.pendingSizes.has(key))
      this.pendingSizes.set(key, this.index ? (this.index.get(key) ?? 0) : null);
    this.index?.set(key, nbytes);
    this.schedule();
  }

  schedule() {
    if (this.timer !== null || !this.enabled) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, FLUSH_MS);
  }

  /**
   * Write what is queued now, then evict down to the budget.
   * @returns {Promise<void>}
   */
  flush() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const queue = this.queue;
    const touched = this.touched;
    const pending = this.pendingSizes;
    this.queue = new Map();
    this.touched = new Map();
    this.pendingSizes = new Map();
    this.writing = this.writing
      .then(() => this.write(queue, touched, pending))
      .catch((err) => console.warn("voxwidget: writing the chunk cache failed", err));
    return this.writing;
  }

  async write(queue, touched, pending = new Map()) {
    const db = await this.db();
    if (!db || (!queue.size && !touched.size)) return;
    if (this.bytes === null) this.bytes = await this.size(db);
    const tx = db.transaction(TILES, "readwrite");
    const tiles = tx.objectStore(TILES);
    // sizes of the entries replaced: known from the key set when it was there at put time, else read
    const unknown = [...queue.keys()].filter((k) => (pending.get(k) ?? null) === null);
    const read = await Promise.all(unknown.map((k) => req(tiles.get(k))));
    const olds = new Map(unknown.map((k, i) => [k, read[i]?.size ?? 0]));
    for (const [k, q] of queue) {
      const v = entryOf(q);
      if (!v) {
        if (this.index && pending.get(k) === 0) this.index.delete(k); // it was not there before
        continue; // painted or replaced since: not the kernel's data of that version any more
      }
      const old = pending.get(k) ?? olds.get(k);
      v.used = touched.get(k) ?? this.stamp();
      v.size = v.bytes.byteLength;
      tiles.put(v, k); // structured clone: the copy of the tile's bytes
      this.bytes += v.bytes.byteLength - (old ?? 0);
      this.stats.writes++;
    }
    const touch = [...touched.keys()].filter((k) => !queue.has(k));
    const cur = await Promise.all(touch.map((k) => req(tiles.get(k)))); // hits: rare while streaming
    touch.forEach((k, i) => {
      if (cur[i]) tiles.put({ ...cur[i], used: touched.get(k) }, k);
    });
    await done(tx);
    if (this.bytes > this.budget) await this.evict(db);
  }

  async size(db) {
    const tx = db.transaction(TILES, "readonly");
    let total = 0;
    await eachEntry(tx.objectStore(TILES).index(LRU), (_k, _used, size) => {
      total += size;
      return true;
    });
    return total;
  }

  /** Drop least recently used entries until the total is at most 90% of the budget. */
  async evict(db) {
    const target = this.budget * 0.9;
    const tx = db.transaction(TILES, "readwrite");
    const tiles = tx.objectStore(TILES);
    await eachEntry(tiles.index(LRU), (k, _used, size) => {
      if (this.bytes <= target) return false;
      tiles.delete(k);
      if (!this.queue.has(k)) this.index?.delete(k);
      this.bytes -= size;
      this.stats.evicted++;
      return true;
    });
    await done(tx);
  }

  /**
   * Change the size bound (evicting at once when it shrank); 0 turns the cache off.
   * @param {number} budget bytes
   * @returns {Promise<void>}
   */
  async setBudget(budget) {
    this.budget = budget;
    this.enabled = !!this.idb && budget > 0;
    if (!this.enabled) return;
    const db = await this.db();
    if (!db) return;
    if (this.bytes === null) this.bytes = await this.size(db);
    if (this.bytes > this.budget) await this.evict(db);
  }

  /**
   * Forget every entry (of every dataset of this origin).
   * @returns {Promise<void>}
   */
  async clear() {
    this.queue.clear();
    this.touched.clear();
    if (!this.idb) return;
    await this.writing;
    let db;
    try {
      db = await openDB(this.idb, this.name, DB_VERSION, upgradeChunks);
    } catch {
      return;
    }
    const tx = db.transaction(TILES, "readwrite");
    tx.objectStore(TILES).clear();
    await done(tx);
    this.bytes = 0;
    if (this.index) this.index.clear();
  }

  /**
   * Every key, least recently used first (tests, diagnostics).
   * @returns {Promise<string[]>}
   */
  async keys() {
    await this.writing;
    const db = await this.db();
    if (!db) return [];
    const tx = db.transaction(TILES, "readonly");
    return req(tx.objectStore(TILES).index(LRU).getAllKeys());
  }
}
