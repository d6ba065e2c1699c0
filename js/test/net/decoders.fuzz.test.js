/**
 * Hostile input to the browser's decoders (issue 15 item 6): malformed `chunks.data` messages
 * through the same path the widget takes (protocol `validate`, then the real `ChunkClient.handle`),
 * random and lying LZ4 blocks, and decompression bombs. Seeded, so a failure names its case.
 *
 * Asserted for every case: nothing but a `ProtocolError` (from `validate`) escapes; no case takes
 * long (no hang); sizes are checked before allocating (a bomb is refused in far less time than
 * allocating its claim would take, and the process's ArrayBuffer memory stays bounded).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ChunkClient } from "../../src/net/client.js";
import { LZ4Error, lz4DecodeBlock } from "../../src/net/lz4.js";
import { ProtocolError, validate } from "../../src/net/protocol.js";
import { decodeTile, MAX_TILE_BYTES } from "../../src/net/tiles.js";

const CASES = Number(process.env.VOXWIDGET_JS_FUZZ ?? 10000);
const SLOW_MS = 500; // a single case costing more CPU than this is a hang
const HANG = { timeout: 300_000 }; // and a true infinite loop fails the test here

/** CPU milliseconds (user + system) since `start`: robust to the machine being busy. */
const cpuMs = (start) => {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1000;
};
const MEMORY_BYTES = 768 * 2 ** 20; // ArrayBuffer memory never grows past this

/** mulberry32: a small seeded PRNG. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (xs) => xs[Math.floor(next() * xs.length)],
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
  };
}

/** Real LZ4 blocks (made by python-lz4) and their contents (decoded here: lz4.test.js checks them). */
const VECTORS = JSON.parse(
  readFileSync(new URL("../fixtures/lz4-vectors.json", import.meta.url)),
).vectors.map((v) => {
  const lz4 = new Uint8Array(Buffer.from(v.compressed, "base64"));
  return { lz4, raw: lz4DecodeBlock(lz4, new Uint8Array(v.size)) };
});

const JUNK = [
  null,
  true,
  -1,
  0,
  1.5,
  2 ** 31,
  2 ** 53,
  -(2 ** 40),
  Number.NaN,
  "x",
  "",
  [],
  [1, 2],
  {},
  { a: 1 },
];
const HUGE = [2 ** 16, 2 ** 20, 2 ** 24, 2 ** 30, 2 ** 31 - 1, 2 ** 40, 2 ** 53];

/** A valid chunks.data reply to `reqId` with tiles of several codecs in one buffer, then one change. */
function hostileReply(r, reqId, keys) {
  const parts = [];
  let offset = 0;
  const tiles = keys.map((key, i) => {
    const kind = r.pick(["raw", "lz4", "zero", "unchanged"]);
    if (kind === "zero" || kind === "unchanged") {
      return {
        key,
        version: 1,
        shape: [8, 8],
        dtype: "uint8",
        codec: kind,
        buffer: -1,
        offset: 0,
        nbytes: 0,
      };
    }
    const v = VECTORS[i % VECTORS.length];
    const bytes = kind === "raw" ? v.raw : v.lz4;
    const rec = {
      key,
      version: 1,
      shape: [v.raw.length],
      dtype: "uint8",
      codec: kind,
      buffer: 0,
      offset,
      nbytes: bytes.length,
    };
    parts.push(bytes);
    offset += bytes.length;
    return rec;
  });
  const buf = new Uint8Array(offset);
  let at = 0;
  for (const p of parts) {
    buf.set(p, at);
    at += p.length;
  }
  const msg = {
    kind: "chunks.data",
    reply_to: reqId,
    layer: "image",
    level: 0,
    tiles,
    done: true,
    axis: 0,
    index: 0,
  };
  let buffers = offset ? [buf.buffer] : [];
  const t = tiles[r.int(0, tiles.length - 1)];
  const change = r.pick([
    "field",
    "tileField",
    "shape",
    "bomb",
    "dtype",
    "codec",
    "offset",
    "nbytes",
    "buffer",
    "short",
    "long",
    "garbage",
    "none",
  ]);
  switch (change) {
    case "field":
      msg[r.pick(["reply_to", "layer", "level", "tiles", "done", "axis", "index", "extra"])] = r.pick(JUNK);
      break;
    case "tileField":
      t[r.pick(["key", "version", "shape", "dtype", "codec", "buffer", "offset", "nbytes"])] = r.pick(JUNK);
      break;
    case "shape": // a shape that lies about the payload, sometimes absurdly
      t.shape = r.pick([[r.pick(HUGE)], [r.pick(HUGE), r.pick(HUGE)], [3, 3, 3, 3], [], [-1, 4], [0]]);
      break;
    case "bomb": // a tiny LZ4 payload claiming a giant tile
      t.codec = r.pick(["lz4", "lz4s"]);
      t.shape = [r.pick(HUGE.slice(2)), r.int(1, 4096)];
      t.dtype = r.pick(["uint8", "uint16", "uint64", "float64"]);
      if (t.buffer === -1) Object.assign(t, { buffer: 0, offset: 0, nbytes: Math.min(offset, 8) });
      break;
    case "dtype":
      t.dtype = r.pick(["constructor", "__proto__", "toString", "float16", "bool", "", "uint128"]);
      break;
    case "codec":
      t.codec = r.pick(["gzip", "LZ4", "", "unchanged ", "zero", "raw"]);
      break;
    case "offset":
      t.offset = r.pick([-8, offset + 1, 2 ** 31, 2 ** 53, 3]);
      break;
    case "nbytes":
      t.nbytes = r.pick([-1, offset + 100, 2 ** 40, 0]);
      break;
    case "buffer":
      t.buffer = r.pick([-2, 1, 5, 2 ** 31]);
      break;
    case "short":
      buffers = offset ? [buf.slice(0, r.int(0, offset - 1)).buffer] : [];
      break;
    case "long":
      buffers = [new Uint8Array(offset + r.int(1, 64)).buffer];
      break;
    case "garbage": // the same sizes, random bytes: LZ4 streams that decode to nonsense or fail
      buffers = [r.bytes(offset || 16).buffer];
      for (const x of tiles) if (x.buffer === 0) x.codec = r.pick(["lz4", "lz4s", "raw"]);
      break;
    default:
      break;
  }
  return { msg, buffers, change };
}

test(
  `${CASES} hostile chunks.data messages: refused or decoded, never thrown, hung or over-allocated`,
  HANG,
  () => {
    const r = rng(20261203);
    const sent = [];
    let n = 0;
    const client = new ChunkClient({ send: (m) => sent.push(m), makeId: () => `q${n++}` });
    const counts = {};
    let slowest = 0;
    for (let i = 0; i < CASES; i++) {
      sent.length = 0;
      const keys = Array.from({ length: r.int(1, 5) }, (_, j) => [i, j, 0]); // new tiles: asked for
      client.viewPlan(0, [{ level: 0, index: 0, keys }]);
      const get = sent.find((m) => m.kind === "chunks.get" && m.layer === "image");
      assert.ok(get, `case ${i}: no request to answer`);
      const { msg, buffers, change } = hostileReply(r, get.id, get.keys);
      counts[change] = (counts[change] ?? 0) + 1;
      const t0 = process.cpuUsage();
      try {
        validate(msg, buffers.length, "kernel");
        client.handle(msg, buffers);
      } catch (err) {
        if (!(err instanceof ProtocolError)) {
          assert.fail(
            `case ${i} (${change}) threw ${err?.name}: ${err?.message}\n${JSON.stringify(msg).slice(0, 400)}`,
          );
        }
      }
      const ms = cpuMs(t0);
      slowest = Math.max(slowest, ms);
      assert.ok(ms < SLOW_MS, `case ${i} (${change}) took ${ms.toFixed(0)} ms`);
      if (i % 500 === 0) {
        const ab = process.memoryUsage().arrayBuffers;
        assert.ok(ab < MEMORY_BYTES, `case ${i}: ArrayBuffer memory ${ab} bytes`);
      }
      client.cancelAll();
    }
    assert.ok(Object.keys(counts).length >= 12, JSON.stringify(counts));
  },
);

test("random and lying LZ4 blocks: LZ4Error or the claimed size, quickly", HANG, () => {
  const r = rng(7);
  for (let i = 0; i < CASES; i++) {
    const src = r.pick([
      () => r.bytes(r.int(0, 64)),
      () => VECTORS[i % VECTORS.length].lz4.slice(0, r.int(0, 40)),
    ])();
    if (src.length > 2 && r.next() < 0.3) src[r.int(0, src.length - 1)] ^= 1 << r.int(0, 7);
    const size = r.pick([0, 1, 15, 16, 64, 4096, r.int(0, 1 << 16)]);
    const t0 = process.cpuUsage();
    try {
      const out = lz4DecodeBlock(src, new Uint8Array(size));
      assert.equal(out.length, size);
    } catch (err) {
      assert.ok(err instanceof LZ4Error, `case ${i}: ${err?.name}: ${err?.message}`);
    }
    assert.ok(cpuMs(t0) < SLOW_MS, `case ${i} hung`);
  }
});

test("decompression bombs are refused before allocating what they claim", () => {
  const payload = VECTORS.find((v) => v.raw.length >= 4096).lz4;
  const all = ["lz4", "lz4s", "zero", "raw"];
  for (const [shape, dtype, codecs] of [
    [[2 ** 15, 2 ** 15], "uint8", all], // 1 GiB
    [[2 ** 14, 2 ** 14], "uint64", all], // 2 GiB
    [[2 ** 26], "uint64", all], // over MAX_TILE_BYTES
    [[4096, 4096], "uint8", ["lz4", "lz4s"]], // 16 MiB from a few hundred bytes: beyond LZ4's ratio
  ]) {
    for (const codec of codecs) {
      const t0 = performance.now();
      assert.throws(
        () => decodeTile(codec, payload, shape, dtype),
        RangeError,
        `${codec} ${dtype} [${shape}]`,
      );
      assert.ok(performance.now() - t0 < 20, `${codec} [${shape}] was not refused at once`);
    }
  }
  assert.equal(MAX_TILE_BYTES, 256 * 2 ** 20);
  // a genuine tile still decodes
  const v = VECTORS.find((x) => x.raw.length >= 4096);
  assert.deepEqual(decodeTile("lz4", v.lz4, [v.raw.length], "uint8"), v.raw);
});
