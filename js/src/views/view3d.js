/**
 * The 3D view: the volume ray-marched with three.js on WebGL2 (views/raymarch.js) through bricks
 * (one brick = one chunk of one level) held in GPU atlases within `gpu_budget_mb`
 * (views/brickatlas.js), fetched by the brick client (net/bricks.js).
 *
 * Each step (views/brickloader.js): the camera's frustum and distance choose the bricks
 * (core/bricks.js `planBricks`: the coarsest level's visible bricks, then each part of the volume at
 * the level its projected voxel size needs, nearest first, within the budget's slots); the client
 * is told (it cancels what left the view and asks for what is missing); bricks that arrived are
 * uploaded (only the layers whose data changed); the shader falls back to a coarser brick wherever
 * a finer one is missing. A step runs when the view changes (at the next animation frame) or
 * bricks arrive; it draws a frame only when views/drawpolicy.js says so (a ray-marched frame is
 * what costs: not one per batch of arrived bricks), with the uniforms of views/frameuniforms.js.
 *
 * World coordinates: level-0 voxel (x, y, z) times `voxel_size`; the proxy box spans the volume.
 * Without WebGL2 the view shows a message in place of the canvas and does nothing else.
 * @module views/view3d
 */

import * as THREE from "three";
import { frustumPlanes } from "../core/bricks.js";
import { BrickAtlas } from "./brickatlas.js";
import { BrickLoader } from "./brickloader.js";
import {
  cameraFromTrait,
  cameraToTrait,
  defaultCamera,
  fitClip,
  projectVoxel,
  rayThrough,
  worldSize,
} from "./camera3d.js";
import { decideDraw, GPU_POLL_MS } from "./drawpolicy.js";
import { makeUniforms, setFrameUniforms, setProgramDefines } from "./frameuniforms.js";
import { GpuFence } from "./gpufence.js";
import { HiddenLabels } from "./hiddenlabels.js";
import { listen3d, orbitControls } from "./input3d.js";
import { pickInView } from "./pick3d.js";
import { Presenter } from "./present.js";
import { FRAGMENT, shaderDefines, VERTEX } from "./raymarch.js";
import { baseRenderScale, DRAG_SCALE } from "./renderscale.js";
import { SlicePlanes3D } from "./sliceplanes3d.js";

const CAMERA_PUSH_MS = 150; // the camera trait follows an orbit at most this often
const POSITION_MS = 250; // a change of `position` alone redraws (the slice planes) once it rested this long…
const POSITION_MAX_MS = 1000; // … or this long after the first change

/** State whose change rebuilds the brick atlas. */
const REBUILD = ["shape", "chunks", "levels", "imageDtype", "labelDtype", "budgetMB", "voxelSize"];
/** A comparable form of a state value (ids as BigInt included). */
const key = (v) => JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x));

/** See the module doc. */
export class View3D {
  /**
   * @param {object} p
   * @param {HTMLElement} p.container where the canvas (or the no-WebGL2 message) goes
   * @param {import("../net/bricks.js").BrickClient} p.client
   * @param {(camera: object) => void} [p.onCamera] the user moved the camera
   * @param {(hit: {voxel: number[], label: string|null, image: number|null}) => void} [p.onPick]
   * @param {() => void} [p.onProgress] brick progress changed
   */
  constructor({ container, client, onCamera = () => {}, onPick = () => {}, onProgress = () => {} }) {
    Object.assign(this, { container, client, onCamera, onPick, onProgress });
    this.state = {
      shape: [1, 1, 1],
      chunks: [64, 64, 64],
      levels: [],
      voxelSize: null,
      imageDtype: "uint8",
      labelDtype: "uint32",
      contrast: [0, 255],
      opacity: 0.5,
      mode: "mip",
      selectedOnly: false,
      selected: 1n,
      hidden: [], // label ids (BigInt) not drawn
      slicePlanes: true,
      position: [0, 0, 0],
      budgetMB: 256,
    };
    this.width = 1;
    this.height = 1;
    this.raf = null;
    this.tickTimer = null;
    this.drawnFrames = 0; // of them ray-marched (with data)
    this.fastFrames = 0; // of those at fast quality
    this.renderMs = 0;
    this.plan = { target: 0, coarsest: 0, bricks: [] };
    this.loader = new BrickLoader(client);
    this.last = null; // the last frame drawn (views/drawpolicy.js)
    this.drewData = false;
    this.firstDataAt = null; // when the first brick with data was uploaded (views/drawpolicy.js)
    this.viewDirty = true;
    this.newData = false;
    this.atlas = null;
    this.cameraSet = false;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "voxwidget-canvas3d";
    this.canvas.tabIndex = -1;
    this.canvas.style.display = "block";
    this.canvas.style.touchAction = "none";
    this.error = null;
    try {
      const context = this.canvas.getContext("webgl2", { preserveDrawingBuffer: true, antialias: false });
      if (!context) throw new Error("no WebGL2 context");
      this.renderer = new THREE.WebGLRenderer({ canvas: this.canvas, context, preserveDrawingBuffer: true });
    } catch (err) {
      this.error = `the 3D view needs WebGL2, which this browser does not provide (${err.message}); the slice views work`;
      const msg = document.createElement("div");
      msg.className = "voxwidget-no3d";
      msg.textContent = this.error;
      msg.style.cssText = "padding:1em;line-height:1.4;white-space:normal;";
      container.append(msg);
      this.message = msg;
      return;
    }
    container.append(this.canvas);
    this.renderer.setClearColor(0x000000, 1);
    this.hiddenIds = new HiddenLabels();
    this.scene = new THREE.Scene();
    this.camera = new THREE.PerspectiveCamera(40, 1, 0.1, 1e6);
    this.uniforms = makeUniforms();
    this.material = new THREE.ShaderMaterial({
      glslVersion: THREE.GLSL3,
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      defines: shaderDefines({ labelled: 0, empty: 0 }),
      uniforms: this.uniforms,
      side: THREE.BackSide,
      depthTest: false,
      depthWrite: false,
    });
    const box = new THREE.BoxGeometry(1, 1, 1);
    box.translate(0.5, 0.5, 0.5);
    this.box = new THREE.Mesh(box, this.material);
    this.box.visible = false; // until a brick with data is resident
    this.fence = new GpuFence(this.renderer.getContext()); // after the last ray-marched frame
    this.scene.add(this.box);
    this.outline = new THREE.LineSegments(
      new THREE.EdgesGeometry(box),
      new THREE.LineBasicMaterial({ color: 0x666666, depthTest: false }),
    );
    this.overlay = new THREE.Scene(); // lines drawn over the shown frame (views/present.js)
    this.overlay.add(this.outline);
    this.planes = new SlicePlanes3D(this.overlay);
    this.presenter = new Presenter(this.renderer);
    this.frameCamera = this.camera.clone(); // the camera of the frame drawn off screen
    this.controls = orbitControls(this);
    this.unlisten = listen3d(this.canvas, {
      onClick: (x, y) => {
        const hit = this.pickAt(x, y);
        if (hit) this.onPick(hit);
      },
      onReset: () => this.resetCamera(true),
    });
  }

  /** @returns {number} frames shown on the canvas (ray-marched ones once the GPU drew them) */
  get frames() {
    return this.presenter?.shown ?? 0;
  }

  /** @returns {boolean} whether the view draws (WebGL2 is there) */
  get ok() {
    return this.error === null;
  }

  /**
   * Update view state; the atlas is rebuilt when the volume, its levels, dtypes or budget change.
   * @param {object} partial
   */
  set(partial) {
    if (!this.ok) return;
    // only what changed: other traits (sync_status while bricks load) come here empty; frames are costly
    const keys = Object.keys(partial).filter((k) => key(partial[k]) !== key(this.state[k]));
    if (!keys.length) return;
    const rebuild = keys.some((k) => REBUILD.includes(k));
    const onlyPosition = keys.length === 1 && keys[0] === "position";
    Object.assign(this.state, partial);
    if (rebuild) this.rebuild();
    if (!onlyPosition) this.invalidate();
    else if (this.state.slicePlanes) this.invalidateSoon(); // only the plane outlines move
  }

  /**
   * Queue a frame once `position` rested POSITION_MS (and at least every POSITION_MAX_MS): a scroll
   * through the slice views moves the planes every step, and a 3D frame per step would take the CPU
   * the slice views need (software WebGL draws on the CPU).
   */
  invalidateSoon() {
    const now = performance.now();
    this.soonFirst ??= now;
    clearTimeout(this.soonTimer);
    const wait = Math.max(0, Math.min(POSITION_MS, this.soonFirst + POSITION_MAX_MS - now));
    this.soonTimer = setTimeout(() => {
      this.soonTimer = null;
      this.soonFirst = null;
      this.invalidate();
    }, wait);
  }

  rebuild() {
    const st = this.state;
    this.atlas?.dispose();
    const levels = st.levels?.length ? st.levels : [{ shape: st.shape, downsample: [1, 1, 1] }];
    this.atlas = new BrickAtlas({
      renderer: this.renderer,
      levels,
      chunks: st.chunks,
      imageDtype: st.imageDtype,
      labelDtype: st.labelDtype,
      budgetBytes: st.budgetMB * 2 ** 20,
    });
    this.bindAtlas();
    if (this.programReady === undefined) this.compile();
    const size = worldSize(st.shape, st.voxelSize);
    this.box.scale.set(...size);
    this.outline.scale.set(...size);
    this.uniforms.uShape.value.set(st.shape[2], st.shape[1], st.shape[0]);
    this.box.visible = true;
    this.loader.setAtlas(this.atlas);
    this.drewData = false;
    this.firstDataAt = null;
    this.newData = true;
    if (!this.cameraSet) this.resetCamera(false);
  }

  /** Point the shader at the atlas (after it was made or grew). */
  bindAtlas() {
    const a = this.atlas;
    for (const [k, v] of Object.entries(a.uniforms())) this.uniforms[k] = { value: v };
    this.material.uniformsNeedUpdate = true;
    this.uniforms.uPage.value = a.pageTex;
    this.uniforms.uImage.value = a.image;
    this.uniforms.uLabels.value = a.labels;
  }

  /**
   * Compile the ray-marching program without waiting for it (KHR_parallel_shader_compile): in
   * software WebGL compiling it takes seconds, which the page spends receiving bricks instead. */
  compile() {
    this.programReady = false;
    this.presenter.show(false, this.overlay, this.camera); // the outline's programs first (not queued behind)
    this.box.visible = true; // (compile() takes the visible objects)
    this.renderer
      .compileAsync(this.scene, this.camera)
      .catch(() => {}) // a failed compile shows at the first draw
      .then(() => {
        this.programReady = true;
        this.tickSoon(0);
      });
    this.box.visible = false;
  }

  /**
   * Put the camera where the `camera` trait says (an empty value: the default pose).
   * @param {object|null} value
   */
  setCamera(value) {
    if (!this.ok) return;
    const st = this.state;
    const def = defaultCamera(st.shape, st.voxelSize, 40, this.width / this.height);
    if (!value || !Object.keys(value).length) {
      this.resetCamera(false);
      return;
    }
    const c = cameraFromTrait(value, def);
    this.applyCamera(c);
    this.cameraSet = true;
  }

  applyCamera(c) {
    this.camera.position.set(...c.position);
    this.camera.up.set(...c.up);
    this.camera.fov = c.fov;
    this.controls.target.set(...c.target);
    this.updateClip();
    this.controls.update();
    this.invalidate();
  }

  /** The default pose (the `r` key); `push`: tell the model. */
  resetCamera(push) {
    if (!this.ok) return;
    const st = this.state;
    this.applyCamera(defaultCamera(st.shape, st.voxelSize, this.camera.fov || 40, this.width / this.height));
    if (push) this.pushCamera(true);
  }

  updateClip() {
    fitClip(this.camera, this.controls.target, this.state.shape, this.state.voxelSize);
  }

  pushCamera(now) {
    const send = () => {
      this.pushTimer = null;
      this.onCamera(cameraToTrait(this.camera, this.controls.target));
    };
    if (now) {
      clearTimeout(this.pushTimer);
      send();
    } else if (!this.pushTimer) this.pushTimer = setTimeout(send, CAMERA_PUSH_MS);
  }

  /** Set the CSS size of the canvas. */
  resize(width, height) {
    if (!this.ok) return;
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.scaleNow = null;
    this.applyScale(!!this.userMoving);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.camera.aspect = this.width / this.height;
    this.camera.updateProjectionMatrix();
    this.invalidate();
  }

  /** Set the drawing buffer's scale (`drag`: the camera is being dragged, views/renderscale.js). */
  applyScale(drag) {
    this.baseScale ??= baseRenderScale(this.renderer.getContext());
    const s = this.baseScale * (drag ? DRAG_SCALE : 1) * (globalThis.devicePixelRatio || 1);
    if (s === this.scaleNow) return;
    this.scaleNow = s;
    this.renderer.setPixelRatio(s);
    this.renderer.setSize(this.width, this.height, false);
  }

  /** The view changed (camera, traits, size): draw at the next animation frame. */
  invalidate() {
    if (!this.ok || this.disposed) return;
    this.viewDirty = true;
    if (this.raf !== null) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = null;
      this.tick();
    });
  }

  /** Bricks arrived, went stale or failed: upload them soon; the draw policy says when to draw. */
  bricksChanged() {
    this.tickSoon(0);
  }

  tickSoon(ms) {
    if (!this.ok || this.disposed || this.raf !== null) return;
    if (this.tickTimer !== null) {
      if (this.tickAt <= performance.now() + ms) return;
      clearTimeout(this.tickTimer);
    }
    this.tickAt = performance.now() + ms;
    this.tickTimer = setTimeout(() => {
      this.tickTimer = null;
      this.tick();
    }, ms);
  }

  /** @returns {boolean} a frame (or a step that may draw one) is queued, or the GPU still draws one */
  get drawPending() {
    return this.raf !== null || this.tickTimer !== null || !!this.fence?.pending;
  }

  /** Plan, fetch and upload bricks (views/brickloader.js); draw when views/drawpolicy.js says so. */
  tick() {
    if (!this.ok || !this.atlas || this.disposed) return;
    const t0 = performance.now();
    if (this.tickTimer !== null) clearTimeout(this.tickTimer);
    this.tickTimer = null;
    const st = this.state;
    this.updateClip();
    this.camera.updateMatrixWorld();
    const vp = new THREE.Matrix4().multiplyMatrices(
      this.camera.projectionMatrix,
      this.camera.matrixWorldInverse,
    );
    const vs = st.voxelSize?.length === 3 ? st.voxelSize : [1, 1, 1];
    const busy = this.fence.busy();
    if (!busy && this.presenter.pending) this.presenter.show(true, this.overlay, this.frameCamera);
    const step = this.loader.step(
      {
        chunks: st.chunks,
        voxelSize: vs,
        planes: frustumPlanes(vp.elements),
        eye: this.camera.position.toArray(),
        fovY: this.camera.fov,
        heightPx: this.height * (globalThis.devicePixelRatio || 1),
      },
      !busy,
    );
    this.plan = this.loader.plan;
    if (step.grown) this.bindAtlas();
    if (step.shown > 0 || step.grown) this.newData = true;
    const now = performance.now();
    if (step.uploaded > 0 && step.anyData) this.firstDataAt ??= now;
    this.backlogSince = step.more ? (this.backlogSince ?? now) : null;
    const d = decideDraw({
      now,
      viewDirty: this.viewDirty,
      newData: this.newData,
      complete: step.complete,
      anyData: step.anyData,
      interacting: !!this.userMoving,
      last: this.last,
      drewData: this.drewData,
      ready: this.programReady,
      gpuBusy: busy,
      backlogMs: step.more ? now - this.backlogSince + 1 : 0,
      firstDataAt: this.firstDataAt,
      progress: this.loader.progress,
    });
    if (d.draw) this.draw(d.fast, step.anyData && this.programReady);
    else if (d.waitMs > 0) this.tickSoon(d.waitMs);
    if (step.more) this.tickSoon(busy ? GPU_POLL_MS : 0);
    if (this.fence.pending) this.tickSoon(GPU_POLL_MS); // until the GPU is done with the last frame
    this.renderMs += performance.now() - t0;
    if (step.progressChanged) this.onProgress();
  }

  /** One frame: ray-marched when `march` (`fast`: a longer ray step), else the outline only. */
  draw(fast, march) {
    const st = this.state;
    setFrameUniforms(this.uniforms, {
      state: st,
      atlas: this.atlas,
      plan: this.plan,
      camera: this.camera,
      fast,
      hidden: this.hiddenIds,
    });
    setProgramDefines(this.material, this.atlas);
    const vs = st.voxelSize?.length === 3 ? st.voxelSize : [1, 1, 1];
    this.box.visible = march; // nothing resident: no march (it would cost a full frame)
    this.applyScale(fast && !!this.userMoving);
    this.planes.update(st.position, st.shape, vs, st.slicePlanes);
    this.frameCamera.copy(this.camera);
    if (march) this.presenter.render(this.scene, this.camera);
    else this.presenter.show(false, this.overlay, this.camera);
    if (march) {
      this.drawnFrames++;
      if (fast) this.fastFrames++;
    }
    this.viewDirty = false;
    if (march) this.newData = false;
    this.drewData ||= march;
    this.last = { at: performance.now(), cost: this.last?.cost ?? 0, fast, data: march };
    if (!march) return;
    if (this.fence.start(this.last))
      this.tickSoon(GPU_POLL_MS); // shown when the GPU is done
    else this.presenter.show(true, this.overlay, this.frameCamera); // no fence: show it now
  }

  /** @returns {{loaded: number, needed: number, level: number, failed: number}} bricks at the target level */
  progress() {
    return this.loader.progress;
  }

  /**
   * The first labelled voxel (or image value at least the contrast midpoint) under a CSS pixel.
   * @returns {{voxel: number[], label: string|null, image: number|null}|null}
   */
  pickAt(x, y) {
    if (!this.ok || !this.atlas) return null;
    const { origin, dir } = rayThrough(this.camera, x / this.width, y / this.height, this.state.voxelSize);
    return pickInView(this.state, origin, dir, this.atlas.levels, this.client);
  }

  /**
   * CSS pixel within the canvas of a level-0 voxel's centre.
   * @param {number[]} p [z, y, x]
   * @returns {{x: number, y: number}}
   */
  voxelToCanvas(p) {
    const c = projectVoxel(this.camera, p, this.state.voxelSize);
    return { x: c.x * this.width, y: c.y * this.height };
  }

  dispose() {
    this.disposed = true;
    if (this.raf !== null) cancelAnimationFrame(this.raf);
    this.raf = null;
    clearTimeout(this.tickTimer);
    this.tickTimer = null;
    clearTimeout(this.pushTimer);
    clearTimeout(this.soonTimer);
    if (!this.ok) {
      this.message?.remove();
      return;
    }
    this.unlisten();
    this.controls.dispose();
    this.atlas?.dispose();
    this.hiddenIds.dispose();
    this.material.dispose();
    this.presenter.dispose();
    this.renderer.dispose();
    this.canvas.remove();
  }
}
