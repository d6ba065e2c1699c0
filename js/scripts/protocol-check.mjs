#!/usr/bin/env node
/**
 * Cross-language protocol check, driven by tests/test_protocol_agreement.py.
 *
 * stdin: {"schema": <python schema_document()>,
 *         "messages": [{"msg": {...}, "buffers": ["<base64>", ...]}],
 *         "tiles": [{"codec", "payload": "<b64>"|null, "shape", "dtype", "expected": "<b64 LE bytes>"}],
 *         "colors": [{"label": "<decimal>", "rgb": [r, g, b]}]}
 * stdout: {"schema": <js schemaDocument()>,
 *          "errors": ["one line per message that failed validation, tile that decoded differently,
 *                      colour that differed"],
 *          "messages": [{"msg": {...}, "buffers": ["<b64>", ...]}]}   (every browser→kernel kind,
 *          built by the real encoders; edits.apply by the edit queue for uint8/uint32/uint64 with
 *          voxels in two chunks of a 128³ volume chunked 64³)
 */

import { strokeVoxels } from "../src/brush.js";
import { ChunkClient } from "../src/client.js";
import { labelRGBOf } from "../src/colors.js";
import { EditQueue, parseLabel } from "../src/editqueue.js";
import { make, PROTOCOL_VERSION, schemaDocument, validate } from "../src/protocol.js";
import { decodeTile } from "../src/tiles.js";

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
  for (const [i, t] of (input.tiles ?? []).entries()) {
    try {
      const payload = t.payload === null || t.payload === undefined ? null : unb64(t.payload);
      const data = decodeTile(t.codec, payload, t.shape, t.dtype);
      const got = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const want = unb64(t.expected);
      if (got.length !== want.length || got.some((v, j) => v !== want[j])) {
        errors.push(`tile ${i} (${t.codec} ${t.dtype} [${t.shape}]) decoded to different bytes`);
      }
    } catch (err) {
      errors.push(`tile ${i} (${t.codec} ${t.dtype} [${t.shape}]): ${err.message}`);
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

function samples() {
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
  record(make("command", { id: makeId(), name: "undo" }));
  record(make("command", { id: makeId(), name: "redo" }));
  record(make("ping", { id: makeId() }));
  return out;
}

const input = await readStdin();
const result = { schema: schemaDocument(), errors: checkInput(input), messages: samples() };
process.stdout.write(`${JSON.stringify(result)}\n`);
