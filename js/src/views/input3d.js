/**
 * The 3D view's pointer and key handling: orbit, pan and zoom are three.js' OrbitControls
 * (`orbitControls`); a left press released within CLICK_PX is a click (a pick), `r` resets the
 * camera (`listen3d`).
 * @module views/input3d
 */

import { OrbitControls } from "three/addons/controls/OrbitControls.js";

/** A press that moved less than this (CSS px) is a click, not an orbit. */
export const CLICK_PX = 4;

/**
 * Listen on the 3D canvas.
 * @param {HTMLCanvasElement} canvas
 * @param {object} p
 * @param {(x: number, y: number) => void} p.onClick a click at CSS px within the canvas
 * @param {() => void} p.onReset the `r` key
 * @returns {() => void} stop listening
 */
export function listen3d(canvas, { onClick, onReset }) {
  let down = null;
  const onDown = (e) => {
    canvas.focus({ preventScroll: true });
    down = { x: e.clientX, y: e.clientY, button: e.button };
  };
  const onUp = (e) => {
    if (down && down.button === 0 && Math.hypot(e.clientX - down.x, e.clientY - down.y) < CLICK_PX) {
      const r = canvas.getBoundingClientRect();
      onClick(e.clientX - r.left, e.clientY - r.top);
    }
    down = null;
  };
  const onKey = (e) => {
    if (e.key === "r" && !e.ctrlKey && !e.metaKey && !e.altKey) {
      onReset();
      e.preventDefault();
      e.stopPropagation();
    }
  };
  canvas.addEventListener("pointerdown", onDown);
  canvas.addEventListener("pointerup", onUp);
  canvas.addEventListener("keydown", onKey);
  return () => {
    canvas.removeEventListener("pointerdown", onDown);
    canvas.removeEventListener("pointerup", onUp);
    canvas.removeEventListener("keydown", onKey);
  };
}

/**
 * three.js' OrbitControls on the 3D view's camera: a change redraws; while dragging the view is
 * `userMoving` (fast frames) and pushes the camera trait (throttled); the drag's end pushes it at once
 * and, after fast frames, ends on a full-quality one.
 * @param {import("./view3d.js").View3D} view
 * @returns {OrbitControls}
 */
export function orbitControls(view) {
  const c = new OrbitControls(view.camera, view.canvas);
  c.screenSpacePanning = true;
  c.enableDamping = false;
  c.addEventListener("change", () => {
    view.invalidate();
    if (view.userMoving) view.pushCamera(false);
  });
  c.addEventListener("start", () => {
    view.userMoving = true;
  });
  c.addEventListener("end", () => {
    view.userMoving = false;
    view.pushCamera(true);
    if (view.last?.fast) view.invalidate();
  });
  return c;
}
