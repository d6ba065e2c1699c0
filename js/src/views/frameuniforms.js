/**
 * The uniforms of the ray-marching material, and their values for one frame of the 3D view
 * (views/raymarch.js): display traits, the level range and ray step, the camera in level-0 voxel
 * coordinates; and the program's defines for what the resident bricks hold.
 *
 * The ray step follows the finest level drawn (a frame of coarse placeholders marches coarse
 * steps); a `fast` frame (while bricks load or the user drags the camera, views/drawpolicy.js)
 * marches FAST_STEP times longer steps.
 * @module views/frameuniforms
 */

import * as THREE from "three";
import { shaderDefines } from "./raymarch.js";

/** A fast frame marches this many times the full step. */
export const FAST_STEP = 2;

/** @returns {object} the ray-marching material's uniforms (the atlas's come from BrickAtlas.uniforms) */
export function makeUniforms() {
  return {
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
}

/**
 * Set the frame's uniforms.
 * @param {object} u the material's uniforms
 * @param {object} p
 * @param {object} p.state the view's state (views/view3d.js)
 * @param {import("./brickatlas.js").BrickAtlas} p.atlas
 * @param {{target: number}} p.plan this frame's brick plan
 * @param {{position: {x: number, y: number, z: number, clone: () => object}}} p.camera
 * @param {boolean} p.fast
 * @param {import("./hiddenlabels.js").HiddenLabels} p.hidden the hidden ids' texture (`hidden_labels`)
 */
export function setFrameUniforms(u, { state: st, atlas, plan, camera, fast, hidden }) {
  const levels = atlas.levels;
  const vs = st.voxelSize?.length === 3 ? st.voxelSize : [1, 1, 1];
  const scale = atlas.imageFmt.internal === "R8" ? 255 : 1;
  u.uContrast.value.set(st.contrast[0] / scale, st.contrast[1] / scale);
  u.uMode.value = st.mode === "composite" ? 1 : 0;
  u.uOpacity.value = st.opacity;
  u.uSelectedOnly.value = !!st.selectedOnly;
  const sel = BigInt(st.selected ?? 0);
  u.uSelected.value.set(Number(sel & 0xffffffffn), Number((sel >> 32n) & 0xffffffffn));
  hidden.update(st.hidden ?? []);
  u.uHiddenIds.value = hidden.texture;
  u.uNHidden.value = hidden.count;
  u.uHiddenW.value = hidden.width;
  const finest = atlas.finestResident();
  u.uMinLevel.value = Math.min(plan.target, finest);
  // the step follows the finest level drawn: a frame of coarse placeholders marches coarse steps
  const stepLevel = Math.max(plan.target, finest);
  const base = Math.max(0.5, Math.min(...levels[stepLevel].downsample) * 0.75);
  u.uStep.value = fast ? base * FAST_STEP : base;
  const steps = Math.hypot(...st.shape) / u.uStep.value;
  u.uMaxSteps.value = Math.min(4096, Math.ceil(steps) + 2);
  const inv = camera.position.clone();
  inv.set(inv.x / vs[2], inv.y / vs[1], inv.z / vs[0]);
  u.uCam.value.copy(inv);
}

/**
 * Switch the material to the program variant for what the atlas holds (views/raymarch.js
 * `shaderDefines`; three.js keeps each compiled variant, so switching back costs nothing).
 * @param {import("three").ShaderMaterial} material
 * @param {import("./brickatlas.js").BrickAtlas} atlas
 */
export function setProgramDefines(material, atlas) {
  const defs = shaderDefines(atlas.holds());
  const now = material.defines ?? {};
  if (defs.HAS_LABELS === now.HAS_LABELS && defs.HAS_EMPTY === now.HAS_EMPTY) return;
  material.defines = defs;
  material.needsUpdate = true;
}
