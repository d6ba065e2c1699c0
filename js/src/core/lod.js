/**
 * Level-of-detail arithmetic for the 2D view (mirror of `voxwidget/multiscale/lod.py`): which level
 * a zoom needs, which chunks of each level the view shows, and the fetch plan (coarsest level first
 * as a quick placeholder, then the level the zoom needs; within a level nearest the centre first).
 *
 * Conventions: `zoom` is screen (device) pixels per level-0 voxel; a level with in-plane downsample
 * factors `du, dv` shows each of its voxels over `sqrt(du * dv) * zoom` pixels. The view fetches the
 * finest level whose voxels cover at least one pixel; level 0 when zoomed in; the coarsest when even
 * that one is finer than a pixel. Rectangles are in level-0 voxels `{u0, u1, v0, v1}`.
 * @module core/lod
 */

import { planeAxes, visibleKeys } from "./grid.js";

/**
 * The level a 2D view at `zoom` should fetch.
 * @param {number[][]} downsamples per level (finest first) its (z, y, x) factors versus level 0
 * @param {number} zoom pixels per level-0 voxel (> 0)
 * @param {number} axis the view's axis (selects the in-plane factors)
 * @returns {number}
 */
export function chooseLevel(downsamples, zoom, axis) {
  if (!downsamples.length) return 0;
  if (!(zoom > 0) || !Number.isFinite(zoom)) throw new RangeError(`zoom must be positive, got ${zoom}`);
  const { u, v } = planeAxes(axis);
  let best = -1;
  let bestPx = Infinity;
  let coarsest = 0;
  let coarsestPx = -Infinity;
  downsamples.forEach((d, i) => {
    const px = Math.sqrt(d[u] * d[v]) * zoom;
    if (px >= 1 - 1e-9 && px < bestPx) {
      best = i;
      bestPx = px;
    }
    if (px > coarsestPx) {
      coarsest = i;
      coarsestPx = px;
    }
  });
  return best >= 0 ? best : coarsest;
}

/**
 * The plane index at `level` of the level-0 plane `index0`.
 * @param {number} index0
 * @param {number[]} downsample the level's (z, y, x) factors
 * @param {number} axis
 * @returns {number}
 */
export function levelIndex(index0, downsample, axis) {
  return Math.floor(index0 / downsample[axis]);
}

/**
 * Chunk keys of `level` the view shows, centre first.
 * @param {{shape: number[], downsample: number[]}} level
 * @param {number[]} chunks tile grid chunk shape (the same at every level)
 * @param {number} axis
 * @param {number} index0 plane index in level-0 voxels
 * @param {{u0: number, u1: number, v0: number, v1: number}} rect0 visible rectangle, level-0 voxels
 * @returns {{index: number, keys: number[][]}} the plane index at this level and the keys
 */
export function levelKeys(level, chunks, axis, index0, rect0) {
  const { u, v } = planeAxes(axis);
  const d = level.downsample;
  const index = levelIndex(index0, d, axis);
  const rect = { u0: rect0.u0 / d[u], u1: rect0.u1 / d[u], v0: rect0.v0 / d[v], v1: rect0.v1 / d[v] };
  return { index, keys: visibleKeys(level.shape, chunks, axis, index, rect) };
}

/**
 * What a 2D view fetches, in order: the coarsest level's visible chunks, then those of the level
 * the zoom needs (once when they are the same level).
 * @param {{shape: number[], downsample: number[]}[]} levels finest first
 * @param {number[]} chunks
 * @param {number} axis
 * @param {number} index0
 * @param {{u0: number, u1: number, v0: number, v1: number}} rect0
 * @param {number} zoom pixels per level-0 voxel
 * @returns {{level: number, index: number, keys: number[][]}[]} coarse first
 */
export function planView(levels, chunks, axis, index0, rect0, zoom) {
  if (!levels.length) return [];
  const target = chooseLevel(
    levels.map((l) => l.downsample),
    zoom,
    axis,
  );
  const coarsest = levels.length - 1;
  const out = [];
  for (const level of coarsest === target ? [target] : [coarsest, target]) {
    const { index, keys } = levelKeys(levels[level], chunks, axis, index0, rect0);
    out.push({ level, index, keys });
  }
  return out;
}

/**
 * Idle-time prefetch around the shown slice: the same in-plane keys of the planes next to the
 * plan's finest level, `ahead` planes in the scroll direction `dir` and `behind` the other way
 * (level-L planes, clipped to the level). Entries carry `prefetch: true`.
 * @param {{level: number, index: number, keys: number[][]}[]} plan from {@link planView}
 * @param {{shape: number[]}[]} levels
 * @param {number[]} chunks
 * @param {number} axis
 * @param {number} dir +1 or -1
 * @param {number} [ahead]
 * @param {number} [behind]
 * @returns {{level: number, index: number, keys: number[][], prefetch: true}[]} nearest first
 */
export function prefetchPlan(plan, levels, chunks, axis, dir, ahead = 3, behind = 1) {
  if (!plan.length) return [];
  const fine = plan.reduce((a, b) => (b.level < a.level ? b : a));
  const n = levels[fine.level]?.shape[axis] ?? Infinity;
  const steps = [];
  for (let i = 1; i <= Math.max(ahead, behind); i++) {
    if (i <= ahead) steps.push(dir * i);
    if (i <= behind) steps.push(-dir * i);
  }
  const out = [];
  for (const s of steps) {
    const index = fine.index + s;
    if (index < 0 || index >= n) continue;
    const ka = Math.floor(index / chunks[axis]);
    const keys = fine.keys.map((k) => {
      const key = [...k];
      key[axis] = ka;
      return key;
    });
    out.push({ level: fine.level, index, keys, prefetch: true });
  }
  return out;
}
