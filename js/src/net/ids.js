/**
 * Ids of the messages a view sends (requests, batches, strokes, commands, pings).
 * @module net/ids
 */

/**
 * A random id (crypto.randomUUID when available).
 * @returns {string}
 */
export function newId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
