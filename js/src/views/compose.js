/**
 * Pixels of tiles: the image in greyscale through contrast limits (a lookup table for 8/16-bit
 * images), the labels in their hashed colours (label 0 transparent; ids a visibility filter of
 * core/visibility.js hides, too: the label panel's checkboxes and "show selected only"), as RGBA written into a
 * `Uint32Array` over an ImageData; plus the canvases and scratch images the views draw through.
 * @module views/compose
 */

import { labelRGBA32 } from "../core/colors.js";

/**
 * A 2D-drawable canvas of `w` x `h` pixels (an OffscreenCanvas where there is one).
 * @param {number} w
 * @param {number} h
 * @returns {OffscreenCanvas|HTMLCanvasElement}
 */
export function makeCanvas(w, h) {
  if (typeof OffscreenCanvas !== "undefined") return new OffscreenCanvas(w, h);
  const c = document.createElement("canvas");
  c.width = w;
  c.height = h;
  return c;
}

/** Greyscale lookup tables for 8/16-bit images, cached per contrast. */
const luts = new Map();
function lutFor(dtype, lo, hi) {
  const n = dtype === "uint8" ? 256 : dtype === "uint16" ? 65536 : 0;
  if (!n) return null;
  const k = `${dtype}:${lo}:${hi}`;
  let lut = luts.get(k);
  if (!lut) {
    if (luts.size > 8) luts.clear();
    lut = new Uint32Array(n);
    const scale = 255 / (hi - lo);
    for (let x = 0; x < n; x++) {
      const g = Math.max(0, Math.min(255, Math.round((x - lo) * scale)));
      lut[x] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
    }
    luts.set(k, lut);
  }
  return lut;
}

/**
 * Fill `out` (RGBA as uint32) with the greyscale image of `data` through [lo, hi].
 * @param {ArrayLike<number|bigint>} data
 * @param {string} dtype
 * @param {number} lo
 * @param {number} hi
 * @param {Uint32Array} out
 */
export function composeImage(data, dtype, lo, hi, out) {
  const lut = lutFor(dtype, lo, hi);
  const n = out.length;
  if (lut) {
    for (let i = 0; i < n; i++) out[i] = lut[data[i]];
    return;
  }
  const big = typeof data[0] === "bigint";
  const scale = 255 / (hi - lo);
  for (let i = 0; i < n; i++) {
    const x = big ? Number(data[i]) : data[i];
    let g = (x - lo) * scale;
    g = g < 0 ? 0 : g > 255 ? 255 : (g + 0.5) | 0;
    out[i] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
  }
}

const colourCache = new Map(); // lo -> rgba, for labels < 2**32
const colourCacheHi = new Map(); // hi -> Map(lo -> rgba)

/**
 * The RGBA (uint32, little-endian) of a label from its 32-bit halves, cached.
 * @param {number} lo
 * @param {number} hi
 * @returns {number}
 */
export function labelColour(lo, hi) {
  let m = colourCache;
  if (hi) {
    m = colourCacheHi.get(hi);
    if (!m) {
      if (colourCacheHi.size > 4096) colourCacheHi.clear();
      m = new Map();
      colourCacheHi.set(hi, m);
    }
  }
  let c = m.get(lo);
  if (c === undefined) {
    if (m.size > 65536) m.clear();
    c = labelRGBA32(lo, hi);
    m.set(lo, c);
  }
  return c;
}

/**
 * Fill `out` (RGBA as uint32) with the label colours of `data` (0 → transparent).
 * @param {ArrayBufferView} data label typed array (BigUint64Array for uint64)
 * @param {Uint32Array} out
 * @param {import("../core/visibility.js").LabelVisibility|null} [vis] hidden ids are transparent
 */
export function composeLabels(data, out, vis = null) {
  const colour = vis ? (lo, hi) => (vis.visible(lo, hi) ? labelColour(lo, hi) : 0) : labelColour;
  const n = out.length;
  let lastLo = 0;
  let lastHi = 0;
  let last = 0;
  if (data instanceof BigUint64Array) {
    const w = new Uint32Array(data.buffer, data.byteOffset, data.length * 2);
    for (let i = 0; i < n; i++) {
      const lo = w[2 * i];
      const hi = w[2 * i + 1];
      if (lo !== lastLo || hi !== lastHi) {
        lastLo = lo;
        lastHi = hi;
        last = lo === 0 && hi === 0 ? 0 : colour(lo, hi);
      }
      out[i] = last;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const lo = data[i];
    if (lo !== lastLo) {
      lastLo = lo;
      last = lo === 0 ? 0 : colour(lo, 0);
    }
    out[i] = last;
  }
}

/** Scratch ImageData per tile size (composition target before putImageData). */
const scratch = new Map();

/**
 * A scratch ImageData of `cols` x `rows` (reused per size: the composition target before
 * `putImageData`).
 * @param {CanvasRenderingContext2D|OffscreenCanvasRenderingContext2D} ctx
 * @param {number} cols
 * @param {number} rows
 * @returns {ImageData}
 */
export function scratchImage(ctx, cols, rows) {
  const k = `${cols}x${rows}`;
  let im = scratch.get(k);
  if (!im) {
    if (scratch.size > 16) scratch.clear();
    im = ctx.createImageData(cols, rows);
    scratch.set(k, im);
  }
  return im;
}
