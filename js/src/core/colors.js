/**
 * Hashed label colours, uint64-safe: a label id is hashed from its two 32-bit halves (lo, hi).
 * Mirrored in `voxwidget/colors.py`. Label 0 is background and transparent.
 * @module core/colors
 */

/**
 * murmur3's 32-bit finaliser.
 * @param {number} h
 * @returns {number} an unsigned 32-bit integer
 */
export function fmix32(h) {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The display colour of the label whose low and high 32-bit halves are `lo` and `hi`.
 * (Label 0 has no colour; callers treat it as transparent.)
 * @param {number} lo low 32 bits (unsigned)
 * @param {number} hi high 32 bits (unsigned)
 * @returns {[number, number, number]} RGB, each 48 … 255
 */
export function labelRGB(lo, hi) {
  const h = fmix32((lo ^ fmix32((hi ^ 0x9e3779b9) >>> 0)) >>> 0);
  return [48 + ((h & 0xff) % 208), 48 + (((h >>> 8) & 0xff) % 208), 48 + (((h >>> 16) & 0xff) % 208)];
}

/**
 * The colour of a label given as a BigInt or a decimal string.
 * @param {bigint|string|number} label
 * @returns {[number, number, number]|null} null for 0 (transparent)
 */
export function labelRGBOf(label) {
  const v = BigInt(label);
  if (v === 0n) return null;
  return labelRGB(Number(v & 0xffffffffn), Number((v >> 32n) & 0xffffffffn));
}

/**
 * The colour packed as a little-endian RGBA uint32 (alpha 255), ready for a Uint32Array view
 * of ImageData; 0 (fully transparent) for label 0.
 * @param {number} lo
 * @param {number} hi
 * @returns {number}
 */
export function labelRGBA32(lo, hi) {
  if (lo === 0 && hi === 0) return 0;
  const [r, g, b] = labelRGB(lo, hi);
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}
