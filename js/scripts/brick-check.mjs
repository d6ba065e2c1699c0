#!/usr/bin/env node
/**
 * Cross-language brick check, driven by tests/test_protocol_agreement.py (test_bricks_*).
 *
 * Two modes (argv[2]):
 * - `requests`: stdin `{"want": [{"level", "key"}]}` → stdout `{"messages": [...]}`: the
 *   `chunks.get` messages a real BrickClient sends for that plan (checked by the Python side's
 *   schema and served by its Endpoint);
 * - `replies`: stdin `{"want": [...], "replies": [{"msg", "buffers": ["<b64>"]}]}` (the kernel's
 *   replies to those requests, whose ids the client made deterministically) → stdout
 *   `{"bricks": {"layer/level/z,y,x": {"dtype", "shape", "sha256"}}, "errors": [...]}`: what the
 *   client decoded, for comparison with the kernel's arrays.
 */

import { createHash } from "node:crypto";
import { BrickClient } from "../src/net/bricks.js";
import { validate } from "../src/net/protocol.js";

async function readStdin() {
  const parts = [];
  for await (const chunk of process.stdin) parts.push(chunk);
  return JSON.parse(Buffer.concat(parts).toString("utf8") || "{}");
}

const input = await readStdin();
const sent = [];
let n = 0;
const client = new BrickClient({ send: (msg) => sent.push(msg), makeId: () => `b${n++}`, batch: 3 });
client.want(input.want ?? []);
const errors = [];
if (process.argv[2] === "requests") {
  for (const m of sent) {
    try {
      validate(m, 0, "browser");
    } catch (err) {
      errors.push(err.message);
    }
  }
  process.stdout.write(JSON.stringify({ messages: sent, errors }));
} else {
  for (const { msg, buffers } of input.replies ?? []) {
    const bufs = buffers.map((b) => {
      const u8 = new Uint8Array(Buffer.from(b, "base64"));
      return u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);
    });
    try {
      validate(msg, bufs.length, "kernel");
    } catch (err) {
      errors.push(err.message);
      continue;
    }
    if (!client.handle(msg, bufs)) errors.push(`reply ${msg.reply_to} was not the client's`);
  }
  const bricks = {};
  for (const t of client.cache.tiles.values()) {
    const d = t.data;
    const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
    bricks[`${t.layer}/${t.level}/${t.ks}`] = {
      dtype: t.dtype,
      shape: t.shape,
      sha256: createHash("sha256").update(bytes).digest("hex"),
    };
  }
  if (client.failed) errors.push(`${client.failed} bricks failed: ${client.lastError}`);
  process.stdout.write(JSON.stringify({ bricks, errors }));
}
