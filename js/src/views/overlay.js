/**
 * What the 2D view draws over the slice: the tool's cursor and the polygon being drawn.
 *
 * - brush / erase: the outline of the voxels one stamp covers (core/brush.js `diskOutline`): the
 *   disk in the shown slice; with `dims` 3 the ball's cross-section on the shown slice (the ball is
 *   centred there, so the largest one), in cyan with a "3D" mark;
 * - fill and polygon: a cross-hair on the voxel under the cursor;
 * - `polygon` (plane voxels `[u, v]` of the shown slice): the vertices, the edges between them and
 *   a line from the last one to the cursor.
 * @module views/overlay
 */

import { diskOutline } from "../core/brush.js";

/** Stroke the current path twice: a dark halo under a light line (readable on any image). */
function haloStroke(ctx, dpr, colour) {
  ctx.lineWidth = 3 * dpr;
  ctx.strokeStyle = "rgba(0,0,0,0.6)";
  ctx.stroke();
  ctx.lineWidth = 1.2 * dpr;
  ctx.strokeStyle = colour;
  ctx.stroke();
}

/**
 * Draw the cursor of the view's tool at `view.state.cursor`, and the polygon in progress.
 * @param {import("./view2d.js").View2D} view
 */
export function drawOverlay(view) {
  const { ctx, dpr } = view;
  const { cursor, tool, radius, dims, polygon } = view.state;
  const { u, v } = view.axes;
  const px = (pu, pv) => {
    const s = view.planeToScreen(pu, pv);
    return [s.x * dpr, s.y * dpr];
  };
  ctx.save();
  if (polygon?.length) {
    ctx.beginPath();
    polygon.forEach(([pu, pv], i) => {
      const [x, y] = px(pu + 0.5, pv + 0.5);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    if (cursor) ctx.lineTo(cursor.x * dpr, cursor.y * dpr);
    haloStroke(ctx, dpr, "#ffe066");
    for (const [pu, pv] of polygon) {
      const [x, y] = px(pu + 0.5, pv + 0.5);
      ctx.beginPath();
      ctx.arc(x, y, 3 * dpr, 0, 2 * Math.PI);
      ctx.fillStyle = "#ffe066";
      ctx.fill();
    }
  }
  if (cursor && tool !== "pan") {
    const p = view.voxelAt(cursor.x, cursor.y);
    if (tool === "brush" || tool === "erase") {
      ctx.beginPath();
      const outline = diskOutline(radius * radius);
      outline.forEach(([du, dv], i) => {
        const [x, y] = px(p[u] + du, p[v] + dv);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      });
      ctx.closePath();
      haloStroke(ctx, dpr, tool === "erase" ? "#ff8080" : dims === 3 ? "#80ffff" : "#ffffff");
      if (dims === 3) {
        const [x, y] = px(p[u] + radius + 1, p[v] - radius);
        ctx.font = `bold ${11 * dpr}px sans-serif`;
        ctx.lineWidth = 3 * dpr;
        ctx.strokeStyle = "rgba(0,0,0,0.7)";
        ctx.strokeText("3D", x + 2 * dpr, y);
        ctx.fillStyle = "#80ffff";
        ctx.fillText("3D", x + 2 * dpr, y);
      }
    } else {
      const [x, y] = px(p[u] + 0.5, p[v] + 0.5);
      const a = 6 * dpr;
      ctx.beginPath();
      ctx.moveTo(x - a, y);
      ctx.lineTo(x + a, y);
      ctx.moveTo(x, y - a);
      ctx.lineTo(x, y + a);
      haloStroke(ctx, dpr, tool === "fill" ? "#80d0ff" : "#ffe066");
    }
  }
  ctx.restore();
}
