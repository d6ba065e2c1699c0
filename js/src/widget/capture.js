/**
 * Screenshots of a view (the kernel's `screenshot` → this view's `screenshot.data` with a PNG).
 *
 * A view registers each of its panels under a name with {@link Capture#register}: the 2D view's
 * canvas is `"2d"`; another view adds its own (e.g. `"3d"`, or the slice panels of an ortho
 * layout). A panel's capture function returns the canvas to read, or a promise of it.
 *
 * WebGL panels: a WebGL canvas made without `preserveDrawingBuffer: true` is cleared once its frame
 * is composited, so reading it later gives a blank (or stale) picture. Either make the context with
 * `preserveDrawingBuffer: true`, or (cheaper while rendering) have the capture function **render a
 * frame and return the canvas in the same task**: {@link canvasPng} reads the pixels synchronously
 * right after it returns (`drawImage` of the canvas into a 2D canvas before any await), so the
 * drawing buffer is still the one just rendered.
 *
 * With no panel named, every registered panel is drawn at its place on the page (relative to the
 * view's root element) into one picture, at the panels' own pixel density.
 * @module widget/capture
 */

import { make } from "../net/protocol.js";

/**
 * @typedef {() => (HTMLCanvasElement | OffscreenCanvas | Promise<HTMLCanvasElement | OffscreenCanvas>)} CaptureFn
 */

/**
 * Copy a canvas (2D or WebGL) into a fresh 2D canvas now, then encode it as PNG.
 * @param {HTMLCanvasElement} canvas
 * @returns {Promise<{png: ArrayBuffer, width: number, height: number}>}
 */
export function canvasPng(canvas) {
  const copy = document.createElement("canvas");
  copy.width = canvas.width;
  copy.height = canvas.height;
  copy.getContext("2d").drawImage(canvas, 0, 0); // synchronous: a WebGL buffer is read before it clears
  return encodePng(copy);
}

function encodePng(canvas) {
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => {
      if (!blob) {
        reject(new Error(`the ${canvas.width}×${canvas.height} canvas could not be encoded as PNG`));
        return;
      }
      blob.arrayBuffer().then((png) => resolve({ png, width: canvas.width, height: canvas.height }), reject);
    }, "image/png");
  });
}

/** The panels of one view and the screenshots taken of them (see the module doc). */
export class Capture {
  /**
   * @param {object} p
   * @param {HTMLElement} p.root the view's root element (panel positions are relative to it)
   * @param {(msg: object, buffers: ArrayBuffer[]) => boolean} p.send to the kernel
   * @param {number} [p.maxBytes] a PNG larger than this is refused (the message limit)
   */
  constructor({ root, send, maxBytes = 8 * 2 ** 20 - 4096 }) {
    Object.assign(this, { root, send, maxBytes });
    /** @type {Map<string, {capture: CaptureFn, element: () => Element}>} */
    this.panels = new Map();
  }

  /**
   * Add a panel.
   * @param {string} name what `w.screenshot(panel=name)` asks for
   * @param {CaptureFn} capture returns the canvas to read (render a WebGL frame first: module doc)
   * @param {() => Element} [element] where the panel is on the page (default: what `capture`
   *   returns); a panel whose element is not rendered (display: none) is left out
   * @returns {() => void} remove the panel
   */
  register(name, capture, element) {
    this.panels.set(name, { capture, element: element ?? null });
    return () => {
      if (this.panels.get(name)?.capture === capture) this.panels.delete(name);
    };
  }

  /**
   * A PNG of one panel, or of all of them laid out as on the page.
   * @param {string|null|undefined} panel
   * @returns {Promise<{png: ArrayBuffer, width: number, height: number}>}
   */
  async take(panel) {
    const shown = (p) => {
      const el = p.element?.() ?? null;
      return el === null || el.getClientRects().length > 0;
    };
    if (panel !== null && panel !== undefined) {
      const p = this.panels.get(panel);
      if (p && !shown(p)) throw new Error(`panel ${JSON.stringify(panel)} is not shown in this view now`);
      if (!p) {
        throw new Error(
          `this view has no panel ${JSON.stringify(panel)}; it has ${JSON.stringify([...this.panels.keys()])}`,
        );
      }
      return canvasPng(await p.capture());
    }
    const visible = [...this.panels.values()].filter(shown);
    if (visible.length === 0) throw new Error("this view has no panel to capture");
    if (visible.length === 1) return canvasPng(await visible[0].capture());
    // Every panel shown, at its place in the view, at the finest panel's density.
    const base = this.root.getBoundingClientRect();
    const parts = [];
    for (const p of visible) {
      const canvas = await p.capture();
      const copy = document.createElement("canvas");
      copy.width = canvas.width;
      copy.height = canvas.height;
      copy.getContext("2d").drawImage(canvas, 0, 0); // now, before the next await (WebGL)
      const r = (p.element?.() ?? canvas).getBoundingClientRect();
      parts.push({ copy, r });
    }
    const scale = Math.max(...parts.map(({ copy, r }) => copy.width / Math.max(1, r.width)));
    let w = 0;
    let h = 0;
    for (const { r } of parts) {
      w = Math.max(w, r.right - base.left);
      h = Math.max(h, r.bottom - base.top);
    }
    const out = document.createElement("canvas");
    out.width = Math.max(1, Math.round(w * scale));
    out.height = Math.max(1, Math.round(h * scale));
    const ctx = out.getContext("2d");
    for (const { copy, r } of parts) {
      ctx.drawImage(
        copy,
        Math.round((r.left - base.left) * scale),
        Math.round((r.top - base.top) * scale),
        Math.round(r.width * scale),
        Math.round(r.height * scale),
      );
    }
    return encodePng(out);
  }

  /**
   * Answer the kernel's `screenshot` request.
   * @param {{id: string, panel?: string}} msg
   * @returns {Promise<void>}
   */
  async answer(msg) {
    let reply;
    let buffers = [];
    try {
      const { png, width, height } = await this.take(msg.panel);
      if (png.byteLength > this.maxBytes) {
        throw new Error(
          `the PNG has ${png.byteLength} bytes, more than a message may carry (${this.maxBytes})`,
        );
      }
      reply = make("screenshot.data", { reply_to: msg.id, png: 0, width, height });
      buffers = [png];
    } catch (err) {
      reply = make("screenshot.data", { reply_to: msg.id, error: String(err?.message ?? err) });
    }
    this.send(reply, buffers);
  }
}
