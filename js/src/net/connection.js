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
 * @module net/connection
 */

import { newId } from "./ids.js";
import { make } from "./protocol.js";

/** Heartbeat period (ms). */
export const PING_MS = 2000;
/** Offline after this long without any kernel message (ms). */
export const TIMEOUT_MS = 5000;

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
  }) {
    Object.assign(this, { rawSend: send, makeId, pingMs, timeoutMs, now, onChange, onOnline });
    this.setI = setI;
    this.clearI = clearI;
    /** @type {"connecting"|"online"|"offline"} */
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
    this.ping();
  }

  /** Stop the heartbeat (dispose). */
  stop() {
    if (this.timer !== null) this.clearI(this.timer);
    this.timer = null;
  }

  /** One heartbeat step: go offline after `timeoutMs` of silence; ping every `pingMs`. */
  tick() {
    const t = this.now();
    if (this.state !== "offline" && t - this.lastSeen > this.timeoutMs) {
      this.set("offline", `no answer from the kernel for ${Math.round((t - this.lastSeen) / 1000)} s`);
    }
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
