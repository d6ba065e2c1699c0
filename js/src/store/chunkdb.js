/**
 * The schema of the persistent chunk cache's database and its records (used by
 * `store/chunkcache.js`).
 *
 * One database per origin, `voxwidget-chunks` (version 2), one object store:
 * - `tiles`: key `${prefix}/${layer}/${level}/${axis}/${index}/${ks}` → `{version, shape, dtype,
 *   bytes, used, size}` (`bytes` an ArrayBuffer of the tile data, little-endian C order; `used` the
 *   last use, ms; `size` its bytes); `prefix` is the dataset fingerprint, for label tiles
 *   `${fingerprint}:${labelmapId}`. Its index `lru` on `[used, size]` is the eviction order and
 *   gives every entry's size without reading values. (Version 1 kept `{used, size}` in a second
 *   store: two writes per tile, which cost half of the cache's time while streaming; upgrading
 *   from it starts empty.)
 * @module store/chunkdb
 */

import { TYPED } from "../core/dtypes.js";

/** The database's name and schema version. */
export const DB_NAME = "voxwidget-chunks";
export const DB_VERSION = 2;
/** The object store of tiles. */
export const TILES = "tiles";
export const LRU = "lru"; // the index of TILES on [used, size] (version 1: a store of its own)

/**
 * Create the object store and its index (`openDB`'s `upgrade`, see store/idb.js); a version-1
 * database is emptied.
 * @param {IDBDatabase} db
 */
export function upgradeChunks(db) {
  if (db.objectStoreNames.contains(LRU)) {
    db.deleteObjectStore(LRU); // version 1: start empty
    if (db.objectStoreNames.contains(TILES)) db.deleteObjectStore(TILES);
  }
  if (!db.objectStoreNames.contains(TILES)) db.createObjectStore(TILES).createIndex(LRU, ["used", "size"]);
}

/**
 * Visit the `[used, size]` index keys in eviction order (no values read).
 * @param {IDBIndex} index
 * @param {(primaryKey: string, used: number, size: number, cursor: IDBCursor) => boolean} visit
 *   returns false to stop
 * @returns {Promise<void>}
 */
export function eachEntry(index, visit) {
  return new Promise((resolve, reject) => {
    const r = index.openKeyCursor();
    r.onerror = () => reject(r.error);
    r.onsuccess = () => {
      const cur = r.result;
      if (!cur || !visit(cur.primaryKey, cur.key[0], cur.key[1], cur)) {
        resolve();
        return;
      }
      cur.continue();
    };
  });
}

/**
 * The cache key of a tile.
 * @param {string} prefix fingerprint (image) or `${fingerprint}:${labelmapId}` (labels)
 * @param {string} id the memory cache's tile id `${layer}/${level}/${axis}/${index}/${ks}`
 * @returns {string}
 */
export function cacheKey(prefix, id) {
  return `${prefix}/${id}`;
}

/**
 * The stored value of a queued tile, or null when the tile changed since it was queued.
 * @param {{tile: object, rev: number, version: number}} q
 * @returns {{version: number, shape: number[], dtype: string, bytes: ArrayBuffer}|null}
 */
export function entryOf(q) {
  const t = q.tile;
  if (t.rev !== q.rev || t.version !== q.version || t.dirty) return null;
  const d = t.data;
  const bytes =
    d.byteOffset === 0 && d.byteLength === d.buffer.byteLength
      ? d.buffer
      : d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength);
  return { version: t.version, shape: [...t.shape], dtype: t.dtype, bytes };
}

/**
 * A tile read from the database (its bytes are a fresh copy, so the typed array owns them).
 * @param {{version: number, shape: number[], dtype: string, bytes: ArrayBuffer}} v
 * @returns {{version: number, shape: number[], dtype: string, data: ArrayBufferView}}
 */
export function toTile(v) {
  const T = TYPED[v.dtype];
  return { version: v.version, shape: v.shape, dtype: v.dtype, data: new T(v.bytes) }; // v: a fresh copy
}
