/**
 * LZ4 *block* decoder (no frame, no size prefix): the output size is known from the tile's shape
 * and dtype. Corrupt input throws {@link LZ4Error}; it never reads or writes out of bounds.
 * @module lz4
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
    if (lit > 0) {
      out.set(src.subarray(ip, ip + lit), op);
      ip += lit;
      op += lit;
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
    if (offset >= len) {
      out.copyWithin(op, from, from + len);
      op += len;
    } else {
      const end = op + len;
      while (op < end) out[op++] = out[from++];
    }
  }
  if (op !== m) throw new LZ4Error(`LZ4 block decoded to ${op} bytes, expected ${m}`);
  return out;
}
