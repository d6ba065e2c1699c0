/**
 * Tile payload decoding (mirror of `voxwidget/comm/tiles.py`): a `chunks.data` record's bytes
 * (plain or byte-shuffled LZ4, raw, all-zero) into the typed array of its dtype. The decoded tiles
 * are kept in the memory cache of `store/tilecache.js`, which describes their fields.
 * @module net/tiles
 */

import { TYPED } from "../core/dtypes.js";
import { lz4DecodeBlock, lz4DecodeShuffled } from "./lz4.js";

/**
 * A Uint8Array over a message buffer (DataView, ArrayBuffer or typed array), not a copy.
 * @param {DataView|ArrayBuffer|ArrayBufferView} buf
 * @returns {Uint8Array}
 */
export function asBytes(buf) {
  if (buf instanceof Uint8Array) return buf;
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  throw new TypeError(`a message buffer must be an ArrayBuffer or a view, got ${typeof buf}`);
}

/**
 * The payload of one `chunks.data` tile record: bytes `[rec.offset, rec.offset + rec.nbytes)` of
 * `buffers[rec.buffer]` (see protocol.js), as a view into the message's buffer, or null when the
 * codec carries no bytes (`buffer` -1). {@link decodeTile} keeps an aligned raw payload as a view
 * (the message buffer then lives while that tile is cached) and decodes LZ4 (plain or shuffled) into a
 * buffer of its own.
 * @param {{buffer: number, offset: number, nbytes: number}} rec
 * @param {Array<DataView|ArrayBuffer|ArrayBufferView>} buffers the message's buffers
 * @returns {Uint8Array|null}
 * @throws {RangeError} naming the values when they point outside the message's buffers
 */
export function tilePayload(rec, buffers) {
  const { buffer: b, offset, nbytes } = rec;
  if (b === -1) return null;
  if (!(Number.isInteger(b) && b >= 0 && b < buffers.length)) {
    throw new RangeError(`tile payload in buffer ${b}, but the message has ${buffers.length} buffers`);
  }
  const bytes = asBytes(buffers[b]);
  if (
    !(Number.isInteger(offset) && Number.isInteger(nbytes) && offset >= 0 && nbytes >= 0) ||
    offset + nbytes > bytes.byteLength
  ) {
    throw new RangeError(
      `tile payload at offset ${offset} of ${nbytes} bytes lies outside buffer ${b} of ${bytes.byteLength} bytes`,
    );
  }
  return bytes.subarray(offset, offset + nbytes);
}

/**
 * Decode one tile record's payload into a typed array of its dtype.
 *
 * A raw payload is viewed in place when it is aligned for the dtype (the kernel places payloads at
 * 8-aligned offsets of the message's buffer): allocating an ArrayBuffer per 8 KiB tile cost more
 * than anything else in tile handling (~15 µs each, and garbage collection). The tiles of one
 * message (one plane of one layer) then share its buffer, which lives while any of them is cached;
 * they arrive together and leave the LRU together. Writes into such a tile (painting labels) change
 * only its own bytes. An unaligned raw payload, and every LZ4 one, gets a buffer of its own. An
 * "lz4s" payload is LZ4 of the bytes shuffled by byte position (see protocol.js): decoded into a
 * scratch buffer, then unshuffled into the tile's own.
 * @param {string} codec "lz4" | "lz4s" | "raw" | "zero" ("unchanged" has no data and is refused)
 * @param {Uint8Array|null} payload
 * @param {number[]} shape
 * @param {string} dtype
 * @returns {ArrayBufferView} typed array of `dtype`, product(shape) elements
 * @throws {Error} on an unknown codec, a wrong payload size or corrupt LZ4 data (naming the values)
 */
export function decodeTile(codec, payload, shape, dtype) {
  const T = TYPED[dtype];
  if (!T) throw new TypeError(`tile dtype '${dtype}' is not one of ${Object.keys(TYPED).join(", ")}`);
  let count = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`tile shape [${shape}] is invalid`);
    count *= s;
  }
  const nbytes = count * T.BYTES_PER_ELEMENT;
  if (codec === "zero") return new T(count);
  let out;
  if (codec === "raw") {
    if (!payload || payload.length !== nbytes) {
      throw new RangeError(`raw tile payload has ${payload ? payload.length : 0} bytes, expected ${nbytes}`);
    }
    const at = payload.byteOffset;
    if (at % T.BYTES_PER_ELEMENT === 0) return new T(payload.buffer, at, count);
    out = payload.slice(); // unaligned: a copy into a fresh ArrayBuffer of exactly nbytes
  } else if (codec === "lz4") {
    if (!payload) throw new RangeError("lz4 tile without a payload");
    out = lz4DecodeBlock(payload, new Uint8Array(nbytes));
  } else if (codec === "lz4s") {
    if (!payload) throw new RangeError("lz4s tile without a payload");
    out = lz4DecodeShuffled(payload, new Uint8Array(nbytes), T.BYTES_PER_ELEMENT);
  } else {
    throw new TypeError(`cannot decode a tile with codec '${codec}'; decodable: lz4, lz4s, raw, zero`);
  }
  return new T(out.buffer, 0, count);
}

/**
 * Give an all-zero tile (codec "zero") its `data` lazily: the typed array is made on first access
 * (painting into the tile, reading a voxel), so the many empty label tiles of a big volume cost no
 * memory or garbage collection until used. `tile.nbytes` is 0 (the memory cache does not count
 * what does not exist; a few painted tiles it under-counts).
 * @param {object} tile
 * @param {number[]} shape
 * @param {string} dtype
 * @returns {object} the tile
 */
export function lazyZeroData(tile, shape, dtype) {
  const T = TYPED[dtype];
  if (!T) throw new TypeError(`tile dtype '${dtype}' is not one of ${Object.keys(TYPED).join(", ")}`);
  const count = shape.reduce((a, b) => a * b, 1);
  tile.nbytes = 0;
  Object.defineProperty(tile, "data", {
    configurable: true,
    enumerable: true,
    get() {
      const data = new T(count);
      Object.defineProperty(tile, "data", {
        value: data,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      return data;
    },
    set(value) {
      Object.defineProperty(tile, "data", { value, writable: true, enumerable: true, configurable: true });
    },
  });
  return tile;
}
