/**
 * The widget's DOM: toolbar controls, the canvas with the label panel beside it (`side`, filled by
 * ui/labelpanel.js) and the help overlay over it (ui/help.js), and the status line (class `voxwidget-status`:
 * cursor `z y x`, image value, label id; loading progress; sync state "saved" / "pending N" /
 * "offline (N pending)" / "replaying N" / error, and a warning (class `voxwidget-warn`) when edits
 * cannot be kept in the browser). The toolbar is bound to the traits by ui/toolbar.js, the status
 * line written by ui/status.js.
 * Styles are inline (one <style> per view) and use JupyterLab's theme variables with fallbacks.
 * @module ui/dom
 */

const CSS = `
.voxwidget { font: 12px/1.4 var(--jp-ui-font-family, system-ui, sans-serif);
  color: var(--jp-ui-font-color1, #222); background: var(--jp-layout-color1, #fff);
  border: 1px solid var(--jp-border-color2, #ddd); border-radius: 3px; outline: none;
  display: flex; flex-direction: column; min-width: 200px; }
.voxwidget:focus-within { border-color: var(--jp-brand-color1, #1976d2); }
.voxwidget-toolbar { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: center;
  padding: 4px 6px; border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.voxwidget-group { display: inline-flex; align-items: center; gap: 4px; }
.voxwidget button { font: inherit; color: inherit; cursor: pointer; padding: 1px 8px;
  background: var(--jp-layout-color2, #eee); border: 1px solid var(--jp-border-color1, #bbb);
  border-radius: 3px; }
.voxwidget button[aria-pressed="true"] { background: var(--jp-brand-color1, #1976d2);
  border-color: var(--jp-brand-color1, #1976d2); color: var(--jp-ui-inverse-font-color1, #fff); }
.voxwidget input, .voxwidget select { font: inherit; color: inherit;
  background: var(--jp-input-background, var(--jp-layout-color1, #fff));
  border: 1px solid var(--jp-border-color1, #bbb); border-radius: 2px; padding: 0 3px; }
.voxwidget input[type=number] { width: 5em; }
.voxwidget-discard { display: flex; gap: 6px; align-items: center; padding: 4px 6px;
  background: var(--jp-warn-color3, #fff3cd); border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.voxwidget input[type=range] { width: 90px; padding: 0; border: none; background: none; }
.voxwidget input.voxwidget-label { width: 11em; }
.voxwidget input[aria-invalid="true"] { border-color: var(--jp-error-color1, #d32f2f); }
.voxwidget-msg { color: var(--jp-error-color1, #d32f2f); }
.voxwidget-canvas-wrap { position: relative; overflow: hidden; line-height: 0; }
.voxwidget-canvas { display: block; touch-action: none; cursor: crosshair; }
.voxwidget-canvas[data-tool="pan"] { cursor: grab; }
.voxwidget-status { display: flex; gap: 14px; padding: 2px 6px; min-height: 1.4em;
  border-top: 1px solid var(--jp-border-color2, #ddd); color: var(--jp-ui-font-color2, #555);
  font-family: var(--jp-code-font-family, monospace); white-space: nowrap; overflow: hidden; }
.voxwidget-sync[data-state="error"] { color: var(--jp-error-color1, #d32f2f); }
.voxwidget-sync[data-state="pending"] { color: var(--jp-warn-color1, #f57c00); }
.voxwidget-sync[data-state="busy"] { color: var(--jp-warn-color1, #f57c00); }
.voxwidget-sync[data-state="offline"] { color: var(--jp-error-color1, #d32f2f); font-weight: bold; }
.voxwidget-sync[data-state="replaying"] { color: var(--jp-brand-color1, #1976d2); }
.voxwidget-warn { color: var(--jp-warn-color1, #f57c00); }
.voxwidget-main { display: flex; min-height: 0; }
.voxwidget-main > .voxwidget-canvas-wrap { flex: 1 1 auto; min-width: 0; }
.voxwidget-side { flex: 0 0 190px; border-left: 1px solid var(--jp-border-color2, #ddd); position: relative; }
.voxwidget-panel { position: absolute; inset: 0; display: flex; flex-direction: column; }
.voxwidget-panel-head { display: flex; justify-content: space-between; gap: 4px; padding: 2px 4px;
  border-bottom: 1px solid var(--jp-border-color2, #ddd); }
.voxwidget-panel-list { overflow-y: auto; flex: 1 1 auto; }
.voxwidget-panel-more { color: var(--jp-ui-font-color2, #555); padding: 0 4px; }
.voxwidget-row { display: flex; align-items: center; gap: 4px; padding: 1px 4px; cursor: pointer; }
.voxwidget-row[aria-selected="true"] { background: var(--jp-brand-color3, #bbdefb); }
.voxwidget-swatch { width: 12px; height: 12px; border-radius: 2px; flex: none; }
.voxwidget-row-id { font-family: var(--jp-code-font-family, monospace); }
.voxwidget-row-name { flex: 1 1 auto; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.voxwidget-row-count { color: var(--jp-ui-font-color2, #555); font-family: var(--jp-code-font-family, monospace); }
.voxwidget button.voxwidget-row-delete { padding: 0 4px; }
.voxwidget-help { position: absolute; inset: 0; overflow: auto; line-height: 1.4; padding: 8px 12px;
  background: rgba(20, 20, 24, 0.92); color: #eee; cursor: default; }
.voxwidget-help[hidden] { display: none; }
.voxwidget-help th { text-align: left; padding-right: 12px; white-space: nowrap; font-weight: normal;
  font-family: var(--jp-code-font-family, monospace); color: #ffe066; }
.voxwidget-help-title { font-weight: bold; margin-bottom: 4px; }
`;

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v);
  }
  for (const c of children) el.append(c);
  return el;
}

function labelled(text, control) {
  return h("label", { class: "voxwidget-group" }, text, control);
}

/**
 * Build the widget's DOM inside `el`.
 * @param {HTMLElement} el
 * @returns {object} the elements: root, canvas, wrap, status parts and controls
 */
export function buildUI(el) {
  const style = h("style", { text: CSS });
  const tools = {};
  for (const [name, title] of [
    ["pan", "Pan (p)"],
    ["brush", "Brush (b)"],
    ["erase", "Erase (e)"],
    ["fill", "Fill (f): a click fills the region under it"],
    ["polygon", "Polygon (g): clicks add vertices, double-click or Enter fills"],
  ]) {
    tools[name] = h("button", { type: "button", title, "aria-pressed": "false", text: name });
  }
  const label = h("input", {
    class: "voxwidget-label",
    type: "text",
    inputmode: "numeric",
    spellcheck: "false",
    title: "Label id to paint",
  });
  const labelMsg = h("span", { class: "voxwidget-msg", role: "alert" });
  const radius = h("input", { type: "range", min: "0", max: "64", step: "1", title: "Brush radius ([ ])" });
  const radiusText = h("span", { text: "" });
  const axis = h("select", { title: "View axis" });
  for (const a of ["z", "y", "x"]) axis.append(h("option", { value: a, text: a }));
  const slice = h("input", { type: "range", min: "0", max: "0", step: "1", title: "Slice (wheel, ↑ ↓)" });
  const sliceNum = h("input", { type: "number", min: "0", max: "0", step: "1" });
  const opacity = h("input", { type: "range", min: "0", max: "1", step: "0.05", title: "Label opacity" });
  const cmin = h("input", { type: "number", step: "any", title: "Contrast minimum" });
  const cmax = h("input", { type: "number", step: "any", title: "Contrast maximum" });
  const dims = h("button", {
    type: "button",
    class: "voxwidget-dims",
    title: "Brush and fill in 3D (d)",
    "aria-pressed": "false",
    text: "3D",
  });
  const preserve = h("input", {
    type: "checkbox",
    class: "voxwidget-preserve",
    title: "Brush and fill overwrite only background",
  });
  const interpolate = h("button", {
    type: "button",
    class: "voxwidget-interpolate",
    title: "Interpolate the label between its annotated slices along the view axis (i)",
    text: "interpolate",
  });
  const help = h("button", {
    type: "button",
    class: "voxwidget-help-button",
    title: "Tools and keys (?)",
    text: "?",
  });
  const undo = h("button", { type: "button", title: "Undo (ctrl+z)", text: "undo" });
  const redo = h("button", { type: "button", title: "Redo (ctrl+shift+z)", text: "redo" });
  const clearCache = h("button", {
    type: "button",
    class: "voxwidget-clear-cache",
    title: "Empty this browser's chunk cache (IndexedDB)",
    text: "clear cache",
  });
  const toolbar = h(
    "div",
    { class: "voxwidget-toolbar" },
    h("span", { class: "voxwidget-group" }, ...Object.values(tools)),
    h("span", { class: "voxwidget-group" }, labelled("label", label), labelMsg),
    h("span", { class: "voxwidget-group" }, labelled("radius", radius), radiusText, dims),
    labelled("preserve", preserve),
    interpolate,
    labelled("axis", axis),
    h("span", { class: "voxwidget-group" }, labelled("slice", slice), sliceNum),
    labelled("opacity", opacity),
    h("span", { class: "voxwidget-group" }, "contrast", cmin, cmax),
    h("span", { class: "voxwidget-group" }, undo, redo),
    clearCache,
    help,
  );
  const canvas = h("canvas", { class: "voxwidget-canvas", tabindex: "-1" });
  const wrap = h("div", { class: "voxwidget-canvas-wrap" }, canvas);
  const side = h("div", { class: "voxwidget-side" });
  const main = h("div", { class: "voxwidget-main" }, wrap, side);
  const readout = h("span", { class: "voxwidget-readout", text: "z y x = – – –" });
  const loading = h("span", { class: "voxwidget-loading" });
  const sync = h("span", { class: "voxwidget-sync", "data-state": "saved", text: "saved" });
  const warn = h("span", { class: "voxwidget-warn" });
  const status = h("div", { class: "voxwidget-status", "aria-live": "polite" }, readout, loading, sync, warn);
  const root = h(
    "div",
    { class: "voxwidget", tabindex: "0", "data-lm-suppress-shortcuts": "true" },
    style,
    toolbar,
    main,
    status,
  );
  el.append(root);
  return {
    root,
    canvas,
    wrap,
    side,
    status,
    readout,
    loading,
    sync,
    warn,
    controls: {
      tools,
      label,
      labelMsg,
      radius,
      radiusText,
      axis,
      slice,
      sliceNum,
      opacity,
      cmin,
      cmax,
      undo,
      redo,
      clearCache,
      dims,
      preserve,
      interpolate,
      help,
    },
  };
}
