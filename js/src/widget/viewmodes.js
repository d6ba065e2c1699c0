/**
 * The `view` trait: which panels a view shows. `"2d"`: the main slice view alone (as before);
 * `"3d"`: the 3D panel alone (widget/panel3d.js); `"ortho"`: a 2×2 grid of the z view (the main
 * view, its axis pinned to z), the y and x views (widget/slicepanel.js) and the 3D panel, sharing
 * `position` with crosshairs, the edit queue painting through a group of their chunk clients
 * (net/clientgroup.js) and, in "3d" and "ortho", the 3D panel's bricks (net/brickedits.js).
 * Changing the trait rebuilds the panels in place.
 * @module widget/viewmodes
 */

import { ClientGroup } from "../net/clientgroup.js";
import { CrosshairOverlay } from "../views/crosshair.js";
import { Panel3D, TRAITS_3D } from "./panel3d.js";
import { SlicePanel } from "./slicepanel.js";

/** The values of the `view` trait. */
export const VIEW_MODES = Object.freeze(["2d", "3d", "ortho"]);

/** See the module doc. */
export class ViewModes {
  /** @param {import("./voxview.js").VoxView} vox */
  constructor(vox) {
    this.vox = vox;
    this.mode = "2d";
    this.slices = []; // the y and x SlicePanels of ortho
    this.panel3d = null;
    this.cells = [];
    const onView = () => this.apply(vox.model.get("view") ?? "2d");
    vox.model.on("change:view", onView);
    const handlers = TRAITS_3D.map((t) => {
      const h = () => this.panel3d?.sync(t);
      vox.model.on(`change:${t}`, h);
      return [t, h];
    });
    this.unwatch = () => {
      vox.model.off("change:view", onView);
      for (const [t, h] of handlers) vox.model.off(`change:${t}`, h);
    };
  }

  /** @returns {number|null} the main view's pinned axis (z in ortho), null: the `axis` trait */
  get mainAxis() {
    return this.mode === "ortho" ? 0 : null;
  }

  /** The chunk clients besides the main one (kernel messages go to them too). */
  get clients() {
    const out = this.slices.map((s) => s.client);
    if (this.panel3d) out.push(this.panel3d.client);
    return out;
  }

  /**
   * Show `mode`'s panels.
   * @param {string} mode
   */
  apply(mode) {
    if (!VIEW_MODES.includes(mode)) mode = "2d";
    if (mode === this.mode && (mode === "2d" || this.cells.length)) return;
    this.teardown();
    this.mode = mode;
    const { vox } = this;
    const { wrap, canvas } = vox.ui;
    vox.nav.ortho = mode === "ortho";
    if (mode === "3d") {
      canvas.style.display = "none";
      const cell = this.cell();
      wrap.append(cell);
      this.panel3d = new Panel3D(vox, cell);
      this.paintThrough([]);
    } else if (mode === "ortho") {
      wrap.style.display = "grid";
      wrap.style.gridTemplateColumns = "1fr 1fr";
      wrap.style.gap = "2px";
      const main = this.cell();
      wrap.append(main);
      main.append(canvas);
      this.cross = new CrosshairOverlay(vox.view, main);
      const fetchView = vox.view.onViewChange;
      vox.view.onViewChange = () => {
        fetchView();
        this.cross?.draw();
      };
      this.restoreViewChange = () => {
        vox.view.onViewChange = fetchView;
      };
      const cy = this.cell();
      const cx = this.cell();
      const c3 = this.cell();
      wrap.append(cy, cx, c3);
      this.slices = [new SlicePanel(vox, 1, cy), new SlicePanel(vox, 2, cx)];
      this.panel3d = new Panel3D(vox, c3);
      this.paintThrough(this.slices.map((s) => s.client));
    }
    this.registerCaptures();
    vox.syncFromModel();
    vox.layout();
  }

  /**
   * The edit queue paints through a group of the main client, `clients` and the 3D panel's
   * bricks (net/brickedits.js): a stroke shows in every panel at once, before its ack.
   * @param {object[]} clients
   */
  paintThrough(clients) {
    const { vox } = this;
    const group = new ClientGroup([vox.client]);
    group.overlay = vox.client.overlay;
    for (const c of clients) group.add(c);
    if (this.panel3d?.view.ok) group.add(this.panel3d.edits);
    vox.queue.client = group;
  }

  /**
   * Screenshot panels (widget/capture.js): "3d" (its WebGL context keeps its drawing buffer, see
   * views/view3d.js, so the last frame can be read at any time), and in ortho "z" (the main view,
   * also "2d"), "y" and "x". The main view's "2d" is left out while hidden (view "3d").
   */
  registerCaptures() {
    const { vox } = this;
    const cap = vox.capture;
    if (!cap) return;
    const out = [];
    const view3d = this.panel3d?.view;
    if (view3d?.canvas) {
      out.push(
        cap.register(
          "3d",
          () => view3d.canvas,
          () => view3d.canvas,
        ),
      );
    }
    if (this.mode === "ortho") {
      out.push(
        cap.register(
          "z",
          () => vox.ui.canvas,
          () => vox.ui.canvas,
        ),
      );
      for (const s of this.slices) {
        out.push(
          cap.register(
            "zyx"[s.axis] ?? `axis${s.axis}`,
            () => s.canvas,
            () => s.canvas,
          ),
        );
      }
    }
    this.unregisterCaptures = () => {
      for (const f of out) f();
    };
  }

  cell() {
    const c = document.createElement("div");
    c.className = "voxwidget-panel";
    c.style.cssText = "position:relative;overflow:hidden;line-height:0;";
    this.cells.push(c);
    return c;
  }

  teardown() {
    const { vox } = this;
    this.unregisterCaptures?.();
    this.unregisterCaptures = null;
    for (const s of this.slices) s.dispose();
    this.slices = [];
    this.panel3d?.dispose();
    this.panel3d = null;
    vox.queue.client = vox.client;
    const { wrap, canvas } = vox.ui;
    wrap.prepend(canvas);
    canvas.style.display = "";
    for (const c of this.cells) c.remove();
    this.cells = [];
    wrap.style.display = "";
    wrap.style.gridTemplateColumns = "";
    wrap.style.gap = "";
    this.cross?.dispose();
    this.cross = null;
    this.restoreViewChange?.();
    this.restoreViewChange = null;
  }

  /**
   * Lay the panels out in `width` × `height` CSS px; false in "2d" (the main view fills it).
   * @returns {boolean}
   */
  layout(width, height) {
    if (this.mode === "3d") {
      this.vox.view.resize(1, 1); // hidden: it plans (and fetches) next to nothing
      this.panel3d.resize(width, height);
      return true;
    }
    if (this.mode !== "ortho") return false;
    const w = Math.max(1, Math.floor((width - 2) / 2));
    const h = Math.max(1, Math.floor((height - 2) / 2));
    this.vox.view.resize(w, h);
    for (const s of this.slices) s.resize(w, h);
    this.panel3d.resize(w, h);
    return true;
  }

  /** A trait changed (null: all): the extra panels follow it. */
  sync(name = null) {
    for (const s of this.slices) s.sync(name);
    this.panel3d?.sync(name);
    if (this.mode === "ortho" && (name === null || name === "position")) {
      this.cross?.set(this.vox.model.get("position") ?? null);
    }
  }

  /** Tiles or edits changed: redraw the extra slice views. */
  invalidate() {
    for (const s of this.slices) s.view.invalidate();
    this.panel3d?.view.invalidate();
  }

  /** @returns {string} the 3D progress for the status line */
  statusText() {
    return this.panel3d?.progressText() ?? "";
  }

  /** The connection came back: the extra clients ask again. */
  retry() {
    for (const c of this.clients) c.retry();
  }

  dispose() {
    this.teardown();
    this.unwatch();
  }
}
