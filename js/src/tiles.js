/**
 * Tile payload decoding (mirror of `voxwidget/tiles.py`) and the memory LRU tile cache.
 *
 * A tile is one chunk cut by a plane (`axis`, `index`) or a whole chunk (`axis = -1`), holding
 * `data` (a typed array of its dtype, little-endian, C order) at `version`. Cache entries are
 * plain objects:
 * `{id, layer, level, axis, index, key, ks, version, shape, dtype, data, bytes, rev, stale, dirty, overlaid}`
 * - `rev` counts in-place writes (optimistic paint), so renderers know to recompose;
 * - `stale`: the kernel has a newer version; refetch with `known = version`;
 * - `dirty`: the data holds voxels that never reached the kernel (a rejected batch); refetch whole.
 * @module tiles
 */

import { keyString } from "./grid.js";
import { lz4DecodeBlock, lz4DecodeShuffled } from "./lz4.js";

/** Typed array constructor per dtype name. */
export const TYPED = Object.freeze({
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  float32: Float32Array,
  float64: Float64Array,
});

/**
 * Bytes of one element of `dtype`.
 * @param {string} dtype
 * @returns {number}
 */
export function itemSize(dtype) {
  const T = TYPED[dtype];
  if (!T) throw new TypeError(`unsupported dtype '${dtype}'`);
  return T.BYTES_PER_ELEMENT;
}

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

/**
 * The cache id of a tile.
 * @param {string} layer
 * @param {number} level
 * @param {number} axis plane axis or -1 for a whole chunk
 * @param {number} index plane index or -1
 * @param {string} ks chunk key string
 * @returns {string}
 */
export function tileId(layer, level, axis, index, ks) {
  return `${layer}/${level}/${axis}/${index}/${ks}`;
}

/** Memory LRU of decoded tiles with a per-chunk index. */
export class TileCache {
  /** @param {number} [budget] bytes of tile data to keep */
  constructor(budget = 256 * 2 ** 20) {
    this.budget = budget;
    this.bytes = 0;
    /** @type {Map<string, object>} insertion order = LRU order */
    this.tiles = new Map();
    /** @type {Map<string, Set<string>>} "layer/level/ks" -> tile ids */
    this.byChunk = new Map();
    /** Tiles removed so far (evicted or replaced): a plane found complete may not be any more. */
    this.removals = 0;
  }

  /** @returns {object|undefined} the tile (without touching its LRU position) */
  peek(id) {
    return this.tiles.get(id);
  }

  /** @returns {object|undefined} the tile, marked most recently used */
  get(id) {
    const t = this.tiles.get(id);
    if (t) {
      this.tiles.delete(id);
      this.tiles.set(id, t);
    }
    return t;
  }

  /**
   * Insert or replace a tile (it becomes most recently used).
   * @param {object} tile with at least id, layer, level, ks, data
   */
  set(tile) {
    const old = this.tiles.get(tile.id);
    if (old) this.delete(tile.id);
    tile.bytes = tile.nbytes ?? (tile.data ? tile.data.byteLength : 0);
    this.tiles.set(tile.id, tile);
    this.bytes += tile.bytes;
    const ck = `${tile.layer}/${tile.level}/${tile.ks}`;
    let s = this.byChunk.get(ck);
    if (!s) {
      s = new Set();
      this.byChunk.set(ck, s);
    }
    s.add(tile.id);
  }

  /** Remove a tile. */
  delete(id) {
    const t = this.tiles.get(id);
    if (!t) return;
    this.tiles.delete(id);
    this.removals++;
    this.bytes -= t.bytes;
    const ck = `${t.layer}/${t.level}/${t.ks}`;
    const s = this.byChunk.get(ck);
    if (s) {
      s.delete(id);
      if (!s.size) this.byChunk.delete(ck);
    }
  }

  /**
   * The cached tiles of one chunk (any plane).
   * @param {string} layer
   * @param {number} level
   * @param {string} ks
   * @returns {object[]}
   */
  ofChunk(layer, level, ks) {
    const s = this.byChunk.get(`${layer}/${level}/${ks}`);
    if (!s) return [];
    const out = [];
    for (const id of s) out.push(this.tiles.get(id));
    return out;
  }

  /**
   * Drop least recently used tiles until within budget, sparing the ids in `keep`.
   * @param {Set<string>} [keep]
   */
  evict(keep = new Set()) {
    if (this.bytes <= this.budget) return;
    for (const id of [...this.tiles.keys()]) {
      if (this.bytes <= this.budget) break;
      if (!keep.has(id)) this.delete(id);
    }
  }
}

export { keyString };
