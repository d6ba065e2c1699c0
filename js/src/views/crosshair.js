/**
 * The ortho view's crosshairs: where the other two planes cut a slice view, drawn on a canvas of
 * their own laid over the view's (so moving them never redraws the slice), each line in the colour
 * of the plane it shows (z blue, y green, x red, as the 3D view's slice planes).
 * @module views/crosshair
 */

import { PLANE_COLORS } from "./sliceplanes3d.js";

/** An overlay canvas over one 2D view (see the module doc). */
export class CrosshairOverlay {
  /**
   * @param {import("./view2d.js").View2D} view
   * @param {HTMLElement} parent the view canvas's (positioned) parent
   */
  constructor(view, parent) {
    this.view = view;
    this.position = null;
    const c = document.createElement("canvas");
    c.className = "voxwidget-crosshair";
    c.style.cssText = "position:absolute;left:0;top:0;pointer-events:none;";
    parent.append(c);
    this.canvas = c;
  }

  /**
   * Show the crosshair through voxel `p` ([z, y, x]; null hides it).
   * @param {number[]|null} p
   */
  set(p) {
    this.position = p;
    this.draw();
  }

  /** Redraw (after the view's size, pan or zoom changed). */
  draw() {
    const { view, canvas } = this;
    const w = view.canvas.width;
    const h = view.canvas.height;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
      canvas.style.width = `${view.width}px`;
      canvas.style.height = `${view.height}px`;
    }
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const p = this.position;
    if (!p) return;
    const { u, v } = view.axes;
    const c = view.planeToScreen(p[u] + 0.5, p[v] + 0.5);
    const dpr = view.dpr;
    ctx.lineWidth = Math.max(1, dpr);
    ctx.globalAlpha = 0.8;
    ctx.strokeStyle = PLANE_COLORS[u]; // the plane of axis u cuts this one along v
    ctx.beginPath();
    ctx.moveTo(Math.round(c.x * dpr) + 0.5, 0);
    ctx.lineTo(Math.round(c.x * dpr) + 0.5, h);
    ctx.stroke();
    ctx.strokeStyle = PLANE_COLORS[v];
    ctx.beginPath();
    ctx.moveTo(0, Math.round(c.y * dpr) + 0.5);
    ctx.lineTo(w, Math.round(c.y * dpr) + 0.5);
    ctx.stroke();
  }

  dispose() {
    this.canvas.remove();
  }
}
