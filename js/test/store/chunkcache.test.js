import assert from "node:assert/strict";
import { test } from "node:test";
import { IDBFactory } from "fake-indexeddb";
import { ChunkClient } from "../../src/net/client.js";
import { ChunkCache } from "../../src/store/chunkcache.js";

/** The byte fields of a tile record whose codec carries no bytes. */
const NO_BYTES = { buffer: -1, offset: 0, nbytes: 0 };

const tile = (n, fill = 1, version = 0) => ({
  version,
  shape: [n / 2, 2],
  dtype: "uint16",
  data: new Uint16Array(n).fill(fill),
});

function clock() {
  let t = 1000;
  return () => t++;
}

test("put then getMany round-trips tiles, also from a new cache on the same database", async () => {
  const idb = new IDBFactory();
  const a = new ChunkCache({ indexedDB: idb, now: clock() });
  a.put("fp/image/0/0/5/0,0,0", tile(8, 7, 3));
  await a.flush();
  const b = new ChunkCache({ indexedDB: idb, now: clock() });
  const got = await b.getMany(["fp/image/0/0/5/0,0,0", "fp/image/0/0/5/0,0,1"]);
  assert.equal(got.size, 1);
  const t = got.get("fp/image/0/0/5/0,0,0");
  assert.equal(t.version, 3);
  assert.deepEqual(t.shape, [4, 2]);
  assert.ok(t.data instanceof Uint16Array);
  assert.deepEqual([...t.data], Array(8).fill(7));
  assert.deepEqual(b.stats.hits, 1);
  assert.deepEqual(b.stats.misses, 1);
});

test("eviction drops the least recently used entries down to 90% of the budget", async () => {
  const idb = new IDBFactory();
  // each tile is 1000 bytes; budget 4500 bytes → at most 4 kept, evicted down to ≤ 4050 (4 tiles)
  const c = new ChunkCache({ indexedDB: idb, budget: 4500, now: clock() });
  for (const k of ["a", "b", "c", "d"]) {
    c.put(k, tile(500));
    await c.flush();
  }
  assert.deepEqual(await c.keys(), ["a", "b", "c", "d"]);
  await c.getMany(["a"]); // a is now the most recently used
  await c.flush();
  assert.deepEqual(await c.keys(), ["b", "c", "d", "a"]);
  c.put("e", tile(500));
  await c.flush();
  assert.deepEqual(await c.keys(), ["c", "d", "a", "e"], "b (least recently used) went first");
  assert.equal(c.stats.evicted, 1);
  assert.ok(c.bytes <= 4500);
  // a new cache object over the same database knows the size (read once) and keeps the bound
  const c2 = new ChunkCache({ indexedDB: idb, budget: 4500, now: () => 10_000 });
  c2.put("f", tile(500));
  await c2.flush();
  assert.equal((await c2.keys()).length, 4);
  assert.ok(!(await c2.keys()).includes("c"));
  // shrinking the budget evicts at once
  await c2.setBudget(2300); // down to ≤ 2070: two tiles
  assert.deepEqual(await c2.keys(), ["e", "f"]);
  // replacing an entry does not count it twice
  c2.put("f", tile(500, 9));
  await c2.flush();
  assert.equal(c2.bytes, 2000);
});

test("clear forgets everything; budget 0 or no IndexedDB turns the cache off", async () => {
  const idb = new IDBFactory();
  const c = new ChunkCache({ indexedDB: idb, now: clock() });
  c.put("x", tile(4));
  await c.flush();
  await c.clear();
  assert.deepEqual(await c.keys(), []);
  assert.equal((await c.getMany(["x"])).size, 0);
  const off = new ChunkCache({ indexedDB: null });
  assert.equal(off.enabled, false);
  off.put("x", tile(4));
  assert.equal((await off.getMany(["x"])).size, 0);
  const zero = new ChunkCache({ indexedDB: idb, budget: 0 });
  assert.equal(zero.enabled, false);
});

test("client: persisted tiles are shown at once and asked for with their version as known", async () => {
  const idb = new IDBFactory();
  const persist = new ChunkCache({ indexedDB: idb, now: clock() });
  const prefix = (layer) => (layer === "labels" ? "fp:lm" : "fp");
  // a first client receives a tile from the kernel: it is written to the cache
  const sent = [];
  let n = 0;
  const a = new ChunkClient({
    send: (m) => sent.push(m),
    makeId: () => `r${n++}`,
    persist,
    prefix,
    restMs: 0, // the plane is at rest as soon as it is shown (the write policy has its own tests)
  });
  a.view(0, 3, [[0, 0, 0]]);
  await new Promise((r) => setTimeout(r, 20)); // the (empty) cache lookup
  const get = sent.find((m) => m.kind === "chunks.get" && m.layer === "image");
  assert.deepEqual(get.known, [-1]);
  const raw = new Uint8Array(new Uint16Array([1, 2, 3, 4]).buffer);
  const message = new Uint8Array(32).fill(0xee); // the tile's 8 bytes at offset 16 of the message buffer
  message.set(raw, 16);
  a.handle(
    {
      kind: "chunks.data",
      reply_to: get.id,
      layer: "image",
      level: 0,
      axis: 0,
      index: 3,
      done: true,
      tiles: [
        {
          key: [0, 0, 0],
          version: 0,
          shape: [2, 2],
          dtype: "uint16",
          codec: "raw",
          buffer: 0,
          offset: 16,
          nbytes: 8,
        },
      ],
    },
    [new DataView(message.buffer)],
  );
  await persist.flush();
  const stored = (await persist.getMany(["fp/image/0/0/3/0,0,0"])).get("fp/image/0/0/3/0,0,0");
  assert.deepEqual([...stored.data], [1, 2, 3, 4]);
  assert.equal(stored.data.buffer.byteLength, 8, "IndexedDB holds just the tile's bytes, not the message's");
  // a second client (a reload) draws it before any reply and sends known = 0
  const sent2 = [];
  let updates = 0;
  const b = new ChunkClient({
    send: (m) => sent2.push(m),
    makeId: () => `s${n++}`,
    persist: new ChunkCache({ indexedDB: idb }),
    prefix,
    onUpdate: () => updates++,
  });
  b.view(0, 3, [[0, 0, 0]]);
  assert.equal(sent2.length, 0, "the request waits for the cache lookup");
  await new Promise((r) => setTimeout(r, 20));
  const t = b.tile("image", 0, 3, [0, 0, 0]);
  assert.deepEqual([...t.data], [1, 2, 3, 4]);
  assert.ok(updates >= 1 && b.stats.fromCache === 1);
  const get2 = sent2.find((m) => m.layer === "image");
  assert.deepEqual(get2.known, [0]);
  assert.deepEqual(b.stats.requests.find((r) => r.layer === "image").known, [0]);
  b.handle({
    kind: "chunks.data",
    reply_to: get2.id,
    layer: "image",
    level: 0,
    axis: 0,
    index: 3,
    done: true,
    tiles: [{ key: [0, 0, 0], version: 0, shape: [2, 2], dtype: "uint16", codec: "unchanged", ...NO_BYTES }],
  });
  assert.equal(b.tile("image", 0, 3, [0, 0, 0]).stale, false);
  assert.equal(b.stats.unchanged, 1);
  assert.equal(b.stats.bytes, 0);
});

test("the key set: tiles surely not cached are asked for at once; zero tiles are not kept", async () => {
  const idb = new IDBFactory();
  const a = new ChunkCache({ indexedDB: idb, now: clock() });
  a.put("fp/labels/0/0/3/0,0,0", {
    ...tile(8, 0),
    dtype: "uint32",
    data: new Uint32Array(8),
    zero: true,
    rev: 0,
  });
  a.put("fp/image/0/0/3/0,0,0", tile(8, 2));
  await a.flush();
  const c = new ChunkCache({ indexedDB: idb, now: clock() });
  assert.equal(c.mayHave(["x"]), true, "unknown until the key set is read");
  await c.loadIndex();
  assert.equal(c.mayHave(["fp/image/0/0/3/0,0,0", "x"]), true);
  assert.equal(c.mayHave(["fp/labels/0/0/3/0,0,0", "y"]), false);
  assert.equal((await c.getMany(["fp/labels/0/0/3/0,0,0"])).size, 0);
  c.put("new", tile(4));
  assert.equal(c.mayHave(["new"]), true, "own writes join the key set");
  await c.flush();
  assert.equal(c.bytes, 24, "sizes of the replaced entries come from the key set");
  c.put("new", tile(4, 3));
  await c.flush();
  assert.equal(c.bytes, 24);
  await c.clear();
  assert.equal(c.mayHave(["new", "fp/image/0/0/3/0,0,0"]), false);
  // a client with a known-empty cache sends its request without waiting for a lookup
  const sent = [];
  const client = new ChunkClient({ send: (m) => sent.push(m), persist: c, prefix: () => "fp" });
  client.view(0, 3, [[0, 0, 0]]);
  assert.equal(sent.filter((m) => m.kind === "chunks.get").length, 2);
});

test("a version-1 database (tiles and lru stores) is upgraded to one store, starting empty", async () => {
  const idb = new IDBFactory();
  await new Promise((resolve, reject) => {
    const r = idb.open("voxwidget-chunks", 1);
    r.onupgradeneeded = () => {
      const db = r.result;
      db.createObjectStore("tiles").put(
        { version: 0, shape: [1], dtype: "uint8", bytes: new ArrayBuffer(1) },
        "old",
      );
      db.createObjectStore("lru").createIndex("used", "used");
    };
    r.onsuccess = () => {
      r.result.close();
      resolve();
    };
    r.onerror = () => reject(r.error);
  });
  const c = new ChunkCache({ indexedDB: idb, now: clock() });
  assert.equal((await c.getMany(["old"])).size, 0);
  c.put("new", tile(4));
  await c.flush();
  assert.deepEqual(await c.keys(), ["new"]);
  assert.equal(c.bytes, 8);
});
