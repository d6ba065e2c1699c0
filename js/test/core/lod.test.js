import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseLevel, levelKeys, planView, prefetchPlan } from "../../src/core/lod.js";

const DOWN = [
  [1, 1, 1],
  [2, 2, 2],
  [4, 4, 4],
  [8, 8, 8],
];
const SHAPE = 1024;
const LEVELS = DOWN.map((d) => ({ shape: d.map((f) => Math.ceil(SHAPE / f)), downsample: d }));

test("chooseLevel: the finest level whose voxels cover a pixel (mirrors lod.py)", () => {
  assert.equal(chooseLevel(DOWN, 4, 0), 0);
  assert.equal(chooseLevel(DOWN, 1, 0), 0);
  assert.equal(chooseLevel(DOWN, 0.99, 0), 1);
  assert.equal(chooseLevel(DOWN, 0.5, 0), 1);
  assert.equal(chooseLevel(DOWN, 0.47, 0), 2);
  assert.equal(chooseLevel(DOWN, 0.25, 1), 2);
  assert.equal(chooseLevel(DOWN, 0.01, 2), 3, "zoomed far out: the coarsest");
  assert.throws(() => chooseLevel(DOWN, 0, 0), RangeError);
});

test("chooseLevel uses the in-plane factors (anisotropic pyramid)", () => {
  const aniso = [
    [1, 1, 1],
    [1, 2, 2],
    [2, 4, 4],
  ];
  // along z the plane is (x, y): factors 2 at level 1
  assert.equal(chooseLevel(aniso, 0.5, 0), 1);
  // along x the plane is (y, z): level 1 has sqrt(2 * 1) = 1.41 → 0.71 px, level 2 sqrt(4*2)*0.5 = 1.41
  assert.equal(chooseLevel(aniso, 0.5, 2), 2);
});

test("levelKeys maps the plane and the rectangle to the level's grid", () => {
  const rect = { u0: 100, u1: 300, v0: 0, v1: 129 };
  const { index, keys } = levelKeys(LEVELS[1], [64, 64, 64], 0, 517, rect);
  assert.equal(index, 258);
  // level 1: u 50..150 → chunks 0..2, v 0..64.5 → chunks 0..1, z chunk 258 // 64 = 4
  const got = keys.map((k) => k.join(",")).sort();
  assert.deepEqual(got, ["4,0,0", "4,0,1", "4,0,2", "4,1,0", "4,1,1", "4,1,2"]);
});

test("planView: coarsest level first, then the zoom's level; visible keys only", () => {
  const rect = { u0: 256, u1: 768, v0: 256, v1: 768 };
  const plan = planView(LEVELS, [64, 64, 64], 0, 512, rect, 0.5);
  assert.deepEqual(
    plan.map((p) => p.level),
    [3, 1],
  );
  assert.equal(plan[0].keys.length, 4); // level 3 is 128² in plane: rect 32..96 → chunks 0..1 both ways
  assert.deepEqual(plan[1].keys.length, 16); // level 1: 128..384 → chunks 2..5 both ways
  for (const k of plan[1].keys) {
    assert.equal(k[0], 4);
    assert.ok(k[1] >= 2 && k[1] <= 5 && k[2] >= 2 && k[2] <= 5);
  }
  // centre first
  assert.ok([3, 4].includes(plan[1].keys[0][1]) && [3, 4].includes(plan[1].keys[0][2]));
  const fine = planView(LEVELS, [64, 64, 64], 0, 512, rect, 2);
  assert.deepEqual(
    fine.map((p) => p.level),
    [3, 0],
  );
  const coarse = planView(LEVELS, [64, 64, 64], 0, 512, rect, 0.05);
  assert.deepEqual(
    coarse.map((p) => p.level),
    [3],
  );
  assert.deepEqual(planView([], [64, 64, 64], 0, 0, rect, 1), []);
});

test("prefetchPlan: the next planes in the scroll direction, one behind, clipped, same in-plane keys", () => {
  const rect = { u0: 0, u1: 300, v0: 0, v1: 100 };
  const plan = planView(LEVELS, [64, 64, 64], 0, 63, rect, 2);
  const pf = prefetchPlan(plan, LEVELS, [64, 64, 64], 0, 1);
  assert.deepEqual(
    pf.map((p) => p.index),
    [64, 62, 65, 66],
  );
  assert.ok(pf.every((p) => p.prefetch && p.level === 0));
  assert.equal(pf[0].keys[0][0], 1, "plane 64 lies in the next chunk layer");
  assert.equal(pf[1].keys[0][0], 0);
  assert.deepEqual(
    pf[0].keys.map((k) => [k[1], k[2]]),
    plan[1].keys.map((k) => [k[1], k[2]]),
  );
  const down = prefetchPlan(planView(LEVELS, [64, 64, 64], 0, 1, rect, 2), LEVELS, [64, 64, 64], 0, -1);
  assert.deepEqual(
    down.map((p) => p.index),
    [0, 2],
  );
  assert.deepEqual(prefetchPlan([], LEVELS, [64, 64, 64], 0, 1), []);
});
