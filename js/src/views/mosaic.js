/**
 * Mosaics: per layer and level, the tiles of the shown plane are composed into one canvas at the
 * level's resolution (a {@link Mosaic}); a tile is composed (LUT or label colours, one
 * `putImageData`) once per tile object, `rev` and contrast, so a draw costs one scaled `drawImage`
 * per level and layer whatever the tile count (drawing 300 small bitmaps per slice cost ~30 ms in a
 * software-rendered Chromium, a mosaic blit a few ms). A {@link MosaicSet} keeps a view's mosaics.
 * @module views/mosaic
 */

import { composeImage, composeLabels, makeCanvas, scratchImage } from "./compose.js";

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

/** The mosaics of one view's shown plane, per layer and level (made, kept and composed on demand). */
export class MosaicSet {
  /** @param {import("./view2d.js").View2D} view its state, plane axes and chunk client */
  constructor(view) {
    this.view = view;
    /** @type {Map<string, Mosaic>} "layer/level" -> the shown plane's mosaic */
    this.byId = new Map();
    this.composed = 0; // tiles composed into mosaics (stats)
  }

  /**
   * The mosaic of `layer` at `level` for plane `axis = index` showing `keys` (made or reset when
   * the plane changed or the keys left its chunk range); false when no tile of `keys` is in memory
   * (nothing to draw), null when it would be too big (drawn tile by tile).
   */
  get(layer, level, axis, index, keys) {
    const view = this.view;
    if (!keys.length) return null;
    const { u, v } = view.axes;
    const { chunks } = view.state;
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
    const old = this.byId.get(id);
    if (old?.holds(axis, index, ku0, ku1, kv0, kv1)) return old;
    if (!keys.some((k) => view.client.tile(layer, axis, index, k, level))) return false; // nothing to show
    // one chunk of margin around the view so that small pans keep the mosaic
    const shape = view.state.levels?.[level]?.shape ?? view.state.shape;
    const gu = Math.ceil(shape[u] / chunks[u]);
    const gv = Math.ceil(shape[v] / chunks[v]);
    ku0 = Math.max(0, ku0 - 1);
    ku1 = Math.min(gu, ku1 + 1);
    kv0 = Math.max(0, kv0 - 1);
    kv1 = Math.min(gv, kv1 + 1);
    if ((ku1 - ku0) * chunks[u] * (kv1 - kv0) * chunks[v] > MOSAIC_MAX_PIXELS) {
      this.byId.delete(id);
      return null;
    }
    const m = new Mosaic({ axis, index, ku0, ku1, kv0, kv1, cu: chunks[u], cv: chunks[v], reuse: old });
    this.byId.set(id, m);
    return m;
  }

  /**
   * Compose the tiles of `keys` that changed since the mosaic last saw them.
   * @returns {boolean} whether every key has its tile
   */
  update(m, layer, level, keys, contrast) {
    const view = this.view;
    const { u, v } = view.axes;
    const vis = layer === "labels" ? (view.state.labelVis ?? null) : null;
    const ck = layer === "image" ? contrast : (vis?.key ?? "");
    let complete = true;
    const { ids, tiles } = view.client.planeTiles(layer, m.axis, m.index, keys, level);
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
          composeImage(tile.data, tile.dtype, view.state.contrast[0], view.state.contrast[1], px);
        else composeLabels(tile.data, px, vis);
        m.ctx.putImageData(im, x, y);
        m.content++;
        this.composed++;
      }
      m.slots.set(id, { tile, rev: tile.rev, ck, rows, cols, content: !empty });
    }
    return complete;
  }
}
