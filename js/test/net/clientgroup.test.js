import assert from "node:assert/strict";
import { test } from "node:test";
import { strokeVoxels } from "../../src/core/brush.js";
import { ChunkClient } from "../../src/net/client.js";
import { ClientGroup } from "../../src/net/clientgroup.js";
import { EditQueue } from "../../src/net/editqueue.js";
import { validate } from "../../src/net/protocol.js";

const shape = [64, 64, 64];
const chunks = [32, 32, 32];

/** Zero label tiles for a client's label requests, at `version`. */
function serve(client, sent, version) {
  for (const { msg: m } of sent.splice(0)) {
    if (m.kind !== "chunks.get" || m.layer !== "labels") continue;
    const tiles = m.keys.map((key) => ({
      key,
      version,
      shape: [32, 32],
      dtype: "uint32",
      codec: "zero",
      buffer: -1,
      offset: 0,
      nbytes: 0,
    }));
    const msg = {
      kind: "chunks.data",
      reply_to: m.id,
      layer: "labels",
      level: 0,
      tiles,
      done: true,
      axis: m.axis,
      index: m.index,
    };
    validate(msg, 0, "kernel");
    assert.ok(client.handle(msg, []));
  }
}

test("the ortho views' clients as one: a stroke in one view paints every view's cached tiles at once", () => {
  const sent = { z: [], y: [], q: [] };
  let n = 0;
  const mk = (k) =>
    new ChunkClient({ send: (msg, b = []) => sent[k].push({ msg, b }), makeId: () => `${k}${n++}` });
  const cz = mk("z");
  const cy = mk("y");
  cz.view(0, 10, [[0, 0, 0]]); // the z view shows plane z = 10 of chunk (0, 0, 0)
  cy.view(1, 5, [[0, 0, 0]]); // the y view shows plane y = 5 of the same chunk
  serve(cz, sent.z, 3);
  serve(cy, sent.y, 3);
  const group = new ClientGroup([cz]);
  const queue = new EditQueue({
    send: (msg, b = []) => sent.q.push({ msg, b }),
    client: group,
    dtype: "uint32",
    chunks,
    makeId: () => `e${n++}`,
    setTimer: () => 0,
    clearTimer: () => {},
  });
  group.add(cy); // added after the queue: it gets the queue's hooks too
  assert.equal(cy.overlay, cz.overlay);
  assert.equal(group.chunkVersion("labels", "0,0,0"), 3);
  queue.beginStroke();
  // paint in the z view at z = 10 around (y = 5, x = 8): voxel (10, 5, 8) lies on the y view's plane
  queue.paint(strokeVoxels({ shape, chunks, axis: 0, index: 10, from: null, to: [8, 5], radius: 1 }), 7);
  queue.endStroke();
  const tz = cz.tile("labels", 0, 10, [0, 0, 0]);
  const ty = cy.tile("labels", 1, 5, [0, 0, 0]);
  assert.equal(tz.data[5 * 32 + 8], 7, "the z view shows it");
  assert.equal(ty.data[10 * 32 + 8], 7, "the y view shows it too, before any ack");
  // the ack moves both views' tiles to the new version (they hold the change already)
  const batch = sent.q.find((s) => s.msg.kind === "edits.apply").msg;
  queue.handle({ kind: "edits.ack", reply_to: batch.id, keys: [[0, 0, 0]], versions: [4], duplicate: false });
  assert.equal(tz.version, 4);
  assert.equal(ty.version, 4);
  assert.ok(!tz.stale && !ty.stale);
});
