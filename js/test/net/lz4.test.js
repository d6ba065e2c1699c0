import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { LZ4Error, lz4DecodeBlock } from "../../src/net/lz4.js";

const { vectors } = JSON.parse(readFileSync(new URL("../fixtures/lz4-vectors.json", import.meta.url)));
const bytes = (b64) => new Uint8Array(Buffer.from(b64, "base64"));
const sha = (u8) => createHash("sha256").update(u8).digest("hex");

test("decodes python-lz4 blocks exactly", () => {
  assert.ok(vectors.length >= 8);
  for (const v of vectors) {
    const out = lz4DecodeBlock(bytes(v.compressed), new Uint8Array(v.size));
    assert.equal(sha(out), v.sha256, v.name);
    if (v.raw !== null) assert.deepEqual(out, bytes(v.raw), v.name);
  }
});

test("a wrong output size throws", () => {
  const v = vectors.find((x) => x.name === "zeros 4096");
  assert.throws(() => lz4DecodeBlock(bytes(v.compressed), new Uint8Array(v.size - 1)), LZ4Error);
  assert.throws(() => lz4DecodeBlock(bytes(v.compressed), new Uint8Array(v.size + 1)), LZ4Error);
});

test("truncated and corrupt blocks throw, never read or write out of bounds", () => {
  for (const v of vectors) {
    const src = bytes(v.compressed);
    for (const cut of [1, 2, 3, Math.floor(src.length / 2)]) {
      if (cut >= src.length) continue;
      assert.throws(
        () => lz4DecodeBlock(src.subarray(0, src.length - cut), new Uint8Array(v.size)),
        LZ4Error,
        `${v.name} cut by ${cut}`,
      );
    }
  }
  // offset 0, offset before the start of the output, and a literal run past the input
  assert.throws(() => lz4DecodeBlock(Uint8Array.of(0x10, 0x41, 0x00, 0x00), new Uint8Array(10)), /offset 0/);
  assert.throws(() => lz4DecodeBlock(Uint8Array.of(0x10, 0x41, 0x05, 0x00), new Uint8Array(10)), /offset 5/);
  assert.throws(() => lz4DecodeBlock(Uint8Array.of(0x50, 0x41), new Uint8Array(10)), /overruns the input/);
  assert.throws(() => lz4DecodeBlock(Uint8Array.of(0xf0, 0xff), new Uint8Array(10)), LZ4Error);
  // fuzz: random mutations decode or throw LZ4Error, nothing else
  let seed = 12345;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  for (const v of vectors) {
    for (let k = 0; k < 200; k++) {
      const src = bytes(v.compressed).slice();
      if (!src.length) continue;
      src[Math.floor(rnd() * src.length)] = Math.floor(rnd() * 256);
      const out = new Uint8Array(v.size);
      try {
        lz4DecodeBlock(src, out);
      } catch (e) {
        assert.ok(e instanceof LZ4Error, `${v.name}: ${e}`);
      }
    }
  }
});

test("overlapping matches (run-length) decode", () => {
  // literal 'a', then a match of offset 1 length 4+5=9 -> 10 'a', then a literal-only last sequence 'b'
  const src = Uint8Array.of(0x15, 0x61, 0x01, 0x00, 0x10, 0x62);
  const out = lz4DecodeBlock(src, new Uint8Array(11));
  assert.equal(Buffer.from(out).toString(), "aaaaaaaaaab");
});

test("long overlapping matches (copied in doubling steps) and short ones decode", () => {
  // 'abc', then a match of offset 3 and length 4 + 15 + 81 = 100, then 'defgh' (python-lz4 agrees)
  const periodic = Uint8Array.of(0x3f, 0x61, 0x62, 0x63, 3, 0, 81, 0x50, 0x64, 0x65, 0x66, 0x67, 0x68);
  const out = lz4DecodeBlock(periodic, new Uint8Array(108));
  assert.equal(Buffer.from(out).toString(), `${"abc".repeat(34)}adefgh`);
  // 'x', then a run of offset 1 and length 4 + 15 + 255 + 255 + 10 = 539, then 'yyyyy'
  const run = Uint8Array.of(0x1f, 0x78, 1, 0, 255, 255, 10, 0x50, 0x79, 0x79, 0x79, 0x79, 0x79);
  assert.equal(Buffer.from(lz4DecodeBlock(run, new Uint8Array(545))).toString(), `${"x".repeat(540)}yyyyy`);
  // a non-overlapping long match: 40 literals, then a copy of all of them (offset 40, length 40)
  const lits = Array.from({ length: 40 }, (_, i) => 65 + (i % 26));
  const copy = Uint8Array.of(0xf0 | 15, 25, ...lits, 40, 0, 40 - 4 - 15, 0x50, 1, 2, 3, 4, 5);
  const got = lz4DecodeBlock(copy, new Uint8Array(85));
  assert.deepEqual([...got], [...lits, ...lits, 1, 2, 3, 4, 5]);
});
