import assert from "node:assert/strict";
import { test } from "node:test";
import { HiddenLabels, packedHas, packHidden } from "../../src/views/hiddenlabels.js";

const halves = (v) => [Number(BigInt(v) & 0xffffffffn), Number(BigInt(v) >> 32n)];

test("packHidden: ids sorted as uint64, deduplicated, as (low, high) pairs; 0 and junk left out", () => {
  const big = 2n ** 40n + 5n;
  const p = packHidden([7n, "3", big, 3, 0, "x", 2n ** 32n - 1n, -1n, 2n ** 64n, 2n ** 64n - 1n]);
  assert.equal(p.count, 5);
  assert.equal(p.width, 5);
  assert.equal(p.height, 1);
  const ids = [];
  for (let i = 0; i < p.count; i++) ids.push((BigInt(p.data[2 * i + 1]) << 32n) | BigInt(p.data[2 * i]));
  assert.deepEqual(ids, [3n, 7n, 2n ** 32n - 1n, big, 2n ** 64n - 1n]);
  // a high half orders before a larger low half (not a sort of the low halves)
  assert.deepEqual([...p.data.slice(6, 8)], halves(big));
  assert.equal(packHidden([9n, 3n]).key, packHidden([3n, 9n, 9n]).key, "the same set, the same key");
  assert.notEqual(packHidden([3n]).key, packHidden([3n, 9n]).key);
  const empty = packHidden([]);
  assert.equal(empty.count, 0);
  assert.deepEqual([empty.width, empty.height, empty.data.length], [1, 1, 2], "a 1×1 texture when none");
});

test("packHidden: more ids than a row wraps into rows; binary search finds each id and no other", () => {
  const ids = [];
  for (let i = 0; i < 500; i++) ids.push(BigInt(i * 7 + 1) + (i % 3 === 0 ? 2n ** 33n : 0n));
  const p = packHidden(ids, 64);
  assert.equal(p.count, 500);
  assert.deepEqual([p.width, p.height], [64, 8]);
  assert.equal(p.data.length, 2 * 64 * 8);
  const hidden = new Set(ids);
  for (const v of ids) assert.ok(packedHas(p, ...halves(v)), `${v} is hidden`);
  for (let v = 0n; v < 3600n; v++) {
    for (const w of [v, v + 2n ** 33n, v + 2n ** 32n]) {
      assert.equal(packedHas(p, ...halves(w)), hidden.has(w), `${w}`);
    }
  }
});

test("HiddenLabels: a new RG32UI texture only when the set changes", () => {
  const h = new HiddenLabels();
  assert.equal(h.count, 0);
  const ids = [5n, 2n ** 40n];
  assert.equal(h.update(ids), true);
  const t = h.texture;
  assert.equal(t.internalFormat, "RG32UI");
  assert.deepEqual([t.image.width, t.image.height], [2, 1]);
  assert.deepEqual([...t.image.data], [5, 0, 0, 256]);
  assert.equal(h.update(ids), false, "the same array");
  assert.equal(h.update([2n ** 40n, 5n]), false, "the same set");
  assert.equal(h.texture, t);
  const many = Array.from({ length: 40 }, (_, i) => BigInt(100 + i));
  assert.equal(h.update(many), true);
  assert.equal(h.count, 40);
  assert.notEqual(h.texture, t);
});
