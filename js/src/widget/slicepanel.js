/**
 * One extra slice view of the ortho layout (the y and x views; the z view is the widget's main
 * view): its own canvas, 2D view, chunk client (one plane per client) and navigation, painting
 * through the widget's one edit queue (whose client is then a net/clientgroup.js group, so a
 * stroke shows in every view at once), its own input and test hooks (`canvas.voxwidget`, as the
 * main view's, widget/hooks.js).
 *
 * In ortho the slice views share `position`: a click with the pan tool (or a shift+click with any
 * tool) sets it to the voxel clicked, every view's slice follows its own axis' coordinate, and
 * crosshairs show where the other planes cut. Pan and zoom stay local to each view.
 * @module widget/slicepanel
 */

import { ChunkClient } from "../net/client.js";
import { attachInput } from "../ui/input.js";
import { CrosshairOverlay } from "../views/crosshair.js";
import { View2D } from "../views/view2d.js";
import { installHooks } from "./hooks.js";
import { Navigation } from "./navigation.js";
import { StrokeController } from "./stroke.js";
import { ToolController } from "./tools.js";
import { syncFromModel } from "./traits.js";

/** See the module doc. */
export class SlicePanel {
  /**
   * @param {import("./voxview.js").VoxView} vox
   * @param {number} axis the view's fixed axis (1 = y, 2 = x)
   * @param {HTMLElement} cell where its canvas goes
   */
  constructor(vox, axis, cell) {
    this.vox = vox;
    this.axis = axis;
    const canvas = document.createElement("canvas");
    canvas.className = "voxwidget-canvas";
    canvas.tabIndex = -1;
    canvas.dataset.axis = "zyx"[axis];
    cell.append(canvas);
    this.canvas = canvas;
    this.client = new ChunkClient({
      send: vox.send,
      onUpdate: (prefetchOnly) => {
        if (!prefetchOnly) this.view.invalidate();
        vox.status.soon();
      },
      persist: vox.persist,
      prefix: vox.client.persistence.prefix,
    });
    this.view = new View2D({
      canvas,
      client: this.client,
      onViewChange: () => {
        this.nav.fetchView();
        this.cross.draw();
      },
    });
    this.cross = new CrosshairOverlay(this.view, cell);
    this.nav = new Navigation({ model: vox.model, view: this.view, client: this.client });
    this.nav.ortho = true;
    this.stroke = new StrokeController({
      model: vox.model,
      view: this.view,
      queue: vox.queue,
      status: vox.status,
      onStart: () => vox.sync.claim(),
    });
    // the click and key tools (fill, polygon, pick, ...) on this view's plane
    this.tools = new ToolController({
      model: vox.model,
      view: this.view,
      commands: vox.commands,
      counts: vox.labels.counts,
      status: vox.status,
      setTrait: (k, v) => vox.setTrait(k, v),
      help: vox.help,
    });
    this.detach = attachInput({
      canvas,
      root: canvas,
      size: () => ({ width: this.view.width, height: this.view.height }),
      actions: this.actions(),
    });
    // the hooks of widget/hooks.js, on this view's canvas and parts
    const proxy = Object.create(vox);
    Object.assign(proxy, {
      ui: { ...vox.ui, canvas },
      view: this.view,
      client: this.client,
      stroke: this.stroke,
    });
    this.unhook = installHooks(proxy);
    this.sync();
  }

  /** Read traits into the view (`name`: the changed one, null for all). */
  sync(name = null) {
    const { vox } = this;
    syncFromModel(
      {
        model: vox.model,
        view: this.view,
        queue: vox.queue,
        persist: vox.persist,
        sentPosition: this.nav.sentPosition,
        layout: () => {},
        fixedAxis: this.axis,
      },
      name,
    );
    if (name === null || name === "position") this.cross.set(vox.model.get("position") ?? null);
    this.tools?.syncPlane(); // a polygon stays on its own slice
  }

  /** @returns {import("../ui/input.js").Actions} */
  actions() {
    const { vox } = this;
    return {
      tool: () => vox.model.get("tool") ?? "brush",
      hover: (x, y) => {
        this.view.set({ cursor: x === null ? null : { x, y } });
        vox.status.view = x === null ? vox.view : this.view;
        vox.status.update();
      },
      strokeStart: (x, y) => {
        if (vox.stroke.active) vox.stroke.end();
        this.stroke.start(x, y);
      },
      strokeMove: (x, y) => this.stroke.move(x, y),
      strokeEnd: () => this.stroke.end(),
      panBy: (dx, dy) => this.nav.panBy(dx, dy),
      panEnd: () => {},
      stepSlice: (n) => this.nav.stepSlice(n),
      zoomBy: (f, x, y) => this.nav.zoomBy(f, x, y),
      setTool: (t) => vox.setTrait("tool", t),
      radiusBy: (d) =>
        vox.setTrait("brush_radius", Math.max(0, Math.min(256, (vox.model.get("brush_radius") ?? 5) + d))),
      command: (name) => vox.command(name),
      toolClick: (x, y) => this.tools.click(x, y),
      pick: (x, y) => this.tools.pick(x, y),
      act: (name) => this.tools.act(name),
      click: (x, y) => {
        const p = this.view.voxelAt(x, y);
        if (!this.view.inside(p)) return true;
        this.nav.sentPosition = p;
        vox.setTrait("position", p);
        return true;
      },
    };
  }

  /** Set the CSS size of the view. */
  resize(width, height) {
    this.view.resize(width, height);
  }

  dispose() {
    if (this.stroke.active) this.stroke.end();
    this.detach();
    this.unhook();
    this.nav.dispose();
    this.client.cancelAll();
    this.view.dispose();
    this.cross.dispose();
    this.canvas.remove();
  }
}
