/**
 * Chunk-grid arithmetic (mirrors `voxwidget/grid.py`). Axes are in array order: 0 = z, 1 = y, 2 = x.
 *
 * A 2D view looks along `axis`; its screen plane has a horizontal axis `u` and a vertical axis `v`:
 * axis z (0): u = x (2), v = y (1); axis y (1): u = x (2), v = z (0); axis x (2): u = y (1), v = z (0).
 * In every case `v < u` in array order, so a plane tile of shape `[rows, cols]` (the chunk cut by
 * the plane, in array order with `axis` removed) has rows along `v` and columns along `u`.
 * @module core/grid
 */

export const AXES = Object.freeze(["z", "y", "x"]);

const PLANES = Object.freeze([
  Object.freeze({ u: 2, v: 1 }),
  Object.freeze({ u: 2, v: 0 }),
  Object.freeze({ u: 1, v: 0 }),
]);

/**
 * The in-plane axes of a view along `axis`.
 * @param {number|string} axis 0/1/2 or "z"/"y"/"x"
 * @returns {{u: number, v: number}} array axes shown horizontally (u) and vertically (v)
 */
export function planeAxes(axis) {
  const a = typeof axis === "string" ? AXES.indexOf(axis) : axis;
  const p = PLANES[a];
  if (!p) throw new RangeError(`axis ${axis} is not one of z/y/x or 0/1/2`);
  return p;
}

/**
 * Number of chunks along each axis.
 * @param {number[]} shape
 * @param {number[]} chunks
 * @returns {number[]}
 */
export function gridShape(shape, chunks) {
  return shape.map((s, i) => Math.ceil(s / chunks[i]));
}

/**
 * A chunk key as a map key string.
 * @param {number[]} key
 * @returns {string} "kz,ky,kx"
 */
export function keyString(key) {
  return `${key[0]},${key[1]},${key[2]}`;
}

/**
 * The chunk key holding voxel `p`.
 * @param {number[]} p [z, y, x]
 * @param {number[]} chunks
 * @returns {number[]}
 */
export function chunkOf(p, chunks) {
  return [Math.floor(p[0] / chunks[0]), Math.floor(p[1] / chunks[1]), Math.floor(p[2] / chunks[2])];
}

/**
 * Chunk-local C-order offset of voxel `p` with respect to the NOMINAL chunk shape (also for edge
 * chunks, per the label-map contract).
 * @param {number[]} p [z, y, x] global voxel
 * @param {number[]} chunks nominal chunk shape
 * @returns {number}
 */
export function localOffset(p, chunks) {
  const lz = p[0] % chunks[0];
  const ly = p[1] % chunks[1];
  const lx = p[2] % chunks[2];
  return (lz * chunks[1] + ly) * chunks[2] + lx;
}

/**
 * Inverse of {@link localOffset}: the chunk-local [lz, ly, lx] of an offset.
 * @param {number} offset
 * @param {number[]} chunks
 * @param {number[]} [out] reused output array
 * @returns {number[]}
 */
export function offsetToLocal(offset, chunks, out = [0, 0, 0]) {
  const cx = chunks[2];
  const cy = chunks[1];
  out[2] = offset % cx;
  const r = (offset - out[2]) / cx;
  out[1] = r % cy;
  out[0] = (r - out[1]) / cy;
  return out;
}

/**
 * The extent of chunk `key` clipped to the array.
 * @param {number[]} key
 * @param {number[]} shape
 * @param {number[]} chunks
 * @returns {{start: number[], size: number[]}}
 */
export function chunkBox(key, shape, chunks) {
  const start = key.map((k, i) => k * chunks[i]);
  const size = start.map((s, i) => Math.min(chunks[i], shape[i] - s));
  return { start, size };
}

/**
 * Shape of the tile that the plane along `axis` cuts from chunk `key` (clipped at the array edge),
 * or of the whole clipped 3D chunk when `axis` is null/undefined/-1.
 * @param {number[]} key
 * @param {number[]} shape
 * @param {number[]} chunks
 * @param {number|null} [axis]
 * @returns {number[]} [rows, cols] for a plane (rows along v, cols along u), [z, y, x] otherwise
 */
export function tileShape(key, shape, chunks, axis = null) {
  const { size } = chunkBox(key, shape, chunks);
  if (axis === null || axis === undefined || axis < 0) return size;
  const { u, v } = planeAxes(axis);
  return [size[v], size[u]];
}

/**
 * Whether the plane `axis = index` passes through chunk `key`.
 * @param {number[]} key
 * @param {number[]} chunks
 * @param {number} axis
 * @param {number} index
 * @returns {boolean}
 */
export function planeCutsChunk(key, chunks, axis, index) {
  return Math.floor(index / chunks[axis]) === key[axis];
}

/**
 * Keys of the chunks a view shows: the plane `axis = index` within the in-plane rectangle
 * `[u0, u1) × [v0, v1)` (voxel coordinates, may be fractional or outside the array), ordered from
 * the rectangle's centre outwards (the order to load them in).
 * @param {number[]} shape
 * @param {number[]} chunks
 * @param {number} axis
 * @param {number} index
 * @param {{u0: number, u1: number, v0: number, v1: number}} rect
 * @returns {number[][]} keys
 */
export function visibleKeys(shape, chunks, axis, index, rect) {
  if (index < 0 || index >= shape[axis]) return [];
  const { u, v } = planeAxes(axis);
  const lo = (x, n) => Math.max(0, Math.floor(x / n));
  const hi = (x, s, n) => Math.min(Math.ceil(s / n) - 1, Math.ceil(x / n) - 1);
  const ku0 = lo(rect.u0, chunks[u]);
  const ku1 = hi(rect.u1, shape[u], chunks[u]);
  const kv0 = lo(rect.v0, chunks[v]);
  const kv1 = hi(rect.v1, shape[v], chunks[v]);
  const ka = Math.floor(index / chunks[axis]);
  const cu = (rect.u0 + rect.u1) / 2 / chunks[u] - 0.5;
  const cv = (rect.v0 + rect.v1) / 2 / chunks[v] - 0.5;
  const keys = [];
  for (let kv = kv0; kv <= kv1; kv++) {
    for (let ku = ku0; ku <= ku1; ku++) {
      const key = [0, 0, 0];
      key[axis] = ka;
      key[u] = ku;
      key[v] = kv;
      keys.push({ key, d: (ku - cu) ** 2 + (kv - cv) ** 2 });
    }
  }
  keys.sort((a, b) => a.d - b.d);
  return keys.map((k) => k.key);
}

/**
 * Index within a tile's data of the chunk-local voxel `local`, or -1 when the tile does not hold it.
 * @param {number[]} local chunk-local [lz, ly, lx]
 * @param {number[]} key the chunk
 * @param {number[]} chunks nominal chunk shape
 * @param {number[]} tshape the tile's shape (2D for planes, 3D for whole chunks)
 * @param {number} axis plane axis, or -1 for a whole-chunk tile
 * @param {number} index plane index (global)
 * @returns {number}
 */
export function tileIndex(local, key, chunks, tshape, axis, index) {
  if (axis < 0) {
    if (local[0] >= tshape[0] || local[1] >= tshape[1] || local[2] >= tshape[2]) return -1;
    return (local[0] * tshape[1] + local[1]) * tshape[2] + local[2];
  }
  if (key[axis] * chunks[axis] + local[axis] !== index) return -1;
  const { u, v } = PLANES[axis];
  const r = local[v];
  const c = local[u];
  if (r >= tshape[0] || c >= tshape[1]) return -1;
  return r * tshape[1] + c;
}
