import assert from "node:assert/strict";
import { test } from "node:test";
import { strokeVoxels } from "../../src/core/brush.js";
import { BrickEdits } from "../../src/net/brickedits.js";
import { BrickClient } from "../../src/net/bricks.js";
import { ChunkClient } from "../../src/net/client.js";
import { ClientGroup } from "../../src/net/clientgroup.js";
import { EditQueue } from "../../src/net/editqueue.js";
import { validate } from "../../src/net/protocol.js";

const shape = [16, 16, 16];
const chunks = [8, 8, 8];
const B = chunks[0] * chunks[1] * chunks[2];

/** A chunks.data reply with raw uint32 label bricks filled with `fill` (validated as the kernel's). */
function bricks(rid, layer, level, keys, { fill = 0, version = 0 } = {}) {
  const dtype = layer === "labels" ? "uint32" : "uint8";
  const T = layer === "labels" ? Uint32Array : Uint8Array;
  const bytes = B * T.BYTES_PER_ELEMENT;
  const buf = new Uint8Array(bytes * keys.length);
  const tiles = keys.map((key, i) => {
    new T(buf.buffer, i * bytes, B).fill(fill);
    return { key, version, shape: chunks, dtype, codec: "raw", buffer: 0, offset: i * bytes, nbytes: bytes };
  });
  const msg = { kind: "chunks.data", reply_to: rid, layer, level, tiles, done: true };
  validate(msg, 1, "kernel");
  return [msg, [buf.buffer]];
}

/** The edit queue painting through a group of a slice client and the 3D view's bricks. */
function setup() {
  const sent = [];
  let n = 0;
  const makeId = () => `m${n++}`;
  const send = (msg, buffers = []) => {
    validate(msg, buffers.length, "browser");
    sent.push(msg);
  };
  const slice = new ChunkClient({ send, makeId });
  let updates = 0;
  const client = new BrickClient({ send, makeId, batch: 8, onUpdate: () => updates++ });
  const group = new ClientGroup([slice]);
  const queue = new EditQueue({
    send,
    client: group,
    dtype: "uint32",
    chunks,
    makeId,
    setTimer: () => 0,
    clearTimer: () => {},
  });
  group.add(new BrickEdits(client));
  const serve = (opts = {}) => {
    for (const m of sent.splice(0)) {
      if (m.kind === "chunks.get" && m.axis === undefined) {
        client.handle(...bricks(m.id, m.layer, m.level, m.keys, opts));
      }
    }
  };
  return { sent, client, queue, serve, updates: () => updates };
}

const KEY = [0, 1, 0]; // the brick painted below: voxels z = 4, y = 9…11, x = 2…4
const at = (z, y, x) => ((z % 8) * 8 + (y % 8)) * 8 + (x % 8);
const paintStroke = (queue, value) => {
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 4, from: null, to: [3, 10], radius: 1 }), value);
  queue.endStroke();
};

test("a stroke shows in the 3D view's cached bricks at once; the ack moves them to the new version", () => {
  const { sent, client, queue, serve } = setup();
  client.want([
    { level: 0, key: KEY },
    { level: 1, key: [0, 0, 0] },
  ]);
  serve({ version: 3 });
  const t = client.brick("labels", 0, KEY);
  const coarse = client.brick("labels", 1, [0, 0, 0]);
  assert.equal(t.data[at(4, 10, 3)], 0);
  assert.equal(queue.client.chunkVersion("labels", "0,1,0"), 3, "the bricks' version is the batch's base");
  paintStroke(queue, 7);
  assert.equal(t.data[at(4, 10, 3)], 7, "painted into the level-0 brick before any ack");
  assert.equal(t.data[at(4, 9, 3)], 7);
  assert.equal(t.data[at(5, 10, 3)], 0, "only the painted plane");
  assert.ok(t.rev > 0, "its rev changed: the 3D view uploads it again");
  assert.equal(coarse.rev, 0, "coarser bricks wait for the kernel");
  const batch = sent.find((m) => m.kind === "edits.apply");
  assert.equal(batch.edits[0].base, 3);
  sent.length = 0;
  queue.handle({ kind: "edits.ack", reply_to: batch.id, keys: [KEY], versions: [4], duplicate: false });
  assert.equal(t.version, 4, "it holds the change: the new version, nothing to refetch");
  assert.ok(!t.stale);
  assert.equal(t.data[at(4, 10, 3)], 7);
  client.pump();
  assert.equal(sent.filter((m) => m.kind === "chunks.get").length, 0);
});

test("a brick arriving while its chunk's batch is pending gets the stroke re-applied", () => {
  const { sent, client, queue, serve } = setup();
  paintStroke(queue, 9); // nothing cached yet: only the batch
  assert.equal(queue.pendingCount, 1);
  sent.length = 0;
  client.want([{ level: 0, key: KEY }]);
  serve({ version: 3, fill: 2 }); // a reply from before the batch was applied
  const t = client.brick("labels", 0, KEY);
  assert.equal(t.data[at(4, 10, 3)], 9, "the pending stroke over the arrived brick");
  assert.equal(t.data[at(0, 8, 0)], 2);
  assert.ok(t.rev > 0);
});

test("a rejected stroke leaves the 3D view: its bricks are fetched again whole", () => {
  const { sent, client, queue, serve, updates } = setup();
  client.want([{ level: 0, key: KEY }]);
  serve({ version: 3 });
  paintStroke(queue, 7);
  const t = client.brick("labels", 0, KEY);
  assert.equal(t.data[at(4, 10, 3)], 7);
  const batch = sent.find((m) => m.kind === "edits.apply");
  sent.length = 0;
  const before = updates();
  queue.handle({ kind: "edits.reject", reply_to: batch.id, error: "label 7 is not allowed" });
  assert.ok(t.stale && t.dirty);
  assert.ok(updates() > before, "the view is told to redraw");
  const get = sent.find((m) => m.kind === "chunks.get" && m.layer === "labels");
  assert.ok(get, "the brick is asked for again");
  assert.deepEqual(get.keys, [KEY]);
  assert.deepEqual(get.known, [-1], "whole: its data is not the kernel's version 3");
  // an "unchanged" answer to a request sent before the reject does not make it fresh
  client.handle(
    {
      kind: "chunks.data",
      reply_to: get.id,
      layer: "labels",
      level: 0,
      tiles: [
        {
          key: KEY,
          version: 3,
          shape: chunks,
          dtype: "uint32",
          codec: "unchanged",
          buffer: -1,
          offset: 0,
          nbytes: 0,
        },
      ],
      done: true,
    },
    [],
  );
  assert.ok(client.brick("labels", 0, KEY).stale, "still to be fetched whole");
  assert.equal(client.brick("labels", 0, KEY).data[at(4, 10, 3)], 7);
  assert.deepEqual(sent.at(-1).known, [-1], "asked for again, whole");
  serve({ version: 3 });
  const fresh = client.brick("labels", 0, KEY);
  assert.notEqual(fresh, t);
  assert.equal(fresh.data[at(4, 10, 3)], 0, "the kernel's data: the stroke is gone");
  assert.ok(!fresh.stale && !fresh.dirty);
  assert.ok(fresh.gen > t.gen, "a new generation: uploaded again");
});
