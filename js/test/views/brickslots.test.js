import assert from "node:assert/strict";
import { test } from "node:test";
import { atlasLayout, BrickSlots, growSlots, slotCount } from "../../src/views/brickslots.js";

test("slot count: as many bricks as the budget holds, never more than the volume has", () => {
  const slot = 64 ** 3 * (2 + 4); // R32F image is 4 B, uint16 labels 2 B
  assert.equal(slotCount(256 * 2 ** 20, slot, 1e9), Math.floor((256 * 2 ** 20) / slot));
  assert.equal(slotCount(256 * 2 ** 20, slot, 9), 9);
  assert.equal(slotCount(1, slot, 9), 1, "at least one slot");
});

test("atlas layout: holds the slots within the maximum texture size", () => {
  const l = atlasLayout(170, [64, 64, 64], 1024);
  assert.equal(l.count, l.slots[0] * l.slots[1] * l.slots[2], "every slot of the atlas is used");
  assert.ok(l.count <= 170 && l.count >= 140, `${l.count} slots for 170`);
  for (const s of l.size) assert.ok(s <= 1024);
  // the atlas's memory stays within what the budget paid for
  for (const n of [1, 2, 7, 63, 64, 65, 100, 257, 1000]) {
    const a = atlasLayout(n, [64, 32, 16], 2048);
    assert.ok(a.size[0] * a.size[1] * a.size[2] <= n * 64 * 32 * 16, `n = ${n}`);
  }
  const capped = atlasLayout(10000, [64, 64, 64], 256);
  assert.equal(capped.count, 64, "4 x 4 x 4 slots of 64³ fit a 256³ texture");
  assert.deepEqual(capped.size, [256, 256, 256]);
});

test("LRU: a full atlas evicts the least recently used brick not drawn this frame", () => {
  const s = new BrickSlots(3);
  assert.equal(s.acquire("a", 1).slot, 0);
  assert.equal(s.acquire("b", 1).slot, 1);
  assert.equal(s.acquire("c", 1).slot, 2);
  assert.equal(s.acquire("d", 1), null, "every slot is drawn this frame: the brick waits");
  s.touch("a", 2); // a is used again in frame 2
  const got = s.acquire("d", 2);
  assert.equal(got.evicted, "b", "b is the least recently used");
  assert.equal(got.slot, 1);
  assert.equal(s.slotOf("b"), undefined);
  assert.equal(s.size, 3, "never more resident bricks than slots");
  assert.deepEqual(s.acquire("a", 3), { slot: 0, evicted: null }, "a resident brick keeps its slot");
  s.release("c");
  assert.equal(s.acquire("e", 3).slot, 2, "a released slot is reused");
});

test("LRU stays within its slots through a long camera path", () => {
  const s = new BrickSlots(20);
  let frame = 0;
  for (let step = 0; step < 200; step++) {
    frame++;
    const want = [];
    for (let i = 0; i < 12; i++) want.push(`b${step + i}`); // a moving window of 12 bricks
    for (const id of want) assert.ok(s.acquire(id, frame), `${id} got a slot`);
    assert.ok(s.size <= 20);
    for (const id of want) assert.notEqual(s.slotOf(id), undefined, "the frame's bricks are all resident");
  }
  const slots = new Set([...s.used.values()].map((e) => e.slot));
  assert.equal(slots.size, s.size, "no slot shared by two bricks");
});

test("atlas growth: to what the view needs, at least 1.5 x, never past the budget's capacity", () => {
  assert.equal(growSlots(0, 65, 180), 65, "first allocation: what the plan needs, not the budget");
  assert.equal(growSlots(65, 60, 180), 65, "holds what is needed: no growth");
  assert.equal(growSlots(65, 70, 180), 98, "grows by at least half");
  assert.equal(growSlots(65, 150, 180), 150);
  assert.equal(growSlots(150, 400, 180), 180, "capped at the capacity");
  assert.equal(growSlots(180, 400, 180), 180, "full: stays");
  assert.equal(growSlots(0, 0, 180), 1, "at least one slot");
  // the bytes of every layout it leads to stay within gpu_budget_mb
  const budget = 256 * 2 ** 20;
  const slotBytes = 64 ** 3 * (4 + 4);
  const capacity = slotCount(budget, slotBytes, 1e9);
  let have = 0;
  for (const need of [1, 9, 65, 66, 100, 128, 129, 300, 1000]) {
    have = Math.max(have, atlasLayout(growSlots(have, need, capacity), [64, 64, 64], 2048).count);
    assert.ok(have <= capacity, `${have} slots for need ${need}`);
    assert.ok(have * slotBytes <= budget, `need ${need}: ${have * slotBytes} bytes`);
  }
  assert.ok(
    have >= 0.9 * capacity,
    `a large need takes (nearly: the layout's shape) the whole budget: ${have}`,
  );
});

test("a layout's slot count is a layout: the atlas can always grow to its capacity", () => {
  // the 3D view plans at most `capacity` bricks; capacity = atlasLayout(budget slots).count, so the
  // atlas grown to capacity holds every planned brick (35 slots would be laid out as 27)
  for (const brick of [
    [32, 32, 32],
    [64, 32, 16],
  ]) {
    for (const n of [5, 27, 35, 100, 181, 1000]) {
      const c = atlasLayout(n, brick, 2048).count;
      assert.equal(atlasLayout(c, brick, 2048).count, c, `n = ${n}, brick ${brick}`);
    }
  }
});
