/**
 * The 3D view's bricks from plan to GPU: each step plans the bricks the camera needs
 * (core/bricks.js `planBricks`), tells the brick client (net/bricks.js: it cancels what left the
 * view and asks for what is missing, in plan order) and uploads the bricks that arrived into the
 * atlas (views/brickatlas.js: only the layers whose data changed).
 *
 * Uploads are bounded by time per step, not by count: a texture upload is cheap next to a frame,
 * and the view draws when the policy says so (views/drawpolicy.js), not per upload batch.
 * @module views/brickloader
 */

import { brickId, planBricks } from "../core/bricks.js";

/** A step uploads bricks for at most this long (ms of the page's main thread), the rest next step. */
export const UPLOAD_MS = 40;

/** See the module doc. */
export class BrickLoader {
  /**
   * @param {import("../net/bricks.js").BrickClient} client
   * @param {() => number} [now] clock (ms)
   */
  constructor(client, now = () => performance.now()) {
    this.client = client;
    this.now = now;
    this.atlas = null;
    this.plan = { target: 0, coarsest: 0, leaves: 0, bricks: [] };
    this.planKey = "";
    this.frame = 0;
    this.progress = { loaded: 0, needed: 0, level: 0, failed: 0 };
  }

  /** Use a new atlas (the volume, its levels, dtypes or budget changed). */
  setAtlas(atlas) {
    this.atlas = atlas;
    this.planKey = "";
  }

  /**
   * Plan, fetch and upload (see the module doc).
   * @param {object} view what the camera sees: `planes`, `eye`, `fovY`, `heightPx`, `voxelSize`, `chunks`
   * @param {boolean} [upload] upload arrived bricks (false while the GPU still draws the last
   *   frame: an upload would wait for it, and the page with it)
   * @returns {{grown: boolean, uploaded: number, shown: number, more: boolean, complete: boolean,
   *   anyData: boolean, progressChanged: boolean}} `grown`: the atlas textures were (re)allocated;
   *   `shown`: uploads that change the picture (all of them, except coarser bricks once complete);
   *   `more`: bricks are here that wait for the next step;
   *   `complete`: every brick the plan wants in the end (the leaves) is resident and current
   */
  step(view, upload = true) {
    const atlas = this.atlas;
    this.frame++;
    const plan = planBricks({
      levels: atlas.levels,
      chunks: view.chunks,
      voxelSize: view.voxelSize,
      planes: view.planes,
      eye: view.eye,
      fovY: view.fovY,
      heightPx: view.heightPx,
      maxBricks: atlas.capacity,
    });
    this.plan = plan;
    const grown = upload && atlas.reserve(plan.bricks.length);
    const key = plan.bricks.map((b) => brickId(b.level, b.key)).join(";");
    if (key !== this.planKey) {
      this.planKey = key;
      this.client.want(plan.bricks);
    }
    const t0 = this.now();
    let uploaded = 0;
    let leaves = 0; // of them bricks the plan wants in the end
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
      if (atlas.current(id, im, lb)) {
        atlas.slots.touch(id, this.frame);
        if (target && !lb.stale && !im.stale) loaded++;
        continue;
      }
      if (!upload || more || (uploaded > 0 && this.now() - t0 > UPLOAD_MS)) {
        more = true;
        continue;
      }
      if (atlas.put(id, this.frame, im, lb)) {
        uploaded++;
        if (target) leaves++;
        if (target && !lb.stale && !im.stale) loaded++;
      }
    }
    const failed = this.client.failed;
    const p = this.progress;
    const progressChanged =
      p.loaded !== loaded || p.needed !== needed || p.level !== plan.target || p.failed !== failed;
    if (progressChanged) this.progress = { loaded, needed, level: plan.target, failed };
    const complete = needed > 0 && loaded === needed;
    return {
      grown,
      uploaded,
      // a coarser brick arriving once every wanted one is drawn changes nothing on screen
      shown: complete ? leaves : uploaded,
      more,
      complete,
      anyData: atlas.resident.size > 0,
      progressChanged,
    };
  }
}
