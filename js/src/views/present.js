/**
 * The 3D view's ray-marched frames are drawn off screen and shown once the GPU has drawn them.
 *
 * A displayed WebGL canvas holds the page's main thread until the GPU process has drawn what was
 * rendered into it (Chrome commits the canvas at the end of the task; measured in headless Chromium:
 * a timer due 30 ms after a draw ran only once the frame was done, while for a canvas not in the page
 * fence polls returned at once). In software WebGL a ray-marched frame takes 0.5–1 s, and the page
 * (brick replies, the slice views of "ortho", input) stopped as long. So the ray march renders into
 * a texture; the canvas gets a copy of it, with the outline and the slice planes drawn over it (a few
 * lines), only when the fence after the frame has signalled (views/gpufence.js).
 * @module views/present
 */

import * as THREE from "three";

const COPY_VERTEX = /* glsl */ `
out vec2 vUv;
void main() {
  vUv = uv;
  gl_Position = vec4(position.xy, 0.0, 1.0);
}
`;

const COPY_FRAGMENT = /* glsl */ `
precision highp float;
uniform sampler2D tFrame;
in vec2 vUv;
out vec4 outColor;
void main() {
  outColor = texture(tFrame, vUv);
}
`;

/** See the module doc. */
export class Presenter {
  /** @param {import("three").WebGLRenderer} renderer */
  constructor(renderer) {
    this.renderer = renderer;
    this.target = new THREE.WebGLRenderTarget(1, 1, {
      depthBuffer: false,
      minFilter: THREE.NearestFilter,
      magFilter: THREE.NearestFilter,
      generateMipmaps: false,
    });
    this.material = new THREE.ShaderMaterial({
      glslVersion: THREE.GLSL3,
      vertexShader: COPY_VERTEX,
      fragmentShader: COPY_FRAGMENT,
      uniforms: { tFrame: { value: this.target.texture } },
      depthTest: false,
      depthWrite: false,
      blending: THREE.NoBlending,
    });
    this.quad = new THREE.Mesh(new THREE.PlaneGeometry(2, 2), this.material);
    this.quad.frustumCulled = false;
    this.copyScene = new THREE.Scene();
    this.copyScene.add(this.quad);
    this.copyCamera = new THREE.OrthographicCamera(-1, 1, 1, -1, 0, 1);
    this.size = new THREE.Vector2();
    /** A frame was drawn off screen and is not shown yet. */
    this.pending = false;
    /** Frames shown on the canvas. */
    this.shown = 0;
  }

  /** Render `scene` (the ray march) off screen, at the canvas's drawing-buffer size. */
  render(scene, camera) {
    const r = this.renderer;
    r.getDrawingBufferSize(this.size);
    if (this.target.width !== this.size.x || this.target.height !== this.size.y) {
      this.target.setSize(this.size.x, this.size.y);
    }
    r.setRenderTarget(this.target);
    r.render(scene, camera);
    r.setRenderTarget(null);
    this.pending = true;
  }

  /**
   * Show on the canvas: the last off-screen frame (`frame`), or nothing (cleared), with `overlay`
   * (lines, cheap) drawn over it.
   * @param {boolean} frame
   * @param {import("three").Scene} overlay
   * @param {import("three").Camera} camera
   */
  show(frame, overlay, camera) {
    const r = this.renderer;
    if (frame) r.render(this.copyScene, this.copyCamera);
    else r.clear();
    const auto = r.autoClear;
    r.autoClear = false;
    r.render(overlay, camera);
    r.autoClear = auto;
    this.pending = false; // (a cleared view drops a frame still being drawn)
    this.shown++;
  }

  dispose() {
    this.target.dispose();
    this.material.dispose();
    this.quad.geometry.dispose();
  }
}
