import assert from "node:assert/strict";
import { test } from "node:test";
import { labelRGB } from "../../src/core/colors.js";
import { composeImage, composeLabels } from "../../src/views/compose.js";
import { View2D } from "../../src/views/view2d.js";

const rgba = (px) => [...new Uint8Array(px.buffer)];

test("image greyscale through contrast limits (LUT and float paths)", () => {
  const out = new Uint32Array(3);
  composeImage(Uint8Array.of(5, 60, 200), "uint8", 10, 265, out);
  assert.deepEqual(rgba(out), [0, 0, 0, 255, 50, 50, 50, 255, 190, 190, 190, 255]);
  composeImage(Uint16Array.of(5, 60, 2000), "uint16", 10, 265, out);
  assert.deepEqual(rgba(out), [0, 0, 0, 255, 50, 50, 50, 255, 255, 255, 255, 255]);
  composeImage(Float32Array.of(-1, 0.5, 2), "float32", 0, 1, out);
  assert.deepEqual(
    rgba(out).filter((_, i) => i % 4 === 0),
    [0, 128, 255],
  );
});

test("labels get their hashed colours, 0 is transparent, uint64 included", () => {
  const out = new Uint32Array(3);
  composeLabels(Uint32Array.of(0, 3, 3), out);
  assert.deepEqual(rgba(out).slice(0, 4), [0, 0, 0, 0]);
  assert.deepEqual(rgba(out).slice(4, 8), [...labelRGB(3, 0), 255]);
  composeLabels(BigUint64Array.of(0n, 2n ** 64n - 1n, 2n ** 32n), out);
  assert.deepEqual(rgba(out).slice(4, 8), [...labelRGB(0xffffffff, 0xffffffff), 255]);
  assert.deepEqual(rgba(out).slice(8, 12), [...labelRGB(0, 1), 255]);
});

test("screen/voxel transform: fit, explicit zoom about a centre", () => {
  const canvas = { getContext: () => ({}), style: {}, width: 0, height: 0 };
  const v = new View2D({ canvas, client: null });
  v.raf = () => 1; // no drawing in node
  v.resize(400, 200);
  v.set({ shape: [10, 100, 100], axis: 0, index: 3 });
  assert.equal(v.scale, 2); // min(400/100, 200/100)
  assert.deepEqual(v.voxelAt(200, 100), [3, 50, 50]);
  const c = v.planeToScreen(50.5, 50.5);
  assert.deepEqual([c.x, c.y], [201, 101]);
  v.set({ zoom: 10, centerU: 10.5, centerV: 20.5 });
  assert.deepEqual(v.voxelAt(200, 100), [3, 20, 10]);
  assert.deepEqual(v.voxelAt(204, 104), [3, 20, 10]);
  assert.deepEqual(v.voxelAt(206, 100), [3, 20, 11]);
  v.set({ axis: 2, index: 7 }); // u = y, v = z
  assert.deepEqual(v.voxelAt(200, 100), [20, 10, 7]);
  const keys = v.visibleKeys();
  assert.ok(keys.length > 0 && keys.every((k) => k[2] === 0));
});

test("anisotropic voxels show with their physical aspect; the plan follows the zoom", () => {
  const canvas = { getContext: () => ({}), style: {}, width: 0, height: 0 };
  const v = new View2D({ canvas, client: null });
  v.raf = () => 1;
  v.resize(400, 400);
  // axis y: u = x (0.5 µm), v = z (2 µm): a voxel is 4× taller than wide
  v.set({ shape: [25, 100, 100], axis: 1, index: 3, voxelSize: [2, 0.5, 0.5] });
  assert.equal(v.aspect, 4);
  assert.equal(v.scale, 4); // min(400/100, 400/(25*4))
  const a = v.planeToScreen(0, 0);
  const b = v.planeToScreen(1, 1);
  assert.deepEqual([b.x - a.x, b.y - a.y], [4, 16]);
  assert.deepEqual(v.voxelAt(200, 200), [12, 3, 50]);
  const p = v.screenToPlane(100, 300);
  const q = v.planeToScreen(p.u, p.v);
  assert.deepEqual([q.x, q.y], [100, 300]);
  // the plan: level 0 and the coarsest, with the level-0 keys of the plane
  const levels = [
    { shape: [25, 100, 100], downsample: [1, 1, 1] },
    { shape: [13, 50, 50], downsample: [2, 2, 2] },
  ];
  v.set({ levels, chunks: [8, 16, 16] });
  assert.deepEqual(
    v.plan().map((e) => e.level),
    [1, 0],
  );
  v.set({ axis: 0, voxelSize: [1, 1, 1], zoom: 0.5 });
  assert.deepEqual(
    v.plan().map((e) => e.level),
    [1],
  );
});
