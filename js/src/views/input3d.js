/**
 * The 3D view's own pointer and key handling (orbit, pan and zoom are three.js' OrbitControls): a
 * left press released within CLICK_PX is a click (a pick), `r` resets the camera.
 * @module views/input3d
 */

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
