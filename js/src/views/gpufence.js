/**
 * Whether the GPU is still drawing the 3D view's last ray-marched frame: a WebGL2 fence after it,
 * whose status is polled (never waited for). In software WebGL a frame takes the CPU for a second
 * or more; a texture upload issued meanwhile would wait for it, and the page's main thread with it.
 * @module views/gpufence
 */

/** See the module doc. */
export class GpuFence {
  /** @param {WebGL2RenderingContext} gl */
  constructor(gl) {
    this.gl = gl;
    this.sync = null;
    this.frame = null;
  }

  /** @returns {boolean} a frame is fenced and not known to be done */
  get pending() {
    return this.sync !== null;
  }

  /**
   * Fence the frame just drawn (unless one is fenced already).
   * @param {{at: number, cost: number}} frame gets its `cost` (ms from `at` to done) when done
   * @returns {boolean} whether a fence was placed
   */
  start(frame) {
    if (this.sync) return false;
    const gl = this.gl;
    this.sync = gl.fenceSync(gl.SYNC_GPU_COMMANDS_COMPLETE, 0);
    gl.flush();
    this.frame = frame;
    return this.sync !== null;
  }

  /** @returns {boolean} whether the fenced frame is still being drawn */
  busy() {
    if (!this.sync) return false;
    const gl = this.gl;
    if (gl.getSyncParameter(this.sync, gl.SYNC_STATUS) !== gl.SIGNALED) return true;
    gl.deleteSync(this.sync);
    this.sync = null;
    this.frame.cost = performance.now() - this.frame.at;
    return false;
  }
}
