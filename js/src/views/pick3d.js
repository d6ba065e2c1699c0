/**
 * Picking in the 3D view (pure, on the bricks held in memory): the first voxel along a ray that is
 * labelled (and shown: with "selected only", that label), or else the first whose image value
 * reaches `threshold`. Each step reads the finest level whose brick is in memory.
 * @module views/pick3d
 */

/**
 * Where a ray enters and leaves the box `[0, shape)` (x, y, z).
 * @param {number[]} o origin
 * @param {number[]} d direction
 * @param {number[]} shape (x, y, z)
 * @returns {[number, number]|null} [tnear, tfar], null when it misses
 */
export function rayBox(o, d, shape) {
  let t0 = 0;
  let t1 = Infinity;
  for (let a = 0; a < 3; a++) {
    if (Math.abs(d[a]) < 1e-12) {
      if (o[a] < 0 || o[a] > shape[a]) return null;
      continue;
    }
    let n = (0 - o[a]) / d[a];
    let f = (shape[a] - o[a]) / d[a];
    if (n > f) [n, f] = [f, n];
    t0 = Math.max(t0, n);
    t1 = Math.min(t1, f);
  }
  return t1 > t0 ? [t0, t1] : null;
}

/**
 * The first labelled (or bright) level-0 voxel along a ray.
 * @param {object} p
 * @param {number[]} p.origin ray origin, level-0 voxel coordinates (x, y, z)
 * @param {number[]} p.dir direction (x, y, z), any length
 * @param {number[]} p.shape level-0 shape [z, y, x]
 * @param {number[]} p.chunks [z, y, x]
 * @param {{shape: number[], downsample: number[]}[]} p.levels
 * @param {(layer: string, level: number, key: number[]) => object|undefined} p.brick a cached brick
 * @param {number} p.threshold image value counted as a hit (Infinity: labels only)
 * @param {bigint|null} [p.only] count only this label (selected-only display)
 * @param {Set<string>|null} [p.hidden] labels not counted (not drawn), as decimal strings
 * @returns {{voxel: number[], label: string|null, image: number|null}|null} voxel [z, y, x]
 */
export function pickRay({
  origin,
  dir,
  shape,
  chunks,
  levels,
  brick,
  threshold,
  only = null,
  hidden = null,
}) {
  const n = Math.hypot(dir[0], dir[1], dir[2]) || 1;
  const d = dir.map((v) => v / n);
  const span = rayBox(origin, d, [shape[2], shape[1], shape[0]]);
  if (!span) return null;
  const step = 0.25;
  for (let t = span[0] + 1e-4; t < span[1]; t += step) {
    const v = [
      Math.floor(origin[2] + d[2] * t),
      Math.floor(origin[1] + d[1] * t),
      Math.floor(origin[0] + d[0] * t),
    ];
    if (v.some((c, i) => c < 0 || c >= shape[i])) continue;
    for (let l = 0; l < levels.length; l++) {
      const ds = levels[l].downsample;
      const q = v.map((c, i) => Math.min(Math.floor(c / ds[i]), levels[l].shape[i] - 1));
      const key = q.map((c, i) => Math.floor(c / chunks[i]));
      const lb = brick("labels", l, key);
      const ib = brick("image", l, key);
      if (!lb && !ib) continue;
      const tile = lb ?? ib;
      const [, sy, sx] = tile.shape;
      const j =
        ((q[0] - key[0] * chunks[0]) * sy + (q[1] - key[1] * chunks[1])) * sx + (q[2] - key[2] * chunks[2]);
      const label = lb ? lb.data[j] : 0;
      const labelled = typeof label === "bigint" ? label !== 0n : label !== 0;
      if (labelled && (only === null || BigInt(label) === only) && !hidden?.has(String(label))) {
        return { voxel: v, label: String(label), image: ib ? Number(ib.data[j]) : null };
      }
      if (ib && Number(ib.data[j]) >= threshold) return { voxel: v, label: null, image: Number(ib.data[j]) };
      break; // the finest level in memory decides this voxel
    }
  }
  return null;
}

/**
 * What the 3D view shows first along a ray (level-0 voxel coordinates), by its display state:
 * the contrast midpoint as the image threshold, `show_selected_only` and `hidden_labels`.
 * @param {object} st the 3D view's state (views/view3d.js)
 * @param {number[]} origin
 * @param {number[]} dir
 * @param {{shape: number[], downsample: number[]}[]} levels
 * @param {{brick: (layer: string, level: number, key: number[]) => object|undefined}} client
 * @returns {{voxel: number[], label: string|null, image: number|null}|null}
 */
export function pickInView(st, origin, dir, levels, client) {
  return pickRay({
    origin,
    dir,
    shape: st.shape,
    chunks: st.chunks,
    levels,
    brick: (layer, level, key) => client.brick(layer, level, key),
    threshold: (st.contrast[0] + st.contrast[1]) / 2,
    only: st.selectedOnly ? BigInt(st.selected ?? 0) : null,
    hidden: new Set((st.hidden ?? []).map(String)),
  });
}
