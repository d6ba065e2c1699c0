/**
 * ChunkClient: fetches the tiles a view shows, keeps them in the memory LRU cache, follows the
 * kernel's change notices and cancels requests the view no longer needs.
 *
 * Message flow (see protocol.js): `chunks.get` {id, layer, level, keys, known, axis, index} →
 * one or more `chunks.data` {reply_to, tiles, done}; `chunks.cancel` {ids}; `chunks.changed`
 * {layer, level, keys, versions, origin?} from the kernel at any time.
 * @module client
 */

import { keyString } from "./grid.js";
import { make } from "./protocol.js";
import { asBytes, decodeTile, TileCache, tileId } from "./tiles.js";

/** Both layers, fetched for every visible key. */
const VIEW_LAYERS = ["image", "labels"];

/**
 * A random id (crypto.randomUUID when available).
 * @returns {string}
 */
export function newId() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

export class ChunkClient {
  /**
   * @param {object} p
   * @param {(msg: object, buffers?: ArrayBuffer[]) => void} p.send delivers a message to the kernel
   * @param {number} [p.level] resolution level (0 = full)
   * @param {TileCache} [p.cache]
   * @param {() => string} [p.makeId] request id factory
   * @param {() => void} [p.onUpdate] called after tiles arrived or versions changed (redraw)
   */
  constructor({ send, level = 0, cache = new TileCache(), makeId = newId, onUpdate = () => {} }) {
    this.send = send;
    this.level = level;
    this.cache = cache;
    this.makeId = makeId;
    this.onUpdate = onUpdate;
    /** Hooks of the edit queue: re-apply pending voxels onto arriving tiles; own batch ids. */
    this.overlay = { reapply: () => {}, isOwn: () => false };
    /** @type {Map<string, {layer: string, axis: number, index: number, ids: Set<string>}>} */
    this.requests = new Map();
    /** @type {Map<string, string>} tile id -> request id */
    this.inflight = new Map();
    /** @type {Map<string, number>} "layer/level/ks" -> newest version known to exist */
    this.versions = new Map();
    this.current = null; // {axis, index, keys}
    this.stats = { messages: 0, tiles: 0, bytes: 0 };
    this.wave = 0; // tiles requested since the last time nothing was in flight
    this.lastError = null;
  }

  /** @returns {{loading: number, total: number}} tiles in flight and requested in this wave */
  progress() {
    return { loading: this.inflight.size, total: this.wave };
  }

  /** @returns {boolean} whether no request is outstanding */
  get idle() {
    return this.requests.size === 0;
  }

  /**
   * The newest version of a chunk this client knows of (-1: none).
   * @param {string} layer
   * @param {string} ks
   * @returns {number}
   */
  chunkVersion(layer, ks) {
    return this.versions.get(`${layer}/${this.level}/${ks}`) ?? -1;
  }

  /**
   * The cached tile of `key` in the plane `axis = index` (marks it recently used).
   * @param {string} layer
   * @param {number} axis
   * @param {number} index
   * @param {number[]} key
   * @returns {object|undefined}
   */
  tile(layer, axis, index, key) {
    return this.cache.get(tileId(layer, this.level, axis, index, keyString(key)));
  }

  /**
   * Declare what the view shows: fetch missing, stale and dirty tiles of both layers, cancel
   * requests for other planes or keys that left the view, and evict old tiles.
   * @param {number} axis
   * @param {number} index
   * @param {number[][]} keys visible chunk keys, most important first
   */
  view(axis, index, keys) {
    this.current = { axis, index, keys };
    const visible = new Set();
    for (const layer of VIEW_LAYERS) {
      for (const key of keys) visible.add(tileId(layer, this.level, axis, index, keyString(key)));
    }
    // cancel what the view no longer needs
    const cancel = [];
    for (const [rid, req] of this.requests) {
      let needed = req.axis === axis && req.index === index;
      if (needed) {
        needed = false;
        for (const id of req.ids) {
          if (visible.has(id)) {
            needed = true;
            break;
          }
        }
      }
      if (!needed) cancel.push(rid);
    }
    if (cancel.length) this.cancel(cancel);
    // fetch what is missing
    for (const layer of VIEW_LAYERS) {
      const want = [];
      const known = [];
      const ids = new Set();
      for (const key of keys) {
        const id = tileId(layer, this.level, axis, index, keyString(key));
        if (this.inflight.has(id)) continue;
        const t = this.cache.get(id);
        if (t && !t.stale && !t.dirty) continue;
        want.push(key);
        known.push(t && !t.dirty ? t.version : -1);
        ids.add(id);
      }
      if (!want.length) continue;
      const rid = this.makeId();
      const msg = make("chunks.get", { id: rid, layer, level: this.level, keys: want, known, axis, index });
      if (this.inflight.size === 0) this.wave = 0;
      this.wave += ids.size;
      this.requests.set(rid, { layer, axis, index, ids });
      for (const id of ids) this.inflight.set(id, rid);
      this.send(msg, []);
    }
    this.cache.evict(visible);
  }

  /** Re-run {@link view} with the last declared view (after versions changed). */
  refresh() {
    if (this.current) this.view(this.current.axis, this.current.index, this.current.keys);
  }

  /**
   * Cancel outstanding requests.
   * @param {string[]} rids
   */
  cancel(rids) {
    const ids = [];
    for (const rid of rids) {
      const req = this.requests.get(rid);
      if (!req) continue;
      for (const id of req.ids) if (this.inflight.get(id) === rid) this.inflight.delete(id);
      this.requests.delete(rid);
      ids.push(rid);
    }
    if (ids.length) this.send(make("chunks.cancel", { ids }), []);
  }

  /**
   * The connection came back: replies to outstanding requests were lost and change notices may
   * have been missed. Forget the requests, mark cached label tiles stale (revalidated cheaply:
   * the kernel answers "unchanged" for a known version) and ask again for what the view shows.
   */
  retry() {
    this.requests.clear();
    this.inflight.clear();
    for (const t of this.cache.tiles.values()) if (t.layer === "labels") t.stale = true;
    this.refresh();
  }

  /** Cancel everything (unmount). */
  cancelAll() {
    this.cancel([...this.requests.keys()]);
  }

  /**
   * Handle one kernel message; returns whether it was for this client.
   * @param {object} msg validated message
   * @param {Array<DataView|ArrayBuffer>} buffers
   * @returns {boolean}
   */
  handle(msg, buffers) {
    switch (msg.kind) {
      case "chunks.data":
        return this.onData(msg, buffers);
      case "chunks.changed":
        this.stats.messages++;
        this.onChanged(msg);
        return true;
      case "error": {
        const req = msg.reply_to !== undefined && this.requests.get(msg.reply_to);
        if (!req) return false;
        this.stats.messages++;
        this.finish(msg.reply_to);
        this.lastError = msg.error;
        this.onUpdate();
        return true;
      }
      default:
        return false;
    }
  }

  /** Forget a request and its remaining in-flight tiles. */
  finish(rid) {
    const req = this.requests.get(rid);
    if (!req) return;
    for (const id of req.ids) if (this.inflight.get(id) === rid) this.inflight.delete(id);
    this.requests.delete(rid);
  }

  onData(msg, buffers) {
    const req = this.requests.get(msg.reply_to);
    if (!req) return false; // another view's, or cancelled
    this.stats.messages++;
    const axis = msg.axis ?? -1;
    const index = msg.index ?? -1;
    let again = false; // a tile arrived older than known, or unusable: ask again
    for (const rec of msg.tiles) {
      const ks = keyString(rec.key);
      const id = tileId(msg.layer, msg.level, axis, index, ks);
      if (this.inflight.get(id) === msg.reply_to) this.inflight.delete(id);
      req.ids.delete(id);
      this.stats.tiles++;
      if (rec.codec === "unchanged") {
        const t = this.cache.peek(id);
        if (t && !t.dirty && t.version === rec.version) {
          t.stale = rec.version < this.chunkVersion(msg.layer, ks);
        }
        again = again || !t || t.dirty || t.stale;
        continue;
      }
      let payload = null;
      if (rec.buffer >= 0) {
        payload = asBytes(buffers[rec.buffer]);
        this.stats.bytes += payload.byteLength;
      }
      let data;
      try {
        data = decodeTile(rec.codec, payload, rec.shape, rec.dtype);
      } catch (err) {
        this.lastError = `tile ${ks} of ${msg.layer}: ${err.message}`;
        continue;
      }
      this.accept({
        id,
        layer: msg.layer,
        level: msg.level,
        axis,
        index,
        key: rec.key,
        ks,
        version: rec.version,
        shape: rec.shape,
        dtype: rec.dtype,
        data,
        rev: 0,
        stale: false,
        dirty: false,
        overlaid: null,
      });
      const t = this.cache.peek(id);
      again = again || !t || t.stale || t.dirty;
    }
    if (msg.done) this.finish(msg.reply_to);
    if (again) this.refresh();
    this.onUpdate();
    return true;
  }

  /**
   * Store a decoded tile unless the cache holds a newer clean one; pending edits are re-applied.
   * @param {object} tile
   */
  accept(tile) {
    const cached = this.cache.peek(tile.id);
    if (cached && !cached.dirty && cached.version > tile.version) return;
    const ck = `${tile.layer}/${tile.level}/${tile.ks}`;
    const latest = this.versions.get(ck) ?? -1;
    tile.stale = tile.version < latest;
    if (tile.version > latest) this.versions.set(ck, tile.version);
    if (tile.layer === "labels") this.overlay.reapply(tile);
    this.cache.set(tile);
  }

  onChanged(msg) {
    const own = msg.origin !== undefined && this.overlay.isOwn(msg.origin);
    let stale = false;
    for (let i = 0; i < msg.keys.length; i++) {
      stale = this.noteVersion(msg.layer, keyString(msg.keys[i]), msg.versions[i], own) || stale;
    }
    if (stale) this.refresh();
    this.onUpdate();
  }

  /**
   * The kernel's chunk `ks` is now at `version`. Tiles one version behind whose data already
   * holds the change (`own`: it is this view's acknowledged batch) move to `version`; other
   * older tiles become stale (refetched when visible).
   * @param {string} layer
   * @param {string} ks
   * @param {number} version
   * @param {boolean} own
   * @returns {boolean} whether a tile became stale
   */
  noteVersion(layer, ks, version, own) {
    const ck = `${layer}/${this.level}/${ks}`;
    if (version > (this.versions.get(ck) ?? -1)) this.versions.set(ck, version);
    let stale = false;
    for (const t of this.cache.ofChunk(layer, this.level, ks)) {
      if (t.version >= version) continue;
      if (own && !t.dirty && t.version === version - 1) t.version = version;
      else {
        t.stale = true;
        stale = true;
      }
    }
    return stale;
  }

  /**
   * Mark every tile of a chunk dirty (its data holds voxels the kernel never applied); the
   * visible ones are refetched whole.
   * @param {string} layer
   * @param {string} ks
   */
  markDirty(layer, ks) {
    for (const t of this.cache.ofChunk(layer, this.level, ks)) t.dirty = true;
  }
}
