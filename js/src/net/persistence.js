/**
 * The chunk client's side of the persistent tile cache (`store/chunkcache.js`): which of its tiles
 * are written there and when (the rest policy of `store/resttracker.js`: tiles of planes the view
 * rested on, and of planes near them), and tiles read back from it, drawn at once and marked stale
 * until the kernel confirms their version.
 * @module net/persistence
 */

import { cacheKey } from "../store/chunkdb.js";
import { planeId, RestTracker } from "../store/resttracker.js";
import { VIEW_LAYERS } from "./requests.js";
import { makeTile } from "./tiles.js";

/** See the module doc; one per {@link ChunkClient}. */
export class TilePersistence {
  /**
   * @param {object} p
   * @param {import("./client.js").ChunkClient} p.client its plan, plane memo, memory cache and stats
   * @param {import("../store/chunkcache.js").ChunkCache|null} p.persist persistent tile cache
   * @param {(layer: string) => string|null} p.prefix its key prefix per layer (null: don't persist)
   * @param {number} p.restMs a plane shown this long is at rest: its tiles are persisted
   * @param {number} p.restNear … and those of the planes this close to it
   * @param {() => number} p.now clock (ms) of the rest policy
   */
  constructor({ client, persist, prefix, restMs, restNear, now }) {
    this.client = client;
    this.persist = persist;
    this.prefix = prefix;
    this.now = now;
    /** Which shown planes are at rest (their tiles are persisted); its timer. */
    this.rest = new RestTracker(restMs, restNear);
    this.restTimer = null;
  }

  /** @returns {boolean} whether a persistent cache is there and on */
  get enabled() {
    return !!this.persist?.enabled;
  }

  /**
   * The view's plan changed: its shown planes keep or start their rest clocks.
   * @param {number} axis
   * @param {{level: number, index: number, prefetch?: boolean}[]} plan
   */
  show(axis, plan) {
    const shown = [];
    for (const e of plan) if (!e.prefetch) shown.push(planeId(e.level, axis, e.index));
    this.persistRested(this.rest.show(shown, this.now()));
    this.armRest();
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
    const c = this.client;
    if (!planes.length || !c.current || !this.persist?.enabled) return;
    const { axis, plan } = c.current;
    for (const entry of plan) {
      if (!this.rest.isRested(planeId(entry.level, axis, entry.index))) continue;
      for (const layer of VIEW_LAYERS) {
        const prefix = this.prefix(layer);
        if (prefix === null) continue;
        for (const id of c.planeOf(entry, layer, axis).ids) {
          const t = c.cache.peek(id);
          if (!t?.unsaved) continue;
          t.unsaved = false;
          // only the kernel's data as it arrived (not stale, not painted since)
          if (!t.stale && !t.dirty && !t.rev) this.persist.put(cacheKey(prefix, t.id), t);
        }
      }
    }
  }

  /** The view goes away: the planes it shows now rest (the slice shown last is drawn on reopening). */
  settle() {
    if (this.restTimer !== null) clearTimeout(this.restTimer);
    this.restTimer = null;
    this.persistRested(this.rest.settle());
  }

  /**
   * Look the tiles `fresh` (ids of request `req`'s tiles not in memory) up in the persistent cache,
   * unless it surely has none of them: found ones are shown at once (marked stale), then `then` runs.
   * @param {{layer: string, level: number, axis: number, index: number}} req
   * @param {string[]} fresh
   * @param {() => void} then sends the request (with the versions now held as `known`)
   * @returns {boolean} whether a lookup started (false: send now)
   */
  lookup(req, fresh, then) {
    const { layer, level, axis, index } = req;
    const prefix = this.persist?.enabled ? this.prefix(layer) : null;
    if (prefix === null || !fresh.length || !this.persist.mayHave(fresh.map((id) => cacheKey(prefix, id))))
      return false;
    const c = this.client;
    this.persist
      .getMany(fresh.map((id) => cacheKey(prefix, id)))
      .catch(() => new Map())
      .then((found) => {
        for (const id of fresh) {
          const hit = found.get(cacheKey(prefix, id));
          if (hit && !c.cache.peek(id)) this.fromDisk(id, layer, level, axis, index, hit);
        }
        if (found.size) c.onUpdate();
        then();
      });
    return true;
  }

  /** A tile read from the persistent cache: shown at once, stale until the kernel confirms it. */
  fromDisk(id, layer, level, axis, index, hit) {
    const c = this.client;
    const ks = id.slice(id.lastIndexOf("/") + 1);
    c.stats.fromCache++;
    const { version, shape, dtype, data } = hit;
    const tile = makeTile({ id, layer, level, axis, index, ks, version, shape, dtype, data, stale: true });
    if (layer === "labels" && level === c.level) c.overlay.reapply(tile);
    c.cache.set(tile);
  }

  /**
   * A tile the kernel sent (fresh, not all zero) is about to be cached: written now if the view
   * rests on its plane, else flagged `unsaved` (written if its plane comes to rest later).
   * @param {object} tile
   */
  keep(tile) {
    const prefix = this.persist?.enabled && !tile.stale && !tile.zero ? this.prefix(tile.layer) : null;
    if (prefix === null) return;
    // the kernel's data (copied at write), now if the view rests on its plane, else maybe later
    if (this.rest.isRested(planeId(tile.level, tile.axis, tile.index)))
      this.persist.put(cacheKey(prefix, tile.id), tile);
    else tile.unsaved = true;
  }
}
