import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkClient } from "../../src/net/client.js";
import { planeId, REST_MS, RestTracker } from "../../src/store/resttracker.js";

test("RestTracker: a plane rests once shown for restMs, each stay once; flown-past planes never", () => {
  const r = new RestTracker(300);
  assert.equal(REST_MS, 300);
  assert.equal(r.due(), null);
  // scrolling: a new plane every 100 ms
  for (let i = 0; i < 10; i++) assert.deepEqual(r.show([`0/0/${i}`], 1000 + 100 * i), []);
  assert.equal(r.due(), 1900 + 300);
  assert.deepEqual(r.tick(2199), []);
  assert.equal(r.isRested("0/0/9"), false);
  // scrolling stopped on plane 9: it rests 300 ms after it was first shown
  assert.deepEqual(r.tick(2200), ["0/0/9"]);
  assert.equal(r.isRested("0/0/9"), true);
  assert.equal(r.due(), null);
  assert.deepEqual(r.tick(5000), [], "once per stay");
  // re-declaring the same plan (a refresh, a pan) keeps the plane at rest
  assert.deepEqual(r.show(["0/0/9"], 5001), []);
  assert.equal(r.isRested("0/0/9"), true);
  // several levels shown at once (coarse placeholder + fine): each its own clock
  assert.deepEqual(r.show(["2/0/2", "0/0/9"], 5100), []);
  assert.deepEqual(r.tick(5400), ["2/0/2"]);
  // leaving a plane forgets its rest: shown again, it starts over
  assert.deepEqual(r.show(["0/0/10"], 6000), []);
  assert.equal(r.isRested("0/0/9"), false);
  assert.deepEqual(r.show(["0/0/9"], 6100), []);
  assert.equal(r.due(), 6400);
  assert.deepEqual(r.show(["0/0/9"], 6400), ["0/0/9"], "show() also reports planes come to rest");
  // the view goes away: what it shows counts as rested at once
  r.show(["0/0/11", "1/0/5"], 7000);
  assert.deepEqual(r.settle().sort(), ["0/0/11", "1/0/5"]);
  assert.deepEqual(r.settle(), []);
  assert.equal(planeId(1, 0, 5), "1/0/5");
  // planes near a rested plane (same level and axis, within `near`) are written too
  assert.equal(r.isRested("0/0/14"), true);
  assert.equal(r.isRested("0/0/8"), true);
  assert.equal(r.isRested("0/0/15"), false);
  assert.equal(r.isRested("0/1/11"), false, "another axis");
  assert.equal(r.isRested("2/0/11"), false, "another level");
  r.show(["0/0/30"], 8000);
  assert.equal(r.isRested("0/0/12"), false, "the plane left: its neighbours with it");
});

/** A fake persistent cache recording puts. */
function fakePersist() {
  const puts = [];
  return {
    puts,
    enabled: true,
    mayHave: () => false,
    put: (key) => puts.push(key),
    getMany: async () => new Map(),
  };
}

/** A client over a fake cache and a settable clock (`clock.t`, ms); returns what it sent. */
function testClient(prefix) {
  const clock = { t: 0 };
  const sent = [];
  let n = 0;
  const persist = fakePersist();
  const c = new ChunkClient({
    send: (m) => sent.push(m),
    makeId: () => `r${n++}`,
    persist,
    prefix,
    now: () => clock.t,
  });
  return { c, sent, persist, clock };
}

function reply(client, sent, index, { prefetch = false, zero = false } = {}) {
  for (const layer of ["image", "labels"]) {
    const get = sent.findLast((m) => m.kind === "chunks.get" && m.layer === layer && m.index === index);
    assert.ok(get, `a request for ${layer} ${index}`);
    const raw = new Uint8Array(new Uint16Array([1, 2, 3, 4]).buffer);
    const codec = zero ? "zero" : "raw";
    client.handle(
      {
        kind: "chunks.data",
        reply_to: get.id,
        layer,
        level: 0,
        axis: 0,
        index,
        done: true,
        tiles: get.keys.map((key) => ({
          key,
          version: 0,
          shape: [2, 2],
          dtype: "uint16",
          codec,
          buffer: zero ? -1 : 0,
          offset: 0,
          nbytes: zero ? 0 : raw.byteLength,
        })),
      },
      zero ? [] : [raw],
    );
    assert.ok(prefetch || client.tile(layer, 0, index, get.keys[0]));
  }
}

test("client: tiles of planes flown past stay in memory unwritten; a rested plane's tiles are written", async () => {
  const { c, sent, persist, clock } = testClient((layer) => (layer === "labels" ? "fp:lm" : "fp"));
  const keys = [
    [0, 0, 0],
    [0, 0, 1],
  ];
  const show = (index, ahead = []) =>
    c.viewPlan(0, [
      { level: 0, index, keys },
      ...ahead.map((i) => ({ level: 0, index: i, keys, prefetch: true })),
    ]);
  // fast scrolling: planes 1..3 each shown 100 ms, with plane+1 (near) and plane+6 (far) prefetched
  for (const i of [1, 2, 3]) {
    show(i, [i + 1, i + 6]);
    reply(c, sent, i);
    if (i === 1) reply(c, sent, 2, { prefetch: true });
    clock.t += 100;
  }
  reply(c, sent, 4, { prefetch: true });
  reply(c, sent, 9, { prefetch: true });
  assert.deepEqual(persist.puts, [], "nothing written while flying past");
  assert.equal(c.tile("image", 0, 2, [0, 0, 0]).unsaved, true, "kept in memory, unsaved");
  // the view stays on plane 3: at rest after 300 ms, its tiles (both layers) are written once,
  // with those of the prefetched plane next to it (a reopened view prefetches it); plane 9 is not
  clock.t = 500;
  c.refresh();
  const written = (i) =>
    ["fp/image", "fp:lm/labels"].flatMap((l) => [`${l}/0/0/${i}/0,0,0`, `${l}/0/0/${i}/0,0,1`]);
  assert.deepEqual(persist.puts.sort(), [...written(3), ...written(4)].sort());
  c.refresh();
  assert.equal(persist.puts.length, 8, "once");
  assert.equal(c.tile("image", 0, 9, [0, 0, 0]).unsaved, true);
  // the prefetched plane 9 (arrived before it was shown) is written when the view rests on it
  persist.puts.length = 0;
  show(9);
  assert.deepEqual(persist.puts, []);
  clock.t += 300;
  show(9);
  assert.deepEqual(persist.puts.sort(), written(9).sort());
  show(4);
  clock.t += 300;
  show(4);
  assert.equal(persist.puts.length, 4, "plane 4 was written already");
  // tiles arriving for a plane at rest are written as they come; zero tiles never
  persist.puts.length = 0;
  c.viewPlan(0, [{ level: 0, index: 4, keys: [...keys, [0, 1, 0]] }]);
  const get = sent.filter((m) => m.kind === "chunks.get" && m.index === 4).at(-1);
  assert.deepEqual(get.keys, [[0, 1, 0]]);
  reply(c, sent.slice(-2), 4);
  assert.ok(persist.puts.every((k) => k.endsWith("/0/0/4/0,1,0")));
  assert.equal(persist.puts.length, 2);
  persist.puts.length = 0;
  show(6);
  clock.t += 1000;
  reply(c, sent, 6, { zero: true });
  show(6);
  assert.deepEqual(persist.puts, [], "zero tiles are not written");
  // the timer: scrolling stops without any further plan; the plane rests by itself
  show(20);
  reply(c, sent, 20);
  clock.t += 300;
  await new Promise((r) => setTimeout(r, 350));
  assert.equal(persist.puts.length, 4);
  // unmounting while a plane is shown writes it at once (reopening draws it)
  persist.puts.length = 0;
  show(30);
  reply(c, sent, 30);
  assert.deepEqual(persist.puts, []);
  c.cancelAll();
  assert.equal(persist.puts.length, 4);
});

test("client: a tile painted or made stale before its plane rests is not written", () => {
  const { c, sent, persist, clock } = testClient(() => "fp");
  c.view(0, 1, [[0, 0, 0]]);
  reply(c, sent, 1);
  c.tile("labels", 0, 1, [0, 0, 0]).rev = 1; // painted
  c.tile("image", 0, 1, [0, 0, 0]).stale = true; // a newer version exists
  clock.t = 400;
  c.refresh();
  assert.deepEqual(persist.puts, []);
  c.cancelAll();
});
