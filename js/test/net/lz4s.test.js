import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { TYPED } from "../../src/core/dtypes.js";
import { LZ4Error, lz4DecodeShuffled, unshuffleBytes } from "../../src/net/lz4.js";
import { decodeTile } from "../../src/net/tiles.js";

// "lz4s" tiles: LZ4 of the little-endian bytes shuffled by byte position (byte 0 of every element,
// then byte 1, …). The fixtures are the kernel's own encoder output (python-lz4).
const { vectors } = JSON.parse(readFileSync(new URL("../fixtures/lz4s-vectors.json", import.meta.url)));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const u8 = (a) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const sha = (a) => createHash("sha256").update(u8(a)).digest("hex");
const vector = (name) => vectors.find((v) => v.name === name);
const known = (dtype, values) =>
  values.map((v) => (TYPED[dtype] === BigInt64Array || TYPED[dtype] === BigUint64Array ? BigInt(v) : v));

/** A valid LZ4 block holding `data` as literals only (one sequence, no match). */
function literalBlock(data) {
  const out = [];
  if (data.length < 15) {
    out.push(data.length << 4);
  } else {
    out.push(0xf0);
    let rest = data.length - 15;
    while (rest >= 255) {
      out.push(255);
      rest -= 255;
    }
    out.push(rest);
  }
  return Uint8Array.from([...out, ...data]);
}

test("decodes the kernel's lz4s tiles of every sample dtype exactly", () => {
  const dtypes = new Set(vectors.map((v) => v.dtype));
  for (const d of ["uint16", "uint32", "uint64", "float32", "int16", "int64", "float64"]) {
    assert.ok(dtypes.has(d), d);
  }
  for (const v of vectors) {
    const data = decodeTile("lz4s", bytes(v.compressed), v.shape, v.dtype);
    assert.ok(data instanceof TYPED[v.dtype], v.name);
    assert.equal(
      data.length,
      v.shape.reduce((a, b) => a * b, 1),
      v.name,
    );
    assert.equal(sha(data), v.sha256, v.name);
    assert.deepEqual([...data.subarray(0, v.head.length)], known(v.dtype, v.head), v.name);
    if (v.values) assert.deepEqual([...data], known(v.dtype, v.values), v.name);
    assert.equal(data.byteOffset, 0, v.name);
    assert.equal(data.buffer.byteLength, data.byteLength, `${v.name} owns a buffer of just its bytes`);
  }
});

test("known values through hand-shuffled literal blocks", () => {
  const cases = [
    ["uint16", [2], [0x02, 0xfe, 0x01, 0xff], [0x0102, 0xfffe]],
    ["int16", [3], [0xfe, 0x2c, 0x00, 0xff, 0x01, 0x80], [-2, 300, -32768]],
    ["uint32", [2], [0x04, 0x98, 0x03, 0xba, 0x02, 0xdc, 0x01, 0xfe], [0x01020304, 0xfedcba98]],
    ["int32", [2], [0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x80], [-1, -(2 ** 31)]],
    ["float32", [2], [0, 0, 0, 0, 0xc0, 0x50, 0xbf, 0x40], [-1.5, 3.25]],
    [
      "uint64",
      [2],
      [0x08, 0xff, 0x07, 0xff, 0x06, 0xff, 0x05, 0xff, 0x04, 0xff, 0x03, 0xff, 0x02, 0xff, 0x01, 0xff],
      [0x0102030405060708n, 2n ** 64n - 1n],
    ],
    ["float64", [1], [0, 0, 0, 0, 0, 0, 0x04, 0xc0], [-2.5]],
  ];
  for (const [dtype, shape, shuffled, want] of cases) {
    const data = decodeTile("lz4s", literalBlock(shuffled), shape, dtype);
    assert.ok(data instanceof TYPED[dtype], dtype);
    assert.deepEqual([...data], want, dtype);
  }
  // a bigger one: literal length past 15 and 255, 2-byte elements
  const values = Uint16Array.from({ length: 300 }, (_, i) => (i * 2654435761) >>> 16);
  const shuffled = new Uint8Array(600);
  for (let i = 0; i < 300; i++) {
    shuffled[i] = values[i] & 255;
    shuffled[300 + i] = values[i] >>> 8;
  }
  assert.deepEqual(decodeTile("lz4s", literalBlock(shuffled), [20, 15], "uint16"), values);
});

test("every element size unshuffles alike on the fast paths and the generic loop", () => {
  for (const size of [1, 2, 4, 8]) {
    const n = 37;
    const src = Uint8Array.from({ length: n * size }, (_, i) => (i * 97 + 13) & 255);
    const want = new Uint8Array(n * size);
    for (let j = 0; j < size; j++) for (let i = 0; i < n; i++) want[i * size + j] = src[j * n + i];
    assert.deepEqual(unshuffleBytes(src, new Uint8Array(n * size), size), want, `size ${size}`);
    // an unaligned output takes the byte loop
    const big = new Uint8Array(n * size + 1);
    unshuffleBytes(src, big.subarray(1), size);
    assert.deepEqual(big.subarray(1), want, `size ${size}, unaligned`);
  }
  assert.throws(
    () => unshuffleBytes(new Uint8Array(6), new Uint8Array(6), 4),
    /6 bytes into 6 bytes of 4-byte/,
  );
  assert.throws(() => unshuffleBytes(new Uint8Array(4), new Uint8Array(8), 4), /4 bytes into 8 bytes/);
});

test("tiles decoded one after the other keep their own data (the scratch buffer is not shared)", () => {
  const a = vector("noisy uint16 64x64");
  const b = vector("labels uint32 64x64");
  const first = decodeTile("lz4s", bytes(a.compressed), a.shape, a.dtype);
  const second = decodeTile("lz4s", bytes(b.compressed), b.shape, b.dtype);
  const third = decodeTile("lz4s", bytes(a.compressed), a.shape, a.dtype);
  assert.equal(sha(first), a.sha256);
  assert.equal(sha(second), b.sha256);
  assert.notEqual(first.buffer, third.buffer);
  // a tile bigger than the scratch buffer decodes into a temporary
  const n = 300 * 1024;
  const out = lz4DecodeShuffled(literalBlock(new Uint8Array(n).fill(7)), new Uint8Array(n), 4);
  assert.ok(out.every((v) => v === 7));
});

test("wrong sizes and corrupt lz4s payloads throw, naming the values", () => {
  const v = vector("noisy uint16 64x64");
  const src = bytes(v.compressed);
  assert.throws(() => decodeTile("lz4s", src, [64, 63], "uint16"), LZ4Error);
  assert.throws(() => decodeTile("lz4s", src, [64, 65], "uint16"), LZ4Error);
  assert.throws(
    () => decodeTile("lz4s", literalBlock(new Uint8Array(6)), [2], "uint16"),
    /literal run of 6 bytes overruns the 4-byte output/,
  );
  assert.throws(
    () => decodeTile("lz4s", literalBlock(new Uint8Array(2)), [2], "uint16"),
    /LZ4 block decoded to 2 bytes, expected 4/,
  );
  assert.throws(() => decodeTile("lz4s", src.subarray(0, src.length >> 1), v.shape, v.dtype), LZ4Error);
  assert.throws(() => decodeTile("lz4s", null, [2], "uint16"), /lz4s tile without a payload/);
  let seed = 99;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (let k = 0; k < 200; k++) {
    const bad = src.slice();
    bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
    try {
      decodeTile("lz4s", bad, v.shape, v.dtype);
    } catch (e) {
      assert.ok(e instanceof LZ4Error, String(e));
    }
  }
});
