/**
 * Is the kernel there? The view's online/offline state machine.
 *
 * ```
 *            welcome / pong                         send throws, comm_live_update,
 * connecting ───────────────▶ online ──────────────▶ offline ──┐ (pings go on)
 *      │                        ▲     no kernel message for      │
 *      │ send throws,           │     `timeoutMs`                │
 *      └──── no answer ─────────┼────────────────────────────────┘
 *                               └─────── pong / welcome ◀────────┘  → onOnline (replay)
 * ```
 *
 * Signals (see TESTING.md): a kernel restart makes `model.send` throw and the model emit
 * `comm_live_update`; a shutdown only makes `send` throw; a busy or unreachable kernel just stops
 * answering, which the heartbeat notices (a `ping` every `pingMs`, offline once nothing came back
 * for `timeoutMs`). Every kernel message counts as a sign of life while online; only a `pong` or
 * `welcome` brings the view back online, and then `onOnline` runs (the edit queue replays every
 * unacknowledged batch, in order).
 *
 * Quiet liveness (when the host tells the kernel's own status, as JupyterLab and Notebook 7 do
 * through the widget manager's kernel connection: `kernel`): every comm message from the browser
 * makes the kernel publish busy + idle, so a heartbeat every 2 s would flash the kernel's busy
 * indicator forever. With the kernel's status known the view stays quiet while online: no ping
 * while nothing of its own is outstanding (`outstanding()`), pings (and the silence timeout) only
 * while a batch or request waits for an answer and the kernel says it is idle. A kernel busy for
 * `busyMs` (a long cell in the same kernel) puts the view in state `busy` — not offline: edits queue
 * (stored, not sent) and no pings pile up behind the cell; when the kernel turns idle one ping goes
 * out and its pong brings the view online (and replays). A dead, restarting or disconnected kernel
 * is offline at once. Without the kernel's status the heartbeat above runs as it always did.
 *
 * ```
 *  online ── kernel busy ≥ busyMs ──▶ busy ── kernel idle: one ping ── pong ──▶ online
 * ```
 * @module net/connection
 */

import { newId } from "./ids.js";
import { make } from "./protocol.js";

/** Heartbeat period (ms). */
export const PING_MS = 2000;
/** Offline after this long without any kernel message (ms). */
export const TIMEOUT_MS = 5000;
/** "kernel busy" once the kernel's own status said busy for this long (ms). */
export const BUSY_MS = 1000;
/** Kernel statuses (JupyterLab's `Kernel.Status`) in which the comm cannot answer. */
const GONE = new Set(["dead", "restarting", "autorestarting", "terminating", "unknown"]);

/**
 * The kernel's own status as the host reports it.
 * @typedef {object} KernelStatus
 * @property {() => string} status "idle", "busy", "starting", "restarting", "dead", …
 * @property {() => string} connection "connected", "connecting" or "disconnected"
 * @property {(fn: () => void) => () => void} watch call `fn` on every change; returns unwatch
 */

export class Connection {
  /**
   * @param {object} p
   * @param {(msg: object, buffers: ArrayBuffer[]) => void} p.send the model's send (may throw)
   * @param {() => string} [p.makeId]
   * @param {number} [p.pingMs]
   * @param {number} [p.timeoutMs]
   * @param {() => number} [p.now] ms clock
   * @param {(fn: () => void, ms: number) => any} [p.setInterval]
   * @param {(t: any) => void} [p.clearInterval]
   * @param {(state: string, why: string) => void} [p.onChange] after every state change
   * @param {(info: {labelmapId: string|undefined, first: boolean}) => void} [p.onOnline]
   * @param {KernelStatus|null} [p.kernel] the kernel's own status, when the host tells it (quiet mode)
   * @param {() => number} [p.outstanding] batches and requests of this view waiting for an answer
   * @param {number} [p.busyMs]
   */
  constructor({
    send,
    makeId = newId,
    pingMs = PING_MS,
    timeoutMs = TIMEOUT_MS,
    now = () => Date.now(),
    setInterval: setI = (fn, ms) => setInterval(fn, ms),
    clearInterval: clearI = (t) => clearInterval(t),
    onChange = () => {},
    onOnline = () => {},
    kernel = null,
    outstanding = () => 0,
    busyMs = BUSY_MS,
  }) {
    Object.assign(this, { rawSend: send, makeId, pingMs, timeoutMs, now, onChange, onOnline });
    Object.assign(this, { kernel, outstanding, busyMs });
    this.busySince = null; // when the kernel's status last turned busy (null: it is not busy)
    this.unwatch = null;
    this.setI = setI;
    this.clearI = clearI;
    /** @type {"connecting"|"online"|"busy"|"offline"} */
    this.state = "connecting";
    this.why = "";
    /** The comm is known to be closed (a send threw or comm_live changed) until a kernel answers. */
    this.dead = false;
    this.since = now(); // when the current state began
    this.lastSeen = now(); // last kernel message
    this.lastPing = -Infinity;
    this.pingId = null;
    this.wasOnline = false;
    this.timer = null;
    this.labelmapId = undefined; // as the kernel last announced it
  }

  /** @returns {boolean} */
  get online() {
    return this.state === "online";
  }

  /** Start the heartbeat (ticks at a quarter of the ping period). */
  start() {
    if (this.timer !== null) return;
    this.timer = this.setI(() => this.tick(), Math.max(50, Math.floor(this.pingMs / 4)));
    if (this.kernel && !this.unwatch) {
      this.noteKernel();
      this.unwatch = this.kernel.watch(() => {
        this.noteKernel();
        this.tick();
      });
    }
    this.ping();
  }

  /** Stop the heartbeat (dispose). */
  stop() {
    if (this.timer !== null) this.clearI(this.timer);
    this.timer = null;
    this.unwatch?.();
    this.unwatch = null;
  }

  /** @returns {string|null} the kernel's status, or null when the host does not tell it */
  kernelStatus() {
    if (!this.kernel) return null;
    try {
      return this.kernel.status() ?? null;
    } catch {
      return null;
    }
  }

  /** Track since when the kernel has been busy. */
  noteKernel() {
    const busy = this.kernelStatus() === "busy";
    if (!busy) this.busySince = null;
    else if (this.busySince === null) this.busySince = this.now();
  }

  /**
   * One heartbeat step. Without the kernel's status: offline after `timeoutMs` of silence, a ping
   * every `pingMs`. With it: see the module doc (quiet while online and nothing is outstanding).
   */
  tick() {
    const t = this.now();
    const ks = this.kernelStatus();
    if (ks === null) {
      this.silence(t);
      return;
    }
    this.noteKernel();
    let link = "connected";
    try {
      link = this.kernel.connection() ?? "connected";
    } catch {}
    if (GONE.has(ks) || link !== "connected") {
      this.set("offline", link !== "connected" ? `the kernel connection is ${link}` : `the kernel is ${ks}`);
      if (t - this.lastPing >= this.pingMs) this.ping();
      return;
    }
    if (ks === "busy" && t - this.busySince >= this.busyMs) {
      // a long cell: not offline, and no pings queued behind it; its silence says nothing. (Busy
      // spells shorter than busyMs, such as the kernel handling our own ping, count as idle.)
      if (this.state !== "offline") this.set("busy", "the kernel is busy (a cell is running)");
      this.lastSeen = t;
      return;
    }
    if (this.state === "online" && this.outstanding() === 0) {
      this.lastSeen = t; // quiet: nothing to wait for, nothing to ask
      return;
    }
    if (this.state === "busy") {
      if (t - this.lastPing >= this.pingMs) this.ping(); // idle again: one ping, its pong = online
      return;
    }
    this.silence(t, this.state === "online");
  }

  /**
   * The plain heartbeat: offline after `timeoutMs` of silence; a ping every `pingMs`.
   * @param {number} t now
   * @param {boolean} [doubt] ping only once the kernel was silent for `pingMs` (quiet mode, online)
   */
  silence(t, doubt = false) {
    if (this.state !== "offline" && t - this.lastSeen > this.timeoutMs) {
      this.set("offline", `no answer from the kernel for ${Math.round((t - this.lastSeen) / 1000)} s`);
    }
    if (doubt && t - this.lastSeen < this.pingMs) return;
    if (t - this.lastPing >= this.pingMs) this.ping();
  }

  /** Send a heartbeat ping now. */
  ping() {
    this.lastPing = this.now();
    this.pingId = this.makeId();
    this.send(make("ping", { id: this.pingId }), [], true);
  }

  /**
   * Send a message to the kernel. A throwing send means the comm is gone: offline.
   * @param {object} msg
   * @param {ArrayBuffer[]} [buffers]
   * @param {boolean} [quiet] do not log the failure (heartbeat)
   * @returns {boolean} whether the message was handed to the comm
   */
  send(msg, buffers = [], quiet = false) {
    try {
      this.rawSend(msg, buffers);
      return true;
    } catch (err) {
      if (!quiet && this.state !== "offline") console.warn("voxwidget: send failed, offline:", err);
      this.dead = true;
      this.set("offline", `send failed: ${err?.message ?? err}`);
      return false;
    }
  }

  /**
   * Note a (validated) kernel message. `pong` and `welcome` bring the view online.
   * @param {object} msg
   * @returns {boolean} whether it was the heartbeat's (nothing else to do with it)
   */
  received(msg) {
    this.lastSeen = this.now();
    if (msg.kind === "pong" || msg.kind === "welcome") {
      this.labelmapId = msg.labelmap_id;
      this.dead = false;
      if (this.state !== "online") {
        const first = !this.wasOnline;
        this.wasOnline = true;
        this.set("online", msg.kind);
        this.onOnline({ labelmapId: msg.labelmap_id, first });
      }
      return msg.kind === "pong";
    }
    return false;
  }

  /**
   * The model's `comm_live_update` fired: the comm closed (kernel restart) or reopened. Either
   * way the view assumes offline and pings at once; an answer brings it back (and replays).
   */
  liveUpdate() {
    this.dead = true;
    this.set("offline", "the widget's comm changed (kernel restarted?)");
    this.ping();
  }

  set(state, why) {
    if (state === this.state) return;
    this.state = state;
    this.why = why;
    this.since = this.now();
    this.onChange(state, why);
  }
}
