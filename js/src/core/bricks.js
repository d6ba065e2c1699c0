/**
 * Brick arithmetic of the 3D view (pure, no WebGL): a brick is one chunk of one level, the same
 * grid the 2D view's tiles come from (`chunks` over each level's shape). Per frame the 3D view
 * asks these functions which level each part of the volume needs (projected voxel size), which
 * bricks the camera sees (frustum culling), and in which order to fetch them (coarse before fine,
 * nearest first).
 *
 * Coordinates: **world** = level-0 voxel coordinates `(x, y, z)` times the voxel size (physical
 * units), so an anisotropic volume keeps its proportions; a level-0 voxel `[z, y, x]` covers
 * `[x, x+1) × [y, y+1) × [z, z+1)` before scaling. Matrices are column-major 4×4 arrays (three.js's
 * `elements`).
 * @module core/bricks
 */

import { gridShape } from "./grid.js";

/**
 * The six frustum planes `[a, b, c, d]` (inside: `a*x + b*y + c*z + d >= 0`) of a view-projection
 * matrix (column-major), normalised.
 * @param {ArrayLike<number>} m projection × view, column-major
 * @returns {number[][]}
 */
export function frustumPlanes(m) {
  const row = (r) => [m[r], m[4 + r], m[8 + r], m[12 + r]];
  const r0 = row(0);
  const r1 = row(1);
  const r2 = row(2);
  const r3 = row(3);
  const planes = [];
  for (const [s, r] of [
    [1, r0],
    [-1, r0],
    [1, r1],
    [-1, r1],
    [1, r2],
    [-1, r2],
  ]) {
    const p = r3.map((v, i) => v + s * r[i]);
    const n = Math.hypot(p[0], p[1], p[2]) || 1;
    planes.push(p.map((v) => v / n));
  }
  return planes;
}

/**
 * Whether an axis-aligned box may intersect the frustum (conservative: a box outside one plane
 * is culled; boxes near a frustum corner may be kept).
 * @param {number[][]} planes from {@link frustumPlanes}
 * @param {number[]} lo box minimum (x, y, z), world
 * @param {number[]} hi box maximum (x, y, z), world
 * @returns {boolean}
 */
export function boxInFrustum(planes, lo, hi) {
  for (const p of planes) {
    // the box corner farthest along the plane normal
    const x = p[0] >= 0 ? hi[0] : lo[0];
    const y = p[1] >= 0 ? hi[1] : lo[1];
    const z = p[2] >= 0 ? hi[2] : lo[2];
    if (p[0] * x + p[1] * y + p[2] * z + p[3] < 0) return false;
  }
  return true;
}

/**
 * The world box of brick `key` ([kz, ky, kx]) of a level.
 * @param {number[]} key
 * @param {{shape: number[], downsample: number[]}} level
 * @param {number[]} chunks [cz, cy, cx]
 * @param {number[]} voxelSize [z, y, x]
 * @param {number[]} shape0 level-0 shape [z, y, x] (bricks at the edge are clipped to it)
 * @returns {{lo: number[], hi: number[]}} (x, y, z) order
 */
export function brickBox(key, level, chunks, voxelSize, shape0) {
  const lo = [0, 0, 0];
  const hi = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const d = level.downsample[a];
    const w = 2 - a; // world axis of array axis a
    const s0 = key[a] * chunks[a] * d;
    const s1 = Math.min((key[a] + 1) * chunks[a] * d, shape0[a]);
    lo[w] = s0 * voxelSize[a];
    hi[w] = s1 * voxelSize[a];
  }
  return { lo, hi };
}

/**
 * Distance from a point to a box (0 inside).
 * @param {number[]} p (x, y, z)
 * @param {number[]} lo
 * @param {number[]} hi
 * @returns {number}
 */
export function boxDistance(p, lo, hi) {
  let s = 0;
  for (let i = 0; i < 3; i++) {
    const d = Math.max(lo[i] - p[i], 0, p[i] - hi[i]);
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * Screen pixels a level's voxel covers at distance `dist` from a perspective camera.
 * @param {number[]} downsample the level's factors [z, y, x]
 * @param {number[]} voxelSize [z, y, x]
 * @param {number} dist world units (clamped to `near`)
 * @param {number} fovY vertical field of view, degrees
 * @param {number} heightPx the canvas height in device pixels
 * @param {number} [near] the nearest distance counted
 * @returns {number}
 */
export function projectedVoxelPx(downsample, voxelSize, dist, fovY, heightPx, near = 1e-3) {
  const size = Math.cbrt(
    downsample[0] * voxelSize[0] * downsample[1] * voxelSize[1] * downsample[2] * voxelSize[2],
  );
  const pxPerUnit = heightPx / (2 * Math.max(dist, near) * Math.tan((fovY * Math.PI) / 360));
  return size * pxPerUnit;
}

/**
 * The level a part of the volume at distance `dist` needs: the finest whose voxels cover at
 * least `minPx` screen pixels (the coarsest when all are finer), like the 2D view's choice.
 * @param {{downsample: number[]}[]} levels finest first
 * @param {number[]} voxelSize
 * @param {number} dist
 * @param {number} fovY degrees
 * @param {number} heightPx device pixels
 * @param {number} [minPx] a voxel of the chosen level covers at least this many pixels
 * @returns {number}
 */
export function levelForDistance(levels, voxelSize, dist, fovY, heightPx, minPx = 1) {
  if (!levels.length) return 0;
  for (let i = 0; i < levels.length; i++) {
    if (projectedVoxelPx(levels[i].downsample, voxelSize, dist, fovY, heightPx) >= minPx - 1e-9) return i;
  }
  return levels.length - 1;
}

/**
 * The visible bricks of one level with their distance to the camera.
 * @param {object} p
 * @param {{shape: number[], downsample: number[]}} p.level
 * @param {number} p.index the level's index (copied into each brick)
 * @param {number[]} p.chunks
 * @param {number[]} p.voxelSize
 * @param {number[]} p.shape0 level-0 shape
 * @param {number[][]} p.planes frustum planes
 * @param {number[]} p.eye camera position (world)
 * @returns {{level: number, key: number[], dist: number}[]}
 */
export function visibleBricks({ level, index, chunks, voxelSize, shape0, planes, eye }) {
  const g = gridShape(level.shape, chunks);
  const out = [];
  for (let z = 0; z < g[0]; z++) {
    for (let y = 0; y < g[1]; y++) {
      for (let x = 0; x < g[2]; x++) {
        const key = [z, y, x];
        const { lo, hi } = brickBox(key, level, chunks, voxelSize, shape0);
        if (!boxInFrustum(planes, lo, hi)) continue;
        out.push({ level: index, key, dist: boxDistance(eye, lo, hi) });
      }
    }
  }
  return out;
}

/**
 * The bricks of the next finer level `level - 1` under brick `key` of `level` that the frustum keeps.
 * @returns {{level: number, key: number[], dist: number}[]}
 */
export function childBricks(levels, level, key, { chunks, voxelSize, planes, eye }) {
  const shape0 = levels[0].shape;
  const up = levels[level];
  const dn = levels[level - 1];
  const lo = [0, 0, 0];
  const hi = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const s0 = key[a] * chunks[a] * up.downsample[a];
    const s1 = Math.min((key[a] + 1) * chunks[a] * up.downsample[a], shape0[a]);
    const span = chunks[a] * dn.downsample[a];
    const g = Math.ceil(dn.shape[a] / chunks[a]);
    lo[a] = Math.min(g - 1, Math.floor(s0 / span));
    hi[a] = Math.min(g, Math.ceil(s1 / span));
  }
  const out = [];
  for (let z = lo[0]; z < hi[0]; z++) {
    for (let y = lo[1]; y < hi[1]; y++) {
      for (let x = lo[2]; x < hi[2]; x++) {
        const k = [z, y, x];
        const box = brickBox(k, dn, chunks, voxelSize, shape0);
        if (!boxInFrustum(planes, box.lo, box.hi)) continue;
        out.push({ level: level - 1, key: k, dist: boxDistance(eye, box.lo, box.hi) });
      }
    }
  }
  return out;
}

/**
 * What the 3D view needs this frame, in fetch order. Every visible brick of the coarsest level
 * comes first (a quick, complete placeholder). Then each brick is refined into its visible
 * children of the next finer level while its distance asks for a finer level
 * ({@link levelForDistance}) and the bricks planned stay within `maxBricks`, nearest bricks first:
 * near parts of the volume get fine bricks, far parts coarse ones. The refined bricks (the
 * "leaves") follow, coarse levels before fine, nearest first within a level. Where a fine brick
 * has not arrived, the view draws the coarser one it replaces.
 * @param {object} p
 * @param {{shape: number[], downsample: number[]}[]} p.levels finest first (at least one)
 * @param {number[]} p.chunks
 * @param {number[]} p.voxelSize
 * @param {number[][]} p.planes frustum planes
 * @param {number[]} p.eye camera position (world)
 * @param {number} p.fovY degrees
 * @param {number} p.heightPx device pixels
 * @param {number} p.maxBricks bricks planned at most (the GPU budget's slots)
 * @param {number} [p.minPx] see {@link levelForDistance}
 * @returns {{target: number, coarsest: number, leaves: number, bricks: {level: number, key: number[],
 *   dist: number, leaf: boolean}[]}} `target`: the finest level planned; the first `bricks.length -
 *   leaves` bricks are coarse placeholders (the coarsest level, when it was refined)
 */
export function planBricks({ levels, chunks, voxelSize, planes, eye, fovY, heightPx, maxBricks, minPx = 1 }) {
  const shape0 = levels[0].shape;
  const coarsest = levels.length - 1;
  const ctx = { chunks, voxelSize, planes, eye };
  const coarse = visibleBricks({
    level: levels[coarsest],
    index: coarsest,
    chunks,
    voxelSize,
    shape0,
    planes,
    eye,
  })
    .sort((a, b) => a.dist - b.dist)
    .slice(0, Math.max(1, maxBricks));
  let count = coarse.length; // bricks planned: the coarse placeholders plus the leaves below them
  const leaves = [];
  let current = coarse;
  for (let level = coarsest; level >= 0 && current.length; level--) {
    const next = [];
    for (const b of current) {
      const need = levelForDistance(levels, voxelSize, b.dist, fovY, heightPx, minPx);
      if (need < level) {
        const kids = childBricks(levels, level, b.key, ctx);
        const more = kids.length - (level === coarsest ? 0 : 1); // (a coarsest brick stays planned)
        if (count + more <= maxBricks) {
          count += more;
          next.push(...kids);
          continue;
        }
      }
      leaves.push(b);
    }
    current = next.sort((a, b) => a.dist - b.dist);
  }
  const fine = leaves.filter((b) => b.level < coarsest);
  fine.sort((a, b) => b.level - a.level || a.dist - b.dist);
  const target = leaves.reduce((m, b) => Math.min(m, b.level), coarsest);
  const isLeaf = new Set(leaves);
  const bricks = [
    ...coarse.map((b) => ({ ...b, leaf: isLeaf.has(b) })),
    ...fine.map((b) => ({ ...b, leaf: true })),
  ];
  return { target, coarsest, leaves: leaves.length, bricks };
}

/**
 * The brick id of a level's key.
 * @param {number} level
 * @param {number[]} key
 * @returns {string}
 */
export function brickId(level, key) {
  return `${level}/${key[0]},${key[1]},${key[2]}`;
}
