// The client remembers which planes of its plan are complete (every tile cached and fresh), so a
// scroll step or a reply does not look up every key of every planned plane again; anything that
// can make a complete plane incomplete must make the client look again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChunkClient } from "../../src/net/client.js";
import { TileCache } from "../../src/store/tilecache.js";

const TILE = 16; // bytes of one raw uint8 tile (4 x 4)

function setup(budget) {
  const sent = [];
  let n = 0;
  const client = new ChunkClient({
    send: (msg) => sent.push(msg),
    makeId: () => `r${n++}`,
    cache: budget === undefined ? undefined : new TileCache(budget),
  });
  const lookups = { n: 0 };
  for (const name of ["get", "peek"]) {
    const fn = client.cache[name].bind(client.cache);
    client.cache[name] = (id) => {
      lookups.n++;
      return fn(id);
    };
  }
  return { sent, client, lookups };
}

/** Answer every open chunks.get with raw tiles at `version`, all payloads in one buffer. */
function answerAll(client, sent, version = 0) {
  for (const get of sent.filter((m) => m.kind === "chunks.get" && client.requests.has(m.id))) {
    const buffer = new Uint8Array(get.keys.length * TILE).fill(7);
    const tiles = get.keys.map((key, i) => ({
      key,
      version,
      shape: [4, 4],
      dtype: "uint8",
      codec: "raw",
      buffer: 0,
      offset: i * TILE,
      nbytes: TILE,
    }));
    const msg = { kind: "chunks.data", reply_to: get.id, layer: get.layer, level: get.level };
    Object.assign(msg, { axis: get.axis, index: get.index, done: true, tiles });
    client.handle(msg, [buffer]);
  }
}

const keysOf = (z) => [0, 1, 2, 3].map((x) => [z, 0, x]);
const gets = (sent) => sent.filter((m) => m.kind === "chunks.get");

test("a complete plane is not looked up again while nothing changed", () => {
  const { sent, client, lookups } = setup();
  client.view(0, 5, keysOf(0));
  answerAll(client, sent);
  assert.equal(client.inflight.size, 0);
  client.view(0, 5, keysOf(0)); // a new plan with the same keys: completeness is found complete
  const before = lookups.n;
  client.view(0, 5, keysOf(0));
  assert.equal(lookups.n, before, "no tile looked up for a plane known complete");
  assert.equal(gets(sent).length, 2, "and nothing asked for");
  client.view(0, 5, keysOf(0).slice(1)); // other keys: a new memo, walked once
  assert.ok(lookups.n > before);
});

test("a tile evicted from a complete plane is asked for again when the plane is planned again", () => {
  const { sent, client } = setup(8 * TILE); // room for one plane of both layers
  client.view(0, 5, keysOf(0));
  answerAll(client, sent);
  client.view(0, 5, keysOf(0)); // found complete
  client.view(0, 6, keysOf(0)); // the next slice
  answerAll(client, sent);
  client.view(0, 6, keysOf(0)); // over budget: the tiles of slice 5 are evicted
  assert.ok(!client.tile("image", 0, 5, [0, 0, 0]), "slice 5 was evicted");
  const n = gets(sent).length;
  client.view(0, 5, keysOf(0));
  const again = gets(sent).slice(n);
  assert.deepEqual(again.map((m) => m.layer).sort(), ["image", "labels"]);
  assert.deepEqual(again[0].keys, keysOf(0));
});

test("a tile of a complete plane made stale by another view's edit is asked for again", () => {
  const { sent, client } = setup();
  client.view(0, 5, keysOf(0));
  answerAll(client, sent, 3);
  client.view(0, 5, keysOf(0)); // found complete
  const n = gets(sent).length;
  client.handle({ kind: "chunks.changed", layer: "labels", level: 0, keys: [[0, 0, 2]], versions: [4] });
  const again = gets(sent).slice(n);
  assert.equal(again.length, 1);
  assert.equal(again[0].layer, "labels");
  assert.deepEqual(again[0].keys, [[0, 0, 2]]);
  assert.deepEqual(again[0].known, [3]);
});

test("a tile of a complete plane marked dirty (a rejected edit) is asked for again", () => {
  const { sent, client } = setup();
  client.view(0, 5, keysOf(0));
  answerAll(client, sent);
  client.view(0, 5, keysOf(0)); // memo: complete
  const n = gets(sent).length;
  client.markDirty("labels", "0,0,1");
  client.view(0, 5, keysOf(0));
  const again = gets(sent).slice(n);
  assert.equal(again.length, 1);
  assert.deepEqual(again[0].keys, [[0, 0, 1]]);
  assert.deepEqual(again[0].known, [-1], "a dirty tile's data is not the kernel's");
});

test("after a reconnect the label tiles of a complete plane are revalidated", () => {
  const { sent, client } = setup();
  client.view(0, 5, keysOf(0));
  answerAll(client, sent, 2);
  client.view(0, 5, keysOf(0));
  const n = gets(sent).length;
  client.retry();
  const again = gets(sent).slice(n);
  assert.equal(again.length, 1);
  assert.equal(again[0].layer, "labels");
  assert.deepEqual(again[0].known, [2, 2, 2, 2]);
});
