/**
 * After a kernel restart, check that this tab still reaches the kernel; reconnect it if not.
 *
 * Why (docs/sync.md, "A tab that does not reach the restarted kernel"): when a kernel dies and the
 * server restarts it on the same ports while two or more connections (tabs, a console) are open on
 * it and messages were in flight, the restarted kernel sometimes never reads one tab's shell
 * connection again (its receive queue fills up on the kernel's side). The kernel's status still
 * comes in (iopub), so the tab shows "idle", but no cell, comm message or request of that tab is
 * ever answered — with or without this widget. This sits below the widget (jupyter_server's
 * per-tab zmq sockets keep the browser session id as their identity across reconnects; libzmq's
 * ROUTER then stops reading the new connection); reconnecting the tab's kernel connection (what
 * JupyterLab's "Kernel ▸ Reconnect to Kernel" does) makes new sockets and cures it.
 *
 * So, while a view of this widget is on the page, every time the kernel connection comes back from
 * a restart or a reconnect (idle and connected after anything else), one `comm_info_request` goes
 * out on the shell channel. No reply within `probeMs` while the kernel says idle and connected (a
 * busy kernel answers late, so it only postpones the verdict) means the tab is stuck: it is
 * reconnected, at most `maxTries` times in a row. One watcher per kernel connection and page,
 * shared by the views (reference counted).
 * @module widget/shellwatch
 */

/** No shell reply for this long while the kernel says idle = stuck (ms). */
export const PROBE_MS = 5000;
/** Wait this long after the kernel is back before probing (ms). */
export const SETTLE_MS = 500;
/** Reconnects in a row without an answer before giving up (the status then stays offline). */
export const MAX_TRIES = 3;

const watchers = new WeakMap();

/**
 * @param {object|null} kernel JupyterLab's `Kernel.IKernelConnection` (anywidget's
 *   `model.widget_manager.kernel`); anything without `requestCommInfo`, `reconnect` and the status
 *   signals is ignored
 * @param {object} [opts]
 * @param {number} [opts.probeMs]
 * @param {number} [opts.settleMs]
 * @param {number} [opts.maxTries]
 * @param {(fn: () => void, ms: number) => any} [opts.setTimeout]
 * @param {(t: any) => void} [opts.clearTimeout]
 * @param {(text: string) => void} [opts.warn]
 * @returns {() => void} release (the last release stops the watcher)
 */
export function watchShell(kernel, opts = {}) {
  const ok =
    kernel &&
    typeof kernel.requestCommInfo === "function" &&
    typeof kernel.reconnect === "function" &&
    typeof kernel.statusChanged?.connect === "function" &&
    typeof kernel.connectionStatusChanged?.connect === "function";
  if (!ok) return () => {};
  let w = watchers.get(kernel);
  if (!w) {
    w = new ShellWatch(kernel, opts);
    watchers.set(kernel, w);
  }
  w.users += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    w.users -= 1;
    if (w.users === 0) {
      w.stop();
      watchers.delete(kernel);
    }
  };
}

export class ShellWatch {
  constructor(kernel, opts = {}) {
    this.kernel = kernel;
    this.probeMs = opts.probeMs ?? PROBE_MS;
    this.settleMs = opts.settleMs ?? SETTLE_MS;
    this.maxTries = opts.maxTries ?? MAX_TRIES;
    this.setT = opts.setTimeout ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearT = opts.clearTimeout ?? ((t) => clearTimeout(t));
    this.warn = opts.warn ?? ((text) => console.warn(text));
    this.users = 0;
    this.armed = false; // the kernel was away: probe once it is back
    this.tries = 0; // reconnects since the last answered probe
    this.timer = null;
    this.probe = null; // {answered} of the probe in flight
    this.reconnects = 0;
    this.slot = () => this.changed();
    kernel.statusChanged.connect(this.slot);
    kernel.connectionStatusChanged.connect(this.slot);
  }

  /** @returns {boolean} the kernel says idle (or busy) and the link is connected */
  back() {
    const k = this.kernel;
    return (
      !k.isDisposed && (k.status === "idle" || k.status === "busy") && k.connectionStatus === "connected"
    );
  }

  changed() {
    if (!this.back()) {
      this.armed = true;
      this.cancel();
      return;
    }
    if (this.armed && this.kernel.status === "idle" && this.timer === null) {
      this.armed = false;
      this.timer = this.setT(() => this.send(), this.settleMs);
    }
  }

  cancel() {
    if (this.timer !== null) this.clearT(this.timer);
    this.timer = null;
    this.probe = null;
  }

  send() {
    this.timer = null;
    if (!this.back()) return;
    const probe = { answered: false };
    this.probe = probe;
    const answered = () => {
      probe.answered = true;
      if (this.probe === probe) this.tries = 0;
    };
    try {
      Promise.resolve(this.kernel.requestCommInfo({ target_name: "jupyter.widget" })).then(
        answered,
        () => {},
      );
    } catch {
      return; // the connection refuses to send: it is not back after all
    }
    this.timer = this.setT(() => this.verdict(probe), this.probeMs);
  }

  verdict(probe) {
    this.timer = null;
    if (this.probe !== probe || probe.answered || !this.back()) return;
    if (this.kernel.status === "busy") {
      this.timer = this.setT(() => this.verdict(probe), this.probeMs); // a cell runs: ask later
      return;
    }
    this.probe = null;
    if (this.tries >= this.maxTries) {
      this.warn(
        `voxwidget: the kernel still does not answer this tab after ${this.tries} reconnects; reload the page`,
      );
      return;
    }
    this.tries += 1;
    this.reconnects += 1;
    this.warn(
      `voxwidget: this tab gets no replies from the restarted kernel (${this.probeMs / 1000} s); reconnecting ` +
        "its kernel connection (a known jupyter_server/zmq problem, see voxwidget docs/sync.md)",
    );
    this.armed = true; // probe again once the reconnect is through
    Promise.resolve()
      .then(() => this.kernel.reconnect())
      .catch(() => {});
  }

  stop() {
    this.cancel();
    this.kernel.statusChanged.disconnect(this.slot);
    this.kernel.connectionStatusChanged.disconnect(this.slot);
  }
}
