import assert from "node:assert/strict";
import { test } from "node:test";
import {
  chunkOf,
  gridShape,
  keyString,
  localOffset,
  offsetToLocal,
  planeAxes,
  tileIndex,
  tileShape,
  visibleKeys,
} from "../../src/core/grid.js";

test("plane axes per view axis", () => {
  assert.deepEqual(planeAxes("z"), { u: 2, v: 1 });
  assert.deepEqual(planeAxes(1), { u: 2, v: 0 });
  assert.deepEqual(planeAxes("x"), { u: 1, v: 0 });
  assert.throws(() => planeAxes(3), RangeError);
});

test("local offsets use the nominal chunk shape, also in edge chunks", () => {
  const chunks = [4, 5, 6];
  assert.equal(localOffset([0, 0, 0], chunks), 0);
  assert.equal(localOffset([1, 2, 3], chunks), (1 * 5 + 2) * 6 + 3);
  // voxel (9, 11, 13) is in chunk (2, 2, 2) at local (1, 1, 1)
  assert.deepEqual(chunkOf([9, 11, 13], chunks), [2, 2, 2]);
  assert.equal(localOffset([9, 11, 13], chunks), (1 * 5 + 1) * 6 + 1);
  for (let o = 0; o < 4 * 5 * 6; o += 7) {
    const l = offsetToLocal(o, chunks);
    assert.equal(localOffset(l, chunks), o);
  }
});

test("edge chunks give clipped tile shapes", () => {
  const shape = [10, 70, 130];
  const chunks = [4, 64, 64];
  assert.deepEqual(gridShape(shape, chunks), [3, 2, 3]);
  assert.deepEqual(tileShape([0, 0, 0], shape, chunks, 0), [64, 64]);
  assert.deepEqual(tileShape([2, 1, 2], shape, chunks, 0), [6, 2]); // y rows, x cols
  assert.deepEqual(tileShape([2, 1, 2], shape, chunks, 1), [2, 2]); // z rows, x cols
  assert.deepEqual(tileShape([2, 1, 0], shape, chunks, 2), [2, 6]); // z rows, y cols
  assert.deepEqual(tileShape([2, 1, 2], shape, chunks, -1), [2, 6, 2]);
});

test("visible keys cover the rect at the slice, clipped, centre first", () => {
  const shape = [100, 256, 256];
  const chunks = [32, 64, 64];
  const keys = visibleKeys(shape, chunks, 0, 40, { u0: -10, u1: 300, v0: 70, v1: 130 });
  assert.equal(keys.length, 4 * 2);
  for (const k of keys) {
    assert.equal(k[0], 1);
    assert.ok(k[1] === 1 || k[1] === 2);
  }
  const one = visibleKeys(shape, chunks, 2, 200, { u0: 0, u1: 64, v0: 0, v1: 32 });
  assert.deepEqual(one, [[0, 0, 3]]);
  assert.deepEqual(visibleKeys(shape, chunks, 0, 100, { u0: 0, u1: 10, v0: 0, v1: 10 }), []);
  const centred = visibleKeys(shape, chunks, 0, 0, { u0: 0, u1: 256, v0: 0, v1: 256 });
  assert.equal(centred.length, 16);
  const first = keyString(centred[0]);
  assert.ok(["0,1,1", "0,1,2", "0,2,1", "0,2,2"].includes(first), first);
});

test("tile index of a chunk-local voxel", () => {
  const chunks = [4, 5, 6];
  const key = [1, 1, 1];
  // plane z = 6 cuts chunk z=1 at local z 2; tile rows y, cols x
  assert.equal(tileIndex([2, 3, 4], key, chunks, [5, 6], 0, 6), 3 * 6 + 4);
  assert.equal(tileIndex([1, 3, 4], key, chunks, [5, 6], 0, 6), -1);
  // plane x = 8 (local x 2): rows z, cols y
  assert.equal(tileIndex([3, 1, 2], key, chunks, [4, 5], 2, 8), 3 * 5 + 1);
  // clipped tile: voxel beyond the edge
  assert.equal(tileIndex([2, 4, 4], key, chunks, [3, 6], 0, 6), -1);
  // whole chunk
  assert.equal(tileIndex([1, 2, 3], key, chunks, [4, 5, 6], -1, -1), (1 * 5 + 2) * 6 + 3);
});
