/**
 * The model's traits in a view: which ones the view follows, and how a change is applied to the
 * view state, the edit queue and the page's chunk cache. Python may change any of them at any time;
 * only the trait that changed is applied, so unsent local pan/zoom state is not clobbered by
 * unrelated changes. (The toolbar follows its own traits: ui/toolbar.js.)
 * @module widget/traits
 */

import { AXES, planeAxes } from "../core/grid.js";
import { labelVisibility } from "../core/visibility.js";

/** The traits a view follows, each applied on its own by {@link syncFromModel}. */
export const VIEW_TRAITS = Object.freeze([
  "axis",
  "position",
  "zoom",
  "opacity",
  "contrast_limits",
  "tool",
  "brush_radius",
  "shape",
  "chunk_shape",
  "height",
  "label_dtype",
  "levels",
  "browser_cache_mb",
  "voxel_size",
  "brush_dims",
  "label",
  "hidden_labels",
  "show_selected_only",
]);

/**
 * Call `onTrait(name)` whenever one of {@link VIEW_TRAITS} changes.
 * @param {object} model anywidget model
 * @param {(name: string) => void} onTrait
 * @returns {(() => void)[]} the disposers
 */
export function watchTraits(model, onTrait) {
  return VIEW_TRAITS.map((t) => {
    const handler = () => onTrait(t);
    model.on(`change:${t}`, handler);
    return () => model.off(`change:${t}`, handler);
  });
}

/**
 * Read traits into the view, the edit queue and the persistent cache.
 * @param {object} p
 * @param {object} p.model anywidget model
 * @param {import("../views/view2d.js").View2D} p.view
 * @param {import("../net/editqueue.js").EditQueue} p.queue its chunk shape and label dtype
 * @param {import("../store/chunkcache.js").ChunkCache} p.persist its budget
 * @param {number[]|null} p.sentPosition the position this view last set itself
 * @param {() => void} p.layout resize the canvas (the `height` trait)
 * @param {number|null} [p.fixedAxis] the view's own axis (the ortho layout's views), not `axis`
 * @param {string|null} [name] the changed trait, or null for all
 */
export function syncFromModel(
  { model: m, view, queue, persist, sentPosition, layout, fixedAxis = null },
  name = null,
) {
  const all = name === null;
  const st = view.state;
  const shape = m.get("shape") ?? [1, 1, 1];
  const axis = fixedAxis ?? Math.max(0, AXES.indexOf(m.get("axis") ?? "z"));
  const pos = m.get("position") ?? shape.map((s) => Math.floor(s / 2));
  const patch = {};
  if (all || name === "shape") patch.shape = shape;
  if (all || name === "chunk_shape") {
    patch.chunks = m.get("chunk_shape") ?? [64, 64, 64];
    queue.chunks = patch.chunks;
  }
  if (all || name === "zoom") patch.zoom = Number(m.get("zoom") ?? 0);
  if (all || name === "opacity") patch.opacity = Number(m.get("opacity") ?? 0.5);
  if (all || name === "contrast_limits") patch.contrast = m.get("contrast_limits") ?? [0, 255];
  if (all || name === "tool") patch.tool = m.get("tool") ?? "brush";
  if (all || name === "brush_radius") patch.radius = m.get("brush_radius") ?? 5;
  if (all || name === "label_dtype") queue.dtype = m.get("label_dtype") || queue.dtype;
  if (all || name === "levels") patch.levels = m.get("levels") ?? [];
  if (all || name === "voxel_size") patch.voxelSize = m.get("voxel_size") ?? null;
  if (all || name === "brush_dims") patch.dims = m.get("brush_dims") === 3 ? 3 : 2;
  if (all || name === "label" || name === "hidden_labels" || name === "show_selected_only") {
    patch.labelVis = labelVisibility({
      hidden: m.get("hidden_labels") ?? [],
      only: m.get("show_selected_only") === true,
      selected: String(m.get("label") ?? "0"),
    });
  }
  if (name === "browser_cache_mb") persist.setBudget((m.get("browser_cache_mb") ?? 256) * 2 ** 20);
  if (all || name === "axis" || name === "position" || name === "shape") {
    const { u, v } = planeAxes(axis);
    patch.axis = axis;
    patch.index = pos[axis];
    const own = sentPosition?.every((p, i) => p === pos[i]);
    let moved = Math.floor(st.centerU) !== pos[u] || Math.floor(st.centerV) !== pos[v];
    if (fixedAxis !== null && moved && !all && axis === st.axis) {
      // the ortho views follow `position` only when it leaves their view: a scroll through one of
      // them moves the others' crosshairs, not their pan
      const r = view.visibleRect();
      moved = !(pos[u] >= r.u0 && pos[u] < r.u1 && pos[v] >= r.v0 && pos[v] < r.v1);
    }
    if (all || axis !== st.axis || (!own && moved)) {
      patch.centerU = pos[u] + 0.5;
      patch.centerV = pos[v] + 0.5;
    }
  }
  view.set(patch);
  if (all || name === "height") layout();
}
