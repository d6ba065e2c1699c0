import assert from "node:assert/strict";
import { test } from "node:test";
import { strokeVoxels } from "../../src/core/brush.js";
import { localOffset } from "../../src/core/grid.js";
import { ChunkClient } from "../../src/net/client.js";
import { EditQueue } from "../../src/net/editqueue.js";
import { encodeBatches, parseLabel } from "../../src/net/edits.js";
import { validate } from "../../src/net/protocol.js";
import { MemoryPendingStore } from "../../src/store/pendingstore.js";

const shape = [64, 64, 64];
const chunks = [32, 32, 32];

/** A client + queue wired to a recording fake `send` and a manual timer. */
function setup(dtype = "uint32", opts = {}) {
  const sent = [];
  const send = (msg, buffers = []) => {
    validate(msg, buffers.length, "browser");
    sent.push({ msg, buffers });
  };
  let n = 0;
  const makeId = () => `id${n++}`;
  const timers = [];
  const client = new ChunkClient({ send, makeId });
  const events = [];
  const queue = new EditQueue({
    send,
    client,
    dtype,
    chunks,
    makeId,
    setTimer: (fn, ms) => {
      const t = { fn, ms };
      timers.push(t);
      return t;
    },
    clearTimer: (t) => {
      const i = timers.indexOf(t);
      if (i >= 0) timers.splice(i, 1);
    },
    onEvent: (e) => events.push(e),
    ...opts,
  });
  const fire = () => {
    for (const t of timers.splice(0)) t.fn();
  };
  return { sent, client, queue, timers, fire, events };
}

/** Serve a chunks.get for the labels layer with zero tiles at version `version`. */
function reply(client, req, version, fill = 0) {
  const m = req.msg;
  const tiles = [];
  const buffers = [];
  for (const key of m.keys) {
    const data = new Uint32Array(32 * 32).fill(fill);
    tiles.push({
      key,
      version,
      shape: [32, 32],
      dtype: "uint32",
      codec: fill ? "raw" : "zero",
      buffer: fill ? buffers.length : -1,
      offset: 0,
      nbytes: fill ? data.byteLength : 0,
    });
    if (fill) buffers.push(new DataView(data.buffer));
  }
  const msg = {
    kind: "chunks.data",
    reply_to: m.id,
    layer: m.layer,
    level: 0,
    tiles,
    done: true,
    axis: m.axis,
    index: m.index,
  };
  validate(msg, buffers.length, "kernel");
  assert.equal(client.handle(msg, buffers), true);
}

const labelGets = (sent) => sent.filter((s) => s.msg.kind === "chunks.get" && s.msg.layer === "labels");
const applies = (sent) => sent.filter((s) => s.msg.kind === "edits.apply");

function decode(s) {
  const out = [];
  for (const e of s.msg.edits) {
    const off = new Uint32Array(s.buffers[e.offsets]);
    const T = s.msg.dtype === "uint64" ? BigUint64Array : s.msg.dtype === "uint8" ? Uint8Array : Uint32Array;
    const val = new T(s.buffers[e.values]);
    assert.equal(off.length, e.count);
    assert.equal(val.length, e.count);
    out.push({ key: e.key, base: e.base, off, val });
  }
  return out;
}

test("labels parse uint64-safely and range-checked", () => {
  assert.equal(parseLabel("255", "uint8"), 255);
  assert.throws(() => parseLabel("256", "uint8"), /256 is outside the uint8 range 0 … 255/);
  assert.equal(parseLabel("18446744073709551615", "uint64"), 2n ** 64n - 1n);
  assert.throws(() => parseLabel("18446744073709551616", "uint64"), /outside/);
  assert.throws(() => parseLabel("-1", "uint32"), /not a non-negative integer/);
  assert.throws(() => parseLabel("1.5", "uint32"), /not a non-negative integer/);
});

test("a stroke paints the cached tile at once, batches per chunk, flushes on the timer and at the end", () => {
  const { sent, client, queue, timers, fire } = setup();
  client.view(0, 10, [
    [0, 0, 0],
    [0, 0, 1],
  ]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  const tile = client.tile("labels", 0, 10, [0, 0, 0]);
  assert.equal(tile.version, 3);

  queue.beginStroke();
  // a disk across the x chunk border at y=5, x=31 (chunks (0,0,0) and (0,0,1))
  const g = strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [31, 5], radius: 2 });
  queue.paint(g, 7);
  assert.equal(tile.data[5 * 32 + 31], 7, "the tile shows the paint before any ack");
  assert.equal(tile.data[5 * 32 + 29], 7);
  assert.equal(applies(sent).length, 0, "nothing sent before the flush period");
  assert.equal(timers.length, 1);
  assert.equal(timers[0].ms, 40);
  fire();
  const first = applies(sent);
  assert.equal(first.length, 1);
  const edits = decode(first[0]);
  assert.deepEqual(edits.map((e) => e.key).sort(), [
    [0, 0, 0],
    [0, 0, 1],
  ]);
  const e0 = edits.find((e) => e.key[2] === 0);
  assert.equal(e0.base, 3);
  assert.ok(e0.off.includes(localOffset([10, 5, 31], chunks)));
  assert.ok([...e0.val].every((v) => v === 7));
  const total = edits.reduce((n, e) => n + e.off.length, 0);
  assert.equal(total, 13);
  // pipelined: more paint goes out without waiting for the ack
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: [31, 5], to: [33, 5], radius: 0 }), 7);
  queue.endStroke();
  assert.equal(applies(sent).length, 2);
  assert.equal(timers.length, 0, "the end flush clears the timer");
  assert.equal(first[0].msg.stroke, applies(sent)[1].msg.stroke, "one stroke id for the stroke");
  assert.equal(queue.pendingCount, 2);
  assert.equal(queue.idle, false);
});

test("acks drop pending batches and move the painted tiles to the new versions", () => {
  const { sent, client, queue } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  const tile = client.tile("labels", 0, 10, [0, 0, 0]);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 1 }), 5);
  queue.flush();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [9, 9], radius: 1 }), 5);
  queue.endStroke();
  const [b1, b2] = applies(sent);
  assert.equal(
    queue.handle({
      kind: "edits.ack",
      reply_to: b1.msg.id,
      keys: [[0, 0, 0]],
      versions: [4],
      duplicate: false,
    }),
    true,
  );
  assert.equal(tile.version, 4);
  assert.equal(queue.pendingCount, 1);
  queue.handle({
    kind: "edits.ack",
    reply_to: b2.msg.id,
    keys: [[0, 0, 0]],
    versions: [5],
    duplicate: false,
  });
  assert.equal(tile.version, 5);
  assert.equal(tile.stale, false);
  assert.equal(queue.pendingCount, 0);
  assert.equal(queue.idle, true);
  assert.equal(labelGets(sent).length, 1, "no refetch after clean acks");
  // the kernel's change notice for our own batch is a no-op
  client.handle(
    {
      kind: "chunks.changed",
      layer: "labels",
      level: 0,
      keys: [[0, 0, 0]],
      versions: [5],
      origin: b2.msg.id,
    },
    [],
  );
  assert.equal(labelGets(sent).length, 1);
  // a change made elsewhere (Python) makes the tile stale and refetches it with known = 5
  client.handle({ kind: "chunks.changed", layer: "labels", level: 0, keys: [[0, 0, 0]], versions: [6] }, []);
  const gets = labelGets(sent);
  assert.equal(gets.length, 2);
  assert.deepEqual(gets[1].msg.known, [5]);
});

test("an ack whose version skips one (another edit in between) refetches", () => {
  const { sent, client, queue } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 1 }), 5);
  queue.endStroke();
  queue.handle({
    kind: "edits.ack",
    reply_to: applies(sent)[0].msg.id,
    keys: [[0, 0, 0]],
    versions: [5],
    duplicate: false,
  });
  const gets = labelGets(sent);
  assert.equal(gets.length, 2);
  assert.deepEqual(gets[1].msg.known, [3]);
});

test("a reject with retry (not saved: disk full) keeps the batch pending and painted and resends it later", () => {
  const { sent, client, queue, events, timers, fire } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 1 }), 9);
  queue.endStroke();
  const first = applies(sent)[0].msg;
  const error = "not saved: [Errno 28] No space left on device";
  const msg = { kind: "edits.reject", reply_to: first.id, error, retry: true };
  validate(msg, 0, "kernel");
  queue.handle(msg);
  assert.equal(queue.pendingCount, 1, "the batch stays pending (not acked)");
  assert.deepEqual(events.at(-1), { kind: "retry", error });
  assert.equal(client.tile("labels", 0, 10, [0, 0, 0]).data[3 * 32 + 3], 9, "still painted");
  assert.equal(labelGets(sent).length, 1, "no refetch: the overlay stays");
  queue.pump(); // e.g. the next stroke: the rejected batch is not resent before its backoff
  assert.equal(applies(sent).length, 1);
  assert.equal(timers.at(-1).ms, 2000);
  fire();
  const again = applies(sent);
  assert.equal(again.length, 2, "resent after the backoff");
  assert.equal(again[1].msg.id, first.id, "the same batch id (the kernel forgot it when rolling back)");
  queue.handle(msg); // still full: the backoff doubles
  assert.equal(timers.at(-1).ms, 4000);
  fire();
  const last = applies(sent).at(-1).msg;
  queue.handle({ kind: "edits.ack", reply_to: last.id, keys: [[0, 0, 0]], versions: [5], duplicate: false });
  assert.equal(queue.pendingCount, 0);
  assert.equal(queue.retryMs, 2000, "an ack resets the backoff");
});

test("a reject drops the batch, reports the error and refetches the chunk whole (reverting the paint)", () => {
  const { sent, client, queue, events } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 1 }), 9);
  queue.endStroke();
  assert.equal(client.tile("labels", 0, 10, [0, 0, 0]).data[3 * 32 + 3], 9);
  queue.handle({ kind: "edits.reject", reply_to: applies(sent)[0].msg.id, error: "label 9 is not allowed" });
  assert.equal(queue.pendingCount, 0);
  assert.equal(queue.lastError, "label 9 is not allowed");
  assert.deepEqual(events.at(-1), { kind: "reject", error: "label 9 is not allowed" });
  const gets = labelGets(sent);
  assert.equal(gets.length, 2);
  assert.deepEqual(gets[1].msg.known, [-1], "a dirty tile is refetched whole");
  reply(client, gets[1], 3);
  const tile = client.tile("labels", 0, 10, [0, 0, 0]);
  assert.equal(tile.data[3 * 32 + 3], 0, "the optimistic paint is reverted");
  assert.equal(tile.dirty, false);
});

test("a stale tile arriving while batches are pending gets the pending voxels re-applied", () => {
  const { sent, client, queue } = setup();
  queue.beginStroke();
  // painting before the tile ever arrived
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 0 }), 4);
  queue.flush();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [4, 3], radius: 0 }), 4);
  // batch 1 pending, voxel (3,4) still accumulating
  client.view(0, 10, [[0, 0, 0]]);
  reply(client, labelGets(sent)[0], 2, 1); // old data: all ones
  const tile = client.tile("labels", 0, 10, [0, 0, 0]);
  assert.equal(tile.data[3 * 32 + 3], 4, "pending batch re-applied");
  assert.equal(tile.data[3 * 32 + 4], 4, "accumulated voxels re-applied");
  assert.equal(tile.data[3 * 32 + 5], 1);
  assert.equal(applies(sent)[0].msg.edits[0].base, -1, "painted over an unknown version");
  // the same tile in another plane of the chunk is untouched by the overlay
  client.view(0, 11, [[0, 0, 0]]);
  reply(client, labelGets(sent).at(-1), 2, 1);
  assert.equal(client.tile("labels", 0, 11, [0, 0, 0]).data[3 * 32 + 3], 1);
});

test("an older tile never replaces a newer clean one", () => {
  const { sent, client } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  const first = labelGets(sent)[0];
  client.handle({ kind: "chunks.changed", layer: "labels", level: 0, keys: [[0, 0, 0]], versions: [8] }, []);
  reply(client, first, 7, 1); // arrives older than known: stored stale and asked again
  assert.equal(client.tile("labels", 0, 10, [0, 0, 0]).stale, true);
  const again = labelGets(sent).at(-1);
  assert.notEqual(again.msg.id, first.msg.id);
  assert.deepEqual(again.msg.known, [7]);
  reply(client, again, 8, 2);
  const t = client.tile("labels", 0, 10, [0, 0, 0]);
  assert.equal(t.version, 8);
  assert.equal(t.stale, false);
  assert.equal(client.idle, false, "the image request is still out");
  reply(
    client,
    sent.find((s) => s.msg.kind === "chunks.get" && s.msg.layer === "image"),
    0,
  );
  assert.equal(client.idle, true);
});

test("batches split to stay under the byte limit, uint8/uint64 values encoded little-endian", () => {
  const offsets = Uint32Array.from({ length: 1000 }, (_, i) => i);
  const e8 = encodeBatches({
    stroke: "s",
    dtype: "uint8",
    entries: [
      { key: [0, 0, 0], base: 1, offsets, values: new Uint8Array(1000).fill(200) },
      { key: [0, 0, 1], base: 2, offsets: offsets.slice(0, 10), values: new Uint8Array(10).fill(200) },
    ],
    makeId: (() => {
      let i = 0;
      return () => `b${i++}`;
    })(),
    maxBytes: 5 * 300,
  });
  assert.equal(e8.length, 4); // 1010 voxels, 300 per message
  let count = 0;
  for (const { msg, buffers } of e8) {
    validate(msg, buffers.length, "browser");
    const bytes = buffers.reduce((n, b) => n + b.byteLength, 0);
    assert.ok(bytes <= 1500, `${bytes} bytes`);
    count += msg.edits.reduce((n, e) => n + e.count, 0);
  }
  assert.equal(count, 1010);
  const e64 = encodeBatches({
    stroke: "s",
    dtype: "uint64",
    entries: [
      { key: [1, 0, 0], base: 0, offsets: Uint32Array.of(5), values: BigUint64Array.of(2n ** 64n - 1n) },
    ],
    makeId: () => "x",
  });
  assert.equal(e64.length, 1);
  assert.deepEqual([...new Uint8Array(e64[0].buffers[1])], [255, 255, 255, 255, 255, 255, 255, 255]);
});

test("a uint64 stroke sends BigUint64 values", () => {
  const { sent, client, queue } = setup("uint64");
  client.view(0, 10, [[0, 0, 0]]);
  queue.beginStroke();
  queue.paint(
    strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 0 }),
    parseLabel("18446744073709551615", "uint64"),
  );
  queue.endStroke();
  const [e] = decode(applies(sent)[0]);
  assert.deepEqual([...e.val], [2n ** 64n - 1n]);
});

test("an asynchronous pending store sends only once the batch is stored", async () => {
  const stored = [];
  class SlowStore extends MemoryPendingStore {
    put(batch) {
      super.put(batch);
      return new Promise((resolve) =>
        setTimeout(() => {
          stored.push(batch.id);
          resolve();
        }, 5),
      );
    }
  }
  const { sent, queue } = setup("uint32", { store: new SlowStore() });
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 0 }), 1);
  queue.endStroke();
  assert.equal(applies(sent).length, 0);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(applies(sent).length, 1);
  assert.deepEqual(stored, [applies(sent)[0].msg.id]);
});

test("offline: batches are stored, not sent; replay sends every pending batch in order, sent or not", () => {
  const { sent, client, queue } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 1);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [5, 5], radius: 1 }), 3);
  queue.endStroke();
  assert.equal(applies(sent).length, 1, "online: sent at once");
  queue.setOnline(false);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [9, 9], radius: 1 }), 4);
  queue.endStroke();
  assert.equal(applies(sent).length, 1, "offline: nothing more sent");
  assert.equal(queue.pendingCount, 2);
  assert.equal(client.tile("labels", 0, 10, [0, 0, 0]).data[9 * 32 + 9], 4, "the overlay shows it");
  const ids = queue.store.all().map((b) => b.id);
  assert.equal(queue.replay(), 2);
  const after = applies(sent);
  assert.deepEqual(
    after.slice(1).map((s) => s.msg.id),
    ids,
    "both pending batches go out again, oldest first",
  );
  assert.equal(queue.replayCount, 2);
  queue.handle({ kind: "edits.ack", reply_to: ids[0], keys: [[0, 0, 0]], versions: [2], duplicate: false });
  assert.equal(queue.replayCount, 1);
  // the original send of batch 0 was applied too: its second ack is a duplicate, ignored
  assert.equal(
    queue.handle({ kind: "edits.ack", reply_to: ids[0], keys: [[0, 0, 0]], versions: [2], duplicate: true }),
    true,
  );
  queue.handle({ kind: "edits.ack", reply_to: ids[1], keys: [[0, 0, 0]], versions: [3], duplicate: false });
  assert.equal(queue.replayCount, 0);
  assert.ok(queue.idle);
});

test("a send that fails leaves the batch unsent (replayed later); a slow put holds back later batches", async () => {
  const sent = [];
  let online = true;
  const send = (msg, buffers = []) => {
    if (!online && msg.kind === "edits.apply") return false;
    sent.push({ msg, buffers });
    return true;
  };
  const resolvers = [];
  const store = new MemoryPendingStore();
  const put = store.put.bind(store);
  store.put = (b) => {
    put(b);
    return new Promise((r) => resolvers.push(r));
  };
  let n = 0;
  const client = new ChunkClient({ send, makeId: () => `c${n++}` });
  const queue = new EditQueue({ send, client, dtype: "uint32", chunks, store, makeId: () => `b${n++}` });
  const g = (x) => strokeVoxels({ shape, chunks, axis: 0, index: 1, from: null, to: [x, 1], radius: 0 });
  queue.paint(g(1), 1);
  queue.flush();
  queue.paint(g(2), 2);
  queue.flush();
  assert.equal(applies(sent).length, 0, "nothing sent before the put resolved");
  resolvers[1]();
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(applies(sent).length, 0, "the second batch waits for the first one's put");
  assert.equal(queue.unstored, 1);
  resolvers[0]();
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(
    applies(sent).map((s) => s.msg.id),
    queue.store.all().map((b) => b.id),
  );
  online = false;
  queue.paint(g(3), 3);
  queue.flush();
  resolvers[2]();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(applies(sent).length, 2, "the failed send is not counted as sent");
  assert.equal(queue.store.all()[2].sent, false);
  online = true;
  queue.pump();
  assert.equal(applies(sent).length, 3);
});

test("a command waits until every painted batch is sent", async () => {
  const { sent, queue } = setup();
  const resolvers = [];
  const put = queue.store.put.bind(queue.store);
  queue.store.put = (b) => {
    put(b);
    return new Promise((r) => resolvers.push(r));
  };
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 1, from: null, to: [1, 1], radius: 0 }), 1);
  const order = [];
  queue.afterSent(() => order.push("command"));
  assert.deepEqual(order, []);
  resolvers[0]();
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(applies(sent).length, 1);
  assert.deepEqual(order, ["command"]);
});

test("adopted batches (left by an earlier view) show in the overlay and are replayed", () => {
  const { sent, client, queue } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 5);
  const offsets = Uint32Array.from([localOffset([10, 3, 4], chunks)]);
  const batch = {
    id: "old",
    stroke: "s",
    dtype: "uint32",
    edits: [{ key: [0, 0, 0], ks: "0,0,0", base: 2, offsets, values: Uint32Array.from([9]) }],
  };
  queue.store.put(batch);
  queue.setOnline(false);
  queue.adopt([batch]);
  assert.equal(client.tile("labels", 0, 10, [0, 0, 0]).data[3 * 32 + 4], 9);
  assert.ok(queue.isOwn("old"));
  queue.replay();
  const a = applies(sent);
  assert.equal(a.length, 1);
  assert.equal(a[0].msg.id, "old");
  assert.deepEqual([...decode(a[0])[0].off], [...offsets]);
});

test("discard drops every pending batch and the open stroke's voxels and refetches their chunks", async () => {
  const { sent, client, queue, events } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  queue.beginStroke();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [3, 3], radius: 1 }), 9);
  queue.flush();
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [8, 8], radius: 1 }), 9);
  assert.equal(queue.pendingCount, 1);
  assert.equal(await queue.discard(), 1);
  assert.equal(queue.pendingCount, 0);
  assert.equal(queue.acc.size, 0, "the open stroke's voxels are dropped too");
  assert.deepEqual(events.at(-1), { kind: "discard", count: 1 });
  const gets = labelGets(sent);
  assert.deepEqual(gets.at(-1).msg.known, [-1], "the painted chunk is refetched whole");
  reply(client, gets.at(-1), 3);
  assert.equal(client.tile("labels", 0, 10, [0, 0, 0]).data[3 * 32 + 3], 0, "the paint is reverted");
  queue.flush();
  assert.equal(applies(sent).length, 1, "nothing more is sent");
});

test("preserve_labels: known labels are left out, batches say preserve, the ack refetches the tiles", () => {
  const { sent, client, queue } = setup();
  client.view(0, 10, [[0, 0, 0]]);
  for (const r of labelGets(sent)) reply(client, r, 3);
  const tile = client.tile("labels", 0, 10, [0, 0, 0]);
  tile.data[5 * 32 + 6] = 4; // a label the view knows of
  queue.beginStroke({ preserve: true });
  const g = strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [5, 5], radius: 1 });
  const kept = queue.unlabelled(g);
  const n = (m) => [...m.values()].reduce((a, x) => a + x.offsets.length, 0);
  assert.equal(n(g), 5);
  assert.equal(n(kept), 4);
  assert.ok(![...kept.values()][0].offsets.includes(localOffset([10, 5, 6], chunks)));
  queue.paint(kept, 9);
  queue.endStroke();
  assert.equal(tile.data[5 * 32 + 6], 4, "the known label stays in the overlay");
  const [apply] = applies(sent);
  assert.equal(apply.msg.preserve, true);
  const before = labelGets(sent).length;
  queue.handle({
    kind: "edits.ack",
    reply_to: apply.msg.id,
    keys: [[0, 0, 0]],
    versions: [4],
    duplicate: false,
  });
  const again = labelGets(sent).slice(before);
  assert.equal(again.length, 1, "the touched tile is fetched again (the kernel may have kept labels)");
  // an ordinary stroke: no flag, no refetch
  queue.beginStroke();
  queue.paint(g, 9);
  queue.endStroke();
  const plain = applies(sent)[1];
  assert.equal(plain.msg.preserve, undefined);
});
