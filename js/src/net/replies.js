/**
 * What the chunk client does with the kernel's answers: `chunks.data` replies (tiles decoded,
 * checked against the versions known, cached; the edit overlay re-applied; persisted per the rest
 * policy) and `chunks.changed` notices (cached tiles of the changed chunks become stale, or move
 * to the new version when it is this view's own acknowledged edit).
 *
 * These functions work on the state of a {@link ChunkClient} (net/client.js), which calls them
 * from its `handle`.
 * @module net/replies
 */

import { keyString } from "../core/grid.js";
import { tileId } from "../store/tilecache.js";
import { prefetchInFlight, pump } from "./requests.js";
import { decodeTile, makeTile, tilePayload, tileSize } from "./tiles.js";

/** Planes `stats.planeBytes` remembers. */
const PLANE_LOG = 4096;

/**
 * Handle a `chunks.data` reply (its handling time accumulates in `stats.dataMs`).
 * @param {import("./client.js").ChunkClient} client
 * @param {object} msg validated message
 * @param {Array<DataView|ArrayBuffer>} buffers
 * @returns {boolean} whether it answered one of this client's requests
 */
export function onData(client, msg, buffers) {
  const t0 = globalThis.performance?.now() ?? 0;
  try {
    return onDataTimed(client, msg, buffers);
  } finally {
    client.stats.dataMs += (globalThis.performance?.now() ?? 0) - t0;
  }
}

function onDataTimed(client, msg, buffers) {
  const req = client.requests.get(msg.reply_to);
  if (!req) return false; // another view's, or cancelled
  client.stats.messages++;
  const axis = msg.axis ?? -1;
  const index = msg.index ?? -1;
  let again = false; // a tile arrived older than known, or unusable: ask again
  let bytes = 0;
  for (const rec of msg.tiles) {
    const ks = keyString(rec.key);
    const id = tileId(msg.layer, msg.level, axis, index, ks);
    if (client.inflight.get(id) === msg.reply_to) client.inflight.delete(id);
    req.ids.delete(id);
    client.stats.tiles++;
    if (rec.codec === "unchanged") {
      client.stats.unchanged++;
      const t = client.cache.peek(id);
      const ck = `${msg.layer}/${msg.level}/${ks}`;
      if (rec.version > (client.versions.get(ck) ?? -1)) client.versions.set(ck, rec.version);
      if (t && !t.dirty && t.version === rec.version) {
        t.stale = rec.version < client.chunkVersion(msg.layer, ks, msg.level);
        if (t.stale) client.gen++;
      }
      again = again || !t || t.dirty || t.stale;
      continue;
    }
    let data;
    try {
      const payload = tilePayload(rec, buffers); // a view into the message's one buffer
      if (payload) {
        client.stats.bytes += payload.byteLength;
        bytes += payload.byteLength;
      }
      // (an aligned raw tile stays a view of the message buffer: see decodeTile)
      if (rec.codec === "zero") tileSize(rec.shape, rec.dtype); // made lazily, checked now
      data = rec.codec === "zero" ? null : decodeTile(rec.codec, payload, rec.shape, rec.dtype);
    } catch (err) {
      client.lastError = `tile ${ks} of ${msg.layer}: ${err.message}`;
      client.gen++; // its plane lacks it
      continue;
    }
    const { layer, level } = msg;
    const { key, version, shape, dtype } = rec;
    const tile = makeTile({ id, layer, level, axis, index, ks, key, version, shape, dtype, data });
    accept(client, tile);
    const t = client.cache.peek(id);
    again = again || !t || t.stale || t.dirty;
  }
  noteReceived(client, msg, bytes);
  if (msg.done) client.finish(msg.reply_to);
  if (again) client.refresh();
  else if (client.deferred && prefetchInFlight(client) < client.prefetchBytes / 2) pump(client);
  client.onUpdate(req.prefetch);
  return true;
}

/** Account a reply's payload: per layer and level (the prefetch estimate), per plane (stats). */
function noteReceived(client, msg, bytes) {
  const k = `${msg.layer}/${msg.level}`;
  const r = client.received.get(k) ?? { bytes: 0, tiles: 0 };
  r.bytes += bytes;
  r.tiles += msg.tiles.length;
  if (r.tiles > 1e6) {
    r.bytes /= 2;
    r.tiles /= 2;
  }
  client.received.set(k, r);
  const planes = client.stats.planeBytes;
  const pk = `${msg.level}/${msg.axis ?? -1}/${msg.index ?? -1}`;
  if (!(pk in planes) && Object.keys(planes).length >= PLANE_LOG) client.stats.planeBytes = {};
  client.stats.planeBytes[pk] = (client.stats.planeBytes[pk] ?? 0) + bytes;
}

/**
 * Store a decoded tile unless the cache holds a newer clean one; pending edits are re-applied.
 * @param {import("./client.js").ChunkClient} client
 * @param {object} tile
 */
export function accept(client, tile) {
  const cached = client.cache.peek(tile.id);
  if (cached && !cached.dirty && cached.version > tile.version) return;
  const ck = `${tile.layer}/${tile.level}/${tile.ks}`;
  const latest = client.versions.get(ck) ?? -1;
  tile.stale = tile.version < latest;
  if (tile.stale) client.gen++;
  if (tile.version > latest) client.versions.set(ck, tile.version);
  client.persistence.keep(tile);
  if (tile.layer === "labels" && tile.level === client.level) client.overlay.reapply(tile);
  client.cache.set(tile);
}

/**
 * Handle a `chunks.changed` notice: see {@link ChunkClient#noteVersion}.
 * @param {import("./client.js").ChunkClient} client
 * @param {object} msg validated message
 */
export function onChanged(client, msg) {
  const own = msg.origin !== undefined && client.overlay.isOwn(msg.origin);
  let stale = false;
  for (let i = 0; i < msg.keys.length; i++) {
    const ks = keyString(msg.keys[i]);
    stale = client.noteVersion(msg.layer, ks, msg.versions[i], own, msg.level) || stale;
  }
  if (stale) client.refresh();
  client.onUpdate();
}
