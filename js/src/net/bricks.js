/**
 * BrickClient: the 3D view's chunk client. A brick is one whole 3D chunk of one level, of both
 * layers (image and labels), fetched with the same `chunks.get` as the 2D tiles but without
 * `axis`/`index` (the kernel then sends whole chunks, packed into replies of at most 4 MiB like
 * tiles; see `voxwidget/comm/serving.py`).
 *
 * Per frame the view declares the bricks it needs, in fetch order ({@link BrickClient#want}: coarse
 * before fine, nearest first, core/bricks.js). The client then
 * - cancels requests none of whose bricks are still wanted (`chunks.cancel`);
 * - asks for missing, stale or failed bricks in that order, at most `batch` keys per request and
 *   `maxInflight` bricks in flight (the rest as replies come in), so a camera move re-prioritises
 *   within one round trip instead of queueing seconds of work in the kernel;
 * - looks bricks up in the page's persistent chunk cache (store/chunkcache.js, IndexedDB) first:
 *   found ones are used at once and revalidated (`known` = their version, answered "unchanged");
 *   bricks that arrive are written there (all-zero ones are not kept, as for tiles);
 * - follows `chunks.changed`: cached label bricks of a changed chunk become stale and are fetched
 *   again when wanted (only those: a live edit re-uploads only its bricks);
 * - retries a brick whose request failed (an `error` reply, or a payload it cannot decode) after
 *   a growing delay, and counts it in `failed` until it arrives.
 *
 * Bricks are tiles of the memory cache (store/tilecache.js) with `axis = index = -1`.
 * @module net/bricks
 */

import { keyString } from "../core/grid.js";
import { cacheKey } from "../store/chunkdb.js";
import { TileCache, tileId } from "../store/tilecache.js";
import { newId } from "./ids.js";
import { make } from "./protocol.js";
import { cancelRequests } from "./requests.js";
import { decodeTile, makeTile, tilePayload } from "./tiles.js";

/** Both layers of a brick. */
export const BRICK_LAYERS = ["image", "labels"];

const RETRY_MS = 250; // first retry delay of a failed brick; doubles up to RETRY_MAX_MS
const RETRY_MAX_MS = 8000;

/**
 * The tile id of one layer of a brick.
 * @param {string} layer
 * @param {number} level
 * @param {number[]|string} key
 * @returns {string}
 */
export function brickTileId(layer, level, key) {
  return tileId(layer, level, -1, -1, typeof key === "string" ? key : keyString(key));
}

/** See the module doc. */
export class BrickClient {
  /**
   * @param {object} p
   * @param {(msg: object, buffers?: ArrayBuffer[]) => void} p.send
   * @param {() => void} [p.onUpdate] bricks arrived, became stale or failed
   * @param {import("../store/chunkcache.js").ChunkCache|null} [p.persist]
   * @param {(layer: string) => string|null} [p.prefix] persistent cache key prefix per layer
   * @param {number} [p.budget] bytes of decoded bricks kept in memory
   * @param {number} [p.batch] keys per request
   * @param {number} [p.maxInflight] bricks (per layer) in flight at most
   * @param {() => string} [p.makeId]
   * @param {() => number} [p.now] clock (ms) of the retry delays
   */
  constructor({
    send,
    onUpdate = () => {},
    persist = null,
    prefix = () => null,
    budget = 512 * 2 ** 20,
    batch = 4,
    maxInflight = 24,
    makeId = newId,
    now = () => Date.now(),
  }) {
    Object.assign(this, { send, onUpdate, persist, prefix, batch, maxInflight, makeId, now });
    this.cache = new TileCache(budget);
    /** @type {Map<string, {layer: string, level: number, ids: Set<string>}>} */
    this.requests = new Map();
    /** @type {Map<string, string>} tile id -> request id */
    this.inflight = new Map();
    /** @type {Map<string, number>} "layer/level/ks" -> newest version known */
    this.versions = new Map();
    /** @type {Map<string, {tries: number, at: number, error: string}>} tile id -> failure */
    this.failures = new Map();
    this.looking = new Set(); // tile ids being looked up in the persistent cache
    /** @type {{level: number, key: number[]}[]} */
    this.wanted = [];
    this.retryTimer = null;
    this.stats = { requests: 0, messages: 0, bricks: 0, bytes: 0, unchanged: 0, fromCache: 0, cancelled: 0 };
    this.lastError = null;
    this.gens = 0; // generations handed out (see onData)
    /** The edit queue's hooks (net/brickedits.js): pending voxels re-applied onto arriving bricks. */
    this.overlay = { reapply: () => {}, isOwn: () => false };
  }

  /**
   * The memory-cached tile of one layer of a brick (or undefined).
   * @param {string} layer
   * @param {number} level
   * @param {number[]|string} key
   * @returns {object|undefined}
   */
  brick(layer, level, key) {
    return this.cache.peek(brickTileId(layer, level, key));
  }

  /** @returns {number} bricks whose requests failed and are not here yet */
  get failed() {
    return this.failures.size;
  }

  /** @returns {boolean} nothing in flight */
  get idle() {
    return this.requests.size === 0 && this.looking.size === 0;
  }

  /**
   * Whether a brick has both layers cached and fresh.
   * @param {number} level
   * @param {number[]} key
   * @returns {boolean}
   */
  ready(level, key) {
    for (const layer of BRICK_LAYERS) {
      const t = this.brick(layer, level, key);
      if (!t || t.stale) return false;
    }
    return true;
  }

  /**
   * Declare the bricks the view needs now, in fetch order; cancel and request accordingly.
   * @param {{level: number, key: number[]}[]} bricks
   */
  want(bricks) {
    this.wanted = bricks;
    const needed = new Set();
    for (const b of bricks) for (const layer of BRICK_LAYERS) needed.add(brickTileId(layer, b.level, b.key));
    const cancel = [];
    for (const [rid, req] of this.requests) {
      let any = false;
      for (const id of req.ids) {
        if (needed.has(id)) {
          any = true;
          break;
        }
      }
      if (!any) cancel.push(rid);
    }
    if (cancel.length) this.cancel(cancel);
    for (const b of bricks) {
      for (const layer of BRICK_LAYERS) this.cache.get(brickTileId(layer, b.level, b.key)); // LRU: in use
    }
    this.cache.evict(needed);
    this.pump();
  }

  /** Ask for what is wanted and not here, within the in-flight bound (see the module doc). */
  pump() {
    const now = this.now();
    for (const layer of BRICK_LAYERS) {
      let room = this.maxInflight - this.inflightOf(layer);
      let g = null; // the keys of one level to ask for together (the plan is grouped by level)
      for (const b of this.wanted) {
        if (room <= 0) break;
        const id = brickTileId(layer, b.level, b.key);
        if (this.inflight.has(id) || this.looking.has(id)) continue;
        const t = this.cache.peek(id);
        if (t && !t.stale) continue;
        const f = this.failures.get(id);
        if (f && f.at > now) continue; // waits for its retry
        if (g && (g.level !== b.level || g.keys.length >= this.batch)) {
          this.request(layer, g.level, g.keys, g.ids);
          g = null;
        }
        g ??= { level: b.level, keys: [], ids: [] };
        g.keys.push(b.key);
        g.ids.push(id);
        room--;
      }
      if (g) this.request(layer, g.level, g.keys, g.ids);
    }
    this.armRetry();
  }

  /** @returns {number} bricks of `layer` in flight */
  inflightOf(layer) {
    let n = 0;
    for (const req of this.requests.values()) if (req.layer === layer) n += req.ids.size;
    return n;
  }

  /**
   * One `chunks.get` of whole chunks (after a persistent cache lookup of those not in memory).
   * @param {string} layer
   * @param {number} level
   * @param {number[][]} keys
   * @param {string[]} ids
   */
  request(layer, level, keys, ids) {
    const rid = this.makeId();
    const req = { layer, level, ids: new Set(ids) };
    this.requests.set(rid, req);
    for (const id of ids) this.inflight.set(id, rid);
    const send = () => {
      if (this.requests.get(rid) !== req) return; // cancelled meanwhile
      const known = keys.map((k) => {
        const t = this.brick(layer, level, k);
        return t && !t.dirty ? t.version : -1;
      });
      this.stats.requests++;
      this.send(make("chunks.get", { id: rid, layer, level, keys, known }), []);
    };
    const prefix = this.persist?.enabled ? this.prefix(layer) : null;
    const fresh = ids.filter((id) => !this.cache.peek(id));
    const pkeys = prefix === null ? [] : fresh.map((id) => cacheKey(prefix, id));
    if (!pkeys.length || !this.persist.mayHave(pkeys)) {
      send();
      return;
    }
    for (const id of fresh) this.looking.add(id);
    this.persist
      .getMany(pkeys)
      .catch(() => new Map())
      .then((found) => {
        for (const id of fresh) {
          this.looking.delete(id);
          const hit = found.get(cacheKey(prefix, id));
          if (hit && !this.cache.peek(id)) this.fromDisk(id, layer, level, hit);
        }
        if (found.size) this.onUpdate();
        send();
      });
  }

  /** A brick read from the persistent cache: used at once, stale until the kernel confirms it. */
  fromDisk(id, layer, level, hit) {
    const ks = id.slice(id.lastIndexOf("/") + 1);
    this.stats.fromCache++;
    const { version, shape, dtype, data } = hit;
    const tile = makeTile({ id, layer, level, ks, version, shape, dtype, data, stale: true });
    tile.gen = ++this.gens;
    this.cache.set(tile);
    this.overlaid(this.cache.peek(id));
  }

  /** Pending edits re-applied onto a label brick of level 0 that just came (net/brickedits.js). */
  overlaid(tile) {
    if (tile && tile.layer === "labels" && tile.level === 0) this.overlay.reapply(tile);
  }

  /**
   * Cancel requests.
   * @param {string[]} rids
   */
  cancel(rids) {
    this.stats.cancelled += cancelRequests(this, rids);
  }

  /** Cancel everything (unmount). */
  cancelAll() {
    this.cancel([...this.requests.keys()]);
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** The connection came back: replies were lost; ask again, revalidating label bricks. */
  retry() {
    this.requests.clear();
    this.inflight.clear();
    for (const t of this.cache.tiles.values()) if (t.layer === "labels") t.stale = true;
    this.pump();
  }

  /**
   * Handle a kernel message; returns whether it was for this client.
   * @param {object} msg validated
   * @param {Array<DataView|ArrayBuffer>} buffers
   * @returns {boolean}
   */
  handle(msg, buffers) {
    switch (msg.kind) {
      case "chunks.data":
        return this.onData(msg, buffers);
      case "chunks.changed":
        this.onChanged(msg);
        return true;
      case "error": {
        const req = msg.reply_to !== undefined && this.requests.get(msg.reply_to);
        if (!req) return false;
        for (const id of req.ids) this.fail(id, msg.error);
        this.finish(msg.reply_to);
        this.onUpdate();
        this.pump();
        return true;
      }
      default:
        return false;
    }
  }

  /** Count a failure of brick tile `id`; it is asked for again after a growing delay. */
  fail(id, error) {
    const f = this.failures.get(id) ?? { tries: 0, at: 0, error };
    f.tries++;
    f.error = error;
    f.at = this.now() + Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (f.tries - 1));
    this.failures.set(id, f);
    this.lastError = error;
  }

  /** Wake up when the next failed brick may be retried. */
  armRetry() {
    if (this.retryTimer !== null || !this.failures.size) return;
    let at = Infinity;
    for (const f of this.failures.values()) at = Math.min(at, f.at);
    this.retryTimer = setTimeout(
      () => {
        this.retryTimer = null;
        this.pump();
      },
      Math.max(10, at - this.now()),
    );
  }

  finish(rid) {
    const req = this.requests.get(rid);
    if (!req) return;
    for (const id of req.ids) if (this.inflight.get(id) === rid) this.inflight.delete(id);
    this.requests.delete(rid);
  }

  onData(msg, buffers) {
    const req = this.requests.get(msg.reply_to);
    if (!req || msg.axis !== undefined) return false;
    this.stats.messages++;
    for (const rec of msg.tiles) {
      const ks = keyString(rec.key);
      const id = tileId(msg.layer, msg.level, -1, -1, ks);
      if (this.inflight.get(id) === msg.reply_to) this.inflight.delete(id);
      req.ids.delete(id);
      this.stats.bricks++;
      const ck = `${msg.layer}/${msg.level}/${ks}`;
      const latest = this.versions.get(ck) ?? -1;
      if (rec.version > latest) this.versions.set(ck, rec.version);
      if (rec.codec === "unchanged") {
        this.stats.unchanged++;
        const t = this.cache.peek(id);
        if (t && !t.dirty && t.version === rec.version) {
          t.stale = rec.version < latest;
          this.failures.delete(id);
        }
        continue;
      }
      let data = null;
      try {
        const payload = tilePayload(rec, buffers);
        if (payload) this.stats.bytes += payload.byteLength;
        if (rec.codec !== "zero") data = decodeTile(rec.codec, payload, rec.shape, rec.dtype);
      } catch (err) {
        this.fail(id, `brick ${ks} of ${msg.layer}: ${err.message}`);
        continue;
      }
      const old = this.cache.peek(id);
      if (old && !old.stale && old.version > rec.version) continue;
      const { layer, level } = msg;
      const { key, version, shape, dtype } = rec;
      const stale = version < latest;
      const tile = makeTile({ id, layer, level, ks, key, version, shape, dtype, data, stale });
      tile.gen = ++this.gens; // unique per arrival: the renderer re-uploads a brick whose gen changed
      this.failures.delete(id);
      const prefix = this.persist?.enabled && !tile.zero && !tile.stale ? this.prefix(msg.layer) : null;
      if (prefix !== null) this.persist.put(cacheKey(prefix, id), tile);
      this.overlaid(tile); // after the put: a brick painted since is not written (its rev changed)
      this.cache.set(tile);
    }
    if (msg.done) {
      for (const id of req.ids) this.fail(id, "the reply lacked this brick");
      this.finish(msg.reply_to);
    }
    this.pump();
    this.onUpdate();
    return true;
  }

  onChanged(msg) {
    let any = false;
    for (let i = 0; i < msg.keys.length; i++) {
      const ks = keyString(msg.keys[i]);
      const ck = `${msg.layer}/${msg.level}/${ks}`;
      const v = msg.versions[i];
      if (v > (this.versions.get(ck) ?? -1)) this.versions.set(ck, v);
      for (const t of this.cache.ofChunk(msg.layer, msg.level, ks)) {
        if (t.axis === -1 && t.version < v) {
          t.stale = true;
          any = true;
        }
      }
    }
    if (any) {
      this.pump();
      this.onUpdate();
    }
  }
}
