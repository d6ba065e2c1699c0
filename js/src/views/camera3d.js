/**
 * The 3D view's camera: its default pose (the whole volume in view, seen from the z = 0 side and a
 * little above, x to the right and y down like the z slice view), and the `camera` trait
 * `{position, target, up, fov}` (world units: level-0 voxels times `voxel_size`, axes x, y, z).
 * @module views/camera3d
 */

import * as THREE from "three";

const vsOf = (voxelSize) => (voxelSize?.length === 3 ? voxelSize : [1, 1, 1]);

/**
 * The ray through a point of the canvas, in level-0 voxel coordinates (x, y, z).
 * @param {THREE.PerspectiveCamera} camera
 * @param {number} fx x / width (0 … 1, left to right)
 * @param {number} fy y / height (0 … 1, top to bottom)
 * @param {number[]|null} voxelSize [z, y, x]
 * @returns {{origin: number[], dir: number[]}}
 */
export function rayThrough(camera, fx, fy, voxelSize) {
  const vs = vsOf(voxelSize);
  camera.updateMatrixWorld();
  const p = new THREE.Vector3(fx * 2 - 1, -fy * 2 + 1, 0.5).unproject(camera);
  const o = camera.position;
  const d = p.sub(o);
  return { origin: [o.x / vs[2], o.y / vs[1], o.z / vs[0]], dir: [d.x / vs[2], d.y / vs[1], d.z / vs[0]] };
}

/**
 * Where a level-0 voxel's centre shows on the canvas, as fractions of its width and height.
 * @param {THREE.PerspectiveCamera} camera
 * @param {number[]} p [z, y, x]
 * @param {number[]|null} voxelSize
 * @returns {{x: number, y: number}}
 */
export function projectVoxel(camera, p, voxelSize) {
  const vs = vsOf(voxelSize);
  camera.updateMatrixWorld();
  const v = new THREE.Vector3((p[2] + 0.5) * vs[2], (p[1] + 0.5) * vs[1], (p[0] + 0.5) * vs[0]).project(
    camera,
  );
  return { x: (v.x + 1) / 2, y: (1 - v.y) / 2 };
}

/**
 * The world size (x, y, z) of a volume.
 * @param {number[]} shape [z, y, x]
 * @param {number[]|null} voxelSize [z, y, x]
 * @returns {number[]}
 */
export function worldSize(shape, voxelSize) {
  const vs = voxelSize?.length === 3 ? voxelSize : [1, 1, 1];
  return [shape[2] * vs[2], shape[1] * vs[1], shape[0] * vs[0]];
}

/**
 * Near and far planes that keep the whole volume between them from where the camera is.
 * @param {import("three").PerspectiveCamera} camera
 * @param {import("three").Vector3} target the orbit target
 * @param {number[]} shape level-0 shape (z, y, x)
 * @param {number[]|null} voxelSize
 */
export function fitClip(camera, target, shape, voxelSize) {
  const r = Math.hypot(...worldSize(shape, voxelSize));
  const d = camera.position.distanceTo(target);
  camera.near = Math.max(1e-3, (d - r) * 0.5, r * 1e-4);
  camera.far = d + 2 * r;
  camera.updateProjectionMatrix();
}

/**
 * The default camera of a volume.
 * @param {number[]} shape [z, y, x]
 * @param {number[]|null} voxelSize
 * @param {number} [fov] vertical field of view, degrees
 * @param {number} [aspect] width / height of the canvas
 * @returns {{position: number[], target: number[], up: number[], fov: number}}
 */
export function defaultCamera(shape, voxelSize, fov = 40, aspect = 1) {
  const size = worldSize(shape, voxelSize);
  const target = size.map((s) => s / 2);
  const radius = Math.hypot(...size) / 2;
  const half = (Math.min(fov, fov * Math.min(1, aspect)) * Math.PI) / 360;
  const dist = (radius / Math.sin(half)) * 1.05;
  const dir = [0.35, -0.45, -1];
  const n = Math.hypot(...dir);
  const position = target.map((t, i) => t + (dir[i] / n) * dist);
  return { position, target, up: [0, -1, 0], fov };
}

/**
 * Check and complete a `camera` trait value (missing parts from `fallback`).
 * @param {object} value
 * @param {{position: number[], target: number[], up: number[], fov: number}} fallback
 * @returns {{position: number[], target: number[], up: number[], fov: number}}
 */
export function cameraFromTrait(value, fallback) {
  const vec = (v, d) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => Number.isFinite(Number(x))) ? v.map(Number) : d;
  const fov = Number(value?.fov);
  return {
    position: vec(value?.position, fallback.position),
    target: vec(value?.target, fallback.target),
    up: vec(value?.up, fallback.up),
    fov: Number.isFinite(fov) && fov > 0 && fov < 180 ? fov : fallback.fov,
  };
}

/**
 * The trait value of a three.js camera and its orbit target (rounded so echoes compare equal).
 * @param {{position: {x: number, y: number, z: number}, up: object, fov: number}} camera
 * @param {{x: number, y: number, z: number}} target
 * @returns {{position: number[], target: number[], up: number[], fov: number}}
 */
export function cameraToTrait(camera, target) {
  const r = (v) => [v.x, v.y, v.z].map((x) => Math.round(x * 1e4) / 1e4);
  return { position: r(camera.position), target: r(target), up: r(camera.up), fov: camera.fov };
}
