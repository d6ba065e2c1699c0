/**
 * Element types of tiles and label maps: the typed array of each dtype name the protocol knows
 * (little-endian, as the kernel sends them).
 * @module core/dtypes
 */

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
