/**
 * The 3D view's hidden label ids (`hidden_labels`), any number of them, for the ray-marching
 * shader (views/raymarch.js): the ids, deduplicated and sorted as unsigned 64-bit numbers, packed
 * as (low, high) 32-bit halves into an `RG32UI` 2D texture, row by row (`HIDDEN_ROW` ids a row).
 * The shader finds an id by binary search (≤ 64 texel fetches; only when the label under the ray
 * changes), so hiding 500 or 100 000 labels costs about what hiding 5 does. The texture is built
 * again only when the set changes.
 * @module views/hiddenlabels
 */

import * as THREE from "three";

/** Ids per texture row (the texture is `min(n, HIDDEN_ROW)` wide). */
export const HIDDEN_ROW = 1024;

const U64 = (1n << 64n) - 1n;

/**
 * Sorted, deduplicated ids packed for the shader.
 * @param {Iterable<bigint|number|string>} ids label ids (0 and ids outside uint64 are left out)
 * @param {number} [row] ids per texture row
 * @returns {{data: Uint32Array, count: number, width: number, height: number, key: string}}
 *   `data`: width × height (low, high) pairs, the ids in ascending order, then zero padding;
 *   `key`: the same for the same set
 */
export function packHidden(ids, row = HIDDEN_ROW) {
  const set = new Set();
  for (const id of ids) {
    let v;
    try {
      v = BigInt(id);
    } catch {
      continue; // not an integer: nothing to hide
    }
    if (v > 0n && v <= U64) set.add(v);
  }
  const sorted = [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const count = sorted.length;
  const width = Math.max(1, Math.min(count, row));
  const height = Math.max(1, Math.ceil(count / row));
  const data = new Uint32Array(2 * width * height);
  sorted.forEach((v, i) => {
    data[2 * i] = Number(v & 0xffffffffn);
    data[2 * i + 1] = Number(v >> 32n);
  });
  return { data, count, width, height, key: sorted.join(",") };
}

/**
 * Whether the packed set holds an id: the shader's binary search, for tests and the CPU side.
 * @param {{data: Uint32Array, count: number}} packed
 * @param {number} lo low 32 bits (unsigned)
 * @param {number} hi high 32 bits (unsigned)
 * @returns {boolean}
 */
export function packedHas(packed, lo, hi) {
  let a = 0;
  let b = packed.count;
  for (let k = 0; k < 64 && a < b; k++) {
    const m = (a + b) >> 1;
    const mlo = packed.data[2 * m];
    const mhi = packed.data[2 * m + 1];
    if (mlo === lo && mhi === hi) return true;
    if (mhi < hi || (mhi === hi && mlo < lo)) a = m + 1;
    else b = m;
  }
  return false;
}

/** The GPU texture of the hidden ids (see the module doc). */
export class HiddenLabels {
  constructor() {
    this.key = null;
    this.ids = null;
    this.count = 0;
    this.width = 1;
    this.texture = null;
    this.update([]);
  }

  /**
   * Follow the set of hidden ids (a new texture only when it changed; the same array object as
   * last time is taken as unchanged, so calling this every frame costs nothing).
   * @param {Iterable<bigint|number|string>} ids
   * @returns {boolean} whether it changed
   */
  update(ids) {
    if (ids === this.ids) return false;
    this.ids = ids;
    const p = packHidden(ids);
    if (p.key === this.key) return false;
    this.texture?.dispose();
    const t = new THREE.DataTexture(p.data, p.width, p.height, THREE.RGIntegerFormat, THREE.UnsignedIntType);
    t.internalFormat = "RG32UI";
    t.minFilter = THREE.NearestFilter;
    t.magFilter = THREE.NearestFilter;
    t.generateMipmaps = false;
    t.unpackAlignment = 1;
    t.needsUpdate = true;
    Object.assign(this, { texture: t, key: p.key, count: p.count, width: p.width });
    return true;
  }

  dispose() {
    this.texture?.dispose();
    this.texture = null;
  }
}
