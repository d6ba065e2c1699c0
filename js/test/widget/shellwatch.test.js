import assert from "node:assert/strict";
import { test } from "node:test";
import { watchShell } from "../../src/widget/shellwatch.js";

/** A Lumino-like signal. */
function signal() {
  const slots = new Set();
  return {
    connect: (f) => slots.add(f),
    disconnect: (f) => slots.delete(f),
    emit: () => {
      for (const f of [...slots]) f();
    },
    get size() {
      return slots.size;
    },
  };
}

/**
 * A kernel connection with JupyterLab's surface (status, connectionStatus, their signals,
 * requestCommInfo, reconnect); `stuck` = the shell never answers (the state seen in the browser).
 * Timers are manual: `run()` fires every due one.
 */
function setup({ stuck = false } = {}) {
  let now = 0;
  const timers = [];
  const warnings = [];
  const k = {
    status: "idle",
    connectionStatus: "connected",
    isDisposed: false,
    stuck,
    probes: 0,
    reconnects: 0,
    statusChanged: signal(),
    connectionStatusChanged: signal(),
    requestCommInfo() {
      k.probes += 1;
      return k.stuck ? new Promise(() => {}) : Promise.resolve({ content: { status: "ok" } });
    },
    reconnect() {
      k.reconnects += 1;
      k.set("unknown", "connecting");
      k.stuck = false; // fresh sockets
      k.set("idle", "connected");
      return Promise.resolve();
    },
    set(status, conn = k.connectionStatus) {
      if (conn !== k.connectionStatus) {
        k.connectionStatus = conn;
        k.connectionStatusChanged.emit();
      }
      if (status !== k.status) {
        k.status = status;
        k.statusChanged.emit();
      }
    },
  };
  const opts = {
    setTimeout: (fn, ms) => {
      const t = { fn, at: now + ms };
      timers.push(t);
      return t;
    },
    clearTimeout: (t) => {
      const i = timers.indexOf(t);
      if (i >= 0) timers.splice(i, 1);
    },
    warn: (w) => warnings.push(w),
  };
  const advance = async (ms) => {
    const end = now + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r)); // promise callbacks (replies) first
      timers.sort((a, b) => a.at - b.at);
      const t = timers[0];
      if (!t || t.at > end) break;
      timers.shift();
      now = t.at;
      t.fn();
    }
    now = end;
  };
  const restart = () => {
    k.set("restarting");
    k.set("autorestarting");
    k.set("unknown", "connecting");
    k.set("starting", "connected");
    k.set("busy");
    k.set("idle");
  };
  return { k, opts, advance, restart, warnings };
}

test("no probe while the kernel stays up; one answered probe after a restart, no reconnect", async () => {
  const { k, opts, advance, restart } = setup();
  const release = watchShell(k, opts);
  await advance(20000);
  assert.equal(k.probes, 0);
  restart();
  await advance(20000);
  assert.equal(k.probes, 1);
  assert.equal(k.reconnects, 0);
  release();
});

test("a restarted kernel that never answers this tab gets the tab reconnected, then it is probed again", async () => {
  const { k, opts, advance, restart, warnings } = setup();
  watchShell(k, opts);
  k.stuck = true; // the restart leaves the shell channel dead
  restart();
  await advance(5000);
  assert.equal(k.reconnects, 0, "not before the probe timed out");
  await advance(1000);
  assert.equal(k.reconnects, 1);
  assert.match(warnings[0], /no replies from the restarted kernel/);
  await advance(10000);
  assert.equal(k.probes, 2, "probed again after the reconnect");
  assert.equal(k.reconnects, 1, "answered after the reconnect: no more");
});

test("a busy kernel postpones the verdict instead of reconnecting", async () => {
  const { k, opts, advance, restart } = setup();
  watchShell(k, opts);
  restart();
  k.stuck = true;
  await advance(100); // not yet probed (settling)
  k.requestCommInfo = () => {
    k.probes += 1;
    return new Promise(() => {});
  };
  await advance(600);
  assert.equal(k.probes, 1);
  k.set("busy"); // a long cell started
  await advance(30000);
  assert.equal(k.reconnects, 0);
});

test("gives up after maxTries reconnects without an answer", async () => {
  const { k, opts, advance, restart, warnings } = setup();
  k.reconnect = () => {
    k.reconnects += 1;
    k.set("unknown", "connecting");
    k.set("idle", "connected"); // still stuck
    return Promise.resolve();
  };
  watchShell(k, { ...opts, maxTries: 2 });
  k.stuck = true;
  restart();
  await advance(60000);
  assert.equal(k.reconnects, 2);
  assert.match(warnings.at(-1), /reload the page/);
});

test("one watcher per kernel, shared by views; the last release disconnects it", async () => {
  const { k, opts, advance, restart } = setup();
  const r1 = watchShell(k, opts);
  const r2 = watchShell(k, opts);
  assert.equal(k.statusChanged.size, 1);
  restart();
  await advance(10000);
  assert.equal(k.probes, 1, "two views, one probe");
  r1();
  r1(); // twice is harmless
  assert.equal(k.statusChanged.size, 1);
  r2();
  assert.equal(k.statusChanged.size, 0);
  assert.equal(k.connectionStatusChanged.size, 0);
  restart();
  await advance(10000);
  assert.equal(k.probes, 1, "released: no more probes");
});

test("hosts without JupyterLab's kernel connection are ignored", () => {
  for (const kernel of [null, undefined, {}, { status: "idle" }]) {
    const release = watchShell(kernel);
    release();
  }
});
