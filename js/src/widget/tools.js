/**
 * The click and key tools of one view, each a kernel command (widget/commands.js) or a trait:
 * - fill (`f`, a click): `fill` at the voxel under the pointer with `label`, in 3D or in the shown
 *   slice per `brush_dims`, with `preserve_labels` and `fill_max_voxels`; the kernel's refusal
 *   (e.g. the region exceeds the limit) shows in the status line; the filled chunks reach the view
 *   as `chunks.changed` like any kernel-side edit;
 * - polygon (`g`): clicks add vertices on the shown slice (drawn by views/overlay.js), Enter or a
 *   double-click sends `fill_polygon` (points as (row, column) = (v, u) of the plane), Backspace
 *   drops the last vertex, Escape the polygon; changing the slice drops it too;
 * - picker (`l` at the cursor, alt+click): `label` becomes the id under the pointer;
 * - new label (`n`): one more than the largest id in use (the kernel's label counts);
 * - interpolate (`i`, toolbar button): `interpolate` of `label` along the view axis;
 * - delete a label (the label panel's ×): `replace(id, 0)`;
 * - `d` toggles `brush_dims`, `?` the help overlay.
 * @module widget/tools
 */

import { AXES } from "../core/grid.js";
import { parseLabel } from "../net/edits.js";

/** The click and key tools of one view (see the module doc). */
export class ToolController {
  /**
   * @param {object} p
   * @param {object} p.model anywidget model
   * @param {import("../views/view2d.js").View2D} p.view
   * @param {import("./commands.js").Commands} p.commands
   * @param {import("../ui/panelmodel.js").LabelCounts} p.counts the label counts
   * @param {import("../ui/status.js").StatusLine} p.status
   * @param {(name: string, value: any) => void} p.setTrait
   * @param {{toggle: (show?: boolean) => boolean, shown: () => boolean}} p.help the `?` overlay
   */
  constructor({ model, view, commands, counts, status, setTrait, help }) {
    Object.assign(this, { model, view, commands, counts, status, setTrait, help });
    this.plane = null; // [axis, index] the polygon's vertices lie on
  }

  /** The `label` trait as a decimal string, or null (error shown) when the dtype cannot hold it. */
  label() {
    try {
      return String(parseLabel(this.model.get("label") ?? "1", this.model.get("label_dtype") || "uint32"));
    } catch (err) {
      this.status.showError(err.message);
      return null;
    }
  }

  /** The voxel under a CSS pixel, or null (said in the status line) outside the volume. */
  voxel(x, y) {
    const p = this.view.voxelAt(x, y);
    if (this.view.inside(p)) return p;
    this.status.flash("outside the volume");
    return null;
  }

  /**
   * A view action (ui/keys.js, or "enter", "escape", "backspace", "dblclick").
   * @param {string} name
   * @returns {boolean} whether it did something
   */
  act(name) {
    if (name.startsWith("tool:")) {
      this.setTrait("tool", name.slice(5));
      return true;
    }
    const cur = this.view.state.cursor;
    switch (name) {
      case "dims":
        this.setTrait("brush_dims", this.model.get("brush_dims") === 3 ? 2 : 3);
        return true;
      case "pick":
        if (cur) this.pick(cur.x, cur.y);
        else this.status.flash("point at a voxel to pick its label");
        return true;
      case "newLabel":
        this.newLabel();
        return true;
      case "interpolate":
        this.interpolate();
        return true;
      case "help":
        this.help.toggle();
        return true;
      case "enter":
      case "dblclick":
        return this.closePolygon();
      case "backspace":
        return this.popVertex();
      case "escape":
        if (this.help.shown()) return !this.help.toggle(false);
        return this.dropPolygon();
      default:
        return false;
    }
  }

  /** A left click with the fill or polygon tool. */
  click(x, y) {
    const tool = this.model.get("tool");
    if (tool === "fill") this.fill(x, y);
    else if (tool === "polygon") this.addVertex(x, y);
  }

  /** Fill the region under a CSS pixel (see the module doc). */
  fill(x, y) {
    const seed = this.voxel(x, y);
    const label = this.label();
    if (!seed || label === null) return;
    this.status.error = null;
    const dims = this.model.get("brush_dims") === 3 ? 3 : 2;
    const fields = {
      seed,
      label,
      dims,
      axis: this.view.state.axis,
      preserve_labels: this.model.get("preserve_labels") === true,
      max_voxels: this.model.get("fill_max_voxels") ?? 50_000_000,
    };
    this.commands.run("fill", fields, (n) => this.status.flash(n ? `filled ${n} voxels` : "nothing to fill"));
  }

  /** Set `label` to the id under a CSS pixel. */
  pick(x, y) {
    const p = this.voxel(x, y);
    if (!p) return;
    const id = this.view.valuesAt(p).label;
    if (id === null) {
      this.status.flash("labels not loaded here yet");
      return;
    }
    this.setTrait("label", id);
    this.status.flash(`picked label ${id}`);
  }

  /** Select one more than the largest id in use. */
  newLabel() {
    if (!this.counts.received) {
      this.status.flash("label counts not received yet: try again in a moment");
      return;
    }
    try {
      const id = this.counts.nextId(this.model.get("label_dtype") || "uint32");
      this.setTrait("label", id);
      this.status.flash(`new label ${id}`);
    } catch (err) {
      this.status.showError(err.message);
    }
  }

  /** Interpolate `label` between its annotated slices along the view axis. */
  interpolate() {
    const label = this.label();
    if (label === null) return;
    const axis = this.view.state.axis;
    this.commands.run("interpolate", { label, axis }, (n) =>
      this.status.flash(n ? `interpolated ${n} voxels along ${AXES[axis]}` : "nothing to interpolate"),
    );
  }

  /** Delete label `id`: its voxels become 0 (one undo step). */
  deleteLabel(id) {
    this.commands.run("replace", { old: String(id), new: "0" }, (n) =>
      this.status.flash(`label ${id} deleted (${n} voxels)`),
    );
  }

  // -- polygon -------------------------------------------------------------------------------
  /** Drop the polygon when the shown slice is not its own any more (called on plane changes). */
  syncPlane() {
    const { axis, index } = this.view.state;
    if (this.plane && (this.plane[0] !== axis || this.plane[1] !== index)) this.dropPolygon();
  }

  addVertex(x, y) {
    const p = this.voxel(x, y);
    if (!p) return;
    this.syncPlane();
    const { u, v } = this.view.axes;
    const poly = this.view.state.polygon ?? [];
    const last = poly[poly.length - 1];
    if (last && last[0] === p[u] && last[1] === p[v]) return; // the second click of a double-click
    this.plane = [this.view.state.axis, this.view.state.index];
    this.view.set({ polygon: [...poly, [p[u], p[v]]] });
  }

  /** @returns {boolean} whether there was a vertex to drop */
  popVertex() {
    const poly = this.view.state.polygon;
    if (!poly?.length) return false;
    this.view.set({ polygon: poly.length > 1 ? poly.slice(0, -1) : null });
    return true;
  }

  /** @returns {boolean} whether there was a polygon */
  dropPolygon() {
    const had = (this.view.state.polygon?.length ?? 0) > 0;
    this.plane = null;
    if (had) this.view.set({ polygon: null });
    return had;
  }

  /**
   * Fill the polygon with `label` on its slice (`fill_polygon`); fewer than 3 vertices: said.
   * @returns {boolean} whether there was a polygon
   */
  closePolygon() {
    const poly = this.view.state.polygon;
    if (!poly?.length) return false;
    if (poly.length < 3) {
      this.status.flash("a polygon needs 3 vertices");
      return true;
    }
    const label = this.label();
    if (label === null) return true;
    const [axis, index] = this.plane;
    const points = poly.map(([u, v]) => [v, u]); // (row, column) of the plane: v < u in array order
    this.dropPolygon();
    this.status.error = null;
    this.commands.run("fill_polygon", { points, label, axis, index }, (n) =>
      this.status.flash(`polygon filled: ${n} voxels`),
    );
    return true;
  }
}
