/**
 * The 2D slice view: one plane (`axis`, `index`) of the volume on a canvas, with a pan/zoom
 * transform; it plans the tiles it shows, schedules redraws (coalesced with requestAnimationFrame)
 * and answers what is under a screen point. Drawing is views/slicedraw.js's (mosaics:
 * views/mosaic.js, pixels: views/compose.js).
 *
 * Coordinates: a voxel `(u, v)` of the plane covers `[u, u+1) × [v, v+1)`; CSS pixel
 * `x = (u - centerU) * scale + width / 2` (same for v/y).
 *
 * Levels of detail: with `state.levels` (`[{shape, downsample}]`, finest first) the view plans its
 * fetches with core/lod.js (the coarsest level, then the level the zoom needs) and draws each layer
 * coarse to fine, so the coarsest available tile shows under finer ones until they arrive; a
 * level-L tile covers level-0 voxels `key * chunks * d …`. Labels are composed on their own layer
 * (a finer tile replaces what is under it) and drawn once with `opacity`. Paint always maps the
 * screen to level-0 voxels.
 * @module views/view2d
 */

import { chunkOf, planeAxes, tileIndex, visibleKeys } from "../core/grid.js";
import { planView } from "../core/lod.js";
import { SliceRenderer } from "./slicedraw.js";

/** One 2D slice view of the volume on a canvas (see the module doc). */
export class View2D {
  /**
   * @param {object} p
   * @param {HTMLCanvasElement} p.canvas
   * @param {import("../net/client.js").ChunkClient} p.client
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
      dims: 2, // brush_dims: 3 draws the ball's cross-section as the cursor
      polygon: null, // [[u, v], ...] vertices of the polygon being drawn on this slice
      labelVis: null, // which label ids are drawn (core/visibility.js), null: all
    };
    this.width = 1;
    this.height = 1;
    this.dpr = 1;
    /** Draws the slice (views/slicedraw.js): mosaics, per-tile canvases, labels layer. */
    this.renderer = new SliceRenderer(this);
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

  /** Draw the slice now (time spent accumulates in `drawMs`). */
  draw() {
    const t0 = globalThis.performance?.now() ?? 0;
    try {
      this.renderer.draw();
    } finally {
      this.drawMs += (globalThis.performance?.now() ?? 0) - t0;
    }
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
