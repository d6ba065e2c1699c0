import assert from "node:assert/strict";
import { test } from "node:test";
import * as THREE from "three";
import {
  boxInFrustum,
  brickBox,
  frustumPlanes,
  levelForDistance,
  planBricks,
  projectedVoxelPx,
  visibleBricks,
} from "../../src/core/bricks.js";

const N = 512;
const CH = [64, 64, 64];
const LEVELS = [1, 2, 4, 8].map((d) => ({ shape: [N / d, N / d, N / d], downsample: [d, d, d] }));

function camera(pos, target, fov = 40, aspect = 1) {
  const c = new THREE.PerspectiveCamera(fov, aspect, 0.5, 1e5);
  c.position.set(...pos);
  c.up.set(0, -1, 0);
  c.lookAt(...target);
  c.updateMatrixWorld();
  const vp = new THREE.Matrix4().multiplyMatrices(c.projectionMatrix, c.matrixWorldInverse);
  return { planes: frustumPlanes(vp.elements), eye: pos, fov };
}

test("projected voxel size: halves with twice the distance, doubles per level", () => {
  const a = projectedVoxelPx([1, 1, 1], [1, 1, 1], 100, 40, 800);
  assert.ok(Math.abs(projectedVoxelPx([1, 1, 1], [1, 1, 1], 200, 40, 800) - a / 2) < 1e-9);
  assert.ok(Math.abs(projectedVoxelPx([2, 2, 2], [1, 1, 1], 100, 40, 800) - 2 * a) < 1e-9);
  // 800 px over 2 * 100 * tan(20°) world units
  assert.ok(Math.abs(a - 800 / (200 * Math.tan((20 * Math.PI) / 180))) < 1e-9);
});

test("level choice: the finest level whose voxel covers a pixel; the coarsest when all are finer", () => {
  const vs = [1, 1, 1];
  // at distance d a level-0 voxel covers 800 / (2 d tan 20°) px: 1 px at d ≈ 1099
  assert.equal(levelForDistance(LEVELS, vs, 100, 40, 800), 0);
  assert.equal(levelForDistance(LEVELS, vs, 1000, 40, 800), 0);
  assert.equal(levelForDistance(LEVELS, vs, 1200, 40, 800), 1);
  assert.equal(levelForDistance(LEVELS, vs, 3000, 40, 800), 2);
  assert.equal(levelForDistance(LEVELS, vs, 1e6, 40, 800), 3, "far away: the coarsest");
  // bigger physical voxels: the same distance needs a finer level less soon
  assert.equal(levelForDistance(LEVELS, [4, 4, 4], 3000, 40, 800), 0);
});

test("frustum culling: bricks behind the camera or beside the view are culled, those in front kept", () => {
  const { planes } = camera([256, 256, -300], [256, 256, 256], 30);
  assert.ok(boxInFrustum(planes, [192, 192, 0], [320, 320, 64]), "in front, on the axis");
  assert.ok(!boxInFrustum(planes, [192, 192, -600], [320, 320, -400]), "behind the camera");
  assert.ok(!boxInFrustum(planes, [5000, 192, 0], [5064, 320, 64]), "far to the side");
  // looking along the volume's edge x = y = 0 from just in front of it: only the bricks along that edge
  const edge = camera([10, 10, -20], [10, 10, 500], 20);
  const vis = visibleBricks({
    level: LEVELS[0],
    index: 0,
    chunks: CH,
    voxelSize: [1, 1, 1],
    shape0: LEVELS[0].shape,
    planes: edge.planes,
    eye: edge.eye,
  });
  const keys = new Set(vis.map((b) => b.key.join()));
  assert.ok(keys.has("0,0,0") && keys.has("7,0,0"), "the edge's bricks, near and far");
  assert.ok(
    vis.every((b) => b.key[1] <= 2 && b.key[2] <= 2),
    `bricks away from the edge kept: ${[...keys]}`,
  );
  assert.ok(vis.length < 8 * 9, `${vis.length} bricks visible`);
});

test("brick boxes follow the voxel size (anisotropy) and clip at the volume's edge", () => {
  const lv = { shape: [50, 100, 100], downsample: [2, 1, 1] };
  const { lo, hi } = brickBox([0, 1, 0], lv, [32, 64, 64], [4, 1, 0.5], [100, 100, 100]);
  assert.deepEqual(lo, [0, 64, 0]);
  assert.deepEqual(hi, [32, 100, 4 * 64]); // x: 64 voxels * 0.5; y clipped at 100; z: 32*2 voxels * 4
});

test("plan: coarsest level first, then each part at the level its distance needs, nearest first", () => {
  const { planes, eye, fov } = camera([256, 256, -100], [256, 256, 256], 40);
  const args = { levels: LEVELS, chunks: CH, voxelSize: [1, 1, 1], planes, eye, fovY: fov, heightPx: 200 };
  const plan = planBricks({ ...args, maxBricks: 4000 });
  assert.equal(plan.coarsest, 3);
  assert.equal(plan.bricks[0].level, 3, "the coarsest brick first (one covers the 64³-voxel level 3)");
  assert.equal(plan.bricks.filter((b) => b.level === 3).length, 1);
  assert.equal(plan.target, 0, "the nearest bricks need level 0");
  const leaves = plan.bricks.filter((b) => b.leaf);
  assert.equal(leaves.length, plan.leaves);
  // every leaf is at least as fine as its distance asks for (the budget is not binding here; a
  // refined brick's children all take the finer level, so a far child may be finer than it needs)
  for (const b of leaves) {
    assert.ok(b.level <= levelForDistance(LEVELS, [1, 1, 1], b.dist, fov, 200), `brick ${b.level}/${b.key}`);
  }
  assert.ok(new Set(leaves.map((b) => b.level)).size > 1, "near bricks fine, far bricks coarse");
  for (let i = 2; i < plan.bricks.length; i++) {
    const [a, b] = [plan.bricks[i - 1], plan.bricks[i]];
    assert.ok(
      a.level > b.level || (a.level === b.level && a.dist <= b.dist),
      "coarse before fine, nearest first",
    );
  }
  const fine = leaves.filter((b) => b.level === 0);
  assert.ok(fine.length && fine.length < 512, `${fine.length} level-0 bricks of 512`);
  assert.ok(
    fine.every((b) => b.key[0] < 4),
    "level-0 bricks lie in the front half, near the z = 0 face the camera looks at",
  );
  // the leaves tile the visible volume without overlap: their level-0 voxel counts add up once
  const cover = new Set();
  for (const b of leaves) {
    const d = LEVELS[b.level].downsample[0] * 64;
    for (let z = b.key[0] * d; z < (b.key[0] + 1) * d; z += 64)
      for (let y = b.key[1] * d; y < (b.key[1] + 1) * d; y += 64)
        for (let x = b.key[2] * d; x < (b.key[2] + 1) * d; x += 64) {
          const id = `${z},${y},${x}`;
          assert.ok(!cover.has(id), `leaves overlap at ${id}`);
          cover.add(id);
        }
  }
  // a small budget: coarser leaves, never more bricks than it allows
  const small = planBricks({ ...args, maxBricks: 20 });
  assert.ok(small.bricks.length <= 20, `${small.bricks.length} bricks`);
  assert.ok(small.target > 0 || small.leaves < plan.leaves);
  // far away: only the coarsest level, once
  const far = camera([256, 256, -1e5], [256, 256, 256], 40);
  const fp = planBricks({ ...args, planes: far.planes, eye: far.eye, maxBricks: 1000 });
  assert.equal(fp.target, 3);
  assert.equal(fp.bricks.length, 1);
});

test("plan: nothing visible when the camera looks away from the volume", () => {
  const { planes, eye, fov } = camera([256, 256, -100], [256, 256, -1000], 40);
  const plan = planBricks({
    levels: LEVELS,
    chunks: CH,
    voxelSize: [1, 1, 1],
    planes,
    eye,
    fovY: fov,
    heightPx: 600,
    maxBricks: 100,
  });
  assert.equal(plan.bricks.length, 0);
});
