/**
 * Drawing one slice of a {@link View2D} onto its canvas: the image in greyscale through `contrast`
 * limits, the labels in their hashed colours at `opacity` (label 0 transparent), nearest-neighbour,
 * through the view's pan/zoom transform, and the tool's cursor (views/overlay.js).
 *
 * Each layer is drawn coarse to fine from the tiles of the view's plan, one mosaic blit per level
 * (views/mosaic.js; tile by tile through per-tile canvases when a plane is too big for a mosaic).
 * Coarser levels are skipped once the finest drawn level covers every visible chunk; labels are
 * drawn with `globalAlpha = opacity`, straight onto the slice when one level holds label voxels,
 * through a labels layer otherwise (a finer tile replaces the coarse labels under it).
 * @module views/slicedraw
 */

import { visibleKeys } from "../core/grid.js";
import { composeImage, composeLabels, makeCanvas } from "./compose.js";
import { MosaicSet } from "./mosaic.js";
import { drawOverlay } from "./overlay.js";

const BACKGROUND = "#1b1b1d";
const VOLUME = "#2a2a2e";

/** Draws one view's slice; holds its mosaics, per-tile canvases and labels layer. */
export class SliceRenderer {
  /** @param {import("./view2d.js").View2D} view */
  constructor(view) {
    this.view = view;
    this.bitmaps = new WeakMap(); // tile -> {canvas, ctx, image, rev, ck} (planes too big for a mosaic)
    /** The shown plane's mosaics, per layer and level. */
    this.mosaics = new MosaicSet(view);
    this.layer = undefined; // the labels layer: {canvas, ctx}
  }

  /** The canvas of one tile, composed when its data or the contrast changed. */
  bitmap(tile, kind) {
    const view = this.view;
    const [rows, cols] = tile.shape;
    let b = this.bitmaps.get(tile);
    if (!b) {
      const canvas = makeCanvas(cols, rows);
      const ctx = canvas.getContext("2d");
      b = { canvas, ctx, image: ctx.createImageData(cols, rows), rev: -1, ck: "" };
      this.bitmaps.set(tile, b);
    }
    const vis = kind === "labels" ? (view.state.labelVis ?? null) : null;
    const ck = kind === "image" ? `${view.state.contrast[0]}:${view.state.contrast[1]}` : (vis?.key ?? "");
    if (b.rev !== tile.rev || b.ck !== ck) {
      const px = new Uint32Array(b.image.data.buffer);
      if (kind === "image")
        composeImage(tile.data, tile.dtype, view.state.contrast[0], view.state.contrast[1], px);
      else composeLabels(tile.data, px, vis);
      b.ctx.putImageData(b.image, 0, 0);
      b.rev = tile.rev;
      b.ck = ck;
    }
    return b.canvas;
  }

  /** The labels layer canvas (device pixels), created or resized on demand. */
  labelLayer() {
    const view = this.view;
    const { width, height } = view.canvas;
    if (!this.layer || this.layer.canvas.width !== width || this.layer.canvas.height !== height) {
      const canvas = makeCanvas(width, height);
      this.layer = { canvas, ctx: canvas.getContext("2d") };
    }
    return this.layer;
  }

  /** Draw the view's slice now: see the module doc. */
  draw() {
    const view = this.view;
    view.draws++;
    const { ctx, dpr } = view;
    const { chunks, axis, index, opacity } = view.state;
    const { u, v } = view.axes;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = 1;
    ctx.fillStyle = BACKGROUND;
    ctx.fillRect(0, 0, view.canvas.width, view.canvas.height);
    const { nu, nv } = view.planeSize;
    const px = (pu, pv) => {
      const p = view.planeToScreen(pu, pv);
      return [Math.round(p.x * dpr), Math.round(p.y * dpr)];
    };
    const [vx0, vy0] = px(0, 0);
    const [vx1, vy1] = px(nu, nv);
    ctx.fillStyle = VOLUME;
    ctx.fillRect(vx0, vy0, vx1 - vx0, vy1 - vy0);
    if (index < 0 || index >= view.state.shape[axis]) return;
    const plan = view.plan();
    const levels = view.state.levels;
    // every level from the finest planned one up to the coarsest planned one (a level the view
    // showed before, still in memory, also covers the coarse placeholder), stopping at the first
    // that covers the view in every layer (coarser ones would be hidden under it)
    const contrast = `${view.state.contrast[0]}:${view.state.contrast[1]}`;
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
          const r = view.visibleRect();
          const rect = { u0: r.u0 / d[u], u1: r.u1 / d[u], v0: r.v0 / d[v], v1: r.v1 / d[v] };
          p = { level: l, index: li, keys: visibleKeys(levels[l].shape, chunks, axis, li, rect) };
        }
        if (!p) continue;
        const { level, index: li, keys } = p;
        const d = levels[level]?.downsample ?? [1, 1, 1];
        const entry = { level, li, keys, d, m: {}, complete: {} };
        for (const name of layers) {
          const m = this.mosaics.get(name, level, axis, li, keys);
          entry.m[name] = m;
          entry.complete[name] = m ? this.mosaics.update(m, name, level, keys, contrast) : false;
          if (m === null)
            entry.complete[name] = view.client.planeTiles(name, axis, li, keys, level).tiles.every(Boolean);
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

  /** Draw one level's layer: its mosaic in one blit, or tile by tile when it had none. */
  drawLevel(target, e, layer, px) {
    const view = this.view;
    const { u, v } = view.axes;
    const { chunks, axis } = view.state;
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
      const tile = view.client.tile(layer, axis, e.li, key, e.level);
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
    const view = this.view;
    const { u, v } = view.axes;
    const { chunks, axis } = view.state;
    const { d } = e;
    for (const key of e.keys) {
      const tile = view.client.tile("labels", axis, e.li, key, e.level);
      if (tile?.shape.length !== 2) continue;
      const u0 = key[u] * chunks[u] * d[u];
      const v0 = key[v] * chunks[v] * d[v];
      const [x0, y0] = px(u0, v0);
      const [x1, y1] = px(u0 + tile.shape[1] * d[u], v0 + tile.shape[0] * d[v]);
      target.clearRect(x0, y0, x1 - x0, y1 - y0);
    }
  }

  /** The tool's cursor and the polygon in progress (views/overlay.js). */
  drawCursor() {
    drawOverlay(this.view);
  }
}
