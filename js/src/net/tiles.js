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
 * The largest decoded tile accepted (bytes): a tile is a chunk's plane or a whole chunk; anything
 * claiming more is refused before a byte is allocated.
 */
export const MAX_TILE_BYTES = 256 * 2 ** 20;
/**
 * LZ4 cannot expand its input more than this (a match of length 15 + 255·k costs k + 3 bytes):
 * a payload claiming more decoded bytes is a bomb, refused before allocating.
 */
const LZ4_MAX_RATIO = 255;

/**
 * Check a tile record's shape and dtype and return its element count, before anything is allocated.
 * @param {number[]} shape
 * @param {string} dtype
 * @returns {{T: Function, count: number, nbytes: number}}
 * @throws {TypeError|RangeError} naming the bad dtype or shape
 */
export function tileSize(shape, dtype) {
  const T = Object.hasOwn(TYPED, dtype) ? TYPED[dtype] : null;
  if (!T) throw new TypeError(`tile dtype '${dtype}' is not one of ${Object.keys(TYPED).join(", ")}`);
  if (!Array.isArray(shape) || shape.length < 1 || shape.length > 3) {
    throw new RangeError(`tile shape ${JSON.stringify(shape)} is not a list of 1 to 3 sizes`);
  }
  let count = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new RangeError(`tile shape [${shape}] is invalid`);
    count *= s;
  }
  const nbytes = count * T.BYTES_PER_ELEMENT;
  if (!(nbytes <= MAX_TILE_BYTES)) {
    throw new RangeError(
      `tile shape [${shape}] of ${dtype} is ${nbytes} bytes, over the ${MAX_TILE_BYTES}-byte limit`,
    );
  }
  return { T, count, nbytes };
}

/**
 * Decode one tile payload.
 * @param {string} codec "lz4", "lz4s", "raw" or "zero"
 * @param {Uint8Array|null} payload
 * @param {number[]} shape
 * @param {string} dtype
 * @returns {ArrayBufferView} a typed array of the dtype (an aligned raw tile: a view of the payload)
 * @throws {TypeError|RangeError|import("./lz4.js").LZ4Error} for a bad shape, dtype, size or stream;
 *   sizes are checked before anything is allocated (a payload that claims more than LZ4 can expand
 *   to, or a tile over {@link MAX_TILE_BYTES}, is refused)
 */
export function decodeTile(codec, payload, shape, dtype) {
  const { T, count, nbytes } = tileSize(shape, dtype);
  if (codec === "zero") return new T(count);
  let out;
  if (codec === "raw") {
    if (!payload || payload.length !== nbytes) {
      throw new RangeError(`raw tile payload has ${payload ? payload.length : 0} bytes, expected ${nbytes}`);
    }
    const at = payload.byteOffset;
    if (at % T.BYTES_PER_ELEMENT === 0) return new T(payload.buffer, at, count);
    out = payload.slice(); // unaligned: a copy into a fresh ArrayBuffer of exactly nbytes
  } else if (codec === "lz4" || codec === "lz4s") {
    if (!payload) throw new RangeError(`${codec} tile without a payload`);
    if (nbytes > payload.length * LZ4_MAX_RATIO + 16) {
      throw new RangeError(
        `${codec} tile of ${payload.length} bytes claims ${nbytes} decoded bytes, more than LZ4 can expand to`,
      );
    }
    out =
      codec === "lz4"
        ? lz4DecodeBlock(payload, new Uint8Array(nbytes))
        : lz4DecodeShuffled(payload, new Uint8Array(nbytes), T.BYTES_PER_ELEMENT);
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
  const { T, count } = tileSize(shape, dtype); // checked now, allocated when first used
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

/**
 * A tile (or 3D brick) record for the memory cache (store/tilecache.js describes its fields), made
 * the same way for tiles the kernel sent (net/replies.js, net/bricks.js) and tiles read back from the
 * persistent cache (net/persistence.js, net/bricks.js).
 * @param {object} p
 * @param {string} p.id the cache id (store/tilecache.js `tileId`)
 * @param {string} p.layer
 * @param {number} p.level
 * @param {number} [p.axis] the plane's axis, -1 for a whole chunk
 * @param {number} [p.index] the plane's index, -1 for a whole chunk
 * @param {string} p.ks the chunk key as a string ("z,y,x")
 * @param {number[]} [p.key] the chunk key (parsed from `ks` when not given)
 * @param {number} p.version
 * @param {number[]} p.shape
 * @param {string} p.dtype
 * @param {ArrayLike<number>|null} p.data null: all zero, made when first used (lazyZeroData)
 * @param {boolean} [p.stale] older than the kernel's latest version, or not confirmed yet
 * @returns {object}
 */
export function makeTile({
  id,
  layer,
  level,
  axis = -1,
  index = -1,
  ks,
  key,
  version,
  shape,
  dtype,
  data,
  stale = false,
}) {
  const tile = {
    id,
    layer,
    level,
    axis,
    index,
    key: key ?? ks.split(",").map(Number),
    ks,
    version,
    shape,
    dtype,
    data,
    rev: 0, // local paint bumps it
    stale,
    dirty: false,
    overlaid: null,
    zero: data === null, // all zero while rev is 0
  };
  if (data === null) lazyZeroData(tile, shape, dtype); // made when first used
  return tile;
}
