/**
 * The chunk client's memo of planned planes: per plane of a layer ("layer/level/axis/index") the
 * tile ids of the keys the view last planned there, and the generation at which all of them were
 * cached and fresh (-1: not known). Each scroll step plans ~16 planes x 2 layers x ~300 keys;
 * without the memo every step (and every reply while prefetch waits) rebuilt the ids and looked
 * each one up.
 * @module net/planememo
 */

import { keyString } from "../core/grid.js";
import { tileId } from "../store/tilecache.js";

/** Planes whose tile ids and completeness the memo remembers. */
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

/** See the module doc. */
export class PlaneMemo {
  constructor() {
    /** @type {Map<string, {keys: number[][], ids: string[], idSet: Set<string>|null, done: number}>} */
    this.planes = new Map();
  }

  /**
   * The memo of one plan entry's plane in `layer`: its tile ids (in `keys` order), made once for
   * as long as the view plans the same keys there.
   * @param {{level: number, index: number, keys: number[][]}} entry
   * @param {string} layer
   * @param {number} axis
   * @returns {{keys: number[][], ids: string[], idSet: Set<string>|null, done: number}}
   */
  of(entry, layer, axis) {
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
}
