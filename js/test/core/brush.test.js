import assert from "node:assert/strict";
import { test } from "node:test";
import { diskCount, halfWidth, lineCentres, strokeVoxels } from "../../src/core/brush.js";
import { offsetToLocal } from "../../src/core/grid.js";

/** All voxels of a stroke result as "z,y,x" strings. */
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

const shape = [20, 100, 120];
const chunks = [8, 16, 16];

test("disk sizes for r = 0, 1, 5", () => {
  assert.equal(diskCount(0), 1);
  assert.equal(diskCount(1), 5);
  assert.equal(diskCount(5), 81);
  assert.equal(halfWidth(5, 3), 4);
  assert.equal(halfWidth(5, 6), -1);
  for (const r of [0, 1, 5]) {
    const g = strokeVoxels({ shape, chunks, axis: 0, index: 9, from: null, to: [50, 40], radius: r });
    const vox = voxelSet(g, chunks);
    assert.equal(vox.size, diskCount(r), `r=${r}`);
    for (const v of vox) {
      const [z, y, x] = v.split(",").map(Number);
      assert.equal(z, 9);
      assert.ok((x - 50) ** 2 + (y - 40) ** 2 <= r * r);
    }
  }
});

test("disk across a chunk corner is split by chunk, offsets are nominal C order", () => {
  const g = strokeVoxels({ shape, chunks, axis: 0, index: 9, from: null, to: [16, 16], radius: 1 });
  assert.deepEqual([...g.keys()].sort(), ["1,0,1", "1,1,0", "1,1,1"]);
  assert.deepEqual(
    [...g.get("1,1,1").offsets].sort((a, b) => a - b),
    [1 * 256 + 0 * 16 + 0, 1 * 256 + 0 * 16 + 1, 1 * 256 + 1 * 16 + 0],
  );
});

test("clipped to the array", () => {
  const g = strokeVoxels({ shape, chunks, axis: 0, index: 0, from: null, to: [0, 0], radius: 5 });
  const vox = voxelSet(g, chunks);
  let expect = 0;
  for (let y = 0; y <= 5; y++) for (let x = 0; x <= 5; x++) if (x * x + y * y <= 25) expect++;
  assert.equal(vox.size, expect);
  assert.equal(
    strokeVoxels({ shape, chunks, axis: 0, index: 20, from: null, to: [5, 5], radius: 2 }).size,
    0,
  );
});

test("a line segment is covered: every voxel within r - 1 of the path, none beyond r + 1", () => {
  const r = 3;
  const a = [10, 20];
  const b = [70, 55];
  const g = strokeVoxels({ shape, chunks, axis: 1, index: 33, from: a, to: b, radius: r });
  const vox = voxelSet(g, chunks);
  const dist = (p) => {
    const ab = [b[0] - a[0], b[1] - a[1]];
    const t = Math.max(
      0,
      Math.min(1, ((p[0] - a[0]) * ab[0] + (p[1] - a[1]) * ab[1]) / (ab[0] ** 2 + ab[1] ** 2)),
    );
    return Math.hypot(p[0] - a[0] - t * ab[0], p[1] - a[1] - t * ab[1]);
  };
  // view y: u = x, v = z
  for (const v of vox) {
    const [z, y, x] = v.split(",").map(Number);
    assert.equal(y, 33);
    assert.ok(dist([x, z]) <= r + 1, v);
  }
  for (let z = 0; z < shape[0]; z++) {
    for (let x = 0; x < shape[2]; x++) {
      if (dist([x, z]) <= r - 1) assert.ok(vox.has(`${z},33,${x}`), `missing ${z},33,${x}`);
    }
  }
  // equals the union of the disks stamped at the DDA centres
  const union = new Set();
  for (const c of lineCentres(a, b)) {
    for (const s of voxelSet(
      strokeVoxels({ shape, chunks, axis: 1, index: 33, from: null, to: c, radius: r }),
      chunks,
    )) {
      union.add(s);
    }
  }
  assert.deepEqual([...vox].sort(), [...union].sort());
});

test("DDA steps one voxel at a time", () => {
  const c = lineCentres([0, 0], [5, -2]);
  assert.equal(c.length, 6);
  for (let i = 1; i < c.length; i++) {
    assert.ok(Math.abs(c[i][0] - c[i - 1][0]) <= 1 && Math.abs(c[i][1] - c[i - 1][1]) <= 1);
  }
  assert.deepEqual(c.at(-1), [5, -2]);
});
