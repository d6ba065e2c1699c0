/**
 * ChunkClient: fetches the tiles a view shows, keeps them in the memory LRU cache, follows the
 * kernel's change notices and cancels requests the view no longer needs.
 *
 * A view declares a plan (see lod.js): per level its plane index and visible keys, coarsest level
 * first, so coarse placeholders are asked for before fine tiles. With a persistent cache
 * (chunkcache.js), tiles missing from memory are looked up there first: found ones are drawn at
 * once (marked stale) and asked for with their version as `known`, so the kernel answers
 * "unchanged" without bytes; tiles arriving from the kernel are written there once the view rests
 * on their plane (chunkcache.js's write policy: the shown planes go through a RestTracker; tiles of
 * planes flown past or only prefetched stay in memory, flagged `unsaved`; those of the current
 * plan are written when their plane, or a plane near it, comes to rest).
 *
 * Prefetch: plan entries flagged `prefetch` (the planes ahead of the shown one, lod.js) are asked for
 * in plan order only while the bytes they are estimated to bring (per layer and level, the mean
 * payload of the tiles received so far) and that are not yet here stay under `prefetchBytes`; the
 * rest is asked for as replies come in, so the channel stays busy without queueing seconds of work
 * in the kernel. A prefetch request whose plane becomes shown counts as shown from then on.
 *
 * Message flow (see protocol.js): `chunks.get` {id, layer, level, keys, known, axis, index} →
 * one or more `chunks.data` {reply_to, tiles, done}; `chunks.cancel` {ids}; `chunks.changed`
 * {layer, level, keys, versions, origin?} from the kernel at any time.
 * @module client
 */

import { planeId, REST_MS, REST_NEAR, RestTracker } from "./chunkcache.js";
import { keyString } from "./grid.js";
import { make } from "./protocol.js";
import { decodeTile, lazyZeroData, TileCache, TYPED, tileId, tilePayload } from "./tiles.js";

/** How many requests `stats.requests` remembers. */
export const REQUEST_LOG = 1000;

/** Prefetch requests in flight carry at most about this many payload bytes (see the module doc). */
export const PREFETCH_BYTES = 8 * 2 ** 20;

/** Estimated payload bytes of a tile before any of its layer and level arrived. */
const DEFAULT_TILE_BYTES = 4096;

/** Planes `stats.planeBytes` remembers. */
const PLANE_LOG = 4096;

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

/** Planes whose tile ids and completeness the client remembers (see ChunkClient.planeOf). */
const PLANE_MEMO = 1024;

/**
 * Whether two key lists hold the same keys in the same order.
 * @param {number[][]} a
 * @param {number[][]} b
 * @returns {boolean}
 */
function sameKeys(a, b) {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2]) return false;
  }
  return true;
}

export class ChunkClient {
  /**
   * @param {object} p
   * @param {(msg: object, buffers?: ArrayBuffer[]) => void} p.send delivers a message to the kernel
   * @param {number} [p.level] resolution level (0 = full)
   * @param {TileCache} [p.cache]
   * @param {() => string} [p.makeId] request id factory
   * @param {(prefetchOnly?: boolean) => void} [p.onUpdate] called after tiles arrived or versions
   *   changed (redraw); `prefetchOnly` when only tiles of planes not shown arrived
   * @param {import("./chunkcache.js").ChunkCache|null} [p.persist] persistent tile cache
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
    /** Which shown planes are at rest (their tiles are persisted); its timer. */
    this.rest = new RestTracker(restMs, restNear);
    this.restTimer = null;
    this.now = now;
    this.prefetchBytes = prefetchBytes;
    /** @type {Map<string, {bytes: number, tiles: number}>} "layer/level" -> payload received */
    this.received = new Map();
    this.deferred = false; // prefetch entries wait for the bytes in flight to drop
    this.cursor = 0; // the first plan entry still to ask for
    this.send = send;
    this.level = level; // the level edits are painted at (0)
    this.persist = persist;
    this.prefix = prefix;
    this.cache = cache;
    this.makeId = makeId;
    this.onUpdate = onUpdate;
    /**
     * Per plane of a layer ("layer/level/axis/index"): the tile ids of the keys the view last
     * planned there, and the generation at which all of them were cached and fresh (-1: not
     * known). Each scroll step plans ~16 planes x 2 layers x ~300 keys; without the memo every
     * step (and every reply while prefetch waits) rebuilt the ids and looked each one up.
     * @type {Map<string, {keys: number[][], ids: string[], idSet: Set<string>|null, done: number}>}
     */
    this.planes = new Map();
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
     * requests: the last REQUEST_LOG chunks.get sent, {n, layer, level, axis, index, keys, known,
     * prefetch, t} (n counts from 1); planeBytes: payload bytes received per plane "level/axis/index" (the last
     * PLANE_LOG planes), so prefetched bytes that were never shown can be told apart
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
    const { level, index, keys } = entry;
    const pk = `${layer}/${level}/${axis}/${index}`;
    let m = this.planes.get(pk);
    if (!m || !sameKeys(m.keys, keys)) {
      if (!m && this.planes.size >= PLANE_MEMO) this.planes.clear();
      const ids = keys.map((key) => tileId(layer, level, axis, index, keyString(key)));
      m = { keys, ids, idSet: null, done: -1 };
      this.planes.set(pk, m);
    }
    return m;
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
    if (this.persist?.enabled) {
      const shown = [];
      for (const e of plan) if (!e.prefetch) shown.push(planeId(e.level, axis, e.index));
      this.persistRested(this.rest.show(shown, this.now()));
      this.armRest();
    }
    this.fetchPlan(0);
    if (this.cache.bytes > this.cache.budget) {
      const visible = new Set();
      for (const entry of plan) {
        for (const layer of VIEW_LAYERS)
          for (const id of this.planeOf(entry, layer, axis).ids) visible.add(id);
      }
      this.cache.evict(visible);
    }
  }

  /** (Re)start the timer that tells when the next shown plane comes to rest. */
  armRest() {
    if (this.restTimer !== null) clearTimeout(this.restTimer);
    this.restTimer = null;
    const due = this.rest.due();
    if (due === null) return;
    this.restTimer = setTimeout(
      () => {
        this.restTimer = null;
        this.persistRested(this.rest.tick(this.now()));
        this.armRest();
      },
      Math.max(0, due - this.now()),
    );
  }

  /**
   * Some planes came to rest: write the tiles of the plan's planes that are persisted (rested, near a
   * rested plane) and were not written when they arrived.
   * @param {string[]} planes plane ids (see planeId) that came to rest
   */
  persistRested(planes) {
    if (!planes.length || !this.current || !this.persist?.enabled) return;
    const { axis, plan } = this.current;
    for (const entry of plan) {
      if (!this.rest.isRested(planeId(entry.level, axis, entry.index))) continue;
      for (const layer of VIEW_LAYERS) {
        const prefix = this.prefix(layer);
        if (prefix === null) continue;
        for (const id of this.planeOf(entry, layer, axis).ids) {
          const t = this.cache.peek(id);
          if (!t?.unsaved) continue;
          t.unsaved = false;
          // only the kernel's data as it arrived (not stale, not painted since)
          if (!t.stale && !t.dirty && !t.rev) this.persist.put(`${prefix}/${t.id}`, t);
        }
      }
    }
  }

  /** Ask for the deferred prefetch entries of the current plan that now fit in the bound. */
  pump() {
    if (this.deferred && this.current) this.fetchPlan(this.cursor);
  }

  /**
   * Request what is missing for plan entries `start…` of the current plan (prefetch ones within
   * the bytes-in-flight bound; the first that does not fit is remembered as `cursor`).
   * @param {number} start
   */
  fetchPlan(start) {
    const { axis, plan } = this.current;
    let budget = this.prefetchBytes - this.prefetchInFlight();
    this.deferred = false;
    this.cursor = plan.length;
    const gen = this.planeGen();
    for (let i = start; i < plan.length; i++) {
      const entry = plan[i];
      const { level, index, keys, prefetch = false } = entry;
      if (this.deferred) break; // in plan order: nearest planes first
      for (const layer of VIEW_LAYERS) {
        const plane = this.planeOf(entry, layer, axis);
        if (plane.done === gen) continue; // every tile cached and fresh, nothing changed since
        const want = [];
        const ids = new Set();
        const fresh = []; // not in memory: look in the persistent cache first
        let flying = false;
        for (let k = 0; k < keys.length; k++) {
          const id = plane.ids[k];
          const rid = this.inflight.get(id);
          if (rid !== undefined) {
            flying = true;
            const req = this.requests.get(rid);
            if (!prefetch && req?.prefetch) req.prefetch = false; // its plane is shown now
            continue;
          }
          // shown tiles count as used; prefetched ones keep their arrival order in the LRU
          const t = prefetch ? this.cache.peek(id) : this.cache.get(id);
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
          const cost = want.length * this.tileBytes(layer, level);
          if (cost > budget && budget < this.prefetchBytes) {
            this.deferred = true; // asked for when replies bring the bytes in flight down
            this.cursor = i;
            this.stats.prefetchDeferred++;
            break;
          }
          budget -= cost;
        }
        const rid = this.makeId();
        if (this.inflight.size === 0) this.wave = 0;
        this.wave += ids.size;
        const req = { layer, level, axis, index, ids, prefetch };
        this.requests.set(rid, req);
        for (const id of ids) this.inflight.set(id, rid);
        const prefix = this.persist?.enabled ? this.prefix(layer) : null;
        if (prefix === null || !fresh.length || !this.persist.mayHave(fresh.map((id) => `${prefix}/${id}`))) {
          this.sendGet(rid, req, want);
          continue;
        }
        this.persist
          .getMany(fresh.map((id) => `${prefix}/${id}`))
          .catch(() => new Map())
          .then((found) => {
            for (const id of fresh) {
              const hit = found.get(`${prefix}/${id}`);
              if (hit && !this.cache.peek(id)) this.fromDisk(id, layer, level, axis, index, hit);
            }
            if (found.size) this.onUpdate();
            if (this.requests.get(rid) === req) this.sendGet(rid, req, want);
          });
      }
    }
  }

  /** Send the chunks.get of a request, with the versions held now as `known`. */
  sendGet(rid, req, keys) {
    const { layer, level, axis, index } = req;
    const known = keys.map((key) => {
      const t = this.cache.peek(tileId(layer, level, axis, index, keyString(key)));
      return t && !t.dirty ? t.version : -1;
    });
    const msg = make("chunks.get", { id: rid, layer, level, keys, known, axis, index });
    const log = this.stats.requests;
    this.stats.sent++;
    log.push({
      n: this.stats.sent,
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
    this.send(msg, []);
  }

  /**
   * Estimated payload bytes of one tile of `layer` at `level`: the mean of those received so far.
   * @param {string} layer
   * @param {number} level
   * @returns {number}
   */
  tileBytes(layer, level) {
    const r = this.received.get(`${layer}/${level}`);
    return r && r.tiles >= 16 ? r.bytes / r.tiles : DEFAULT_TILE_BYTES;
  }

  /** @returns {number} estimated payload bytes prefetch requests still have to bring */
  prefetchInFlight() {
    let n = 0;
    for (const req of this.requests.values()) {
      if (req.prefetch) n += req.ids.size * this.tileBytes(req.layer, req.level);
    }
    return n;
  }

  /** A tile read from the persistent cache: shown at once, stale until the kernel confirms it. */
  fromDisk(id, layer, level, axis, index, hit) {
    const ks = id.slice(id.lastIndexOf("/") + 1);
    this.stats.fromCache++;
    const tile = {
      id,
      layer,
      level,
      axis,
      index,
      key: ks.split(",").map(Number),
      ks,
      version: hit.version,
      shape: hit.shape,
      dtype: hit.dtype,
      data: hit.data,
      rev: 0,
      stale: true,
      dirty: false,
      overlaid: null,
      cached: true,
    };
    if (layer === "labels" && level === this.level) this.overlay.reapply(tile);
    this.cache.set(tile);
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
    const ids = [];
    for (const rid of rids) {
      const req = this.requests.get(rid);
      if (!req) continue;
      for (const id of req.ids) if (this.inflight.get(id) === rid) this.inflight.delete(id);
      this.requests.delete(rid);
      ids.push(rid);
    }
    if (ids.length) {
      this.gen++; // their planes lack those tiles again
      this.send(make("chunks.cancel", { ids }), []);
    }
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
    if (this.restTimer !== null) clearTimeout(this.restTimer);
    this.restTimer = null;
    this.persistRested(this.rest.settle()); // the slice shown last is the one drawn on reopening
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
    if (req.ids.size) this.gen++; // tiles that never came
    for (const id of req.ids) if (this.inflight.get(id) === rid) this.inflight.delete(id);
    this.requests.delete(rid);
  }

  onData(msg, buffers) {
    const t0 = globalThis.performance?.now() ?? 0;
    try {
      return this.onDataTimed(msg, buffers);
    } finally {
      this.stats.dataMs += (globalThis.performance?.now() ?? 0) - t0;
    }
  }

  onDataTimed(msg, buffers) {
    const req = this.requests.get(msg.reply_to);
    if (!req) return false; // another view's, or cancelled
    this.stats.messages++;
    const axis = msg.axis ?? -1;
    const index = msg.index ?? -1;
    let again = false; // a tile arrived older than known, or unusable: ask again
    let bytes = 0;
    for (const rec of msg.tiles) {
      const ks = keyString(rec.key);
      const id = tileId(msg.layer, msg.level, axis, index, ks);
      if (this.inflight.get(id) === msg.reply_to) this.inflight.delete(id);
      req.ids.delete(id);
      this.stats.tiles++;
      if (rec.codec === "unchanged") {
        this.stats.unchanged++;
        const t = this.cache.peek(id);
        const ck = `${msg.layer}/${msg.level}/${ks}`;
        if (rec.version > (this.versions.get(ck) ?? -1)) this.versions.set(ck, rec.version);
        if (t && !t.dirty && t.version === rec.version) {
          t.stale = rec.version < this.chunkVersion(msg.layer, ks, msg.level);
          if (t.stale) this.gen++;
        }
        again = again || !t || t.dirty || t.stale;
        continue;
      }
      let data;
      try {
        const payload = tilePayload(rec, buffers); // a view into the message's one buffer
        if (payload) {
          this.stats.bytes += payload.byteLength;
          bytes += payload.byteLength;
        }
        // (an aligned raw tile stays a view of the message buffer: see decodeTile)
        data = rec.codec === "zero" ? null : decodeTile(rec.codec, payload, rec.shape, rec.dtype);
        if (rec.codec === "zero" && !TYPED[rec.dtype])
          throw new TypeError(`unsupported dtype '${rec.dtype}'`);
      } catch (err) {
        this.lastError = `tile ${ks} of ${msg.layer}: ${err.message}`;
        this.gen++; // its plane lacks it
        continue;
      }
      const tile = {
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
        zero: rec.codec === "zero", // all zero while rev is 0 (paint bumps rev)
      };
      if (data === null) lazyZeroData(tile, rec.shape, rec.dtype); // made when first used
      this.accept(tile);
      const t = this.cache.peek(id);
      again = again || !t || t.stale || t.dirty;
    }
    this.noteReceived(msg, bytes);
    if (msg.done) this.finish(msg.reply_to);
    if (again) this.refresh();
    else if (this.deferred && this.prefetchInFlight() < this.prefetchBytes / 2) this.pump();
    this.onUpdate(req.prefetch);
    return true;
  }

  /** Account a reply's payload: per layer and level (the prefetch estimate), per plane (stats). */
  noteReceived(msg, bytes) {
    const k = `${msg.layer}/${msg.level}`;
    const r = this.received.get(k) ?? { bytes: 0, tiles: 0 };
    r.bytes += bytes;
    r.tiles += msg.tiles.length;
    if (r.tiles > 1e6) {
      r.bytes /= 2;
      r.tiles /= 2;
    }
    this.received.set(k, r);
    const planes = this.stats.planeBytes;
    const pk = `${msg.level}/${msg.axis ?? -1}/${msg.index ?? -1}`;
    if (!(pk in planes) && Object.keys(planes).length >= PLANE_LOG) this.stats.planeBytes = {};
    this.stats.planeBytes[pk] = (this.stats.planeBytes[pk] ?? 0) + bytes;
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
    if (tile.stale) this.gen++;
    if (tile.version > latest) this.versions.set(ck, tile.version);
    const prefix = this.persist?.enabled && !tile.stale && !tile.zero ? this.prefix(tile.layer) : null;
    if (prefix !== null) {
      // the kernel's data (copied at write), now if the view rests on its plane, else maybe later
      if (this.rest.isRested(planeId(tile.level, tile.axis, tile.index)))
        this.persist.put(`${prefix}/${tile.id}`, tile);
      else tile.unsaved = true;
    }
    if (tile.layer === "labels" && tile.level === this.level) this.overlay.reapply(tile);
    this.cache.set(tile);
  }

  onChanged(msg) {
    const own = msg.origin !== undefined && this.overlay.isOwn(msg.origin);
    let stale = false;
    for (let i = 0; i < msg.keys.length; i++) {
      const ks = keyString(msg.keys[i]);
      stale = this.noteVersion(msg.layer, ks, msg.versions[i], own, msg.level) || stale;
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
