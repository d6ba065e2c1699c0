/**
 * ChunkClient: fetches the tiles a view shows, keeps them in the memory LRU cache, follows the
 * kernel's change notices and cancels requests the view no longer needs.
 *
 * A view declares a plan (see core/lod.js): per level its plane index and visible keys, coarsest
 * level first, so coarse placeholders are asked for before fine tiles. With a persistent cache
 * (store/chunkcache.js), tiles missing from memory are looked up there first: found ones are drawn
 * at once (marked stale) and asked for with their version as `known`, so the kernel answers
 * "unchanged" without bytes; tiles arriving from the kernel are written there once the view rests
 * on their plane (store/resttracker.js's write policy: the shown planes go through a RestTracker;
 * tiles of planes flown past or only prefetched stay in memory, flagged `unsaved`; those of the
 * current plan are written when their plane, or a plane near it, comes to rest).
 *
 * The client holds the state (requests and tiles in flight, versions, the memory cache, stats) and
 * the public API; its work is split by concern: net/requests.js (what to ask for: the plan's
 * requests, prefetch within a bound of bytes in flight), net/replies.js (what came back),
 * net/persistence.js (the persistent cache's side), net/planememo.js (the tile ids of planned
 * planes).
 *
 * Message flow (see net/protocol.js): `chunks.get` {id, layer, level, keys, known, axis, index} →
 * one or more `chunks.data` {reply_to, tiles, done}; `chunks.cancel` {ids}; `chunks.changed`
 * {layer, level, keys, versions, origin?} from the kernel at any time.
 * @module net/client
 */

import { keyString } from "../core/grid.js";
import { REST_MS, REST_NEAR } from "../store/resttracker.js";
import { TileCache, tileId } from "../store/tilecache.js";
import { newId } from "./ids.js";
import { TilePersistence } from "./persistence.js";
import { PlaneMemo } from "./planememo.js";
import { onChanged, onData } from "./replies.js";
import { cancelRequests, fetchPlan, PREFETCH_BYTES, VIEW_LAYERS } from "./requests.js";

/** The tiles one view shows: its requests, memory cache and versions (see the module doc). */
export class ChunkClient {
  /**
   * @param {object} p
   * @param {(msg: object, buffers?: ArrayBuffer[]) => void} p.send delivers a message to the kernel
   * @param {number} [p.level] resolution level (0 = full)
   * @param {TileCache} [p.cache]
   * @param {() => string} [p.makeId] request id factory
   * @param {(prefetchOnly?: boolean) => void} [p.onUpdate] called after tiles arrived or versions
   *   changed (redraw); `prefetchOnly` when only tiles of planes not shown arrived
   * @param {import("../store/chunkcache.js").ChunkCache|null} [p.persist] persistent tile cache
   * @param {(layer: string) => string|null} [p.prefix] its key prefix per layer (null: don't persist)
   * @param {number} [p.prefetchBytes] bound of the payload bytes prefetch requests have in flight
   * @param {number} [p.restMs] a plane shown this long is at rest: its tiles are persisted
   * @param {number} [p.restNear] … and those of the planes this close to it
   * @param {() => number} [p.now] clock (ms) of the rest policy
   */
  constructor({
    send,
    level = 0,
    cache = new TileCache(),
    makeId = newId,
    onUpdate = () => {},
    persist = null,
    prefix = () => null,
    prefetchBytes = PREFETCH_BYTES,
    restMs = REST_MS,
    restNear = REST_NEAR,
    now = () => globalThis.performance?.now() ?? Date.now(),
  }) {
    /** The persistent cache's side: the rest policy of writes, lookups (net/persistence.js). */
    this.persistence = new TilePersistence({ client: this, persist, prefix, restMs, restNear, now });
    this.prefetchBytes = prefetchBytes;
    /** @type {Map<string, {bytes: number, tiles: number}>} "layer/level" -> payload received */
    this.received = new Map();
    this.deferred = false; // prefetch entries wait for the bytes in flight to drop
    this.cursor = 0; // the first plan entry still to ask for
    this.send = send;
    this.level = level; // the level edits are painted at (0)
    this.cache = cache;
    this.makeId = makeId;
    this.onUpdate = onUpdate;
    /** The tile ids of the planes the view planned, and their completeness (net/planememo.js). */
    this.planes = new PlaneMemo();
    /** Bumped whenever a complete plane can have become incomplete (see planeGen). */
    this.gen = 0;
    /** Hooks of the edit queue: re-apply pending voxels onto arriving tiles; own batch ids. */
    this.overlay = { reapply: () => {}, isOwn: () => false };
    /** @type {Map<string, {layer: string, axis: number, index: number, ids: Set<string>}>} */
    this.requests = new Map();
    /** @type {Map<string, string>} tile id -> request id */
    this.inflight = new Map();
    /** @type {Map<string, number>} "layer/level/ks" -> newest version known to exist */
    this.versions = new Map();
    this.current = null; // {axis, plan: [{level, index, keys}]}
    /**
     * requests: the last REQUEST_LOG (net/requests.js) chunks.get sent, {n, layer, level, axis,
     * index, keys, known, prefetch, t} (n counts from 1); planeBytes: payload bytes received per plane
     * "level/axis/index" (the last PLANE_LOG planes, net/replies.js), so prefetched bytes that were
     * never shown can be told apart
     */
    this.stats = {
      messages: 0,
      tiles: 0,
      bytes: 0,
      unchanged: 0,
      fromCache: 0,
      requests: [],
      dataMs: 0,
      planeBytes: {},
      prefetchDeferred: 0,
      sent: 0, // chunks.get sent so far (`n` of the request log's entries)
    };
    this.wave = 0; // tiles requested since the last time nothing was in flight
    this.lastError = null;
  }

  /** @returns {{loading: number, total: number}} tiles in flight and requested in this wave */
  progress() {
    return { loading: this.inflight.size, total: this.wave };
  }

  /** @returns {number} tiles of shown (not prefetched) planes still in flight */
  get shownLoading() {
    let n = 0;
    for (const req of this.requests.values()) if (!req.prefetch) n += req.ids.size;
    return n;
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
  chunkVersion(layer, ks, level = this.level) {
    return this.versions.get(`${layer}/${level}/${ks}`) ?? -1;
  }

  /**
   * The memo of one plan entry's plane in `layer`: its tile ids (in `keys` order), made once for
   * as long as the view plans the same keys there.
   * @param {{level: number, index: number, keys: number[][]}} entry
   * @param {string} layer
   * @param {number} axis
   * @returns {{keys: number[][], ids: string[], idSet: Set<string>|null, done: number}}
   */
  planeOf(entry, layer, axis) {
    return this.planes.of(entry, layer, axis);
  }

  /**
   * The cached tiles (or undefined) of `keys` in the plane `axis = index` of `layer` at `level`,
   * in `keys` order, marked recently used: {@link tile} for a whole plane, through the plane memo.
   * @param {string} layer
   * @param {number} axis
   * @param {number} index
   * @param {number[][]} keys
   * @param {number} level
   * @returns {{ids: string[], tiles: Array<object|undefined>}}
   */
  planeTiles(layer, axis, index, keys, level) {
    const { ids } = this.planeOf({ level, index, keys }, layer, axis);
    return { ids, tiles: ids.map((id) => this.cache.get(id)) };
  }

  /**
   * The generation complete planes are checked against: it changes whenever a cached tile left
   * the memory cache, became stale or dirty, or an in-flight tile was dropped without arriving.
   * @returns {number}
   */
  planeGen() {
    return this.gen + this.cache.removals;
  }

  /**
   * The cached tile of `key` in the plane `axis = index` (marks it recently used).
   * @param {string} layer
   * @param {number} axis
   * @param {number} index
   * @param {number[]} key
   * @param {number} [level]
   * @returns {object|undefined}
   */
  tile(layer, axis, index, key, level = this.level) {
    return this.cache.get(tileId(layer, level, axis, index, keyString(key)));
  }

  /**
   * Declare what the view shows at one level (the paint level unless given).
   * @param {number} axis
   * @param {number} index
   * @param {number[][]} keys visible chunk keys, most important first
   * @param {number} [level]
   */
  view(axis, index, keys, level = this.level) {
    this.viewPlan(axis, [{ level, index, keys }]);
  }

  /**
   * Declare what the view shows: fetch missing, stale and dirty tiles of both layers for every
   * level of the plan (in plan order: coarse first), cancel requests for planes, levels or keys
   * that left the view, and evict old tiles.
   * @param {number} axis
   * @param {{level: number, index: number, keys: number[][]}[]} plan
   */
  viewPlan(axis, plan) {
    this.current = { axis, plan };
    // the plan's planes: "layer/level/index" -> the id sets of the entries planning them
    const planes = new Map();
    for (const entry of plan) {
      for (const layer of VIEW_LAYERS) {
        const m = this.planeOf(entry, layer, axis);
        m.idSet ??= new Set(m.ids);
        const pk = `${layer}/${entry.level}/${entry.index}`;
        const sets = planes.get(pk);
        if (sets) sets.push(m.idSet);
        else planes.set(pk, [m.idSet]);
      }
    }
    // cancel what the view no longer needs
    const cancel = [];
    for (const [rid, req] of this.requests) {
      const sets = req.axis === axis ? planes.get(`${req.layer}/${req.level}/${req.index}`) : undefined;
      let needed = false;
      if (sets) {
        for (const id of req.ids) {
          if (sets.some((ids) => ids.has(id))) {
            needed = true;
            break;
          }
        }
      }
      if (!needed) cancel.push(rid);
    }
    if (cancel.length) this.cancel(cancel);
    if (this.persistence.enabled) this.persistence.show(axis, plan);
    fetchPlan(this, 0);
    if (this.cache.bytes > this.cache.budget) {
      const visible = new Set();
      for (const entry of plan) {
        for (const layer of VIEW_LAYERS)
          for (const id of this.planeOf(entry, layer, axis).ids) visible.add(id);
      }
      this.cache.evict(visible);
    }
  }

  /** Re-run {@link viewPlan} with the last declared view (after versions changed). */
  refresh() {
    if (this.current) this.viewPlan(this.current.axis, this.current.plan);
  }

  /**
   * Cancel outstanding requests.
   * @param {string[]} rids
   */
  cancel(rids) {
    if (cancelRequests(this, rids)) this.gen++; // their planes lack those tiles again
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
    this.gen++;
    this.refresh();
  }

  /** Cancel everything (unmount). */
  cancelAll() {
    this.cancel([...this.requests.keys()]);
    this.persistence.settle(); // the slice shown last is the one drawn on reopening
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
        return onData(this, msg, buffers);
      case "chunks.changed":
        this.stats.messages++;
        onChanged(this, msg);
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
    if (req.ids.size) this.gen++; // tiles that never came
    for (const id of req.ids) if (this.inflight.get(id) === rid) this.inflight.delete(id);
    this.requests.delete(rid);
  }

  /**
   * The kernel's chunk `ks` is now at `version`. Tiles one version behind whose data already
   * holds the change (`own`: it is this view's acknowledged batch) move to `version`; other
   * older tiles become stale (refetched when visible).
   * @param {string} layer
   * @param {string} ks
   * @param {number} version
   * @param {boolean} own
   * @param {number} [level]
   * @returns {boolean} whether a tile became stale
   */
  noteVersion(layer, ks, version, own, level = this.level) {
    const ck = `${layer}/${level}/${ks}`;
    if (version > (this.versions.get(ck) ?? -1)) this.versions.set(ck, version);
    this.gen++; // (also after the edit queue marked tiles of this chunk dirty)
    let stale = false;
    for (const t of this.cache.ofChunk(layer, level, ks)) {
      if (t.version >= version) continue;
      if (own && level === this.level && !t.dirty && t.version === version - 1) t.version = version;
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
    this.gen++;
  }
}
