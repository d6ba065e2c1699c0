/**
 * Moving through the volume: pan, zoom and slice steps from input applied to the view and pushed
 * back to the model's `position` and `zoom` traits (throttled), and what the view shows turned into
 * the chunk client's plan, with prefetch ahead in the scroll direction.
 * @module widget/navigation
 */

import { planeAxes } from "../core/grid.js";
import { prefetchPlan } from "../core/lod.js";

const TRAIT_THROTTLE_MS = 100;
const MIN_ZOOM = 1 / 64;
const MAX_ZOOM = 256;
const PREFETCH_AHEAD = 3; // planes prefetched ahead of a view at rest
const PREFETCH_MAX_AHEAD = 16; // … and while scrolling on (the client bounds the bytes in flight)
const SCROLL_RUN_MS = 1000; // slice steps this close in one direction make a scroll run

/** Pan/zoom/slice of one view, and its fetch plan (see the module doc). */
export class Navigation {
  /**
   * @param {object} p
   * @param {object} p.model anywidget model (`position`, `zoom`)
   * @param {import("../views/view2d.js").View2D} p.view
   * @param {import("../net/client.js").ChunkClient} p.client
   */
  constructor({ model, view, client }) {
    Object.assign(this, { model, view, client });
    this.throttle = null;
    this.sentPosition = null; // the position this view last set (its echo does not re-centre)
    /** In the ortho layout pan and zoom stay local: only the slice index goes to `position`. */
    this.ortho = false;
  }

  /** Push position/zoom after a pan or zoom, throttled (`now`: at once). */
  pushView(now = false) {
    const flush = () => {
      this.throttle = null;
      const st = this.view.state;
      const { u, v } = planeAxes(st.axis);
      const shape = st.shape;
      const pos = [...(this.model.get("position") ?? [0, 0, 0])];
      pos[st.axis] = st.index;
      if (this.ortho) {
        this.sentPosition = pos;
        this.model.set("position", pos);
        this.model.save_changes();
        return;
      }
      pos[u] = Math.max(0, Math.min(shape[u] - 1, Math.floor(st.centerU)));
      pos[v] = Math.max(0, Math.min(shape[v] - 1, Math.floor(st.centerV)));
      this.sentPosition = pos;
      this.model.set("zoom", st.zoom);
      this.model.set("position", pos);
      this.model.save_changes();
    };
    if (now) {
      if (this.throttle) clearTimeout(this.throttle);
      flush();
    } else if (!this.throttle) this.throttle = setTimeout(flush, TRAIT_THROTTLE_MS);
  }

  /** Leave fit mode: make the current fit explicit (before a pan or zoom). */
  unfit() {
    if (this.view.state.zoom > 0) return;
    const { cu, cv } = this.view.centre;
    this.view.set({ zoom: this.view.fitScale, centerU: cu, centerV: cv });
  }

  /**
   * Pan by a drag of CSS px.
   * @param {number} dx
   * @param {number} dy
   */
  panBy(dx, dy) {
    this.unfit();
    const s = this.view.scale;
    this.view.set({
      centerU: this.view.state.centerU - dx / s,
      centerV: this.view.state.centerV - dy / (s * this.view.aspect),
    });
    this.pushView();
  }

  /**
   * Step `n` slices (clipped to the volume).
   * @param {number} n
   */
  stepSlice(n) {
    const st = this.view.state;
    const idx = Math.max(0, Math.min(st.shape[st.axis] - 1, st.index + n));
    if (idx === st.index) return;
    this.view.set({ index: idx });
    this.pushView(); // throttled: scrolling sends the kernel a position at most every 100 ms
  }

  /**
   * Zoom by `factor` about a CSS px (default: the centre), within MIN_ZOOM … MAX_ZOOM.
   * @param {number} factor
   * @param {number} [x]
   * @param {number} [y]
   */
  zoomBy(factor, x, y) {
    this.unfit();
    const v = this.view;
    const px = x ?? v.width / 2;
    const py = y ?? v.height / 2;
    const before = v.screenToPlane(px, py);
    const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, v.scale * factor));
    v.set({ zoom });
    const after = v.screenToPlane(px, py);
    v.set({
      centerU: v.state.centerU + before.u - after.u,
      centerV: v.state.centerV + before.v - after.v,
    });
    this.pushView();
  }

  /**
   * Fetch what the view shows (coarse first), then prefetch the next planes in the scroll
   * direction: PREFETCH_AHEAD planes at rest, more while the user keeps scrolling one way (up to
   * PREFETCH_MAX_AHEAD), so a scroll finds its next slices on the wire or here while a view at rest
   * fetches little it may never show. The client bounds the bytes prefetch has in flight.
   */
  fetchView() {
    const st = this.view.state;
    const now = Date.now();
    if (this.lastIndex !== undefined && st.index !== this.lastIndex) {
      const dir = Math.sign(st.index - this.lastIndex);
      const onward = dir === this.scrollDir && now - (this.scrolledAt ?? 0) < SCROLL_RUN_MS;
      this.scrollRun = onward ? (this.scrollRun ?? 0) + 1 : 0;
      this.scrollDir = dir;
      this.scrolledAt = now;
    } else this.scrollRun = 0; // panned or zoomed: back to the window of a view at rest
    this.lastIndex = st.index;
    const plan = this.view.plan();
    const levels = st.levels?.length ? st.levels : [{ shape: st.shape }];
    const n = Math.min(PREFETCH_MAX_AHEAD, PREFETCH_AHEAD + 2 * (this.scrollRun ?? 0));
    const ahead = prefetchPlan(plan, levels, st.chunks, st.axis, this.scrollDir ?? 1, n);
    this.client.viewPlan(st.axis, [...plan, ...ahead]);
  }

  /** Drop a pending trait push (unmount). */
  dispose() {
    if (this.throttle) {
      clearTimeout(this.throttle);
      this.throttle = null;
    }
  }
}
