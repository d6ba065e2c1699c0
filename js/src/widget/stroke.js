/**
 * Painting: a pointer stroke of the brush or erase tool, from pointer down to up. The label comes
 * from the `label` trait (checked against the label dtype; erase paints 0), the voxels of each
 * pointer step from core/brush.js (a disk of `brush_radius` stamped along the segment from the last
 * position, in level-0 voxels of the shown plane; a ball with `brush_dims` 3), and the edit queue
 * paints them (shown at once, sent as `edits.apply` batches). With `preserve_labels` the brush
 * paints only background (the eraser is unaffected): voxels this view knows to hold a label are
 * left out and the kernel keeps any others that do. A new tool that paints voxels plugs in here: its value and its
 * voxel groups per step.
 * @module widget/stroke
 */

import { strokeVoxels } from "../core/brush.js";
import { parseLabel } from "../net/edits.js";

/** The stroke in progress of one view, if any. */
export class StrokeController {
  /**
   * @param {object} p
   * @param {object} p.model anywidget model (`tool`, `label`, `brush_radius`)
   * @param {import("../views/view2d.js").View2D} p.view screen → voxel, the shown plane
   * @param {import("../net/editqueue.js").EditQueue} p.queue paints and sends
   * @param {import("../ui/status.js").StatusLine} p.status errors; updated at the stroke's end
   * @param {() => void} p.onStart a stroke starts (this view becomes the active one)
   */
  constructor({ model, view, queue, status, onStart }) {
    Object.assign(this, { model, view, queue, status, onStart });
    this.stroke = null; // {value, last: [u, v]}
  }

  /** @returns {boolean} whether a stroke is in progress */
  get active() {
    return this.stroke !== null;
  }

  /** The plane voxel `[u, v]` under a CSS pixel. */
  planeCentre(x, y) {
    const p = this.view.voxelAt(x, y);
    const { u, v } = this.view.axes;
    return [p[u], p[v]];
  }

  /**
   * Pointer down (CSS px within the canvas): open a stroke and paint under the pointer.
   * @param {number} x
   * @param {number} y
   */
  start(x, y) {
    this.onStart();
    const tool = this.model.get("tool") ?? "brush";
    let value = 0;
    if (tool === "brush") {
      try {
        value = parseLabel(this.model.get("label") ?? "1", this.queue.dtype);
      } catch (err) {
        this.status.showError(err.message);
        return;
      }
    }
    this.status.error = null; // a new stroke clears the last error from the status line
    this.queue.beginStroke({ preserve: tool === "brush" && this.model.get("preserve_labels") === true });
    this.stroke = { value, last: null };
    this.move(x, y);
  }

  /**
   * Pointer move: paint the segment from the last position.
   * @param {number} x
   * @param {number} y
   */
  move(x, y) {
    if (!this.stroke) return;
    const c = this.planeCentre(x, y);
    const last = this.stroke.last;
    if (last && last[0] === c[0] && last[1] === c[1]) return;
    const st = this.view.state;
    let groups = strokeVoxels({
      shape: st.shape,
      chunks: st.chunks,
      axis: st.axis,
      index: st.index,
      from: last,
      to: c,
      radius: this.model.get("brush_radius") ?? 5,
      dims: this.model.get("brush_dims") === 3 ? 3 : 2,
    });
    if (this.queue.preserve) groups = this.queue.unlabelled(groups);
    this.stroke.last = c;
    this.queue.paint(groups, this.stroke.value);
  }

  /** Pointer up: close the stroke (what it painted is sent). */
  end() {
    if (!this.stroke) return;
    this.stroke = null;
    this.queue.endStroke();
    this.status.update();
  }
}
