import assert from "node:assert/strict";
import { test } from "node:test";
import { labelRGB } from "../../src/core/colors.js";
import { labelVisibility } from "../../src/core/visibility.js";
import { byId, LabelCounts, panelRows, smallest } from "../../src/ui/panelmodel.js";
import { composeLabels } from "../../src/views/compose.js";

const rgba = (px) => [...new Uint8Array(px.buffer)];

test("label counts: full messages replace, deltas change or remove ids", () => {
  const c = new LabelCounts();
  assert.equal(c.received, false);
  c.apply({ labels: ["3", "10", "2"], counts: [5, 7, 1], full: true });
  assert.equal(c.received, true);
  assert.deepEqual(
    [...c.counts],
    [
      ["3", 5],
      ["10", 7],
      ["2", 1],
    ],
  );
  c.apply({ labels: ["10", "4"], counts: [0, 9], full: false });
  assert.deepEqual(Object.fromEntries(c.counts), { 3: 5, 2: 1, 4: 9 });
  c.apply({ labels: ["1"], counts: [1], full: true });
  assert.deepEqual([...c.counts.keys()], ["1"]);
});

test("new label: one more than the largest id in use (numerically, uint64-safe), refused at the maximum", () => {
  const c = new LabelCounts();
  assert.equal(c.nextId("uint8"), "1"); // nothing in use
  c.apply({ labels: ["9", "10", "2"], counts: [1, 1, 1], full: true });
  assert.equal(c.nextId("uint8"), "11"); // not "9" + 1 by string order
  c.apply({ labels: ["255"], counts: [1], full: false });
  assert.throws(() => c.nextId("uint8"), /255 \(the uint8 maximum\) is in use/);
  c.apply({ labels: ["9007199254740993"], counts: [1], full: false });
  assert.equal(c.nextId("uint64"), "9007199254740994");
});

test("panel rows: ascending ids with counts, names, colours, selection and visibility", () => {
  const counts = new Map([
    ["10", 4],
    ["2", 8],
    ["18446744073709551615", 1],
  ]);
  const { rows, more } = panelRows({ counts, names: { 2: "nucleus" }, selected: "2", hidden: ["10"] });
  assert.equal(more, 0);
  assert.deepEqual(
    rows.map((r) => [r.id, r.name, r.count, r.selected, r.visible]),
    [
      ["2", "nucleus", 8, true, true],
      ["10", "", 4, false, false],
      ["18446744073709551615", "", 1, false, true],
    ],
  );
  const [r, g, b] = labelRGB(2, 0);
  assert.equal(rows[0].colour, `rgb(${r}, ${g}, ${b})`);
  // the selected id shows even when not in use; "selected only" hides every other
  const only = panelRows({ counts, selected: "7", only: true });
  assert.deepEqual(
    only.rows.map((x) => [x.id, x.count, x.visible]),
    [
      ["2", 8, false],
      ["7", 0, true],
      ["10", 4, false],
      ["18446744073709551615", 1, false],
    ],
  );
  // a long list is cut, keeping the selected row
  const many = new Map(Array.from({ length: 50 }, (_, i) => [String(i + 1), 1]));
  const cut = panelRows({ counts: many, selected: "50", limit: 10 });
  assert.equal(cut.rows.length, 10);
  assert.equal(cut.more, 40);
  assert.ok(cut.rows.some((x) => x.id === "50" && x.selected));
});

test("ids sort numerically, uint64 included", () => {
  const ids = ["10", "9", "18446744073709551615", "100", "1", "9007199254740993", "9007199254740992"];
  assert.deepEqual(ids.sort(byId), [
    "1",
    "9",
    "10",
    "100",
    "9007199254740992",
    "9007199254740993",
    "18446744073709551615",
  ]);
});

test("the k smallest ids without sorting them all equal the head of a full sort", () => {
  let x = 12345;
  const ids = [];
  for (let i = 0; i < 5000; i++) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    ids.push(String(x % 100000));
  }
  const unique = [...new Set(ids)];
  const sorted = [...unique].sort(byId);
  for (const k of [0, 1, 7, 200, 10000]) assert.deepEqual(smallest(unique, k), sorted.slice(0, k), `k ${k}`);
});

test("visibility: hidden ids and 'selected only' are transparent in the composed labels", () => {
  assert.equal(labelVisibility({ hidden: [], only: false, selected: "3" }), null);
  const data = Uint32Array.of(0, 3, 5, 3);
  const out = new Uint32Array(4);
  composeLabels(data, out, labelVisibility({ hidden: ["3"], selected: "5" }));
  assert.deepEqual(rgba(out).slice(4, 8), [0, 0, 0, 0]);
  assert.deepEqual(rgba(out).slice(8, 12), [...labelRGB(5, 0), 255]);
  assert.deepEqual(rgba(out).slice(12, 16), [0, 0, 0, 0]);
  composeLabels(data, out, labelVisibility({ only: true, selected: "3" }));
  assert.deepEqual(rgba(out).slice(4, 8), [...labelRGB(3, 0), 255]);
  assert.deepEqual(rgba(out).slice(8, 12), [0, 0, 0, 0]);
  // uint64 ids: the halves make the id
  const big = BigUint64Array.of(2n ** 32n + 3n, 3n);
  const o2 = new Uint32Array(2);
  composeLabels(big, o2, labelVisibility({ hidden: [String(2n ** 32n + 3n)] }));
  assert.deepEqual(rgba(o2).slice(0, 4), [0, 0, 0, 0]);
  assert.deepEqual(rgba(o2).slice(4, 8), [...labelRGB(3, 0), 255]);
  // the key changes with the set, so mosaics compose again
  const a = labelVisibility({ hidden: ["1", "2"] }).key;
  assert.equal(a, labelVisibility({ hidden: ["2", "1"] }).key);
  assert.notEqual(a, labelVisibility({ hidden: ["1"] }).key);
  assert.notEqual(
    labelVisibility({ only: true, selected: "1" }).key,
    labelVisibility({ only: true, selected: "2" }).key,
  );
});
