/**
 * LZ4 *block* decoder (no frame, no size prefix): the output size is known from the tile's shape
 * and dtype. Corrupt input throws {@link LZ4Error}; it never reads or writes out of bounds. Also the
 * byte unshuffle of the "lz4s" tile codec ({@link lz4DecodeShuffled}).
 * @module net/lz4
 */

/** A corrupt or truncated LZ4 block. */
export class LZ4Error extends Error {
  constructor(message) {
    super(message);
    this.name = "LZ4Error";
  }
}

/**
 * Decode one LZ4 block into `out`, which must have exactly the decompressed size.
 * @param {Uint8Array} src the compressed block
 * @param {Uint8Array} out preallocated output, filled completely
 * @returns {Uint8Array} `out`
 * @throws {LZ4Error} when the block is corrupt or does not decode to exactly `out.length` bytes
 */
export function lz4DecodeBlock(src, out) {
  const n = src.length;
  const m = out.length;
  let ip = 0;
  let op = 0;
  if (n === 0) {
    if (m === 0) return out;
    throw new LZ4Error(`empty LZ4 block, expected ${m} bytes of output`);
  }
  for (;;) {
    if (ip >= n) throw new LZ4Error(`LZ4 block truncated at input byte ${ip}`);
    const token = src[ip++];
    // literals
    let lit = token >>> 4;
    if (lit === 15) {
      let b;
      do {
        if (ip >= n) throw new LZ4Error("LZ4 block truncated in a literal length");
        b = src[ip++];
        lit += b;
      } while (b === 255);
    }
    if (lit > n - ip) throw new LZ4Error(`LZ4 literal run of ${lit} bytes overruns the input at ${ip}`);
    if (lit > m - op) throw new LZ4Error(`LZ4 literal run of ${lit} bytes overruns the ${m}-byte output`);
    if (lit > 16) {
      out.set(src.subarray(ip, ip + lit), op);
      ip += lit;
      op += lit;
    } else {
      for (let e = ip + lit; ip < e; ) out[op++] = src[ip++]; // short: cheaper than a subarray
    }
    if (ip === n) break; // the last sequence has literals only
    // match
    if (n - ip < 2) throw new LZ4Error("LZ4 block truncated in a match offset");
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op) {
      throw new LZ4Error(`LZ4 match offset ${offset} at output byte ${op} is invalid`);
    }
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b;
      do {
        if (ip >= n) throw new LZ4Error("LZ4 block truncated in a match length");
        b = src[ip++];
        len += b;
      } while (b === 255);
    }
    if (len > m - op) throw new LZ4Error(`LZ4 match of ${len} bytes overruns the ${m}-byte output`);
    let from = op - offset;
    const end = op + len;
    if (len < 32) {
      while (op < end) out[op++] = out[from++]; // short: cheaper than a copyWithin call
    } else if (offset >= len) {
      out.copyWithin(op, from, from + len);
      op = end;
    } else {
      // a long overlapping match (a run, e.g. a constant byte plane of an "lz4s" tile): copy the
      // period in doubling steps, each from the start of the pattern and never overlapping itself
      while (op < end) {
        const k = Math.min(op - from, end - op);
        out.copyWithin(op, from, from + k);
        op += k;
      }
    }
  }
  if (op !== m) throw new LZ4Error(`LZ4 block decoded to ${op} bytes, expected ${m}`);
  return out;
}

/** Shuffled blocks up to this size decode into one reused scratch buffer (bigger: a temporary). */
const SCRATCH_MAX = 256 * 1024;
let scratch = new Uint8Array(0);

/**
 * Decode one "lz4s" block: LZ4 of the elements' little-endian bytes grouped by byte position (byte
 * 0 of every element, then byte 1, …; blosc's shuffle). The block is decoded into a scratch buffer,
 * then unshuffled into `out`.
 * @param {Uint8Array} src the compressed block
 * @param {Uint8Array} out preallocated output of exactly the decompressed size (a multiple of `size`)
 * @param {number} size bytes per element (the dtype's itemsize)
 * @returns {Uint8Array} `out`
 * @throws {LZ4Error} when the block is corrupt or does not decode to exactly `out.length` bytes
 */
export function lz4DecodeShuffled(src, out, size) {
  const m = out.length;
  let tmp;
  if (m <= SCRATCH_MAX) {
    if (scratch.length < m) scratch = new Uint8Array(Math.max(m, 2 * scratch.length, 8192));
    tmp = scratch.subarray(0, m);
  } else {
    tmp = new Uint8Array(m);
  }
  lz4DecodeBlock(src, tmp);
  return unshuffleBytes(tmp, out, size);
}

/**
 * Regroup shuffled bytes (all bytes 0 of the elements, then all bytes 1, …) into whole elements.
 * Two- and four-byte elements are built whole through a Uint16Array/Uint32Array view of `out`
 * (little-endian, as every browser is); other sizes byte by byte.
 * @param {Uint8Array} src the shuffled bytes
 * @param {Uint8Array} out as many bytes, receiving the elements (must not overlap `src`)
 * @param {number} size bytes per element
 * @returns {Uint8Array} `out`
 * @throws {RangeError} when the lengths differ or are not a multiple of `size`
 */
export function unshuffleBytes(src, out, size) {
  const m = out.length;
  if (src.length !== m || !(Number.isInteger(size) && size > 0) || m % size !== 0) {
    throw new RangeError(`cannot unshuffle ${src.length} bytes into ${m} bytes of ${size}-byte elements`);
  }
  const n = m / size;
  if (size === 1) {
    out.set(src);
  } else if (size === 2 && out.byteOffset % 2 === 0) {
    const o = new Uint16Array(out.buffer, out.byteOffset, n);
    for (let i = 0; i < n; i++) o[i] = src[i] | (src[n + i] << 8);
  } else if (size === 4 && out.byteOffset % 4 === 0) {
    const o = new Uint32Array(out.buffer, out.byteOffset, n);
    const n2 = 2 * n;
    const n3 = 3 * n;
    for (let i = 0; i < n; i++) {
      o[i] = (src[i] | (src[n + i] << 8) | (src[n2 + i] << 16) | (src[n3 + i] << 24)) >>> 0;
    }
  } else {
    for (let j = 0; j < size; j++) {
      const plane = j * n;
      for (let i = 0, k = j; i < n; i++, k += size) out[k] = src[plane + i];
    }
  }
  return out;
}
