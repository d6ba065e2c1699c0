/**
 * The pending-store contract of the edit queue (`net/editqueue.js`), and its in-memory
 * implementation; `store/pendingdb.js` is the IndexedDB one.
 * @module store/pendingstore
 */

/**
 * Pending batches, in memory. The contract (kept by any persistent replacement):
 * - `put(batch)` stores it; may return a Promise, the batch is sent once it resolves;
 * - `delete(id)` forgets it; `get(id)`; `all()` lists batches in `put` order; `size`.
 * A batch is `{id, stroke, dtype, edits: [{key, ks, base, offsets: Uint32Array, values}], sent}`.
 */
export class MemoryPendingStore {
  constructor() {
    /** @type {Map<string, object>} */
    this.map = new Map();
  }
  put(batch) {
    this.map.set(batch.id, batch);
  }
  /** Nothing is stored between sessions. */
  load() {
    return Promise.resolve([]);
  }
  get(id) {
    return this.map.get(id);
  }
  delete(id) {
    this.map.delete(id);
  }
  all() {
    return [...this.map.values()];
  }
  get size() {
    return this.map.size;
  }
}
