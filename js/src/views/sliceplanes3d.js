/**
 * The current slice planes in the 3D view (the `slice_planes` toggle): one outlined rectangle per
 * axis through `position`, in the colours of the ortho view's crosshairs (z blue, y green, x red).
 * @module views/sliceplanes3d
 */

import * as THREE from "three";

/** Colours of the planes z, y, x (also the ortho crosshairs, views/crosshair.js). */
export const PLANE_COLORS = ["#4f8cff", "#3fc35f", "#ff5a4f"];

/** Three outlined planes in a three.js scene. */
export class SlicePlanes3D {
  /** @param {THREE.Scene} scene */
  constructor(scene) {
    this.lines = PLANE_COLORS.map((c) => {
      const geom = new THREE.BufferGeometry();
      geom.setAttribute("position", new THREE.BufferAttribute(new Float32Array(12), 3));
      const line = new THREE.LineLoop(geom, new THREE.LineBasicMaterial({ color: c, depthTest: false }));
      line.renderOrder = 2;
      scene.add(line);
      return line;
    });
  }

  /**
   * Place the planes through voxel `position` [z, y, x] (hidden when `show` is false).
   * @param {number[]} position
   * @param {number[]} shape [z, y, x]
   * @param {number[]} vs voxel size [z, y, x]
   * @param {boolean} show
   */
  update(position, shape, vs, show) {
    const X = shape[2] * vs[2];
    const Y = shape[1] * vs[1];
    const Z = shape[0] * vs[0];
    const z = (position[0] + 0.5) * vs[0];
    const y = (position[1] + 0.5) * vs[1];
    const x = (position[2] + 0.5) * vs[2];
    const quads = [
      [0, 0, z, X, 0, z, X, Y, z, 0, Y, z],
      [0, y, 0, X, y, 0, X, y, Z, 0, y, Z],
      [x, 0, 0, x, Y, 0, x, Y, Z, x, 0, Z],
    ];
    this.lines.forEach((line, i) => {
      line.visible = !!show;
      const attr = line.geometry.getAttribute("position");
      attr.array.set(quads[i]);
      attr.needsUpdate = true;
      line.geometry.computeBoundingSphere();
    });
  }
}
