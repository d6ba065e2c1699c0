import assert from "node:assert/strict";
import { test } from "node:test";
import { BrickClient } from "../../src/net/bricks.js";
import { validate } from "../../src/net/protocol.js";

const SHAPE = [4, 4, 4]; // brick voxels (small: the client does not care)

function setup(opts = {}) {
  const sent = [];
  let n = 0;
  let t = 0;
  const client = new BrickClient({
    send: (msg) => {
      validate(msg, 0, "browser");
      sent.push(msg);
    },
    makeId: () => `r${n++}`,
    now: () => t,
    ...opts,
  });
  return { sent, client, gets: () => sent.filter((m) => m.kind === "chunks.get"), tick: (ms) => (t += ms) };
}

/** A chunks.data reply carrying raw uint8 bricks filled with `fill` (validated as the kernel's). */
function reply(rid, layer, level, keys, { fill = 1, version = 0, done = true } = {}) {
  const n = SHAPE[0] * SHAPE[1] * SHAPE[2];
  const buf = new Uint8Array(8 * Math.ceil(n / 8) * keys.length);
  const tiles = keys.map((key, i) => {
    buf.fill(fill, i * 8 * Math.ceil(n / 8), i * 8 * Math.ceil(n / 8) + n);
    return {
      key,
      version,
      shape: SHAPE,
      dtype: "uint8",
      codec: "raw",
      buffer: 0,
      offset: i * 8 * Math.ceil(n / 8),
      nbytes: n,
    };
  });
  const msg = { kind: "chunks.data", reply_to: rid, layer, level, tiles, done };
  validate(msg, 1, "kernel");
  return [msg, [buf.buffer]];
}

const b = (level, z, y = 0, x = 0) => ({ level, key: [z, y, x] });

test("bricks are asked for as whole chunks (no axis/index), in the wanted order, both layers", () => {
  const { client, gets } = setup({ batch: 2 });
  client.want([b(2, 0), b(0, 3), b(0, 1), b(0, 2)]);
  const g = gets();
  for (const m of g) {
    assert.equal(m.axis, undefined);
    assert.equal(m.index, undefined);
  }
  const image = g.filter((m) => m.layer === "image");
  assert.deepEqual(
    image.map((m) => [m.level, m.keys.map((k) => k[0])]),
    [
      [2, [0]],
      [0, [3, 1]],
      [0, [2]],
    ],
    "coarse first, then the plan's (nearest-first) order, batched per level",
  );
  assert.equal(g.filter((m) => m.layer === "labels").length, 3);
  client.want([b(2, 0), b(0, 3), b(0, 1), b(0, 2)]);
  assert.equal(gets().length, 6, "in-flight bricks are not asked for twice");
});

test("at most maxInflight bricks per layer in flight; the rest follow as replies come", () => {
  const { client, gets } = setup({ batch: 1, maxInflight: 2 });
  client.want([b(0, 0), b(0, 1), b(0, 2), b(0, 3)]);
  const first = gets().filter((m) => m.layer === "image");
  assert.deepEqual(
    first.map((m) => m.keys[0][0]),
    [0, 1],
  );
  client.handle(...reply(first[0].id, "image", 0, [[0, 0, 0]]));
  const next = gets().filter((m) => m.layer === "image");
  assert.deepEqual(
    next.map((m) => m.keys[0][0]),
    [0, 1, 2],
    "the next brick in order, after a reply",
  );
});

test("bricks that left the view are cancelled; their late replies are ignored", () => {
  const { client, sent, gets } = setup({ batch: 1 });
  client.want([b(0, 0), b(0, 1)]);
  const old = gets().find((m) => m.layer === "image" && m.keys[0][0] === 1);
  client.want([b(0, 0), b(0, 5)]); // brick 1 left the view
  const cancel = sent.find((m) => m.kind === "chunks.cancel");
  assert.ok(cancel.ids.includes(old.id));
  assert.equal(cancel.ids.length, 2, "both layers' requests of brick 1, nothing else");
  assert.ok(
    gets().some((m) => m.keys[0][0] === 5),
    "the new brick is asked for",
  );
  assert.equal(client.handle(...reply(old.id, "image", 0, [[1, 0, 0]])), false);
  assert.equal(client.brick("image", 0, [1, 0, 0]), undefined);
});

test("arrived bricks are ready; a change notice makes only its label brick stale and refetched", () => {
  const { client, gets } = setup({ batch: 4 });
  client.want([b(0, 0), b(0, 1)]);
  for (const m of gets()) client.handle(...reply(m.id, m.layer, 0, m.keys, { fill: 3 }));
  assert.ok(client.ready(0, [0, 0, 0]) && client.ready(0, [1, 0, 0]));
  const gen = client.brick("labels", 0, [1, 0, 0]).gen;
  const imageGen = client.brick("image", 0, [1, 0, 0]).gen;
  const before = gets().length;
  client.handle({ kind: "chunks.changed", layer: "labels", level: 0, keys: [[1, 0, 0]], versions: [4] }, []);
  assert.ok(!client.ready(0, [1, 0, 0]) && client.ready(0, [0, 0, 0]));
  const again = gets().slice(before);
  assert.equal(again.length, 1);
  assert.equal(again[0].layer, "labels");
  assert.deepEqual(again[0].keys, [[1, 0, 0]]);
  assert.deepEqual(again[0].known, [0], "the version held, so the kernel can answer unchanged");
  client.handle(...reply(again[0].id, "labels", 0, [[1, 0, 0]], { fill: 9, version: 4 }));
  const t = client.brick("labels", 0, [1, 0, 0]);
  assert.ok(client.ready(0, [1, 0, 0]));
  assert.equal(t.data[0], 9);
  assert.ok(t.gen > gen, "a new generation: the renderer re-uploads this brick");
  assert.equal(client.brick("image", 0, [1, 0, 0]).gen, imageGen, "the image brick did not change");
});

test("a failed request is reported and retried after a delay", async () => {
  const { client, gets, tick } = setup({ batch: 4 });
  client.want([b(0, 0)]);
  const img = gets().find((m) => m.layer === "image");
  client.handle({ kind: "error", reply_to: img.id, error: "reading tiles failed: OSError: boom" }, []);
  assert.equal(client.failed, 1);
  assert.match(client.lastError, /boom/);
  const n = gets().length;
  client.pump();
  assert.equal(gets().length, n, "not before its retry delay");
  tick(1000);
  client.pump();
  const retry = gets().slice(n);
  assert.equal(retry.length, 1);
  assert.deepEqual(retry[0].keys, [[0, 0, 0]]);
  client.handle(...reply(retry[0].id, "image", 0, [[0, 0, 0]]));
  assert.equal(client.failed, 0, "it arrived: no longer failed");
  client.cancelAll();
});

test("a brick missing from a finished reply counts as failed", () => {
  const { client, gets } = setup({ batch: 4 });
  client.want([b(0, 0), b(0, 1)]);
  const img = gets().find((m) => m.layer === "image");
  client.handle(...reply(img.id, "image", 0, [[0, 0, 0]]));
  assert.equal(client.failed, 1);
  client.cancelAll();
});
