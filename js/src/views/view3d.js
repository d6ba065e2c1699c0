/**
 * The 3D view: the volume ray-marched with three.js on WebGL2 (views/raymarch.js) through bricks
 * (one brick = one chunk of one level) held in GPU atlases within `gpu_budget_mb`
 * (views/brickatlas.js), fetched by the brick client (net/bricks.js).
 *
 * Each frame: the camera's frustum and distance choose the bricks (core/bricks.js `planBricks`:
 * the coarsest level's visible bricks, then each part of the volume at the level its projected
 * voxel size needs, nearest first, within the budget's slots); the client is told (it cancels what left the view and asks for what is missing); bricks
 * that arrived are uploaded (a bounded number per frame, only the layers whose data changed); the
 * shader falls back to a coarser brick wherever a finer one is missing. The frame is drawn on
 * demand (camera moves, bricks arrive, traits change), not continuously.
 *
 * World coordinates: level-0 voxel (x, y, z) times `voxel_size`; the proxy box spans the volume.
 * Without WebGL2 the view shows a message in place of the canvas and does nothing else.
 * @module views/view3d
 */

import * as THREE from "three";
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import { brickId, frustumPlanes, planBricks } from "../core/bricks.js";
import { BrickAtlas } from "./brickatlas.js";
import {
  cameraFromTrait,
  cameraToTrait,
  defaultCamera,
  projectVoxel,
  rayThrough,
  worldSize,
} from "./camera3d.js";
import { HiddenLabels } from "./hiddenlabels.js";
import { pickRay } from "./pick3d.js";
import { FRAGMENT, VERTEX } from "./raymarch.js";
import { SlicePlanes3D } from "./sliceplanes3d.js";

const UPLOADS_PER_FRAME = 24; // bricks uploaded per frame at most (the rest in the next frames)
const CAMERA_PUSH_MS = 150; // the camera trait follows an orbit at most this often
const CLICK_PX = 4; // a press that moved less than this is a click (pick), not an orbit
const POSITION_MS = 250; // a change of `position` alone redraws (the slice planes) once it rested this long…
const POSITION_MAX_MS = 1000; // … or this long after the first change

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
    this.frame = 0;
    this.raf = null;
    this.frames = 0;
    this.renderMs = 0;
    this.plan = { target: 0, coarsest: 0, bricks: [] };
    this.planKey = "";
    this.progressInfo = { loaded: 0, needed: 0, level: 0, failed: 0 };
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
    this.uniforms = {
      uShape: { value: new THREE.Vector3(1, 1, 1) },
      uMinLevel: { value: 0 },
      uCam: { value: new THREE.Vector3() },
      uContrast: { value: new THREE.Vector2(0, 1) },
      uMode: { value: 0 },
      uOpacity: { value: 0.5 },
      uStep: { value: 1 },
      uMaxSteps: { value: 1024 },
      uHasLabels: { value: true },
      uSelectedOnly: { value: false },
      uSelected: { value: new THREE.Vector2(1, 0) },
      uNHidden: { value: 0 },
      uHiddenW: { value: 1 },
      uHiddenIds: { value: null },
      uPage: { value: null },
      uImage: { value: null },
      uLabels: { value: null },
    };
    this.material = new THREE.ShaderMaterial({
      glslVersion: THREE.GLSL3,
      vertexShader: VERTEX,
      fragmentShader: FRAGMENT,
      uniforms: this.uniforms,
      side: THREE.BackSide,
      depthTest: false,
      depthWrite: false,
    });
    const box = new THREE.BoxGeometry(1, 1, 1);
    box.translate(0.5, 0.5, 0.5);
    this.box = new THREE.Mesh(box, this.material);
    this.box.visible = false; // until an atlas exists
    this.scene.add(this.box);
    this.outline = new THREE.LineSegments(
      new THREE.EdgesGeometry(box),
      new THREE.LineBasicMaterial({ color: 0x666666, depthTest: false }),
    );
    this.scene.add(this.outline);
    this.planes = new SlicePlanes3D(this.scene);
    this.controls = new OrbitControls(this.camera, this.canvas);
    this.controls.screenSpacePanning = true;
    this.controls.enableDamping = false;
    this.controls.addEventListener("change", () => this.invalidate());
    this.controls.addEventListener("start", () => {
      this.userMoving = true;
    });
    this.controls.addEventListener("end", () => {
      this.userMoving = false;
      this.pushCamera(true);
    });
    this.controls.addEventListener("change", () => {
      if (this.userMoving) this.pushCamera(false);
    });
    this.listen();
  }

  /** @returns {boolean} whether the view draws (WebGL2 is there) */
  get ok() {
    return this.error === null;
  }

  listen() {
    let down = null;
    const onDown = (e) => {
      this.canvas.focus({ preventScroll: true });
      down = { x: e.clientX, y: e.clientY, button: e.button };
    };
    const onUp = (e) => {
      if (down && down.button === 0 && Math.hypot(e.clientX - down.x, e.clientY - down.y) < CLICK_PX) {
        const r = this.canvas.getBoundingClientRect();
        const hit = this.pickAt(e.clientX - r.left, e.clientY - r.top);
        if (hit) this.onPick(hit);
      }
      down = null;
    };
    const onKey = (e) => {
      if (e.key === "r" && !e.ctrlKey && !e.metaKey && !e.altKey) {
        this.resetCamera(true);
        e.preventDefault();
        e.stopPropagation();
      }
    };
    this.canvas.addEventListener("pointerdown", onDown);
    this.canvas.addEventListener("pointerup", onUp);
    this.canvas.addEventListener("keydown", onKey);
    this.unlisten = () => {
      this.canvas.removeEventListener("pointerdown", onDown);
      this.canvas.removeEventListener("pointerup", onUp);
      this.canvas.removeEventListener("keydown", onKey);
    };
  }

  /**
   * Update view state; the atlas is rebuilt when the volume, its levels, dtypes or budget change.
   * @param {object} partial
   */
  set(partial) {
    if (!this.ok) return;
    const rebuild = ["shape", "chunks", "levels", "imageDtype", "labelDtype", "budgetMB", "voxelSize"].some(
      (k) => k in partial && JSON.stringify(partial[k]) !== JSON.stringify(this.state[k]),
    );
    const keys = Object.keys(partial);
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
    Object.assign(
      this.uniforms,
      Object.fromEntries(Object.entries(this.atlas.uniforms()).map(([k, v]) => [k, { value: v }])),
    );
    this.material.uniformsNeedUpdate = true;
    this.uniforms.uPage.value = this.atlas.pageTex;
    this.uniforms.uImage.value = this.atlas.image;
    this.uniforms.uLabels.value = this.atlas.labels;
    const size = worldSize(st.shape, st.voxelSize);
    this.box.scale.set(...size);
    this.outline.scale.set(...size);
    this.uniforms.uShape.value.set(st.shape[2], st.shape[1], st.shape[0]);
    this.box.visible = true;
    this.planKey = "";
    if (!this.cameraSet) this.resetCamera(false);
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
    const size = worldSize(this.state.shape, this.state.voxelSize);
    const r = Math.hypot(...size);
    const d = this.camera.position.distanceTo(this.controls.target);
    this.camera.near = Math.max(1e-3, (d - r) * 0.5, r * 1e-4);
    this.camera.far = d + 2 * r;
    this.camera.updateProjectionMatrix();
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
    const dpr = globalThis.devicePixelRatio || 1;
    this.renderer.setPixelRatio(dpr * this.renderScale());
    this.renderer.setSize(this.width, this.height, false);
    this.canvas.style.width = `${this.width}px`;
    this.canvas.style.height = `${this.height}px`;
    this.camera.aspect = this.width / this.height;
    this.camera.updateProjectionMatrix();
    this.invalidate();
  }

  /** Software WebGL (SwiftShader) marches half as many rays, upscaled. */
  renderScale() {
    if (this.scaleCache === undefined) {
      const gl = this.renderer.getContext();
      const ext = gl.getExtension("WEBGL_debug_renderer_info");
      const name = ext ? String(gl.getParameter(ext.UNMASKED_RENDERER_WEBGL)) : "";
      this.scaleCache = /swiftshader|llvmpipe|software/i.test(name) ? 0.5 : 1;
    }
    return this.scaleCache;
  }

  /** Queue a frame. */
  invalidate() {
    if (!this.ok || this.raf !== null || this.disposed) return;
    this.raf = requestAnimationFrame(() => {
      this.raf = null;
      this.render();
    });
  }

  /** @returns {boolean} a frame is queued */
  get drawPending() {
    return this.raf !== null;
  }

  /** Plan, fetch, upload and draw one frame. */
  render() {
    if (!this.ok || !this.atlas || this.disposed) return;
    const t0 = performance.now();
    const st = this.state;
    this.frame++;
    this.updateClip();
    this.camera.updateMatrixWorld();
    const vp = new THREE.Matrix4().multiplyMatrices(
      this.camera.projectionMatrix,
      this.camera.matrixWorldInverse,
    );
    const levels = this.atlas.levels;
    const vs = st.voxelSize?.length === 3 ? st.voxelSize : [1, 1, 1];
    const plan = planBricks({
      levels,
      chunks: st.chunks,
      voxelSize: vs,
      planes: frustumPlanes(vp.elements),
      eye: this.camera.position.toArray(),
      fovY: this.camera.fov,
      heightPx: this.height * (globalThis.devicePixelRatio || 1),
      maxBricks: this.atlas.slots.count,
    });
    this.plan = plan;
    const key = plan.bricks.map((b) => brickId(b.level, b.key)).join(";");
    if (key !== this.planKey) {
      this.planKey = key;
      this.client.want(plan.bricks);
    }
    let uploads = 0;
    let loaded = 0;
    let needed = 0;
    let more = false;
    for (const b of plan.bricks) {
      const id = brickId(b.level, b.key);
      const im = this.client.brick("image", b.level, b.key);
      const lb = this.client.brick("labels", b.level, b.key);
      const target = b.leaf; // progress counts the bricks the plan wants in the end
      if (target) needed++;
      if (!im || !lb) continue;
      if (this.atlas.current(id, im, lb)) {
        this.atlas.slots.touch(id, this.frame);
        if (target && !lb.stale && !im.stale) loaded++;
        continue;
      }
      if (uploads >= UPLOADS_PER_FRAME) {
        more = true;
        continue;
      }
      if (this.atlas.put(id, this.frame, im, lb)) {
        uploads++;
        if (target && !lb.stale && !im.stale) loaded++;
      }
    }
    const u = this.uniforms;
    const scale = this.atlas.imageFmt.internal === "R8" ? 255 : 1;
    u.uContrast.value.set(st.contrast[0] / scale, st.contrast[1] / scale);
    u.uMode.value = st.mode === "composite" ? 1 : 0;
    u.uOpacity.value = st.opacity;
    u.uSelectedOnly.value = !!st.selectedOnly;
    const sel = BigInt(st.selected ?? 0);
    u.uSelected.value.set(Number(sel & 0xffffffffn), Number((sel >> 32n) & 0xffffffffn));
    this.hiddenIds.update(st.hidden ?? []);
    u.uHiddenIds.value = this.hiddenIds.texture;
    u.uNHidden.value = this.hiddenIds.count;
    u.uHiddenW.value = this.hiddenIds.width;
    u.uMinLevel.value = Math.min(plan.target, this.atlas.finestResident());
    u.uStep.value = Math.max(0.5, Math.min(...levels[plan.target].downsample) * 0.75);
    const steps = Math.hypot(...st.shape) / u.uStep.value;
    u.uMaxSteps.value = Math.min(4096, Math.ceil(steps) + 2);
    const inv = this.camera.position.clone();
    inv.set(inv.x / vs[2], inv.y / vs[1], inv.z / vs[0]);
    u.uCam.value.copy(inv);
    this.planes.update(st.position, st.shape, vs, st.slicePlanes);
    this.renderer.render(this.scene, this.camera);
    this.frames++;
    this.renderMs += performance.now() - t0;
    const failed = this.client.failed;
    const p = this.progressInfo;
    if (p.loaded !== loaded || p.needed !== needed || p.level !== plan.target || p.failed !== failed) {
      this.progressInfo = { loaded, needed, level: plan.target, failed };
      this.onProgress();
    }
    if (more) this.invalidate();
  }

  /** @returns {{loaded: number, needed: number, level: number, failed: number}} bricks at the target level */
  progress() {
    return this.progressInfo;
  }

  /**
   * The first labelled voxel (or image value at least the contrast midpoint) under a CSS pixel.
   * @returns {{voxel: number[], label: string|null, image: number|null}|null}
   */
  pickAt(x, y) {
    if (!this.ok || !this.atlas) return null;
    const st = this.state;
    const { origin, dir } = rayThrough(this.camera, x / this.width, y / this.height, st.voxelSize);
    return pickRay({
      origin,
      dir,
      shape: st.shape,
      chunks: st.chunks,
      levels: this.atlas.levels,
      brick: (layer, level, key) => this.client.brick(layer, level, key),
      threshold: (st.contrast[0] + st.contrast[1]) / 2,
      only: st.selectedOnly ? BigInt(st.selected ?? 0) : null,
      hidden: new Set((st.hidden ?? []).map(String)),
    });
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
    this.renderer.dispose();
    this.canvas.remove();
  }
}
