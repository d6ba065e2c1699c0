import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkClient } from "../../src/net/client.js";
import { EditQueue } from "../../src/net/editqueue.js";
import { validate } from "../../src/net/protocol.js";
import { LabelCounts } from "../../src/ui/panelmodel.js";
import { View2D } from "../../src/views/view2d.js";
import { Commands } from "../../src/widget/commands.js";
import { ToolController } from "../../src/widget/tools.js";

/** A model holding traits as anywidget's does (get/set/on), enough for the controller. */
function model(traits) {
  const m = new Map(Object.entries(traits));
  return { get: (k) => m.get(k), set: (k, v) => m.set(k, v), on() {}, off() {} };
}

/** One view's tools over a real View2D, Commands and EditQueue; what it sends and says is kept. */
function setup(traits = {}) {
  const sent = [];
  const notes = [];
  const errors = [];
  const m = model({ tool: "fill", label: "4", label_dtype: "uint16", brush_dims: 2, ...traits });
  const canvas = { getContext: () => ({}), style: {}, width: 0, height: 0 };
  const view = new View2D({ canvas, client: null });
  view.raf = () => 1; // no drawing in node
  view.resize(300, 300);
  view.set({ shape: [30, 100, 100], chunks: [16, 16, 16], axis: 1, index: 7 }); // u = x, v = z
  const send = (msg) => sent.push(validate(msg, 0, "browser"));
  const client = new ChunkClient({ send: () => {} });
  const queue = new EditQueue({ send: () => {}, client, dtype: "uint16", chunks: [16, 16, 16] });
  const status = {
    error: null,
    flash: (t) => notes.push(t),
    showError: (t) => errors.push(t),
    update() {},
  };
  const commands = new Commands({ send, conn: { online: true }, queue, status });
  const counts = new LabelCounts();
  let helpShown = false;
  const help = { toggle: (s = !helpShown) => (helpShown = s), shown: () => helpShown };
  const tools = new ToolController({
    model: m,
    view,
    commands,
    counts,
    status,
    setTrait: (k, v) => m.set(k, v),
    help,
  });
  const at = (p) => {
    const s = view.planeToScreen(p[2] + 0.5, p[0] + 0.5); // axis y: u = x, v = z
    return [s.x, s.y];
  };
  const answer = (ok, changed, error) => {
    const last = sent[sent.length - 1];
    commands.result({ kind: "command.result", reply_to: last.id, ok, changed, error });
  };
  return { m, view, tools, sent, notes, errors, counts, at, answer, help };
}

test("fill: a click sends `fill` at the voxel with label, dims, axis, preserve and the limit", () => {
  const s = setup({ brush_dims: 3, preserve_labels: true, fill_max_voxels: 1234 });
  s.tools.click(...s.at([5, 7, 60]));
  assert.equal(s.sent.length, 1);
  const { kind, name, seed, label, dims, axis, preserve_labels, max_voxels } = s.sent[0];
  assert.deepEqual(
    { kind, name, seed, label, dims, axis, preserve_labels, max_voxels },
    {
      kind: "command",
      name: "fill",
      seed: [5, 7, 60],
      label: "4",
      dims: 3,
      axis: 1,
      preserve_labels: true,
      max_voxels: 1234,
    },
  );
  s.answer(true, 321);
  assert.deepEqual(s.notes, ["filled 321 voxels"]);
  s.tools.click(...s.at([5, 7, 60]));
  s.answer(false, undefined, "the region has more than 1234 voxels");
  assert.deepEqual(s.errors, ["the region has more than 1234 voxels"]);
  s.tools.click(...s.at([5, 7, 500])); // outside the volume: nothing sent
  assert.equal(s.sent.length, 2);
  assert.equal(s.notes.at(-1), "outside the volume");
});

test("polygon: clicks add vertices (a double-click's repeat once), Enter sends (row, column) on the slice", () => {
  const s = setup({ tool: "polygon" });
  for (const p of [
    [2, 7, 10],
    [2, 7, 40],
    [2, 7, 40], // the second click of a double-click
    [20, 7, 25],
  ])
    s.tools.click(...s.at(p));
  assert.deepEqual(s.view.state.polygon, [
    [10, 2],
    [40, 2],
    [25, 20],
  ]);
  assert.equal(s.tools.act("backspace"), true);
  assert.equal(s.view.state.polygon.length, 2);
  assert.equal(s.tools.act("enter"), true);
  assert.equal(s.sent.length, 0);
  assert.equal(s.notes.at(-1), "a polygon needs 3 vertices");
  s.tools.click(...s.at([20, 7, 25]));
  s.tools.act("dblclick");
  assert.equal(s.sent.length, 1);
  const { name, points, label, axis, index } = s.sent[0];
  assert.deepEqual(
    { name, points, label, axis, index },
    {
      name: "fill_polygon",
      points: [
        [2, 10],
        [2, 40],
        [20, 25],
      ],
      label: "4",
      axis: 1,
      index: 7,
    },
  );
  assert.equal(s.view.state.polygon, null);
  assert.equal(s.tools.act("enter"), false); // nothing to close: Enter goes on
});

test("polygon: another slice drops it; Escape drops it, or closes the help first", () => {
  const s = setup({ tool: "polygon" });
  s.tools.click(...s.at([2, 7, 10]));
  s.view.set({ index: 8 });
  s.tools.syncPlane();
  assert.equal(s.view.state.polygon, null);
  s.tools.click(...s.at([2, 8, 10]));
  s.tools.act("help");
  assert.equal(s.help.shown(), true);
  assert.equal(s.tools.act("escape"), true);
  assert.equal(s.help.shown(), false);
  assert.equal(s.view.state.polygon.length, 1);
  assert.equal(s.tools.act("escape"), true);
  assert.equal(s.view.state.polygon, null);
  assert.equal(s.tools.act("escape"), false);
});

test("new label, interpolate, delete, tool keys and the 2D/3D toggle", () => {
  const s = setup();
  s.tools.act("newLabel"); // before the kernel sent the counts: it cannot know the largest id
  assert.equal(s.m.get("label"), "4");
  assert.match(s.notes.at(-1), /label counts not received yet/);
  s.counts.apply({ labels: [], counts: [], full: true });
  s.tools.act("newLabel");
  assert.equal(s.m.get("label"), "1");
  s.counts.apply({ labels: ["3", "12"], counts: [1, 2], full: true });
  s.tools.act("newLabel");
  assert.equal(s.m.get("label"), "13");
  s.counts.apply({ labels: ["65535"], counts: [1], full: false });
  s.tools.act("newLabel");
  assert.match(s.errors.at(-1), /65535 \(the uint16 maximum\) is in use/);
  s.tools.act("interpolate");
  assert.deepEqual([s.sent[0].name, s.sent[0].label, s.sent[0].axis], ["interpolate", "13", 1]);
  s.answer(true, 99);
  assert.equal(s.notes.at(-1), "interpolated 99 voxels along y");
  s.tools.deleteLabel("12");
  assert.deepEqual([s.sent[1].name, s.sent[1].old, s.sent[1].new], ["replace", "12", "0"]);
  s.tools.act("pick"); // no pointer over the view
  assert.equal(s.notes.at(-1), "point at a voxel to pick its label");
  s.tools.act("tool:polygon");
  assert.equal(s.m.get("tool"), "polygon");
  s.tools.act("dims");
  assert.equal(s.m.get("brush_dims"), 3);
  s.tools.act("dims");
  assert.equal(s.m.get("brush_dims"), 2);
});
