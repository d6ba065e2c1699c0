import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ChunkClient } from "../../src/net/client.js";
import { decodeTile, tilePayload } from "../../src/net/tiles.js";
import { TileCache } from "../../src/store/tilecache.js";

/** The byte fields of a tile record whose codec carries no bytes. */
const NO_BYTES = { buffer: -1, offset: 0, nbytes: 0 };
/** The byte fields of a tile record whose payload is `nbytes` bytes at `offset` of buffer 0. */
const bytesAt = (offset, nbytes) => ({ buffer: 0, offset, nbytes });

function setup() {
  const sent = [];
  let n = 0;
  let updates = 0;
  const client = new ChunkClient({
    send: (msg) => sent.push(msg),
    makeId: () => `r${n++}`,
    onUpdate: () => updates++,
  });
  return { sent, client, updates: () => updates };
}

test("view requests both layers with the plane, known -1 for missing tiles", () => {
  const { sent, client } = setup();
  client.view(0, 5, [
    [0, 0, 0],
    [0, 1, 0],
  ]);
  assert.equal(sent.length, 2);
  assert.deepEqual(sent.map((m) => m.layer).sort(), ["image", "labels"]);
  for (const m of sent) {
    assert.equal(m.kind, "chunks.get");
    assert.equal(m.axis, 0);
    assert.equal(m.index, 5);
    assert.deepEqual(m.known, [-1, -1]);
  }
  client.view(0, 5, [
    [0, 0, 0],
    [0, 1, 0],
  ]);
  assert.equal(sent.length, 2, "in-flight tiles are not requested twice");
  assert.deepEqual(client.progress(), { loading: 4, total: 4 });
});

test("moving to another slice cancels the old requests; their late replies are ignored", () => {
  const { sent, client } = setup();
  client.view(0, 5, [[0, 0, 0]]);
  client.view(0, 6, [[0, 0, 0]]);
  const cancel = sent.find((m) => m.kind === "chunks.cancel");
  assert.deepEqual(cancel.ids.sort(), ["r0", "r1"]);
  assert.equal(client.requests.size, 2);
  const late = {
    kind: "chunks.data",
    reply_to: "r0",
    layer: "image",
    level: 0,
    axis: 0,
    index: 5,
    done: true,
    tiles: [{ key: [0, 0, 0], version: 0, shape: [2, 2], dtype: "uint8", codec: "zero", ...NO_BYTES }],
  };
  assert.equal(client.handle(late, []), false);
  assert.equal(client.stats.tiles, 0);
});

test("tiles decode (raw from a sub-range of a DataView, zero, unchanged) and count stats", () => {
  const { sent, client, updates } = setup();
  client.view(0, 1, [[0, 0, 0]]);
  const img = sent.find((m) => m.layer === "image");
  const raw = new Uint8Array([9, 9, 1, 2, 3, 4, 9]);
  client.handle(
    {
      kind: "chunks.data",
      reply_to: img.id,
      layer: "image",
      level: 0,
      axis: 0,
      index: 1,
      done: true,
      tiles: [{ key: [0, 0, 0], version: 0, shape: [2, 2], dtype: "uint8", codec: "raw", ...bytesAt(1, 4) }],
    },
    [new DataView(raw.buffer, 1, 5)], // bytes 1 … 4 of this view are the tile's
  );
  const t = client.tile("image", 0, 1, [0, 0, 0]);
  assert.deepEqual([...t.data], [1, 2, 3, 4]);
  const { messages, tiles, bytes } = client.stats;
  assert.deepEqual({ messages, tiles, bytes }, { messages: 1, tiles: 1, bytes: 4 });
  assert.ok(updates() >= 1);
  // the same view again asks nothing; after a slice change and back, known = cached version
  client.view(0, 2, [[0, 0, 0]]);
  client.cache.get(t.id).stale = true;
  client.view(0, 1, [[0, 0, 0]]);
  const again = sent.filter((m) => m.kind === "chunks.get" && m.layer === "image").at(-1);
  assert.deepEqual(again.known, [0]);
  client.handle(
    {
      kind: "chunks.data",
      reply_to: again.id,
      layer: "image",
      level: 0,
      axis: 0,
      index: 1,
      done: true,
      tiles: [{ key: [0, 0, 0], version: 0, shape: [2, 2], dtype: "uint8", codec: "unchanged", ...NO_BYTES }],
    },
    [],
  );
  assert.equal(client.tile("image", 0, 1, [0, 0, 0]), t, "unchanged keeps the cached data");
  assert.equal(t.stale, false);
});

const LZ4 = JSON.parse(readFileSync(new URL("../fixtures/lz4-vectors.json", import.meta.url))).vectors;
const LZ4S = JSON.parse(readFileSync(new URL("../fixtures/lz4s-vectors.json", import.meta.url))).vectors;
const lz4Vector = (name) => {
  const v = LZ4.find((x) => x.name === name);
  return { payload: new Uint8Array(Buffer.from(v.compressed, "base64")), sha256: v.sha256 };
};
const sha = (a) =>
  createHash("sha256")
    .update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
    .digest("hex");
const u8 = (typed) => new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);

/**
 * A chunks.data reply as the kernel packs it: every payload in one buffer, each at a multiple of 8
 * (the gaps filled with 0xee, so a decoder that ignores `offset` reads garbage).
 */
function packedReply(reqId, tiles) {
  let size = 0;
  const records = tiles.map(({ payload, ...rec }, i) => {
    if (!payload) return { key: [0, 0, i], version: 0, ...rec, ...NO_BYTES };
    const offset = Math.ceil(size / 8) * 8;
    size = offset + payload.length;
    return { key: [0, 0, i], version: 0, ...rec, buffer: 0, offset, nbytes: payload.length };
  });
  const buffer = new Uint8Array(size).fill(0xee);
  for (const [i, t] of tiles.entries()) if (t.payload) buffer.set(t.payload, records[i].offset);
  const msg = {
    kind: "chunks.data",
    reply_to: reqId,
    layer: "image",
    level: 0,
    axis: 0,
    index: 1,
    done: true,
  };
  return { msg: { ...msg, tiles: records }, buffers: [new DataView(buffer.buffer)], buffer: buffer.buffer };
}

test("a reply with all payloads in one buffer decodes every tile; raw tiles are views of it", () => {
  const { sent, client } = setup();
  const keys = [0, 1, 2, 3, 4, 5, 6].map((i) => [0, 0, i]);
  client.view(0, 1, keys);
  const img = sent.find((m) => m.layer === "image");
  const ramp = lz4Vector("ramp uint16 64x64");
  const labels = lz4Vector("labels uint32 64x64");
  const text = lz4Vector("short text");
  const noisy = LZ4S.find((v) => v.name === "noisy uint16 64x64");
  const raw8 = Uint8Array.from({ length: 15 }, (_, i) => i * 11 + 1); // 15 bytes: padding follows
  const raw16 = Uint16Array.of(1, 2, 3000, 65535, 7, 8);
  const { msg, buffers, buffer } = packedReply(img.id, [
    { shape: [64, 64], dtype: "uint16", codec: "lz4", payload: ramp.payload },
    { shape: [3, 5], dtype: "uint8", codec: "raw", payload: raw8 },
    { shape: [64, 64], dtype: "uint32", codec: "lz4", payload: labels.payload },
    { shape: [2, 2], dtype: "uint8", codec: "zero" },
    { shape: [2, 3], dtype: "uint16", codec: "raw", payload: u8(raw16) },
    { shape: [29], dtype: "uint8", codec: "lz4", payload: text.payload },
    { shape: [64, 64], dtype: "uint16", codec: "lz4s", payload: Buffer.from(noisy.compressed, "base64") },
  ]);
  assert.deepEqual(
    msg.tiles.map((t) => t.offset % 8),
    [0, 0, 0, 0, 0, 0, 0],
  );
  assert.ok(msg.tiles[2].offset > msg.tiles[1].offset + 15, "padding after the 15-byte tile");
  client.handle(msg, buffers);
  assert.equal(client.lastError, null);
  const tile = (i) => client.tile("image", 0, 1, [0, 0, i]);
  assert.equal(sha(tile(0).data), ramp.sha256);
  assert.ok(tile(0).data instanceof Uint16Array);
  assert.deepEqual([...tile(1).data], [...raw8]);
  assert.equal(sha(tile(2).data), labels.sha256);
  assert.deepEqual([...tile(3).data], [0, 0, 0, 0]);
  assert.ok(tile(4).data instanceof Uint16Array);
  assert.deepEqual([...tile(4).data], [...raw16]);
  assert.equal(sha(tile(5).data), text.sha256);
  assert.ok(tile(6).data instanceof Uint16Array);
  assert.equal(sha(tile(6).data), noisy.sha256);
  for (const i of [0, 2, 5, 6]) {
    const d = tile(i).data;
    assert.notEqual(d.buffer, buffer, `LZ4 tile ${i} decodes into a buffer of its own`);
    assert.equal(d.buffer.byteLength, d.byteLength, `tile ${i} holds an ArrayBuffer of just its bytes`);
  }
  for (const i of [1, 4]) {
    const d = tile(i).data;
    assert.equal(d.buffer, buffer, `raw tile ${i} is viewed in place (no allocation per tile)`);
    assert.equal(d.byteOffset, msg.tiles[i].offset);
    assert.equal(d.byteLength, msg.tiles[i].nbytes, `raw tile ${i} spans just its own bytes`);
  }
  const payloadBytes = msg.tiles.reduce((a, t) => a + t.nbytes, 0);
  assert.equal(client.stats.bytes, payloadBytes, "payload bytes, not the padding");
  // painting into one raw tile changes no other tile
  tile(1).data.fill(0);
  assert.deepEqual([...tile(4).data], [...raw16]);
  assert.equal(sha(tile(0).data), ramp.sha256);
});

test("an unaligned raw payload is copied into an aligned buffer of its own", () => {
  const bytes = new Uint8Array(9);
  const values = Uint16Array.of(513, 65535, 7, 0);
  bytes.set(new Uint8Array(values.buffer), 1); // starts at byte 1: no Uint16Array view possible
  const d = decodeTile("raw", bytes.subarray(1, 9), [2, 2], "uint16");
  assert.ok(d instanceof Uint16Array);
  assert.deepEqual([...d], [...values]);
  assert.notEqual(d.buffer, bytes.buffer);
  assert.equal(d.buffer.byteLength, 8);
});

test("a tile whose offset or nbytes points outside the buffer is reported; the others are accepted", () => {
  for (const [bad, want] of [
    [
      { offset: 65536 },
      /tile 0,0,1 of image: .*offset 65536 of 15 bytes lies outside buffer 0 of 8258 bytes/,
    ],
    [{ nbytes: 65536 }, /offset 16 of 65536 bytes lies outside buffer 0 of 8258 bytes/],
    [{ offset: 8244 }, /offset 8244 of 15 bytes lies outside buffer 0 of 8258 bytes/], // one byte over
    [{ offset: -8 }, /offset -8 of 15 bytes lies outside buffer 0/],
    [{ offset: 1.5 }, /offset 1.5 of 15 bytes lies outside buffer 0/],
    [{ buffer: 1 }, /tile payload in buffer 1, but the message has 1 buffers/],
  ]) {
    const { sent, client } = setup();
    client.view(
      0,
      1,
      [0, 1, 2].map((i) => [0, 0, i]),
    );
    const img = sent.find((m) => m.layer === "image");
    const ramp = lz4Vector("ramp uint16 64x64");
    const { msg, buffers } = packedReply(img.id, [
      { shape: [3, 5], dtype: "uint8", codec: "raw", payload: new Uint8Array(15).fill(3) },
      { shape: [3, 5], dtype: "uint8", codec: "raw", payload: new Uint8Array(15).fill(4) },
      { shape: [64, 64], dtype: "uint16", codec: "lz4", payload: ramp.payload },
    ]);
    Object.assign(msg.tiles[1], bad);
    client.handle(msg, buffers);
    assert.match(client.lastError, want, JSON.stringify(bad));
    assert.equal(client.tile("image", 0, 1, [0, 0, 1]), undefined, JSON.stringify(bad));
    assert.deepEqual([...client.tile("image", 0, 1, [0, 0, 0]).data], new Array(15).fill(3));
    assert.equal(sha(client.tile("image", 0, 1, [0, 0, 2]).data), ramp.sha256);
  }
});

test("tilePayload reads a record's sub-range of a message buffer (ArrayBuffer or view)", () => {
  const bytes = Uint8Array.from({ length: 32 }, (_, i) => i);
  for (const buf of [bytes.buffer, new DataView(bytes.buffer), bytes]) {
    assert.deepEqual([...tilePayload({ buffer: 0, offset: 8, nbytes: 3 }, [buf])], [8, 9, 10]);
    assert.equal(tilePayload({ buffer: -1, offset: 0, nbytes: 0 }, [buf]), null);
    assert.equal(tilePayload({ buffer: 0, offset: 32, nbytes: 0 }, [buf]).length, 0);
  }
  const view = new DataView(bytes.buffer, 4, 20); // a buffer that is itself a view: offsets are relative to it
  assert.deepEqual([...tilePayload({ buffer: 0, offset: 8, nbytes: 2 }, [view])], [12, 13]);
  assert.throws(
    () => tilePayload({ buffer: 0, offset: 16, nbytes: 8 }, [view]),
    /outside buffer 0 of 20 bytes/,
  );
});

test("decodeTile refuses bad sizes and codecs", () => {
  assert.deepEqual([...decodeTile("zero", null, [2, 3], "uint16")], [0, 0, 0, 0, 0, 0]);
  assert.throws(() => decodeTile("raw", new Uint8Array(3), [2, 2], "uint8"), /3 bytes, expected 4/);
  assert.throws(() => decodeTile("unchanged", null, [2, 2], "uint8"), /codec 'unchanged'/);
  assert.throws(() => decodeTile("raw", new Uint8Array(4), [2, 2], "complex64"), /dtype/);
  const f = decodeTile("raw", new Uint8Array(new Float32Array([1.5, -2]).buffer), [2], "float32");
  assert.deepEqual([...f], [1.5, -2]);
});

test("the LRU evicts least recently used tiles, sparing visible ones", () => {
  const cache = new TileCache(100);
  const put = (id) => cache.set({ id, layer: "image", level: 0, ks: id, data: new Uint8Array(40) });
  put("a");
  put("b");
  put("c");
  cache.get("a");
  cache.evict(new Set(["b"]));
  assert.deepEqual([...cache.tiles.keys()].sort(), ["a", "b"]);
  assert.equal(cache.bytes, 80);
  assert.deepEqual(cache.ofChunk("image", 0, "c"), []);
});

test("viewPlan requests coarse levels first and cancels levels and keys that left the view", () => {
  const { sent, client } = setup();
  client.viewPlan(0, [
    { level: 3, index: 64, keys: [[1, 0, 0]] },
    {
      level: 1,
      index: 256,
      keys: [
        [4, 2, 2],
        [4, 2, 3],
      ],
    },
  ]);
  const gets = sent.filter((m) => m.kind === "chunks.get");
  assert.deepEqual(
    gets.map((m) => [m.level, m.layer, m.index, m.keys.length]),
    [
      [3, "image", 64, 1],
      [3, "labels", 64, 1],
      [1, "image", 256, 2],
      [1, "labels", 256, 2],
    ],
  );
  assert.deepEqual(
    client.stats.requests.map((r) => r.level),
    [3, 3, 1, 1],
  );
  // zoom in: level 0 replaces level 1; the level-1 requests are cancelled, level 3 kept
  sent.length = 0;
  client.viewPlan(0, [
    { level: 3, index: 64, keys: [[1, 0, 0]] },
    { level: 0, index: 512, keys: [[8, 4, 4]] },
  ]);
  const cancel = sent.find((m) => m.kind === "chunks.cancel");
  assert.deepEqual(cancel.ids.sort(), [gets[2].id, gets[3].id].sort());
  assert.deepEqual(
    sent.filter((m) => m.kind === "chunks.get").map((m) => m.level),
    [0, 0],
  );
  // a late reply to a cancelled request is ignored
  assert.equal(
    client.handle(
      { kind: "chunks.data", reply_to: gets[2].id, layer: "image", level: 1, tiles: [], done: true },
      [],
    ),
    false,
  );
  // a coarse label change notice makes that level's tiles stale
  client.handle(
    {
      kind: "chunks.data",
      reply_to: gets[1].id,
      layer: "labels",
      level: 3,
      axis: 0,
      index: 64,
      done: true,
      tiles: [{ key: [1, 0, 0], version: 5, shape: [2, 2], dtype: "uint8", codec: "zero", ...NO_BYTES }],
    },
    [],
  );
  assert.equal(client.tile("labels", 0, 64, [1, 0, 0], 3).stale, false);
  sent.length = 0;
  client.handle({ kind: "chunks.changed", layer: "labels", level: 3, keys: [[1, 0, 0]], versions: [6] }, []);
  assert.equal(client.tile("labels", 0, 64, [1, 0, 0], 3).stale, true);
  const again = sent.find((m) => m.kind === "chunks.get" && m.layer === "labels" && m.level === 3);
  assert.deepEqual(again.known, [5]);
});

test("zero tiles get their data only when it is used; payload bytes are counted per plane", () => {
  const { sent, client } = setup();
  client.view(0, 1, [[0, 0, 0]]);
  const lab = sent.find((m) => m.layer === "labels");
  client.handle({
    kind: "chunks.data",
    reply_to: lab.id,
    layer: "labels",
    level: 0,
    axis: 0,
    index: 1,
    done: true,
    tiles: [{ key: [0, 0, 0], version: 2, shape: [2, 3], dtype: "uint32", codec: "zero", ...NO_BYTES }],
  });
  const t = client.tile("labels", 0, 1, [0, 0, 0]);
  assert.equal(t.zero, true);
  assert.equal(client.cache.bytes, 0, "no memory until it is used");
  assert.ok(t.data instanceof Uint32Array && t.data.length === 6 && t.data.every((x) => x === 0));
  t.data[1] = 5; // painting writes into it
  assert.equal(t.data[1], 5);
  assert.deepEqual(client.stats.planeBytes, { "0/0/1": 0 });
});

test("prefetch requests stay within the bytes-in-flight bound and continue as replies arrive", () => {
  const sent = [];
  let n = 0;
  const client = new ChunkClient({
    send: (m) => sent.push(m),
    makeId: () => `r${n++}`,
    prefetchBytes: 3 * 4096,
  });
  const keys = [[0, 0, 0]];
  const plan = [{ level: 0, index: 1, keys }];
  for (let i = 2; i < 8; i++) plan.push({ level: 0, index: i, keys, prefetch: true });
  client.viewPlan(0, plan);
  const gets = () => sent.filter((m) => m.kind === "chunks.get");
  // shown plane (2 requests) + prefetch until 3 tiles of ~4 KiB are in flight
  const first = gets().length;
  assert.ok(first < 2 + 12, `${first} requests`);
  assert.ok(client.deferred);
  const planes = () => new Set(gets().map((m) => m.index));
  assert.ok(!planes().has(7));
  // replies for the prefetched planes bring the rest
  for (let round = 0; round < 10 && client.deferred; round++) {
    for (const m of gets()) {
      if (!client.requests.has(m.id)) continue;
      client.handle({
        kind: "chunks.data",
        reply_to: m.id,
        layer: m.layer,
        level: 0,
        axis: 0,
        index: m.index,
        done: true,
        tiles: [{ key: [0, 0, 0], version: 0, shape: [64, 32], dtype: "uint16", codec: "zero", ...NO_BYTES }],
      });
    }
  }
  assert.deepEqual([...planes()].sort(), [1, 2, 3, 4, 5, 6, 7]);
  // a prefetch request whose plane becomes shown counts as shown
  const c2 = new ChunkClient({ send: () => {}, makeId: () => `q${n++}` });
  c2.viewPlan(0, [
    { level: 0, index: 1, keys },
    { level: 0, index: 2, keys, prefetch: true },
  ]);
  assert.equal(c2.shownLoading, 2);
  c2.viewPlan(0, [
    { level: 0, index: 2, keys },
    { level: 0, index: 3, keys, prefetch: true },
  ]);
  assert.equal(c2.shownLoading, 2, "the plane-2 requests (sent as prefetch) are now shown ones");
});
