/**
 * The 3D view's drawing-buffer scale: software WebGL (SwiftShader, llvmpipe) marches half as many
 * rays per axis, upscaled; while the user drags the camera, half again (a frame costs per ray, and
 * in software WebGL a full-size frame takes about a second): the view ends on a full-size frame.
 * @module views/renderscale
 */

/** The scale while the camera is dragged, times the base scale. */
export const DRAG_SCALE = 0.5;

/**
 * @param {WebGL2RenderingContext} gl
 * @returns {number} 0.5 for a software renderer, else 1
 */
export function baseRenderScale(gl) {
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  const name = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : "";
  return /swiftshader|llvmpipe|software/i.test(name) ? 0.5 : 1;
}
