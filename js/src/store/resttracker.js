/**
 * The persistent chunk cache's write policy (what reaches IndexedDB), as pure logic without timers
 * or tiles: only tiles of planes the view *rested* on are written. A plane
 * (`${level}/${axis}/${index}`, both layers) rests once it has stayed shown for {@link REST_MS}
 * (scrolling stopped on it, or slowed down enough), or when the view goes away while showing it.
 * Tiles that arrive for a plane that is only flown past, or prefetched and never rested on, stay in
 * the memory tile cache (marked `unsaved`) but are not written: while scrolling a big volume the
 * writes cost the browser's IndexedDB process more CPU than the comm is worth. When a plane comes
 * to rest, its visible tiles still `unsaved` (arrived earlier, also as prefetch) are written then,
 * and tiles arriving for it while it stays at rest are written as they come. The same holds for
 * the planes within {@link REST_NEAR} of a rested plane (same level and axis): the planes a view at
 * rest prefetches around its slice, so that reopening the notebook on that slice draws it and its
 * prefetch from the cache (the kernel only answers "unchanged"); planes further ahead, which a
 * scroll's longer prefetch window brought, are not written. The client applies it
 * (`net/persistence.js`); the cache itself is `store/chunkcache.js`. Hits still record their use
 * (LRU) whatever the plane.
 * @module store/resttracker
 */

/** A plane shown this long (ms) is at rest: its tiles are written to the cache (see the module doc). */
export const REST_MS = 300;

/** Planes this close to a rested plane (same level and axis) are written too (see the module doc). */
export const REST_NEAR = 3;

/**
 * The write policy's clock work, without timers or tiles: which shown planes are at rest.
 * {@link RestTracker#show} is told the planes shown now (every time the view's plan changes),
 * {@link RestTracker#tick} when {@link RestTracker#due} passed; both return the planes that came
 * to rest then (each once per stay: a plane that leaves the view starts over when shown again).
 */
export class RestTracker {
  /**
   * @param {number} [restMs]
   * @param {number} [near] see {@link REST_NEAR}
   */
  constructor(restMs = REST_MS, near = REST_NEAR) {
    this.restMs = restMs;
    this.near = near;
    /** @type {Map<string, number[]>} "level/axis" -> indices of the rested planes */
    this.restedAt = new Map();
    /** @type {Map<string, number>} shown plane -> shown since (ms) */
    this.since = new Map();
    /** @type {Set<string>} shown planes at rest */
    this.rested = new Set();
  }

  /**
   * The view shows `planes` now (planes no longer listed leave, new ones start their clock).
   * @param {Iterable<string>} planes
   * @param {number} now ms
   * @returns {string[]} the planes that came to rest now
   */
  show(planes, now) {
    const since = new Map();
    for (const p of planes) since.set(p, this.since.get(p) ?? now);
    this.since = since;
    let left = false;
    for (const p of this.rested) {
      if (!since.has(p)) {
        this.rested.delete(p);
        left = true;
      }
    }
    if (left) this.reindex();
    return this.tick(now);
  }

  /**
   * @param {number} now ms
   * @returns {string[]} the planes that came to rest by `now`
   */
  tick(now) {
    const out = [];
    for (const [p, t] of this.since) {
      if (!this.rested.has(p) && now - t >= this.restMs) {
        this.rested.add(p);
        out.push(p);
      }
    }
    if (out.length) this.reindex();
    return out;
  }

  /**
   * Every shown plane is at rest now (the view goes away, or scrolling is known to have stopped).
   * @returns {string[]} the planes that came to rest
   */
  settle() {
    const out = [];
    for (const p of this.since.keys()) {
      if (!this.rested.has(p)) {
        this.rested.add(p);
        out.push(p);
      }
    }
    if (out.length) this.reindex();
    return out;
  }

  /** @returns {number|null} when (ms) the next shown plane comes to rest, null if none will */
  due() {
    let t = null;
    for (const [p, s] of this.since) if (!this.rested.has(p) && (t === null || s < t)) t = s;
    return t === null ? null : t + this.restMs;
  }

  reindex() {
    this.restedAt.clear();
    for (const p of this.rested) {
      const cut = p.lastIndexOf("/");
      const la = p.slice(0, cut);
      const list = this.restedAt.get(la) ?? [];
      list.push(Number(p.slice(cut + 1)));
      this.restedAt.set(la, list);
    }
  }

  /**
   * @param {string} plane
   * @returns {boolean} whether its tiles are written (a rested plane, or one near a rested plane)
   */
  isRested(plane) {
    if (this.rested.has(plane)) return true;
    if (!this.restedAt.size) return false;
    const cut = plane.lastIndexOf("/");
    const list = this.restedAt.get(plane.slice(0, cut));
    if (!list) return false;
    const i = Number(plane.slice(cut + 1));
    return list.some((j) => Math.abs(i - j) <= this.near);
  }
}

/**
 * The plane id the write policy uses.
 * @param {number} level
 * @param {number} axis
 * @param {number} index
 * @returns {string}
 */
export function planeId(level, axis, index) {
  return `${level}/${axis}/${index}`;
}
