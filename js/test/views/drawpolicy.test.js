import assert from "node:assert/strict";
import { test } from "node:test";
import {
  decideDraw,
  FIRST_MAX_WAIT_MS,
  FIRST_WAIT_MS,
  GPU_POLL_MS,
  LOAD_COST_FACTOR,
  LOAD_GAP_MS,
  SLOW_FRAME_MS,
} from "../../src/views/drawpolicy.js";

const base = {
  now: 10000,
  viewDirty: false,
  newData: false,
  complete: false,
  anyData: true,
  interacting: false,
  last: { at: 9000, cost: 100, fast: true, data: true },
  drewData: true,
  ready: true,
  gpuBusy: false,
};
const at = (over) => decideDraw({ ...base, ...over });

test("no ray march before a brick with data is resident, nor before the program compiled", () => {
  const none = at({ anyData: false, newData: true, last: null, drewData: false });
  assert.equal(none.draw, false, "bricks arriving without data: nothing to draw");
  assert.equal(at({ anyData: false, viewDirty: true, last: null }).draw, true, "an outline frame");
  const compiling = at({ ready: false, newData: true, drewData: false });
  assert.equal(compiling.draw, false, "the program is still compiling");
  assert.equal(compiling.waitMs, 0, "its end asks again");
});

test("the first frame with data waits FIRST_WAIT_MS for the plan; the complete frame is drawn at once", () => {
  const just = { at: 9990, cost: 2000, fast: true, data: true };
  const first = { newData: true, drewData: false, last: just };
  const early = at({ ...first, firstDataAt: 10000 - FIRST_WAIT_MS + 30 });
  assert.deepEqual(early, { draw: false, fast: true, waitMs: 30 }, "the rest of the plan may come in time");
  const due = at({ ...first, firstDataAt: 10000 - FIRST_WAIT_MS });
  assert.deepEqual(
    due,
    { draw: true, fast: true, waitMs: 0 },
    "then the placeholder, even just after a frame",
  );
  // past FIRST_WAIT_MS: the placeholder unless the rest of the plan is due soon at the rate so far
  const slow = { loaded: 10, needed: 64 }; // 54 more at 10 per FIRST_WAIT_MS
  assert.equal(at({ ...first, firstDataAt: 10000 - FIRST_WAIT_MS, progress: slow }).draw, true);
  const fast = { loaded: 56, needed: 64 }; // 8 more at 56 per 500 ms: due in ~71 ms
  const soon = at({ ...first, firstDataAt: 10000 - 500, progress: fast });
  assert.deepEqual(soon, { draw: false, fast: true, waitMs: 72 }, "one frame, not two");
  const late = at({ ...first, firstDataAt: 10000 - FIRST_MAX_WAIT_MS, progress: { loaded: 63, needed: 64 } });
  assert.equal(late.draw, true, "but not longer than FIRST_MAX_WAIT_MS");
  const whole = at({ ...first, complete: true, firstDataAt: 9999 });
  assert.deepEqual(whole, { draw: true, fast: false, waitMs: 0 }, "complete in time: one full-quality frame");
  const done = at({ newData: true, complete: true, last: { ...just, cost: 20 }, gpuBusy: true });
  assert.deepEqual(done, { draw: true, fast: false, waitMs: 0 }, "complete: a full-quality frame");
});

test("after a slow frame (software WebGL) nothing is drawn until the GPU is done with it", () => {
  const slow = { at: 9990, cost: SLOW_FRAME_MS + 1, fast: true, data: true };
  const wait = { draw: false, fast: true, waitMs: GPU_POLL_MS };
  assert.deepEqual(at({ viewDirty: true, last: slow, gpuBusy: true }), wait, "a camera move waits");
  const whole = at({ newData: true, complete: true, last: slow, gpuBusy: true });
  assert.deepEqual(whole, { ...wait, fast: false }, "so does the complete frame");
  assert.equal(at({ viewDirty: true, last: slow }).draw, true, "then it is drawn");
  const quick = { ...slow, cost: SLOW_FRAME_MS };
  assert.equal(at({ viewDirty: true, last: quick, gpuBusy: true }).draw, true, "a quick GPU: at once");
});

test("while loading, arrived bricks redraw at most every max(gap, factor x cost)", () => {
  // a cheap frame: the gap is LOAD_GAP_MS
  const cheap = { at: 10000 - LOAD_GAP_MS + 50, cost: 10, fast: true, data: true };
  const wait = at({ newData: true, last: cheap });
  assert.equal(wait.draw, false);
  assert.equal(wait.waitMs, 50);
  assert.equal(at({ newData: true, last: { ...cheap, at: 10000 - LOAD_GAP_MS } }).draw, true);
  // a costly frame (software WebGL): the gap grows with its cost
  const costly = { at: 10000 - 2 * LOAD_GAP_MS, cost: 1000, fast: true, data: true };
  const w2 = at({ newData: true, last: costly });
  assert.equal(w2.draw, false, "2 x LOAD_GAP_MS after a 1 s frame is too soon");
  assert.equal(w2.waitMs, LOAD_COST_FACTOR * 1000 - 2 * LOAD_GAP_MS);
  const later = at({ newData: true, last: { ...costly, at: 10000 - LOAD_COST_FACTOR * 1000 } });
  assert.deepEqual(later, { draw: true, fast: true, waitMs: 0 }, "a loading frame is fast");
  // the GPU still draws the last frame: no loading frame, ask again soon
  const busy = at({ newData: true, last: { ...cheap, at: 0 }, gpuBusy: true });
  assert.deepEqual(busy, { draw: false, fast: true, waitMs: GPU_POLL_MS });
});

test("a changed view draws at once; fast while dragging; a full frame once complete and still", () => {
  assert.deepEqual(at({ viewDirty: true, complete: true, interacting: true }), {
    draw: true,
    fast: true,
    waitMs: 0,
  });
  assert.deepEqual(at({ viewDirty: true, complete: true }), { draw: true, fast: false, waitMs: 0 });
  const upgrade = at({ complete: true, last: { at: 9999, cost: 1, fast: true, data: true } });
  assert.deepEqual(upgrade, { draw: true, fast: false, waitMs: 0 }, "the last frame was fast");
  const still = at({ complete: true, last: { at: 0, cost: 1, fast: false, data: true } });
  assert.deepEqual(still, { draw: false, fast: false, waitMs: 0 }, "nothing new: no frame");
  assert.equal(at({}).draw, false, "loading, nothing new: no frame");
});

test("a loading view draws few frames: a simulated 10 s load with a frame costing 1 s", () => {
  // bricks arrive every 50 ms for 10 s; each frame costs 1 s of GPU (busy meanwhile)
  let last = null;
  let drewData = false;
  let frames = 0;
  let busyUntil = 0;
  let waitUntil = 0;
  for (let now = 0; now <= 10000; now += 10) {
    const newData = now % 50 === 0 || now >= waitUntil;
    const complete = now === 10000;
    const d = decideDraw({
      ...base,
      now,
      newData,
      complete,
      last,
      drewData,
      gpuBusy: now < busyUntil,
    });
    if (d.draw) {
      frames++;
      drewData = true;
      last = { at: now, cost: 1000, fast: d.fast, data: true };
      busyUntil = now + 1000;
    } else if (d.waitMs) waitUntil = now + d.waitMs;
  }
  // the first frame, one every 3 s (factor x cost), and the complete one
  assert.ok(frames >= 3 && frames <= 6, `${frames} frames`);
});

test("bricks waiting for upload go into the first frame, for up to LOAD_GAP_MS", () => {
  const first = { newData: true, drewData: false, last: null };
  assert.deepEqual(at({ ...first, backlogMs: 20 }), { draw: false, fast: true, waitMs: 0 });
  assert.equal(at({ ...first, backlogMs: LOAD_GAP_MS }).draw, true, "not longer");
  assert.equal(at({ ...first, backlogMs: 0 }).draw, true, "all uploaded: draw");
  assert.equal(at({ ...first, backlogMs: 20, complete: true }).draw, true, "complete: draw");
});
