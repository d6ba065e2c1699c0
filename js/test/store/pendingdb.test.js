import assert from "node:assert/strict";
import { test } from "node:test";
import { IDBFactory } from "fake-indexeddb";
import { NO_IDB_WARNING, PendingDB } from "../../src/store/pendingdb.js";

function batch(id, n = 3, { key = [0, 1, 2], value = 7, dtype = "uint32" } = {}) {
  const offsets = Uint32Array.from({ length: n }, (_, i) => i * 5);
  const values =
    dtype === "uint64" ? new BigUint64Array(n).fill(BigInt(value)) : new Uint32Array(n).fill(value);
  return {
    id,
    stroke: `s-${id}`,
    dtype,
    edits: [{ key, ks: key.join(","), base: 4, offsets, values }],
    sent: false,
  };
}

const quiet = () => {
  const warn = console.warn;
  console.warn = () => {};
  return () => {
    console.warn = warn;
  };
};

test("put resolves once the batch is in IndexedDB; a new store for the same label map loads it", async () => {
  const idb = new IDBFactory();
  const a = new PendingDB({ labelmapId: "lm1", indexedDB: idb });
  const p = a.put(batch("b1"));
  assert.equal(typeof p.then, "function", "put returns a Promise (the batch is sent after it)");
  assert.equal(a.size, 1, "the mirror has it at once");
  assert.equal(a.get("b1").id, "b1");
  await p;
  await a.put(batch("b2", 2, { value: 9 }));
  assert.equal(a.writes, 0);
  assert.ok(a.persistent);

  const b = new PendingDB({ labelmapId: "lm1", indexedDB: idb });
  const loaded = await b.load();
  assert.deepEqual(
    loaded.map((x) => x.id),
    ["b1", "b2"],
    "oldest first",
  );
  const e = loaded[1].edits[0];
  assert.ok(e.offsets instanceof Uint32Array && e.values instanceof Uint32Array, "typed arrays survive");
  assert.deepEqual([...e.offsets], [0, 5]);
  assert.deepEqual([...e.values], [9, 9]);
  assert.equal(e.ks, "0,1,2", "the chunk key string is rebuilt");
  assert.equal(e.base, 4);
  assert.equal(loaded[0].stroke, "s-b1");
  assert.equal(loaded[0].sent, false);
  assert.deepEqual(
    b.all().map((x) => x.id),
    ["b1", "b2"],
    "loaded batches join the mirror",
  );
});

test("delete removes a batch from IndexedDB; other label maps are untouched and not loaded", async () => {
  const idb = new IDBFactory();
  const a = new PendingDB({ labelmapId: "lm1", indexedDB: idb });
  const other = new PendingDB({ labelmapId: "lm2", indexedDB: idb });
  await a.put(batch("x1"));
  await other.put(batch("y1"));
  await a.put(batch("x2"));
  await a.delete("x1");
  assert.equal(a.size, 1);
  const fresh = new PendingDB({ labelmapId: "lm1", indexedDB: idb });
  assert.deepEqual(
    (await fresh.load()).map((x) => x.id),
    ["x2"],
  );
  assert.deepEqual(
    (await fresh.load("lm2")).map((x) => x.id),
    ["y1"],
    "load(labelmapId) reads another map's batches without adopting them",
  );
  assert.equal(fresh.size, 1);
  assert.deepEqual(await fresh.counts(), { lm1: 1, lm2: 1 });
  await fresh.delete("nope"); // unknown ids are fine
});

test("load puts the older stored batches ahead of batches put meanwhile, without duplicates", async () => {
  const idb = new IDBFactory();
  const a = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  await a.put(batch("old1"));
  await a.put(batch("old2"));
  const b = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  const p = b.put(batch("new1"));
  const loaded = await b.load();
  await p;
  assert.deepEqual(
    b.all().map((x) => x.id),
    ["old1", "old2", "new1"],
  );
  assert.deepEqual(
    loaded.map((x) => x.id),
    ["old1", "old2"],
  );
  assert.deepEqual(
    (await b.load()).map((x) => x.id),
    [],
    "a second load adds nothing already known",
  );
  assert.equal(b.size, 3);
});

test("order is the write order across stores of one database (the sequence number)", async () => {
  const idb = new IDBFactory();
  const a = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  const b = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  await a.put(batch("1"));
  await b.put(batch("2"));
  await Promise.all([a.put(batch("3")), a.put(batch("4")), a.put(batch("5"))]); // concurrent puts of one store
  const c = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  const loaded = await c.load();
  assert.deepEqual(
    loaded.map((x) => x.id),
    ["1", "2", "3", "4", "5"],
  );
  for (let i = 1; i < loaded.length; i++) assert.ok(loaded[i].seq > loaded[i - 1].seq);
});

test("putting the same batch twice stores it once", async () => {
  const idb = new IDBFactory();
  const a = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  const b = batch("dup");
  await a.put(b);
  await a.put(b);
  assert.ok(a.persistent, "a repeated put is not an IndexedDB failure");
  assert.deepEqual(await a.counts(), { lm: 1 });
});

test("uint64 values round-trip as BigUint64Array", async () => {
  const idb = new IDBFactory();
  const a = new PendingDB({ labelmapId: "lm", indexedDB: idb });
  await a.put(batch("big", 2, { dtype: "uint64", value: 2n ** 64n - 1n }));
  const [b] = await new PendingDB({ labelmapId: "lm", indexedDB: idb }).load();
  assert.ok(b.edits[0].values instanceof BigUint64Array);
  assert.equal(b.edits[0].values[1], 2n ** 64n - 1n);
});

test("without IndexedDB the store works in memory and warns once", async () => {
  const restore = quiet();
  try {
    const warnings = [];
    const s = new PendingDB({ labelmapId: "lm", indexedDB: null, onWarning: (w) => warnings.push(w) });
    await s.put(batch("m1"));
    await s.put(batch("m2"));
    assert.equal(s.size, 2);
    assert.equal(s.persistent, false);
    assert.equal(s.warning, NO_IDB_WARNING);
    await s.delete("m1");
    assert.deepEqual(
      s.all().map((x) => x.id),
      ["m2"],
    );
    assert.deepEqual(await s.load(), []);
    await Promise.resolve();
    assert.equal(warnings.length, 1);
  } finally {
    restore();
  }
});

test("an IndexedDB that refuses to open degrades to memory with a warning", async () => {
  const restore = quiet();
  try {
    const broken = {
      open() {
        throw new DOMException("The user denied permission", "SecurityError");
      },
    };
    const warnings = [];
    const s = new PendingDB({ labelmapId: "lm", indexedDB: broken, onWarning: (w) => warnings.push(w) });
    await s.put(batch("a"));
    assert.equal(s.size, 1);
    assert.equal(s.persistent, false);
    assert.deepEqual(warnings, [NO_IDB_WARNING]);
    // an open request that fails asynchronously, too
    const failing = {
      open() {
        const r = {};
        setTimeout(() => {
          r.error = new DOMException("quota", "QuotaExceededError");
          r.onerror();
        }, 0);
        return r;
      },
    };
    const t = new PendingDB({ labelmapId: "lm", indexedDB: failing });
    await t.put(batch("b"));
    assert.equal(t.persistent, false);
    assert.equal(t.get("b").id, "b");
  } finally {
    restore();
  }
});

test("sweep drops every label map's batches older than the limit, with a console note; discardAll drops this map's", async () => {
  const idb = new IDBFactory();
  const day = 86400000;
  const now = Date.now();
  const a = new PendingDB({ labelmapId: "lmA", indexedDB: idb });
  const old = batch("old");
  old.t = now - 40 * day;
  await a.put(old);
  await a.put(batch("fresh"));
  const b = new PendingDB({ labelmapId: "lmB", indexedDB: idb });
  const gone = batch("gone");
  gone.t = now - 31 * day;
  await b.put(gone);
  await b.put(batch("keep"));
  const notes = [];
  const info = console.info;
  console.info = (m) => notes.push(m);
  let dropped;
  try {
    dropped = await a.sweep({ maxAgeMs: 30 * day, now });
  } finally {
    console.info = info;
  }
  assert.deepEqual(dropped, { lmA: 1, lmB: 1 });
  assert.equal(notes.length, 1);
  assert.match(notes[0], /dropped 2 unsaved edit batches older than 30 days/);
  assert.match(notes[0], /label map lmA/);
  assert.deepEqual(
    a.all().map((x) => x.id),
    ["fresh"],
  );
  assert.deepEqual(await a.counts(), { lmA: 1, lmB: 1 });
  const reread = new PendingDB({ labelmapId: "lmA", indexedDB: idb });
  const loaded = await reread.load();
  assert.deepEqual(
    loaded.map((x) => x.id),
    ["fresh"],
  );
  assert.ok(loaded[0].t > now - day, "the creation time is kept with the record");
  const discarded = await reread.discardAll();
  assert.deepEqual(
    discarded.map((x) => x.id),
    ["fresh"],
  );
  assert.equal(reread.size, 0);
  assert.deepEqual(await a.counts(), { lmB: 1 }, "only this map's batches are discarded");
  assert.deepEqual(await b.sweep({ maxAgeMs: 0 }), {}, "0 keeps them forever");
});
