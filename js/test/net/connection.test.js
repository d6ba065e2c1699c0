import assert from "node:assert/strict";
import { test } from "node:test";
import { Connection } from "../../src/net/connection.js";
import { validate } from "../../src/net/protocol.js";

/** A fake model (send that can be made to throw), a fake clock and interval timer. */
function setup(opts = {}) {
  const sent = [];
  const model = { throws: false };
  let clock = 0;
  let interval = null;
  const changes = [];
  const onlines = [];
  let n = 0;
  const conn = new Connection({
    send: (msg, buffers) => {
      if (model.throws) throw new Error("Comm is closed");
      validate(msg, buffers.length, "browser");
      sent.push(msg);
    },
    makeId: () => `p${n++}`,
    now: () => clock,
    setInterval: (fn, ms) => {
      interval = { fn, ms };
      return interval;
    },
    clearInterval: (t) => {
      if (interval === t) interval = null;
    },
    onChange: (s, why) => changes.push([s, why]),
    onOnline: (info) => onlines.push(info),
    ...opts,
  });
  /** Advance the fake clock by `ms`, running the interval timer as a real one would. */
  const advance = (ms) => {
    const end = clock + ms;
    while (interval && clock + interval.ms <= end) {
      clock += interval.ms;
      interval.fn();
    }
    clock = end;
  };
  const pong = (id = conn.pingId, labelmap_id = "lm") => {
    const msg = { kind: "pong", reply_to: id, labelmap_id };
    validate(msg, 0, "kernel");
    return conn.received(msg);
  };
  const pings = () => sent.filter((m) => m.kind === "ping");
  return { conn, sent, model, advance, changes, onlines, pong, pings, interval: () => interval };
}

test("connecting → online on welcome; onOnline says it is the first time", () => {
  const { conn, onlines, changes } = setup();
  conn.start();
  assert.equal(conn.state, "connecting");
  assert.equal(
    conn.received({ kind: "welcome", reply_to: "h", protocol: 1, labelmap_id: "abc", fingerprint: "f" }),
    false,
  );
  assert.equal(conn.state, "online");
  assert.deepEqual(onlines, [{ labelmapId: "abc", first: true }]);
  assert.deepEqual(changes, [["online", "welcome"]]);
  assert.equal(conn.labelmapId, "abc");
});

test("the heartbeat pings every ~2 s and goes offline after ~5 s without an answer", () => {
  const { conn, advance, pings, pong, changes, onlines } = setup();
  conn.start();
  assert.equal(pings().length, 1, "a ping at start");
  pong();
  assert.equal(conn.state, "online");
  advance(2000);
  assert.equal(pings().length, 2, "one ping per 2 s");
  pong();
  advance(2000);
  pong();
  assert.equal(pings().length, 3);
  assert.equal(conn.state, "online", "answered pings keep it online");
  // the kernel stops answering
  advance(4500);
  assert.equal(conn.state, "online", "not yet: 4.5 s of silence");
  advance(1000);
  assert.equal(conn.state, "offline", "offline after 5 s of silence");
  assert.match(changes.at(-1)[1], /no answer from the kernel/);
  const before = pings().length;
  advance(4000);
  assert.equal(pings().length, before + 2, "offline views keep pinging");
  assert.equal(pong(), true, "a pong is the heartbeat's own message");
  assert.equal(conn.state, "online");
  assert.equal(onlines.length, 2);
  assert.deepEqual(
    onlines[1],
    { labelmapId: "lm", first: false },
    "back online: not the first time (replay)",
  );
});

test("any kernel message keeps an online view alive (a long tile stream is not silence)", () => {
  const { conn, advance, pong } = setup();
  conn.start();
  pong();
  for (let i = 0; i < 10; i++) {
    advance(1000);
    conn.received({ kind: "chunks.data" });
  }
  assert.equal(conn.state, "online");
});

test("a send that throws means offline at once; the comm counts as dead until a pong", () => {
  const { conn, model, pong, changes } = setup();
  const quiet = console.warn;
  console.warn = () => {};
  try {
    conn.start();
    pong();
    model.throws = true;
    assert.equal(conn.send({ kind: "chunks.cancel", ids: [] }), false);
    assert.equal(conn.state, "offline");
    assert.equal(conn.dead, true);
    assert.match(changes.at(-1)[1], /send failed: Comm is closed/);
    assert.equal(conn.send({ kind: "chunks.cancel", ids: [] }), false, "still refused");
    model.throws = false;
    assert.equal(conn.send({ kind: "chunks.cancel", ids: [] }), true);
    assert.equal(conn.state, "offline", "a send that works is not an answer from the kernel");
    pong();
    assert.equal(conn.state, "online");
    assert.equal(conn.dead, false);
  } finally {
    console.warn = quiet;
  }
});

test("comm_live_update: offline and an immediate ping; the answer brings it back", () => {
  const { conn, pong, pings, onlines } = setup();
  conn.start();
  pong();
  const before = pings().length;
  conn.liveUpdate();
  assert.equal(conn.state, "offline");
  assert.equal(pings().length, before + 1, "pinged at once");
  pong();
  assert.equal(conn.state, "online");
  assert.equal(onlines.length, 2);
});

test("no welcome at all: a connecting view goes offline after the timeout", () => {
  const { conn, advance } = setup();
  conn.start();
  advance(6000);
  assert.equal(conn.state, "offline");
});

test("a kernel that is dead from the start (send throws at once) is offline without waiting", () => {
  const { conn, model, advance, pings } = setup();
  model.throws = true;
  conn.start();
  assert.equal(conn.state, "offline");
  advance(10_000);
  assert.equal(pings().length, 0, "nothing could be sent");
  assert.equal(conn.state, "offline");
});

test("stop ends the heartbeat", () => {
  const { conn, interval, advance, pings } = setup();
  conn.start();
  assert.ok(interval());
  conn.stop();
  assert.equal(interval(), null);
  const before = pings().length;
  advance(10_000);
  assert.equal(pings().length, before);
});

/** A fake host kernel (JupyterLab's IKernelConnection as kernelstatus.js adapts it). */
function fakeKernel() {
  const k = { status: "idle", connection: "connected", watchers: new Set() };
  k.api = {
    status: () => k.status,
    connection: () => k.connection,
    watch(fn) {
      k.watchers.add(fn);
      return () => k.watchers.delete(fn);
    },
  };
  k.set = (status, connection = k.connection) => {
    k.status = status;
    k.connection = connection;
    for (const fn of k.watchers) fn();
  };
  return k;
}

test("quiet: online and nothing outstanding, the view sends no ping at all", () => {
  const k = fakeKernel();
  let outstanding = 0;
  const { conn, advance, pings, pong } = setup({ kernel: k.api, outstanding: () => outstanding });
  conn.start();
  pong();
  assert.equal(conn.state, "online");
  const before = pings().length;
  advance(60_000);
  assert.equal(pings().length, before, "no heartbeat while nothing waits for an answer");
  assert.equal(conn.state, "online", "and no offline by silence either");
  // something outstanding and the idle kernel silent: pings after pingMs, offline after timeoutMs
  outstanding = 1;
  advance(1900);
  assert.equal(pings().length, before, "no ping before pingMs of silence");
  advance(1000);
  assert.equal(pings().length, before + 1);
  // the kernel handles each ping (a short busy spell: busy, then idle) but never answers it
  for (let seen = pings().length, t = 0; t < 6000; t += 500) {
    advance(500); // one heartbeat tick
    if (pings().length > seen) {
      seen = pings().length;
      k.set("busy");
      advance(20);
      k.set("idle");
    }
  }
  assert.equal(conn.state, "offline", "short busy spells do not hide a kernel that stopped answering");
});

test("quiet: a long cell is 'busy', not offline; no pings pile up; idle → one ping → online", () => {
  const k = fakeKernel();
  const { conn, advance, pings, pong, changes, onlines } = setup({ kernel: k.api, outstanding: () => 3 });
  conn.start();
  pong();
  const before = pings().length;
  k.set("busy");
  advance(500);
  assert.equal(conn.state, "online", "a short busy spell (our own message) changes nothing");
  advance(600);
  assert.equal(conn.state, "busy");
  advance(5 * 60_000); // minutes of a running cell, with batches outstanding
  assert.equal(conn.state, "busy", "never offline while the kernel says busy");
  assert.equal(pings().length, before, "no ping queued behind the cell");
  k.set("idle");
  assert.equal(pings().length, before + 1, "one ping as soon as the kernel is idle");
  assert.equal(conn.state, "busy", "until its pong");
  pong();
  assert.equal(conn.state, "online");
  assert.deepEqual(onlines.at(-1), { labelmapId: "lm", first: false });
  assert.deepEqual(
    changes.map(([s]) => s),
    ["online", "busy", "online"],
  );
});

test("quiet: a dead, restarting or disconnected kernel is offline at once", () => {
  for (const [status, link] of [
    ["dead", "connected"],
    ["restarting", "connected"],
    ["idle", "disconnected"],
  ]) {
    const k = fakeKernel();
    const { conn, pong } = setup({ kernel: k.api });
    conn.start();
    pong();
    k.set(status, link);
    assert.equal(conn.state, "offline", `${status}/${link}`);
    assert.match(conn.why, link === "connected" ? new RegExp(status) : /disconnected/);
    k.set("idle", "connected");
    pong();
    assert.equal(conn.state, "online");
  }
});

test("stop unwatches the kernel's status", () => {
  const k = fakeKernel();
  const { conn } = setup({ kernel: k.api });
  conn.start();
  assert.equal(k.watchers.size, 1);
  conn.stop();
  assert.equal(k.watchers.size, 0);
});
