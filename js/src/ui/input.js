/**
 * Mouse and keyboard input of one view, translated into actions on its controller.
 *
 * - brush/erase tool: left drag paints; pan tool: left drag pans; middle drag pans with any tool;
 *   fill and polygon tools: a left click is a `toolClick` (fill there, add a vertex); a double-click
 *   closes the polygon; alt + left click picks the label under the pointer with any tool;
 * - wheel steps slices; ctrl/meta + wheel zooms about the cursor;
 * - keys while the widget has focus: ArrowUp/ArrowDown or `,`/`.` step the slice, `+`/`-` zoom,
 *   `[`/`]` radius, ctrl/meta+z undo, ctrl/meta+shift+z or ctrl+y redo; Enter, Escape and
 *   Backspace are the actions "enter", "escape", "backspace"; the single keys of ui/keys.js
 *   (tools, `l` pick, `n` new label, `d` 2D/3D, `i` interpolate, `?` help) their actions there.
 * Handled wheel and key events are kept from scrolling the notebook or reaching JupyterLab.
 * @module ui/input
 */

/**
 * @typedef {object} Actions
 * @property {() => string} tool current tool
 * @property {(x: number, y: number) => void} strokeStart CSS px within the canvas
 * @property {(x: number, y: number) => void} strokeMove
 * @property {() => void} strokeEnd
 * @property {(dx: number, dy: number) => void} panBy CSS px
 * @property {() => void} panEnd
 * @property {(steps: number) => void} stepSlice
 * @property {(factor: number, x?: number, y?: number) => void} zoomBy about a CSS px (default: centre)
 * @property {(tool: string) => void} setTool
 * @property {(delta: number) => void} radiusBy
 * @property {(name: "undo"|"redo") => void} command
 * @property {(x: number|null, y?: number) => void} hover cursor position, null when it left
 * @property {(x: number, y: number) => void} toolClick a left click with the fill or polygon tool
 * @property {(x: number, y: number) => void} pick alt + left click
 * @property {(name: string) => boolean|void} act a key's action (ui/keys.js, "enter", "escape",
 *   "backspace", "dblclick"); false when it did nothing (the key then goes on to JupyterLab)
 * @property {(x: number, y: number) => boolean} [click] the ortho views' position click: a click
 *   with the pan tool (no drag) or a shift+click with a drag tool; returns whether it was handled
 *   (else a shift+click paints)
 */

import { KEY_ACTIONS } from "./keys.js";

const CLICK_TOOLS = new Set(["fill", "polygon"]);

/**
 * Attach input handlers.
 * @param {object} p
 * @param {HTMLCanvasElement} p.canvas
 * @param {HTMLElement} p.root focusable element receiving keys
 * @param {() => {width: number, height: number}} p.size the canvas's CSS size as laid out by the view
 * @param {Actions} p.actions
 * @returns {() => void} detach
 */
export function attachInput({ canvas, root, size, actions }) {
  let mode = null; // "stroke" | "pan" | null
  let pointer = null;
  let last = null;
  let wheelAcc = 0;
  let pressed = null; // where a pan press started (a click when it ends there)

  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    const s = size();
    return {
      x: ((e.clientX - r.left) * s.width) / (r.width || 1),
      y: ((e.clientY - r.top) * s.height) / (r.height || 1),
    };
  };

  const down = (e) => {
    if (mode) return;
    root.focus({ preventScroll: true });
    const p = local(e);
    if (e.button === 0 && e.altKey) {
      e.preventDefault();
      actions.pick(p.x, p.y);
      return;
    }
    if (e.button === 0 && CLICK_TOOLS.has(actions.tool())) {
      e.preventDefault();
      actions.toolClick(p.x, p.y);
      return;
    }
    if (e.button === 0 && e.shiftKey && actions.click?.(p.x, p.y)) {
      e.preventDefault();
      return;
    }
    pressed = e.button === 0 ? p : null;
    if (e.button === 1 || (e.button === 0 && actions.tool() === "pan")) mode = "pan";
    else if (e.button === 0) mode = "stroke";
    else return;
    e.preventDefault();
    pointer = e.pointerId;
    last = p;
    canvas.setPointerCapture?.(e.pointerId);
    if (mode === "stroke") actions.strokeStart(p.x, p.y);
  };
  const move = (e) => {
    const p = local(e);
    actions.hover(p.x, p.y);
    if (!mode || e.pointerId !== pointer) return;
    if (mode === "pan") actions.panBy(p.x - last.x, p.y - last.y);
    else actions.strokeMove(p.x, p.y);
    last = p;
  };
  const up = (e) => {
    if (!mode || e.pointerId !== pointer) return;
    if (mode === "stroke") actions.strokeEnd();
    else {
      actions.panEnd();
      const p = local(e);
      if (pressed && actions.click && Math.hypot(p.x - pressed.x, p.y - pressed.y) < 4)
        actions.click(p.x, p.y);
    }
    pressed = null;
    mode = null;
    pointer = null;
    canvas.releasePointerCapture?.(e.pointerId);
  };
  const leave = () => actions.hover(null);
  const wheel = (e) => {
    e.preventDefault();
    e.stopPropagation();
    if (e.ctrlKey || e.metaKey) {
      const p = local(e);
      const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaY;
      actions.zoomBy(Math.exp(-dy / 300), p.x, p.y);
      return;
    }
    if (e.deltaMode === 1 || e.deltaMode === 2) {
      actions.stepSlice(Math.sign(e.deltaY));
      return;
    }
    wheelAcc += e.deltaY;
    const steps = Math.trunc(wheelAcc / 100);
    if (steps) {
      wheelAcc -= steps * 100;
      actions.stepSlice(steps > 0 ? Math.min(steps, 10) : Math.max(steps, -10));
    }
  };
  const key = (e) => {
    const t = e.target;
    if (t && t !== root && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) {
      return; // typing in the toolbar
    }
    const mod = e.ctrlKey || e.metaKey;
    const k = e.key;
    let handled = true;
    if (mod && (k === "z" || k === "Z") && !e.shiftKey) actions.command("undo");
    else if (mod && (((k === "z" || k === "Z") && e.shiftKey) || k === "y")) actions.command("redo");
    else if (mod) handled = false;
    else if (k === "ArrowUp" || k === ".") actions.stepSlice(1);
    else if (k === "ArrowDown" || k === ",") actions.stepSlice(-1);
    else if (k === "+" || k === "=") actions.zoomBy(1.25);
    else if (k === "-" || k === "_") actions.zoomBy(0.8);
    else if (k === "[") actions.radiusBy(-1);
    else if (k === "]") actions.radiusBy(1);
    else if (k === "Enter") handled = actions.act("enter") !== false;
    else if (k === "Escape") handled = actions.act("escape") !== false;
    else if (k === "Backspace") handled = actions.act("backspace") !== false;
    else if (KEY_ACTIONS.has(k) && !e.altKey) handled = actions.act(KEY_ACTIONS.get(k)) !== false;
    else handled = false;
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  };
  const stopKey = (e) => {
    // keep JupyterLab's command-mode shortcuts (b, e, arrows, ...) away while the widget has focus
    if (e.target === root || e.target === canvas) e.stopPropagation();
  };
  const context = (e) => e.preventDefault();
  const dblclick = (e) => {
    if (e.button === 0 && CLICK_TOOLS.has(actions.tool())) actions.act("dblclick");
  };
  const auxclick = (e) => {
    if (e.button === 1) e.preventDefault(); // no middle-click paste/autoscroll
  };

  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  canvas.addEventListener("pointerleave", leave);
  canvas.addEventListener("wheel", wheel, { passive: false });
  canvas.addEventListener("contextmenu", context);
  canvas.addEventListener("dblclick", dblclick);
  canvas.addEventListener("auxclick", auxclick);
  canvas.addEventListener("mousedown", auxclick);
  root.addEventListener("keydown", key);
  root.addEventListener("keyup", stopKey);
  root.addEventListener("keypress", stopKey);
  return () => {
    canvas.removeEventListener("pointerdown", down);
    canvas.removeEventListener("pointermove", move);
    canvas.removeEventListener("pointerup", up);
    canvas.removeEventListener("pointercancel", up);
    canvas.removeEventListener("pointerleave", leave);
    canvas.removeEventListener("wheel", wheel);
    canvas.removeEventListener("contextmenu", context);
    canvas.removeEventListener("dblclick", dblclick);
    canvas.removeEventListener("auxclick", auxclick);
    canvas.removeEventListener("mousedown", auxclick);
    root.removeEventListener("keydown", key);
    root.removeEventListener("keyup", stopKey);
    root.removeEventListener("keypress", stopKey);
    if (mode === "stroke") actions.strokeEnd();
  };
}
