/**
 * Brush geometry in the view plane (shared with the kernel's `paint`, see
 * docs/labelmap-contract.md): a 2D disk of voxels with `du² + dv² <= r²` around an integer centre,
 * stamped at every integer step (DDA) along the segment between consecutive pointer positions,
 * clipped to the array. Radius 0 paints one voxel. The 3D brush (`dims = 3`, the kernel's
 * `paint(..., dims=3)`) stamps a ball `du² + dv² + dw² <= r²` at the same centres: on the plane
 * `dw` away from the slice its cross-section is the disk `du² + dv² <= r² - dw²`.
 *
 * The union of consecutive stamps is, on every row, one contiguous run (centres move by at most one
 * voxel per step), so a segment is rasterised as one [min, max] span per row: no per-voxel sets.
 * @module core/brush
 */

import { keyString, planeAxes } from "./grid.js";

/**
 * Half-width of a disk of radius `r` on the row `d` away from the centre: the largest `w` with
 * `w² + d² <= r²`, or -1 when the row misses the disk.
 * @param {number} r
 * @param {number} d
 * @returns {number}
 */
export function halfWidth(r, d) {
  return halfWidthSq(r * r, d);
}

/**
 * Half-width of the disk `du² + dv² <= r2` on the row `d` away from the centre (-1: missed).
 * @param {number} r2 the squared radius (an integer)
 * @param {number} d
 * @returns {number}
 */
export function halfWidthSq(r2, d) {
  const s = r2 - d * d;
  if (s < 0) return -1;
  let w = Math.floor(Math.sqrt(s));
  while (w * w > s) w--;
  while ((w + 1) * (w + 1) <= s) w++;
  return w;
}

/**
 * Integer stamp centres along the segment `from → to` (both included), one per integer step of
 * the longer axis (DDA).
 * @param {number[]} from [u, v] integers
 * @param {number[]} to [u, v] integers
 * @returns {number[][]}
 */
export function lineCentres(from, to) {
  const du = to[0] - from[0];
  const dv = to[1] - from[1];
  const steps = Math.max(Math.abs(du), Math.abs(dv));
  const out = [];
  for (let t = 0; t <= steps; t++) {
    const f = steps === 0 ? 0 : t / steps;
    out.push([Math.round(from[0] + du * f), Math.round(from[1] + dv * f)]);
  }
  return out;
}

/**
 * Per-row spans of the union of disks stamped at `centres`.
 * @param {number[][]} centres [u, v] integers
 * @param {number} radius
 * @param {number} [r2] the disk's squared radius (`radius²`; smaller for a ball's cross-section)
 * @returns {{v0: number, lo: Int32Array, hi: Int32Array}} row `v0 + i` covers `lo[i] … hi[i]`
 *   (empty when `lo[i] > hi[i]`)
 */
export function stampSpans(centres, radius, r2 = radius * radius) {
  let vmin = Infinity;
  let vmax = -Infinity;
  for (const c of centres) {
    vmin = Math.min(vmin, c[1] - radius);
    vmax = Math.max(vmax, c[1] + radius);
  }
  const rows = Math.max(0, vmax - vmin + 1);
  const lo = new Int32Array(rows).fill(2 ** 31 - 1);
  const hi = new Int32Array(rows).fill(-(2 ** 31));
  const widths = new Int32Array(2 * radius + 1);
  for (let d = -radius; d <= radius; d++) widths[d + radius] = halfWidthSq(r2, d);
  for (const [cu, cv] of centres) {
    for (let d = -radius; d <= radius; d++) {
      const w = widths[d + radius];
      if (w < 0) continue; // a cross-section smaller than the radius misses this row
      const i = cv + d - vmin;
      if (cu - w < lo[i]) lo[i] = cu - w;
      if (cu + w > hi[i]) hi[i] = cu + w;
    }
  }
  return { v0: vmin, lo, hi };
}

/**
 * The voxels a brush stroke segment covers, grouped by chunk.
 * @param {object} p
 * @param {number[]} p.shape volume shape [z, y, x]
 * @param {number[]} p.chunks nominal chunk shape
 * @param {number} p.axis view axis (0/1/2)
 * @param {number} p.index the slice
 * @param {number[]|null} p.from previous integer centre [u, v], or null for the first stamp
 * @param {number[]} p.to integer centre [u, v]
 * @param {number} p.radius brush radius in voxels (0 = one voxel)
 * @param {number} [p.dims] 2: disks in the slice; 3: balls (every plane within `radius`)
 * @returns {Map<string, {key: number[], offsets: Uint32Array}>} chunk-local C-order offsets
 *   (nominal chunk shape) per chunk key string; empty when the stroke misses the array
 */
export function strokeVoxels({ shape, chunks, axis, index, from, to, radius, dims = 2 }) {
  const groups = new Map();
  const out = new Map();
  if (index < 0 || index >= shape[axis]) return out;
  const centres = lineCentres(from ?? to, to);
  const reach = dims === 3 ? radius : 0;
  for (let dw = -reach; dw <= reach; dw++) {
    const plane = index + dw;
    if (plane < 0 || plane >= shape[axis]) continue;
    planeVoxels(groups, {
      shape,
      chunks,
      axis,
      index: plane,
      centres,
      radius,
      r2: radius * radius - dw * dw,
    });
  }
  for (const [ks, g] of groups) out.set(ks, { key: g.key, offsets: Uint32Array.from(g.list) });
  return out;
}

/** Add the voxels of the disks `r2` at `centres` on plane `index` to `groups` (per chunk lists). */
function planeVoxels(groups, { shape, chunks, axis, index, centres, radius, r2 }) {
  const { u, v } = planeAxes(axis);
  const { v0, lo, hi } = stampSpans(centres, radius, r2);
  const nu = shape[u];
  const nv = shape[v];
  const cu = chunks[u];
  const cv = chunks[v];
  const ka = Math.floor(index / chunks[axis]);
  const la = index - ka * chunks[axis];
  // strides of a chunk-local C-order offset
  const stride = [chunks[1] * chunks[2], chunks[2], 1];
  for (let i = 0; i < lo.length; i++) {
    const row = v0 + i;
    if (row < 0 || row >= nv) continue;
    const a = Math.max(0, lo[i]);
    const b = Math.min(nu - 1, hi[i]);
    if (a > b) continue;
    const kv = Math.floor(row / cv);
    const lv = row - kv * cv;
    for (let s = a; s <= b; ) {
      const ku = Math.floor(s / cu);
      const e = Math.min(b, (ku + 1) * cu - 1);
      const key = [0, 0, 0];
      key[axis] = ka;
      key[u] = ku;
      key[v] = kv;
      const ks = keyString(key);
      let g = groups.get(ks);
      if (!g) {
        g = { key, list: [] };
        groups.set(ks, g);
      }
      const base = la * stride[axis] + lv * stride[v];
      for (let x = s; x <= e; x++) g.list.push(base + (x - ku * cu) * stride[u]);
      s = e + 1;
    }
  }
}

/**
 * Number of voxels in a disk of radius `r` (unclipped); handy for tests and the status line.
 * @param {number} r
 * @returns {number}
 */
export function diskCount(r) {
  let n = 0;
  for (let d = -r; d <= r; d++) n += 2 * halfWidth(r, d) + 1;
  return n;
}

/**
 * The squared radius of a ball's cross-section `dw` planes from its centre (-1: the plane misses it).
 * @param {number} radius
 * @param {number} dw
 * @returns {number}
 */
export function sectionR2(radius, dw) {
  const s = radius * radius - dw * dw;
  return s < 0 ? -1 : s;
}

/**
 * The outline of the disk `du² + dv² <= r2` (voxel edges, the staircase the brush covers), as a
 * closed polygon of corner points relative to the centre voxel's corner (voxel `(du, dv)` covers
 * `[du, du+1) × [dv, dv+1)`): the cursor draws it.
 * @param {number} r2 squared radius (>= 0)
 * @returns {number[][]} [u, v] corners, clockwise on screen starting at the top row's left end
 */
export function diskOutline(r2) {
  const r = Math.floor(Math.sqrt(r2));
  const right = [];
  const left = [];
  for (let d = -r; d <= r; d++) {
    const w = halfWidthSq(r2, d);
    right.push([w + 1, d], [w + 1, d + 1]);
    left.push([-w, d], [-w, d + 1]);
  }
  return [...right, ...left.reverse()];
}
