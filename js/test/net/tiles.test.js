import assert from "node:assert/strict";
import { test } from "node:test";
import { makeTile } from "../../src/net/tiles.js";

const base = { id: "labels/0/-1/-1/1,2,3", layer: "labels", level: 0, ks: "1,2,3", version: 4 };

test("makeTile: one record shape for sent and cached tiles; key parsed from ks unless given", () => {
  const data = new Uint16Array(8);
  const t = makeTile({ ...base, shape: [2, 2, 2], dtype: "uint16", data });
  assert.deepEqual(t.key, [1, 2, 3]);
  assert.equal(t.axis, -1, "a whole chunk by default");
  assert.equal(t.index, -1);
  assert.equal(t.data, data);
  assert.deepEqual([t.rev, t.stale, t.dirty, t.overlaid, t.zero], [0, false, false, null, false]);
  const key = [1, 2, 3];
  const plane = makeTile({
    ...base,
    axis: 0,
    index: 5,
    key,
    shape: [1, 2, 2],
    dtype: "uint8",
    data,
    stale: true,
  });
  assert.equal(plane.key, key, "the key given is used as is");
  assert.deepEqual([plane.axis, plane.index, plane.stale], [0, 5, true]);
});

test("makeTile: an all-zero tile (data null) makes its data when first read, checked at once", () => {
  const t = makeTile({ ...base, shape: [2, 3, 4], dtype: "uint32", data: null });
  assert.equal(t.zero, true);
  assert.equal(t.nbytes, 0, "nothing allocated yet");
  assert.ok(t.data instanceof Uint32Array && t.data.length === 24 && t.data.every((v) => v === 0));
  assert.throws(() => makeTile({ ...base, shape: [2, 2, 2], dtype: "uint128", data: null }), /uint128/);
});
