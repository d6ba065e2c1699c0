/**
 * The toolbar bound two-way to the model's traits: tool buttons (pan/brush/erase/fill/polygon), the
 * 3D toggle (`brush_dims`), preserve (`preserve_labels`), interpolate and help (view actions), label (a
 * decimal string, uint64-safe, checked against the label dtype with a visible message), brush
 * radius, axis, slice (slider + number), opacity, contrast min/max, undo/redo. The elements are
 * made by ui/dom.js.
 * @module ui/toolbar
 */

import { parseLabel } from "../net/edits.js";

/**
 * Bind the toolbar to the model's traits (both ways).
 * @param {object} p
 * @param {object} p.model anywidget model
 * @param {object} p.ui from `buildUI` (ui/dom.js)
 * @param {(name: string, value: any) => void} p.setTrait set + save_changes
 * @param {(name: "undo"|"redo") => void} p.command
 * @param {(name: string) => void} [p.act] a view action (ui/keys.js: "interpolate", "help")
 * @returns {{update: () => void, dispose: () => void}} `update` re-reads every trait into the DOM
 */
export function bindUI({ model, ui, setTrait, command, act = () => {} }) {
  const c = ui.controls;
  const off = [];
  const on = (el, ev, fn) => {
    el.addEventListener(ev, fn);
    off.push(() => el.removeEventListener(ev, fn));
  };
  const axisIndex = () => ["z", "y", "x"].indexOf(model.get("axis") ?? "z");

  for (const [name, btn] of Object.entries(c.tools)) on(btn, "click", () => setTrait("tool", name));
  const checkLabel = (commit) => {
    const text = c.label.value.trim();
    try {
      parseLabel(text, model.get("label_dtype") || "uint32");
      c.label.removeAttribute("aria-invalid");
      c.labelMsg.textContent = "";
      if (commit && text !== String(model.get("label"))) setTrait("label", String(BigInt(text)));
    } catch (err) {
      c.label.setAttribute("aria-invalid", "true");
      c.labelMsg.textContent = err.message;
    }
  };
  on(c.label, "input", () => checkLabel(false));
  on(c.label, "change", () => checkLabel(true));
  on(c.label, "keydown", (e) => {
    if (e.key === "Enter") checkLabel(true);
  });
  on(c.radius, "input", () => setTrait("brush_radius", Number(c.radius.value)));
  on(c.axis, "change", () => setTrait("axis", c.axis.value));
  const setSlice = (value) => {
    const pos = [...(model.get("position") ?? [0, 0, 0])];
    const a = axisIndex();
    const n = (model.get("shape") ?? [1, 1, 1])[a];
    const v = Math.max(0, Math.min(n - 1, Math.round(Number(value))));
    if (!Number.isFinite(v) || pos[a] === v) return;
    pos[a] = v;
    setTrait("position", pos);
  };
  on(c.slice, "input", () => setSlice(c.slice.value));
  on(c.sliceNum, "change", () => setSlice(c.sliceNum.value));
  on(c.opacity, "input", () => setTrait("opacity", Number(c.opacity.value)));
  const setContrast = () => {
    const lo = Number(c.cmin.value);
    const hi = Number(c.cmax.value);
    const ok = Number.isFinite(lo) && Number.isFinite(hi) && hi > lo;
    c.cmin.toggleAttribute("aria-invalid", !ok);
    c.cmax.toggleAttribute("aria-invalid", !ok);
    if (ok) setTrait("contrast_limits", [lo, hi]);
  };
  on(c.cmin, "change", setContrast);
  on(c.cmax, "change", setContrast);
  on(c.dims, "click", () => setTrait("brush_dims", model.get("brush_dims") === 3 ? 2 : 3));
  on(c.preserve, "change", () => setTrait("preserve_labels", c.preserve.checked));
  on(c.interpolate, "click", () => act("interpolate"));
  on(c.help, "click", () => act("help"));
  on(c.undo, "click", () => command("undo"));
  on(c.redo, "click", () => command("redo"));

  const update = () => {
    const tool = model.get("tool") ?? "brush";
    for (const [name, btn] of Object.entries(c.tools))
      btn.setAttribute("aria-pressed", String(name === tool));
    ui.canvas.dataset.tool = tool;
    const label = String(model.get("label") ?? "1");
    if (document.activeElement !== c.label && c.label.value !== label) {
      c.label.value = label;
      checkLabel(false);
    }
    const r = model.get("brush_radius") ?? 5;
    if (Number(c.radius.max) < r) c.radius.max = String(r);
    c.radius.value = String(r);
    c.radiusText.textContent = String(r);
    c.axis.value = model.get("axis") ?? "z";
    const a = axisIndex();
    const n = (model.get("shape") ?? [1, 1, 1])[a];
    const idx = (model.get("position") ?? [0, 0, 0])[a];
    c.slice.max = String(n - 1);
    c.sliceNum.max = String(n - 1);
    c.slice.value = String(idx);
    if (document.activeElement !== c.sliceNum) c.sliceNum.value = String(idx);
    c.opacity.value = String(model.get("opacity") ?? 0.5);
    c.dims.setAttribute("aria-pressed", String(model.get("brush_dims") === 3));
    c.preserve.checked = model.get("preserve_labels") === true;
    const [lo, hi] = model.get("contrast_limits") ?? [0, 255];
    if (document.activeElement !== c.cmin) c.cmin.value = String(lo);
    if (document.activeElement !== c.cmax) c.cmax.value = String(hi);
  };
  const traits = [
    "tool",
    "label",
    "brush_radius",
    "axis",
    "position",
    "shape",
    "opacity",
    "contrast_limits",
    "label_dtype",
    "brush_dims",
    "preserve_labels",
  ];
  for (const t of traits) {
    model.on(`change:${t}`, update);
    off.push(() => model.off(`change:${t}`, update));
  }
  update();
  return {
    update,
    dispose: () => {
      for (const f of off) f();
    },
  };
}
