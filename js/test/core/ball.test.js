import assert from "node:assert/strict";
import { test } from "node:test";
import { diskCount, diskOutline, lineCentres, sectionR2, strokeVoxels } from "../../src/core/brush.js";
import { offsetToLocal, planeAxes } from "../../src/core/grid.js";

function voxelSet(groups, chunks) {
  const out = new Set();
  for (const { key, offsets } of groups.values()) {
    for (const o of offsets) {
      const l = offsetToLocal(o, chunks);
      out.add(`${key[0] * chunks[0] + l[0]},${key[1] * chunks[1] + l[1]},${key[2] * chunks[2] + l[2]}`);
    }
  }
  return out;
}

/** The union of balls dz² + dy² + dx² <= r² at the DDA centres, by brute force (the kernel's rule). */
function bruteBalls(shape, axis, index, from, to, r) {
  const { u, v } = planeAxes(axis);
  const out = new Set();
  for (const [cu, cv] of lineCentres(from ?? to, to)) {
    const c = [0, 0, 0];
    c[axis] = index;
    c[u] = cu;
    c[v] = cv;
    for (let z = c[0] - r; z <= c[0] + r; z++)
      for (let y = c[1] - r; y <= c[1] + r; y++)
        for (let x = c[2] - r; x <= c[2] + r; x++) {
          const d2 = (z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2;
          if (d2 > r * r || z < 0 || y < 0 || x < 0 || z >= shape[0] || y >= shape[1] || x >= shape[2])
            continue;
          out.add(`${z},${y},${x}`);
        }
  }
  return out;
}

const shape = [20, 40, 50];
const chunks = [8, 16, 16];

test("a 3D stroke is the union of balls at its centres, on every axis, clipped, across chunks", () => {
  for (const axis of [0, 1, 2]) {
    for (const [index, from, to, r] of [
      [9, null, [15, 15], 0],
      [9, null, [15, 15], 1],
      [7, [10, 12], [20, 3], 4],
      [1, [2, 1], [30, 17], 5], // clipped at the volume's faces
      [18, [14, 15], [17, 18], 3], // across chunk borders and the last planes
    ]) {
      const g = strokeVoxels({ shape, chunks, axis, index, from, to, radius: r, dims: 3 });
      const got = voxelSet(g, chunks);
      const want = bruteBalls(shape, axis, index, from, to, r);
      assert.deepEqual([...got].sort(), [...want].sort(), `axis ${axis} index ${index} r ${r}`);
      let n = 0;
      for (const x of g.values()) n += x.offsets.length;
      assert.equal(n, got.size, "no voxel listed twice");
    }
  }
});

test("a single ball has the kernel's voxel count and the 2D brush stays in its slice", () => {
  const big = [64, 64, 64];
  const g3 = strokeVoxels({
    shape: big,
    chunks,
    axis: 0,
    index: 32,
    from: null,
    to: [32, 32],
    radius: 5,
    dims: 3,
  });
  assert.equal(voxelSet(g3, chunks).size, 515); // #{d² <= 25} in Z³
  const g2 = strokeVoxels({ shape: big, chunks, axis: 0, index: 32, from: null, to: [32, 32], radius: 5 });
  const s2 = voxelSet(g2, chunks);
  assert.equal(s2.size, diskCount(5));
  for (const p of s2) assert.equal(p.split(",")[0], "32");
});

test("cross-sections: squared radius per plane offset", () => {
  assert.equal(sectionR2(5, 0), 25);
  assert.equal(sectionR2(5, 3), 16);
  assert.equal(sectionR2(5, 5), 0);
  assert.equal(sectionR2(5, 6), -1);
});

test("the cursor outline encloses exactly the disk's voxels", () => {
  for (const r2 of [0, 1, 2, 8, 16, 25, 50]) {
    const poly = diskOutline(r2);
    let area2 = 0;
    for (let i = 0; i < poly.length; i++) {
      const [x0, y0] = poly[i];
      const [x1, y1] = poly[(i + 1) % poly.length];
      area2 += x0 * y1 - x1 * y0;
    }
    let count = 0;
    const r = Math.floor(Math.sqrt(r2));
    for (let du = -r; du <= r; du++) for (let dv = -r; dv <= r; dv++) if (du * du + dv * dv <= r2) count++;
    assert.equal(Math.abs(area2) / 2, count, `r2 ${r2}`);
  }
});
