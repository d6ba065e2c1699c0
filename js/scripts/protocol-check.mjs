#!/usr/bin/env node
/**
 * Cross-language protocol check, driven by tests/test_protocol_agreement.py.
 *
 * stdin: {"schema": <python schema_document()>,
 *         "messages": [{"msg": {...}, "buffers": ["<base64>", ...]}],
 *         "tiles": [{"message": <index of a chunks.data message>, "tile": <index of its record>,
 *                    "codec", "shape", "dtype", "expected": "<b64 LE bytes>", "sha256": "<hex>"}],
 *         "colors": [{"label": "<decimal>", "rgb": [r, g, b]}]}
 * stdout: {"schema": <js schemaDocument()>,
 *          "errors": ["one line per message that failed validation, tile that decoded differently
 *                      (read from its message's buffer by tilePayload + decodeTile, and through a
 *                      ChunkClient handed the whole message; an LZ4 or shuffled-LZ4 tile must own
 *                      an ArrayBuffer of just its bytes), colour that differed"],
 *          "messages": [{"msg": {...}, "buffers": ["<b64>", ...]}]}   (every browser→kernel kind,
 *          built by the real encoders; edits.apply by the edit queue for uint8/uint32/uint64 with
 *          voxels in two chunks of a 128³ volume chunked 64³, and a uint32 3D-brush stroke with
 *          preserve_labels; every command name with the fields the view's tools send)
 */

import { createHash } from "node:crypto";
import { strokeVoxels } from "../src/core/brush.js";
import { labelRGBOf } from "../src/core/colors.js";
import { ChunkClient } from "../src/net/client.js";
import { EditQueue } from "../src/net/editqueue.js";
import { parseLabel } from "../src/net/edits.js";
import { make, PROTOCOL_VERSION, schemaDocument, validate } from "../src/net/protocol.js";
import { decodeTile, tilePayload } from "../src/net/tiles.js";
import { Capture } from "../src/widget/capture.js";

/** A 1×1 PNG (what a view's screenshot.data carries; Python checks the signature). */
const PNG_1X1 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

const b64 = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString("base64");
const unb64 = (s) => new Uint8Array(Buffer.from(s, "base64"));

async function readStdin() {
  const parts = [];
  for await (const chunk of process.stdin) parts.push(chunk);
  return JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
}

function checkInput(input) {
  const errors = [];
  for (const [i, m] of (input.messages ?? []).entries()) {
    try {
      validate(m.msg, (m.buffers ?? []).length, "kernel");
    } catch (err) {
      errors.push(`message ${i} (${m.msg?.kind}): ${err.message}`);
    }
  }
  const bytesOf = (data) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const same = (data, want) => {
    const got = bytesOf(data);
    return got.length === want.length && got.every((v, j) => v === want[j]);
  };
  const sha = (data) => createHash("sha256").update(bytesOf(data)).digest("hex");
  const clients = new Map(); // message index -> the ChunkClient that was handed that message
  for (const [i, t] of (input.tiles ?? []).entries()) {
    const what = `tile ${i} (${t.codec} ${t.dtype} [${t.shape}])`;
    try {
      const m = input.messages[t.message];
      const rec = m.msg.tiles[t.tile];
      const buffers = m.buffers.map(unb64);
      if (rec.codec !== t.codec) errors.push(`${what}: the record says codec ${rec.codec}`);
      if (rec.offset % 8 !== 0) errors.push(`${what}: offset ${rec.offset} is not a multiple of 8`);
      const data = decodeTile(rec.codec, tilePayload(rec, buffers), rec.shape, rec.dtype);
      const want = unb64(t.expected);
      if (!same(data, want)) errors.push(`${what} decoded to different bytes`);
      if (t.sha256 !== undefined && sha(data) !== t.sha256) errors.push(`${what}: sha256 differs`);
      // a decompressed tile owns a buffer of exactly its bytes (an aligned raw one is a view)
      if ((rec.codec === "lz4" || rec.codec === "lz4s") && data.buffer.byteLength !== data.byteLength) {
        errors.push(`${what}: its data lies in a buffer of ${data.buffer.byteLength} bytes, not its own`);
      }
      // the real client, handed the whole message as the widget hands it
      if (!clients.has(t.message)) clients.set(t.message, clientFed(m.msg, buffers));
      const client = clients.get(t.message);
      if (client.lastError) errors.push(`${what}: the client reports ${client.lastError}`);
      const tile = client.tile(m.msg.layer, m.msg.axis ?? -1, m.msg.index ?? -1, rec.key, m.msg.level);
      if (!tile) errors.push(`${what}: the client did not accept it`);
      else if (!same(tile.data, want)) errors.push(`${what}: the client decoded different bytes`);
    } catch (err) {
      errors.push(`${what}: ${err.message}`);
    }
  }
  for (const c of input.colors ?? []) {
    const got = labelRGBOf(c.label);
    if (JSON.stringify(got) !== JSON.stringify(c.rgb)) {
      errors.push(`colour of label ${c.label}: js ${JSON.stringify(got)}, python ${JSON.stringify(c.rgb)}`);
    }
  }
  return errors;
}

/** A ChunkClient that asked for the tiles of a chunks.data message and got it. */
function clientFed(msg, buffers) {
  const sent = [];
  const client = new ChunkClient({ send: (m) => sent.push(m), makeId: () => `q${sent.length}` });
  client.viewPlan(msg.axis ?? -1, [
    { level: msg.level, index: msg.index ?? -1, keys: msg.tiles.map((t) => t.key) },
  ]);
  const get = sent.find((m) => m.kind === "chunks.get" && m.layer === msg.layer);
  client.handle({ ...msg, reply_to: get.id }, buffers);
  return client;
}

async function samples() {
  const out = [];
  const record = (msg, buffers = []) => {
    validate(msg, buffers.length, "browser");
    out.push({ msg, buffers: buffers.map((b) => b64(new Uint8Array(b))) });
  };
  let n = 0;
  const makeId = () => `js-${n++}`;
  record(make("hello", { id: makeId(), protocol: PROTOCOL_VERSION }));
  // chunks.get with a plane (the 2D view) and without (whole chunks), from the real client
  const client = new ChunkClient({ send: (m, b) => record(m, b), makeId });
  client.view(0, 70, [
    [1, 0, 0],
    [1, 1, 0],
  ]);
  record(make("chunks.get", { id: makeId(), layer: "labels", level: 0, keys: [[0, 0, 1]], known: [-1] }));
  client.cancelAll(); // chunks.cancel
  const shape = [128, 128, 128];
  const chunks = [64, 64, 64];
  for (const [dtype, label] of [
    ["uint8", "200"],
    ["uint32", "4000000000"],
    ["uint64", "18446744073709551615"],
  ]) {
    const c = new ChunkClient({ send: () => {}, makeId });
    const q = new EditQueue({ send: (m, b) => record(m, b), client: c, dtype, chunks, makeId });
    q.beginStroke();
    // a short stroke across the x chunk border at z = 3, y = 10: voxels in chunks (0,0,0) and (0,0,1)
    const g = strokeVoxels({ shape, chunks, axis: 0, index: 3, from: [62, 10], to: [65, 10], radius: 1 });
    q.paint(g, parseLabel(label, dtype));
    q.endStroke();
  }
  {
    // a 3D brush stroke with preserve_labels (widget/stroke.js): balls, flagged preserve
    const c = new ChunkClient({ send: () => {}, makeId });
    const q = new EditQueue({ send: (m, b) => record(m, b), client: c, dtype: "uint32", chunks, makeId });
    q.beginStroke({ preserve: true });
    const g = strokeVoxels({
      shape,
      chunks,
      axis: 0,
      index: 20,
      from: [60, 30],
      to: [68, 30],
      radius: 3,
      dims: 3,
    });
    q.paint(q.unlabelled(g), parseLabel("9", "uint32"));
    q.endStroke();
  }
  record(make("command", { id: makeId(), name: "undo" }));
  record(make("command", { id: makeId(), name: "redo" }));
  // the tools' commands, with the fields widget/tools.js sends
  const tool = [
    {
      name: "fill",
      seed: [3, 10, 63],
      label: "5",
      dims: 3,
      axis: 0,
      preserve_labels: false,
      max_voxels: 50000000,
    },
    {
      name: "fill",
      seed: [3, 10, 63],
      label: "6",
      dims: 2,
      axis: 1,
      preserve_labels: true,
      max_voxels: 10 ** 7,
    },
    {
      name: "fill_polygon",
      points: [
        [10, 10],
        [10, 40],
        [30.5, 25],
      ],
      label: "7",
      axis: 0,
      index: 50,
    },
    { name: "interpolate", label: "7", axis: 0 },
    { name: "replace", old: "7", new: "0" },
  ];
  for (const fields of tool) record(make("command", { id: makeId(), ...fields }));
  record(make("ping", { id: makeId() }));
  // screenshot.data: a PNG, and the real Capture's answer naming a panel the view lacks
  const png = new Uint8Array(PNG_1X1).buffer;
  record(make("screenshot.data", { reply_to: "shot-ok", png: 0, width: 1, height: 1 }), [png]);
  const capture = new Capture({ root: null, send: (m, b) => record(m, b) });
  capture.register("2d", () => null);
  await capture.answer({ kind: "screenshot", id: "shot-bad", panel: "3d" });
  return out;
}

const input = await readStdin();
const result = { schema: schemaDocument(), errors: checkInput(input), messages: await samples() };
process.stdout.write(`${JSON.stringify(result)}\n`);
