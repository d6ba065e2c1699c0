/**
 * Canvas rendering of one slice: the image in greyscale through `contrast` limits, the labels in
 * their hashed colours at `opacity` (label 0 transparent), nearest-neighbour, with a pan/zoom
 * transform and the brush outline at the cursor.
 *
 * Mosaics: per layer and level, the tiles of the shown plane are composed into one canvas at the
 * level's resolution (a {@link Mosaic}); a tile is composed (LUT or label colours, one
 * `putImageData`) once per tile object, `rev` and contrast, so a draw costs one scaled `drawImage`
 * per level and layer whatever the tile count (drawing 300 small bitmaps per slice cost ~30 ms in a
 * software-rendered Chromium, a mosaic blit a few ms). Coarser levels are skipped once the finest
 * drawn level covers every visible chunk; labels are drawn with `globalAlpha = opacity`, straight
 * onto the slice when one level holds label voxels, through a labels layer otherwise (a finer tile
 * replaces the coarse labels under it). Redraws are coalesced with requestAnimationFrame.
 *
 * Coordinates: a voxel `(u, v)` of the plane covers `[u, u+1) × [v, v+1)`; CSS pixel
 * `x = (u - centerU) * scale + width / 2` (same for v/y).
 *
 * Levels of detail: with `state.levels` (`[{shape, downsample}]`, finest first) the view plans its
 * fetches with lod.js (the coarsest level, then the level the zoom needs) and draws each layer
 * coarse to fine, so the coarsest available tile shows under finer ones until they arrive; a
 * level-L tile covers level-0 voxels `key * chunks * d …`. Labels are composed on their own layer
 * (a finer tile replaces what is under it) and drawn once with `opacity`. Paint always maps the
 * screen to level-0 voxels.
 * @module view2d
 */

import { labelRGBA32 } from "./colors.js";
import { chunkOf, planeAxes, tileIndex, visibleKeys } from "./grid.js";
import { planView } from "./lod.js";

const BACKGROUND = "#1b1b1d";
const VOLUME = "#2a2a2e";

function makeCanvas(w, h) {
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
 */
export function composeLabels(data, out) {
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
        last = lo === 0 && hi === 0 ? 0 : labelColour(lo, hi);
      }
      out[i] = last;
    }
    return;
  }
  for (let i = 0; i < n; i++) {
    const lo = data[i];
    if (lo !== lastLo) {
      lastLo = lo;
      last = lo === 0 ? 0 : labelColour(lo, 0);
    }
    out[i] = last;
  }
}

/** Mosaic canvases are kept only up to this many pixels (larger planes draw tile by tile). */
export const MOSAIC_MAX_PIXELS = 8192 * 8192;

/**
 * The tiles of one plane of one layer at one level, composed into one canvas at level resolution.
 * Slot `ks` (a chunk key string) covers level voxels `(key[u] - ku0) * cu …` horizontally and
 * `(key[v] - kv0) * cv …` vertically of the canvas.
 */
export class Mosaic {
  /**
   * @param {object} p
   * @param {number} p.axis
   * @param {number} p.index plane index at this level
   * @param {number} p.ku0 first chunk index along u
   * @param {number} p.ku1 one past the last
   * @param {number} p.kv0
   * @param {number} p.kv1
   * @param {number} p.cu chunk size along u
   * @param {number} p.cv
   * @param {{canvas: object, ctx: object}} [p.reuse] a canvas of the same size to clear and reuse
   */
  constructor({ axis, index, ku0, ku1, kv0, kv1, cu, cv, reuse = null }) {
    Object.assign(this, { axis, index, ku0, ku1, kv0, kv1, cu, cv });
    const w = (ku1 - ku0) * cu;
    const h = (kv1 - kv0) * cv;
    if (reuse && reuse.canvas.width === w && reuse.canvas.height === h) {
      this.canvas = reuse.canvas;
      this.ctx = reuse.ctx;
      this.ctx.clearRect(0, 0, w, h);
    } else {
      this.canvas = makeCanvas(w, h);
      this.ctx = this.canvas.getContext("2d");
    }
    /**
     * Tile id -> what the mosaic composed there.
     * @type {Map<string, {tile: object, rev: number, ck: string, rows: number, cols: number, content: boolean}>}
     */
    this.slots = new Map();
    this.content = 0; // slots holding non-transparent pixels
  }

  /** Whether chunk range `[ku0, ku1) × [kv0, kv1)` of plane `axis = index` fits in this mosaic. */
  holds(axis, index, ku0, ku1, kv0, kv1) {
    return (
      axis === this.axis &&
      index === this.index &&
      ku0 >= this.ku0 &&
      ku1 <= this.ku1 &&
      kv0 >= this.kv0 &&
      kv1 <= this.kv1
    );
  }
}

/** Scratch ImageData per tile size (composition target before putImageData). */
const scratch = new Map();
function scratchImage(ctx, cols, rows) {
  const k = `${cols}x${rows}`;
  let im = scratch.get(k);
  if (!im) {
    if (scratch.size > 16) scratch.clear();
    im = ctx.createImageData(cols, rows);
    scratch.set(k, im);
  }
  return im;
}

export class View2D {
  /**
   * @param {object} p
   * @param {HTMLCanvasElement} p.canvas
   * @param {import("./client.js").ChunkClient} p.client
   * @param {() => void} [p.onViewChange] called (once per frame) when the visible set may have changed
   */
  constructor({ canvas, client, onViewChange = () => {} }) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.client = client;
    this.onViewChange = onViewChange;
    this.state = {
      shape: [1, 1, 1],
      chunks: [64, 64, 64],
      axis: 0,
      index: 0,
      centerU: 0.5,
      centerV: 0.5,
      zoom: 0, // 0 = fit
      levels: [], // [{shape, downsample}] finest first; empty: level 0 only
      voxelSize: null, // [z, y, x] physical voxel size: the v/u aspect on screen
      opacity: 0.5,
      contrast: [0, 255],
      tool: "brush",
      radius: 5,
      cursor: null, // {x, y} css px within the canvas
    };
    this.width = 1;
    this.height = 1;
    this.dpr = 1;
    this.bitmaps = new WeakMap(); // tile -> {canvas, ctx, image, rev, ck} (planes too big for a mosaic)
    /** @type {Map<string, Mosaic>} "layer/level" -> the shown plane's mosaic */
    this.mosaics = new Map();
    this.composed = 0; // tiles composed into mosaics (stats)
    this.frame = null;
    this.viewDirty = true;
    this.draws = 0;
    this.drawMs = 0;
    this.raf = globalThis.requestAnimationFrame?.bind(globalThis) ?? ((f) => setTimeout(f, 16));
    this.caf = globalThis.cancelAnimationFrame?.bind(globalThis) ?? clearTimeout;
  }

  /** @returns {boolean} a redraw is queued */
  get drawPending() {
    return this.frame !== null;
  }

  /**
   * Update view state (redrawn when a value changed); the visible chunk set is replanned when
   * the plane, the pan/zoom or the volume changed.
   * @param {object} partial
   */
  set(partial) {
    let view = false;
    for (const k of [
      "shape",
      "chunks",
      "axis",
      "index",
      "centerU",
      "centerV",
      "zoom",
      "levels",
      "voxelSize",
    ]) {
      if (k in partial && partial[k] !== this.state[k]) view = true;
    }
    let changed = view;
    for (const k in partial) if (partial[k] !== this.state[k]) changed = true;
    Object.assign(this.state, partial);
    if (view) this.viewDirty = true;
    if (changed) this.invalidate(); // e.g. the kernel echoing the position this view set: no redraw
  }

  /** Set the CSS size of the canvas (and its backing store, by devicePixelRatio). */
  resize(width, height) {
    const dpr = globalThis.devicePixelRatio || 1;
    if (width === this.width && height === this.height && dpr === this.dpr) return;
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.dpr = dpr;
    this.canvas.width = Math.round(this.width * dpr);
    this.canvas.height = Math.round(this.height * dpr);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.viewDirty = true;
    this.invalidate();
  }

  /** @returns {{u: number, v: number}} in-plane array axes */
  get axes() {
    return planeAxes(this.state.axis);
  }

  /** The plane's extent in voxels along u and v. */
  get planeSize() {
    const { u, v } = this.axes;
    return { nu: this.state.shape[u], nv: this.state.shape[v] };
  }

  /**
   * Screen height of a voxel relative to its width: `voxelSize[v] / voxelSize[u]`, so anisotropic
   * voxels show with their physical aspect (1 without a voxel size).
   * @returns {number}
   */
  get aspect() {
    const vs = this.state.voxelSize;
    if (vs?.length !== 3) return 1;
    const { u, v } = this.axes;
    const a = vs[v] / vs[u];
    return Number.isFinite(a) && a > 0 ? a : 1;
  }

  /** @returns {number} the px-per-voxel scale (along u) that fits the plane into the canvas */
  get fitScale() {
    const { nu, nv } = this.planeSize;
    return Math.max(1e-6, Math.min(this.width / nu, this.height / (nv * this.aspect)));
  }

  /** @returns {number} effective CSS px per voxel */
  get scale() {
    return this.state.zoom > 0 ? this.state.zoom : this.fitScale;
  }

  /** @returns {{cu: number, cv: number}} the plane point at the canvas centre */
  get centre() {
    if (this.state.zoom > 0) return { cu: this.state.centerU, cv: this.state.centerV };
    const { nu, nv } = this.planeSize;
    return { cu: nu / 2, cv: nv / 2 };
  }

  /**
   * Plane coordinates (fractional voxels) of a CSS pixel within the canvas.
   * @param {number} x
   * @param {number} y
   * @returns {{u: number, v: number}}
   */
  screenToPlane(x, y) {
    const s = this.scale;
    const { cu, cv } = this.centre;
    return { u: (x - this.width / 2) / s + cu, v: (y - this.height / 2) / (s * this.aspect) + cv };
  }

  /**
   * CSS pixel within the canvas of plane coordinates.
   * @param {number} u
   * @param {number} v
   * @returns {{x: number, y: number}}
   */
  planeToScreen(u, v) {
    const s = this.scale;
    const { cu, cv } = this.centre;
    return { x: (u - cu) * s + this.width / 2, y: (v - cv) * s * this.aspect + this.height / 2 };
  }

  /**
   * The voxel [z, y, x] at a CSS pixel within the canvas (may lie outside the array).
   * @param {number} x
   * @param {number} y
   * @returns {number[]}
   */
  voxelAt(x, y) {
    const { u: pu, v: pv } = this.screenToPlane(x, y);
    const { u, v } = this.axes;
    const p = [0, 0, 0];
    p[this.state.axis] = this.state.index;
    p[u] = Math.floor(pu);
    p[v] = Math.floor(pv);
    return p;
  }

  /** @returns {boolean} whether voxel p lies in the array */
  inside(p) {
    return p.every((c, i) => c >= 0 && c < this.state.shape[i]);
  }

  /** @returns {{u0: number, u1: number, v0: number, v1: number}} the visible plane rectangle */
  visibleRect() {
    const a = this.screenToPlane(0, 0);
    const b = this.screenToPlane(this.width, this.height);
    return { u0: a.u, u1: b.u, v0: a.v, v1: b.v };
  }

  /** @returns {number[][]} the chunk keys on screen, centre first */
  visibleKeys() {
    const { shape, chunks, axis, index } = this.state;
    return visibleKeys(shape, chunks, axis, index, this.visibleRect());
  }

  /**
   * What the view fetches, in order (coarse first): per level its plane index and visible keys.
   * @returns {{level: number, index: number, keys: number[][]}[]}
   */
  plan() {
    const { shape, chunks, axis, index, levels } = this.state;
    if (!levels || levels.length <= 1) return [{ level: 0, index, keys: this.visibleKeys() }];
    if (index < 0 || index >= shape[axis]) return [];
    const r = this.visibleRect();
    const rect = { u0: r.u0, u1: r.u1, v0: r.v0, v1: r.v1 };
    return planView(levels, chunks, axis, index, rect, this.scale * this.dpr);
  }

  /** Queue a redraw (coalesced per animation frame). */
  invalidate() {
    if (this.frame !== null) return;
    this.frame = this.raf(() => {
      this.frame = null;
      if (this.viewDirty) {
        this.viewDirty = false;
        this.onViewChange();
      }
      this.draw();
    });
  }

  /** Stop drawing (unmount). */
  dispose() {
    if (this.frame !== null) this.caf(this.frame);
    this.frame = null;
  }

  bitmap(tile, kind) {
    const [rows, cols] = tile.shape;
    let b = this.bitmaps.get(tile);
    if (!b) {
      const canvas = makeCanvas(cols, rows);
      const ctx = canvas.getContext("2d");
      b = { canvas, ctx, image: ctx.createImageData(cols, rows), rev: -1, ck: "" };
      this.bitmaps.set(tile, b);
    }
    const ck = kind === "image" ? `${this.state.contrast[0]}:${this.state.contrast[1]}` : "";
    if (b.rev !== tile.rev || b.ck !== ck) {
      const px = new Uint32Array(b.image.data.buffer);
      if (kind === "image")
        composeImage(tile.data, tile.dtype, this.state.contrast[0], this.state.contrast[1], px);
      else composeLabels(tile.data, px);
      b.ctx.putImageData(b.image, 0, 0);
      b.rev = tile.rev;
      b.ck = ck;
    }
    return b.canvas;
  }

  /** The labels layer canvas (device pixels), created or resized on demand. */
  labelLayer() {
    const { width, height } = this.canvas;
    if (!this.layer || this.layer.canvas.width !== width || this.layer.canvas.height !== height) {
      const canvas = makeCanvas(width, height);
      this.layer = { canvas, ctx: canvas.getContext("2d") };
    }
    return this.layer;
  }

  /** Draw the slice now (time spent accumulates in `drawMs`). */
  draw() {
    const t0 = globalThis.performance?.now() ?? 0;
    try {
      this.drawSlice();
    } finally {
      this.drawMs += (globalThis.performance?.now() ?? 0) - t0;
    }
  }

  drawSlice() {
    this.draws++;
    const { ctx, dpr } = this;
    const { chunks, axis, index, opacity } = this.state;
    const { u, v } = this.axes;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 1;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    const { nu, nv } = this.planeSize;
    const px = (pu, pv) => {
      const p = this.planeToScreen(pu, pv);
      return [Math.round(p.x * dpr), Math.round(p.y * dpr)];
    };
    const [vx0, vy0] = px(0, 0);
    const [vx1, vy1] = px(nu, nv);
    ctx.fillStyle = VOLUME;
    ctx.fillRect(vx0, vy0, vx1 - vx0, vy1 - vy0);
    if (index < 0 || index >= this.state.shape[axis]) return;
    const plan = this.plan();
    const levels = this.state.levels;
    // every level from the finest planned one up to the coarsest planned one (a level the view
    // showed before, still in memory, also covers the coarse placeholder), stopping at the first
    // that covers the view in every layer (coarser ones would be hidden under it)
    const contrast = `${this.state.contrast[0]}:${this.state.contrast[1]}`;
    const layers = opacity > 0 ? ["image", "labels"] : ["image"];
    const drawn = []; // coarse first: [{level, li, keys, d, m: mosaic per layer, complete per layer}]
    if (plan.length) {
      const lo = Math.min(...plan.map((p) => p.level));
      const hi = Math.max(...plan.map((p) => p.level));
      for (let l = lo; l <= hi; l++) {
        let p = plan.find((q) => q.level === l);
        if (!p && levels[l]) {
          const d = levels[l].downsample;
          const li = Math.floor(index / d[axis]);
          const r = this.visibleRect();
          const rect = { u0: r.u0 / d[u], u1: r.u1 / d[u], v0: r.v0 / d[v], v1: r.v1 / d[v] };
          p = { level: l, index: li, keys: visibleKeys(levels[l].shape, chunks, axis, li, rect) };
        }
        if (!p) continue;
        const { level, index: li, keys } = p;
        const d = levels[level]?.downsample ?? [1, 1, 1];
        const entry = { level, li, keys, d, m: {}, complete: {} };
        for (const name of layers) {
          const m = this.mosaic(name, level, axis, li, keys);
          entry.m[name] = m;
          entry.complete[name] = m ? this.updateMosaic(m, name, level, keys, contrast) : false;
          if (m === null)
            entry.complete[name] = this.client.planeTiles(name, axis, li, keys, level).tiles.every(Boolean);
        }
        drawn.unshift(entry);
        if (layers.every((name) => entry.complete[name])) break;
      }
    }
    ctx.save();
    ctx.beginPath();
    ctx.rect(vx0, vy0, vx1 - vx0, vy1 - vy0);
    ctx.clip();
    for (const name of layers) {
      // from the finest level that covers the view (coarser ones would be hidden) to the finest
      let first = 0;
      for (let i = drawn.length - 1; i >= 0; i--) {
        if (drawn[i].complete[name]) {
          first = i;
          break;
        }
      }
      const list = drawn.slice(first);
      if (name === "image") {
        for (const e of list) this.drawLevel(ctx, e, "image", px);
        continue;
      }
      const withLabels = list.filter((e) => e.m.labels !== false && (!e.m.labels || e.m.labels.content > 0));
      if (!withLabels.length) continue; // no label voxel on screen: nothing to draw
      if (withLabels.length === 1 && withLabels[0].m.labels && withLabels[0] === list[list.length - 1]) {
        ctx.globalAlpha = opacity;
        this.drawLevel(ctx, withLabels[0], "labels", px);
        ctx.globalAlpha = 1;
        continue;
      }
      const layer = this.labelLayer();
      layer.ctx.clearRect(0, 0, layer.canvas.width, layer.canvas.height);
      layer.ctx.imageSmoothingEnabled = false;
      list.forEach((e, i) => {
        if (i > 0) this.clearUnder(layer.ctx, e, px); // finer tiles replace the labels under them
        this.drawLevel(layer.ctx, e, "labels", px);
      });
      ctx.globalAlpha = opacity;
      ctx.drawImage(layer.canvas, 0, 0);
      ctx.globalAlpha = 1;
    }
    ctx.restore();
    ctx.globalAlpha = 1;
    this.drawCursor();
  }

  /**
   * The mosaic of `layer` at `level` for plane `axis = index` showing `keys` (made or reset when
   * the plane changed or the keys left its chunk range); false when no tile of `keys` is in memory
   * (nothing to draw), null when it would be too big (drawn tile by tile).
   */
  mosaic(layer, level, axis, index, keys) {
    if (!keys.length) return null;
    const { u, v } = this.axes;
    const { chunks } = this.state;
    let ku0 = Infinity;
    let ku1 = -Infinity;
    let kv0 = Infinity;
    let kv1 = -Infinity;
    for (const k of keys) {
      if (k[u] < ku0) ku0 = k[u];
      if (k[u] + 1 > ku1) ku1 = k[u] + 1;
      if (k[v] < kv0) kv0 = k[v];
      if (k[v] + 1 > kv1) kv1 = k[v] + 1;
    }
    const id = `${layer}/${level}`;
    const old = this.mosaics.get(id);
    if (old?.holds(axis, index, ku0, ku1, kv0, kv1)) return old;
    if (!keys.some((k) => this.client.tile(layer, axis, index, k, level))) return false; // nothing to show
    // one chunk of margin around the view so that small pans keep the mosaic
    const shape = this.state.levels?.[level]?.shape ?? this.state.shape;
    const gu = Math.ceil(shape[u] / chunks[u]);
    const gv = Math.ceil(shape[v] / chunks[v]);
    ku0 = Math.max(0, ku0 - 1);
    ku1 = Math.min(gu, ku1 + 1);
    kv0 = Math.max(0, kv0 - 1);
    kv1 = Math.min(gv, kv1 + 1);
    if ((ku1 - ku0) * chunks[u] * (kv1 - kv0) * chunks[v] > MOSAIC_MAX_PIXELS) {
      this.mosaics.delete(id);
      return null;
    }
    const m = new Mosaic({ axis, index, ku0, ku1, kv0, kv1, cu: chunks[u], cv: chunks[v], reuse: old });
    this.mosaics.set(id, m);
    return m;
  }

  /**
   * Compose the tiles of `keys` that changed since the mosaic last saw them.
   * @returns {boolean} whether every key has its tile
   */
  updateMosaic(m, layer, level, keys, contrast) {
    const { u, v } = this.axes;
    const ck = layer === "image" ? contrast : "";
    let complete = true;
    const { ids, tiles } = this.client.planeTiles(layer, m.axis, m.index, keys, level);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const id = ids[i]; // the tile's id: its slot in the mosaic
      const tile = tiles[i];
      const slot = m.slots.get(id);
      const x = (key[u] - m.ku0) * m.cu;
      const y = (key[v] - m.kv0) * m.cv;
      if (tile?.shape.length !== 2) {
        complete = false;
        if (slot) {
          m.ctx.clearRect(x, y, slot.cols, slot.rows);
          if (slot.content) m.content--;
          m.slots.delete(id);
        }
        continue;
      }
      if (slot && slot.tile === tile && slot.rev === tile.rev && slot.ck === ck) continue;
      const [rows, cols] = tile.shape;
      const empty = layer === "labels" && tile.zero && tile.rev === 0; // nothing to compose
      if (slot?.content) m.content--;
      if (empty) m.ctx.clearRect(x, y, cols, rows);
      else {
        const im = scratchImage(m.ctx, cols, rows);
        const px = new Uint32Array(im.data.buffer);
        if (layer === "image")
          composeImage(tile.data, tile.dtype, this.state.contrast[0], this.state.contrast[1], px);
        else composeLabels(tile.data, px);
        m.ctx.putImageData(im, x, y);
        m.content++;
        this.composed++;
      }
      m.slots.set(id, { tile, rev: tile.rev, ck, rows, cols, content: !empty });
    }
    return complete;
  }

  /** Draw one level's layer: its mosaic in one blit, or tile by tile when it had none. */
  drawLevel(target, e, layer, px) {
    const { u, v } = this.axes;
    const { chunks, axis } = this.state;
    const { d } = e;
    const m = e.m[layer];
    if (m === false) return; // none of its tiles in memory
    if (m) {
      const [x0, y0] = px(m.ku0 * m.cu * d[u], m.kv0 * m.cv * d[v]);
      const [x1, y1] = px(m.ku1 * m.cu * d[u], m.kv1 * m.cv * d[v]);
      target.imageSmoothingEnabled = false;
      target.drawImage(m.canvas, x0, y0, x1 - x0, y1 - y0);
      return;
    }
    for (const key of e.keys) {
      const tile = this.client.tile(layer, axis, e.li, key, e.level);
      if (tile?.shape.length !== 2) continue;
      if (layer === "labels" && tile.zero && tile.rev === 0) continue;
      const bm = this.bitmap(tile, layer);
      const u0 = key[u] * chunks[u] * d[u];
      const v0 = key[v] * chunks[v] * d[v];
      const [x0, y0] = px(u0, v0);
      const [x1, y1] = px(u0 + tile.shape[1] * d[u], v0 + tile.shape[0] * d[v]);
      target.drawImage(bm, x0, y0, x1 - x0, y1 - y0);
    }
  }

  /** Clear the labels layer under the tiles a level holds (they replace coarser labels there). */
  clearUnder(target, e, px) {
    const { u, v } = this.axes;
    const { chunks, axis } = this.state;
    const { d } = e;
    for (const key of e.keys) {
      const tile = this.client.tile("labels", axis, e.li, key, e.level);
      if (tile?.shape.length !== 2) continue;
      const u0 = key[u] * chunks[u] * d[u];
      const v0 = key[v] * chunks[v] * d[v];
      const [x0, y0] = px(u0, v0);
      const [x1, y1] = px(u0 + tile.shape[1] * d[u], v0 + tile.shape[0] * d[v]);
      target.clearRect(x0, y0, x1 - x0, y1 - y0);
    }
  }

  drawCursor() {
    const { cursor, tool, radius } = this.state;
    if (!cursor || tool === "pan") return;
    const p = this.voxelAt(cursor.x, cursor.y);
    const { u, v } = this.axes;
    const c = this.planeToScreen(p[u] + 0.5, p[v] + 0.5);
    const r = (radius + 0.5) * this.scale * this.dpr;
    const { ctx } = this;
    ctx.beginPath();
    ctx.arc(c.x * this.dpr, c.y * this.dpr, Math.max(r, 2), 0, 2 * Math.PI);
    ctx.lineWidth = 3 * this.dpr;
    ctx.strokeStyle = "rgba(0,0,0,0.6)";
    ctx.stroke();
    ctx.lineWidth = 1.2 * this.dpr;
    ctx.strokeStyle = tool === "erase" ? "#ff8080" : "#ffffff";
    ctx.stroke();
  }

  /**
   * Image value and label id at voxel p from the cached tiles of the current plane.
   * @param {number[]} p [z, y, x]
   * @returns {{image: string|null, label: string|null}}
   */
  valuesAt(p) {
    const out = { image: null, label: null };
    if (!this.inside(p)) return out;
    const { chunks, axis, index } = this.state;
    const key = chunkOf(p, chunks);
    const local = p.map((c, i) => c - key[i] * chunks[i]);
    for (const layer of ["image", "labels"]) {
      const t = this.client.tile(layer, axis, index, key);
      if (!t) continue;
      const j = tileIndex(local, key, chunks, t.shape, axis, index);
      if (j < 0) continue;
      const x = t.data[j];
      const text = typeof x === "number" && !Number.isInteger(x) ? x.toPrecision(5) : String(x);
      if (layer === "image") out.image = text;
      else out.label = text;
    }
    return out;
  }
}
