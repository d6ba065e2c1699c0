/**
 * When the 3D view draws (pure: no WebGL, node-tested). A ray-marched frame is the costly part of
 * the 3D view: in software WebGL (SwiftShader, headless Chromium) one frame of a 1068 × 600 px view
 * takes 1–2 CPU-seconds on every core at once, and while it runs the brick replies, their decoding
 * and the kernel wait for the CPU. Measured before this policy: a redraw per batch of arrived
 * bricks made 20 frames of a 512³ volume's first load, 39.6 of its 42 CPU-seconds.
 *
 * So frames are drawn on demand, and bricks arriving do not each ask for one:
 * - **the view changed** (camera, traits, size): draw at the next animation frame (after a slow
 *   frame, SLOW_FRAME_MS, once the GPU has drawn it: views/present.js shows frames when drawn);
 * - **bricks were uploaded** since the last frame: draw at once when that completes the view (every
 *   brick the plan wants is drawn); the first frame with any data (the coarse placeholder) once
 *   FIRST_WAIT_MS passed since the first upload, or up to FIRST_MAX_WAIT_MS while the rest of the
 *   plan is due within FIRST_WAIT_MS at the rate it came so far (a volume whose plan arrives soon
 *   gets one frame, not a placeholder that costs as much and is redrawn a moment later: measured
 *   on a 512³ volume, the placeholder held the page for 0.85 s of its 2.6 s load; bricks already
 *   here and waiting for upload go in first, for up to LOAD_GAP_MS); otherwise at most every
 *   `max(LOAD_GAP_MS, LOAD_COST_FACTOR × cost)` while loading, `cost` being how long the last
 *   frame took to show (so loading frames take at most a fraction of the CPU the loading needs);
 * - **nothing resident**: no ray march at all (only the outline; a march through a volume of
 *   missing bricks costs as much as a full one and shows nothing);
 * - **quality**: while loading or while the user drags the camera, frames are "fast" (a longer ray
 *   step, views/view3d.js); the view ends on a full-quality frame once it is complete and still.
 * @module views/drawpolicy
 */

/** The first frame with data waits this long after the first upload for the rest of the plan (ms)… */
export const FIRST_WAIT_MS = 400;
/** …and up to this long while the rest, at the rate bricks came so far, is due within FIRST_WAIT_MS. */
export const FIRST_MAX_WAIT_MS = 1500;
/** While the GPU still draws, ask again after this long (ms). */
export const GPU_POLL_MS = 30;
/** A frame that took longer to draw than this (software WebGL) is not followed by another one
 * before it is done, even for a changed view: frames drawn off screen would queue up behind it. */
export const SLOW_FRAME_MS = 50;
/** Loading frames come at most this often… */
export const LOAD_GAP_MS = 300;
/** …and no more often than this many times the cost of the last frame. */
export const LOAD_COST_FACTOR = 3;

/**
 * What to do now.
 * @param {object} s
 * @param {number} s.now ms
 * @param {boolean} s.viewDirty the view changed since the last frame
 * @param {boolean} s.newData bricks were uploaded (or dropped) since the last frame
 * @param {boolean} s.complete every brick the plan wants is resident and current
 * @param {boolean} s.anyData some brick with data is resident
 * @param {boolean} s.interacting the user is dragging the camera
 * @param {{at: number, cost: number, fast: boolean, data: boolean}|null} s.last the last frame: when
 *   it was drawn, how long it took to show (ms, 0 when not known yet), its quality, whether it had data
 * @param {boolean} s.drewData a frame with data was drawn since the volume was set up
 * @param {boolean} [s.ready] the ray-marching program is compiled
 * @param {boolean} [s.gpuBusy] the GPU still draws the last ray-marched frame
 * @param {number} [s.backlogMs] how long bricks have been waiting for upload (0: none wait)
 * @param {number|null} [s.firstDataAt] when the first brick with data was uploaded (ms; null: unknown)
 * @param {{loaded: number, needed: number}} [s.progress] bricks of the plan's target level resident
 * @returns {{draw: boolean, fast: boolean, waitMs: number}} `draw`: draw now (`fast` quality);
 *   otherwise `waitMs` > 0: ask again after that long, 0: nothing to do until something changes
 */
export function decideDraw({
  now,
  viewDirty,
  newData,
  complete,
  anyData,
  interacting,
  last,
  drewData,
  ready = true,
  gpuBusy = false,
  backlogMs = 0,
  firstDataAt = null,
  progress = { loaded: 0, needed: 0 },
}) {
  const fast = interacting || !complete;
  if (!anyData || !ready) {
    // nothing to march (yet): an outline frame when the view changed or the data went away
    return { draw: viewDirty || (!anyData && !!last?.data), fast: true, waitMs: 0 };
  }
  if (gpuBusy && (last?.cost ?? 0) > SLOW_FRAME_MS) return { draw: false, fast, waitMs: GPU_POLL_MS };
  if (viewDirty) return { draw: true, fast, waitMs: 0 };
  if (newData) {
    if (complete) return { draw: true, fast, waitMs: 0 };
    // bricks that are here wait for upload: draw them all in one frame (within LOAD_GAP_MS)
    if (backlogMs > 0 && backlogMs < LOAD_GAP_MS) return { draw: false, fast, waitMs: 0 };
    if (!drewData) {
      const waited = now - (firstDataAt ?? Number.NEGATIVE_INFINITY);
      const { loaded, needed } = progress;
      const rest = loaded > 0 ? ((needed - loaded) * waited) / loaded : Number.POSITIVE_INFINITY;
      let wait = FIRST_WAIT_MS - waited;
      if (wait <= 0 && rest < FIRST_WAIT_MS) wait = Math.min(rest, FIRST_MAX_WAIT_MS - waited);
      if (wait <= 0) return { draw: true, fast, waitMs: 0 };
      return { draw: false, fast, waitMs: Math.max(1, Math.ceil(wait)) };
    }
    if (gpuBusy) return { draw: false, fast, waitMs: GPU_POLL_MS };
    const gap = Math.max(LOAD_GAP_MS, LOAD_COST_FACTOR * (last?.cost ?? 0));
    const since = now - (last?.at ?? Number.NEGATIVE_INFINITY);
    if (since >= gap) return { draw: true, fast, waitMs: 0 };
    return { draw: false, fast, waitMs: Math.max(1, Math.ceil(gap - since)) };
  }
  // nothing new: upgrade a fast frame to full quality once complete and still
  if (last?.fast && !fast) return { draw: true, fast: false, waitMs: 0 };
  return { draw: false, fast, waitMs: 0 };
}
