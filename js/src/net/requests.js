/**
 * What the chunk client asks the kernel for: the `chunks.get` requests of the current plan
 * ({@link fetchPlan}), in plan order (coarse placeholders before fine tiles, the shown planes before
 * the prefetched ones), for the tiles missing from memory, stale or dirty.
 *
 * Prefetch: plan entries flagged `prefetch` (the planes ahead of the shown one, core/lod.js) are
 * asked for in plan order only while the bytes they are estimated to bring (per layer and level, the mean
 * payload of the tiles received so far) and that are not yet here stay under `prefetchBytes`; the
 * rest is asked for as replies come in ({@link pump}), so the channel stays busy without queueing
 * seconds of work in the kernel. A prefetch request whose plane becomes shown counts as shown from
 * then on.
 *
 * These functions work on the state of a {@link ChunkClient} (net/client.js), which calls them.
 * @module net/requests
 */

import { keyString } from "../core/grid.js";
import { tileId } from "../store/tilecache.js";
import { make } from "./protocol.js";

/** How many requests `stats.requests` remembers. */
export const REQUEST_LOG = 1000;

/** Prefetch requests in flight carry at most about this many payload bytes (see the module doc). */
export const PREFETCH_BYTES = 8 * 2 ** 20;

/** Estimated payload bytes of a tile before any of its layer and level arrived. */
const DEFAULT_TILE_BYTES = 4096;

/** Both layers, fetched for every visible key. */
export const VIEW_LAYERS = ["image", "labels"];

/**
 * Ask for the deferred prefetch entries of the current plan that now fit in the bound.
 * @param {import("./client.js").ChunkClient} client
 */
export function pump(client) {
  if (client.deferred && client.current) fetchPlan(client, client.cursor);
}

/**
 * Request what is missing for plan entries `start…` of the current plan (prefetch ones within
 * the bytes-in-flight bound; the first that does not fit is remembered as `cursor`).
 * @param {import("./client.js").ChunkClient} client
 * @param {number} start
 */
export function fetchPlan(client, start) {
  const { axis, plan } = client.current;
  let budget = client.prefetchBytes - prefetchInFlight(client);
  client.deferred = false;
  client.cursor = plan.length;
  const gen = client.planeGen();
  for (let i = start; i < plan.length; i++) {
    const entry = plan[i];
    const { level, index, keys, prefetch = false } = entry;
    if (client.deferred) break; // in plan order: nearest planes first
    for (const layer of VIEW_LAYERS) {
      const plane = client.planeOf(entry, layer, axis);
      if (plane.done === gen) continue; // every tile cached and fresh, nothing changed since
      const want = [];
      const ids = new Set();
      const fresh = []; // not in memory: look in the persistent cache first
      let flying = false;
      for (let k = 0; k < keys.length; k++) {
        const id = plane.ids[k];
        const rid = client.inflight.get(id);
        if (rid !== undefined) {
          flying = true;
          const req = client.requests.get(rid);
          if (!prefetch && req?.prefetch) req.prefetch = false; // its plane is shown now
          continue;
        }
        // shown tiles count as used; prefetched ones keep their arrival order in the LRU
        const t = prefetch ? client.cache.peek(id) : client.cache.get(id);
        if (t && !t.stale && !t.dirty) continue;
        const key = keys[k];
        want.push(key);
        ids.add(id);
        if (!t) fresh.push(id);
      }
      if (!want.length) {
        if (!flying) plane.done = gen;
        continue;
      }
      if (prefetch) {
        const cost = want.length * tileBytes(client, layer, level);
        if (cost > budget && budget < client.prefetchBytes) {
          client.deferred = true; // asked for when replies bring the bytes in flight down
          client.cursor = i;
          client.stats.prefetchDeferred++;
          break;
        }
        budget -= cost;
      }
      const rid = client.makeId();
      if (client.inflight.size === 0) client.wave = 0;
      client.wave += ids.size;
      const req = { layer, level, axis, index, ids, prefetch };
      client.requests.set(rid, req);
      for (const id of ids) client.inflight.set(id, rid);
      const then = () => {
        if (client.requests.get(rid) === req) sendGet(client, rid, req, want);
      };
      if (!client.persistence.lookup(req, fresh, then)) sendGet(client, rid, req, want);
    }
  }
}

/**
 * Send the chunks.get of a request, with the versions held now as `known`.
 * @param {import("./client.js").ChunkClient} client
 * @param {string} rid request id
 * @param {{layer: string, level: number, axis: number, index: number, prefetch: boolean}} req
 * @param {number[][]} keys
 */
export function sendGet(client, rid, req, keys) {
  const { layer, level, axis, index } = req;
  const known = keys.map((key) => {
    const t = client.cache.peek(tileId(layer, level, axis, index, keyString(key)));
    return t && !t.dirty ? t.version : -1;
  });
  const msg = make("chunks.get", { id: rid, layer, level, keys, known, axis, index });
  const log = client.stats.requests;
  client.stats.sent++;
  log.push({
    n: client.stats.sent,
    layer,
    level,
    axis,
    index,
    keys,
    known,
    prefetch: req.prefetch,
    t: Date.now(),
  });
  if (log.length > REQUEST_LOG) log.splice(0, log.length - REQUEST_LOG);
  client.send(msg, []);
}

/**
 * Estimated payload bytes of one tile of `layer` at `level`: the mean of those received so far.
 * @param {import("./client.js").ChunkClient} client
 * @param {string} layer
 * @param {number} level
 * @returns {number}
 */
export function tileBytes(client, layer, level) {
  const r = client.received.get(`${layer}/${level}`);
  return r && r.tiles >= 16 ? r.bytes / r.tiles : DEFAULT_TILE_BYTES;
}

/**
 * @param {import("./client.js").ChunkClient} client
 * @returns {number} estimated payload bytes prefetch requests still have to bring
 */
export function prefetchInFlight(client) {
  let n = 0;
  for (const req of client.requests.values()) {
    if (req.prefetch) n += req.ids.size * tileBytes(client, req.layer, req.level);
  }
  return n;
}

/**
 * Cancel requests of a client (net/client.js, net/bricks.js): forget them and their tiles in flight,
 * and tell the kernel (`chunks.cancel`, one message).
 * @param {{requests: Map<string, {ids: Set<string>}>, inflight: Map<string, string>,
 *   send: (msg: object, buffers: ArrayBuffer[]) => void}} client
 * @param {Iterable<string>} rids
 * @returns {number} how many of them were outstanding (and are cancelled)
 */
export function cancelRequests(client, rids) {
  const ids = [];
  for (const rid of rids) {
    const req = client.requests.get(rid);
    if (!req) continue;
    for (const id of req.ids) if (client.inflight.get(id) === rid) client.inflight.delete(id);
    client.requests.delete(rid);
    ids.push(rid);
  }
  if (ids.length) client.send(make("chunks.cancel", { ids }), []);
  return ids.length;
}
