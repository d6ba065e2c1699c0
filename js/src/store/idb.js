/**
 * Opening IndexedDB databases: one shared connection per factory and name (views of one page share
 * it), created or upgraded by the caller's `upgrade(db)`, closed and forgotten when another tab
 * upgrades the schema.
 * @module store/idb
 */

/** @type {WeakMap<IDBFactory, Map<string, Promise<IDBDatabase>>>} */
const connections = new WeakMap();

/**
 * Open (once) the database `name` at `version`.
 * @param {IDBFactory} idb
 * @param {string} name
 * @param {number} version
 * @param {(db: IDBDatabase) => void} upgrade creates missing object stores and indexes
 * @returns {Promise<IDBDatabase>}
 */
export function openDB(idb, name, version, upgrade) {
  let perName = connections.get(idb);
  if (!perName) {
    perName = new Map();
    connections.set(idb, perName);
  }
  let p = perName.get(name);
  if (p) return p;
  p = new Promise((resolve, reject) => {
    let r;
    try {
      r = idb.open(name, version);
    } catch (err) {
      reject(err);
      return;
    }
    r.onupgradeneeded = () => upgrade(r.result);
    r.onsuccess = () => {
      const db = r.result;
      db.onversionchange = () => {
        db.close();
        perName.delete(name);
      };
      resolve(db);
    };
    r.onerror = () => reject(r.error ?? new Error(`indexedDB.open(${name}) failed`));
    r.onblocked = () => reject(new Error(`indexedDB.open(${name}) blocked by another tab`));
  });
  perName.set(name, p);
  p.catch(() => perName.delete(name));
  return p;
}

/**
 * The result of an IDBRequest, as a Promise.
 * @param {IDBRequest} r
 * @returns {Promise<any>}
 */
export const req = (r) =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/**
 * Resolves when the transaction commits; rejects when it aborts or fails.
 * @param {IDBTransaction} tx
 * @returns {Promise<void>}
 */
export const done = (tx) =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error("transaction aborted"));
    tx.onerror = () => reject(tx.error ?? new Error("transaction failed"));
  });
