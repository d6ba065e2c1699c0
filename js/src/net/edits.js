/**
 * Edits on the wire: a label id checked against the label dtype ({@link parseLabel}) and the
 * `edits.apply` messages of a batch of painted voxels ({@link encodeBatches}, {@link batchMessage}).
 * The edit queue (`net/editqueue.js`) makes, stores, sends and replays the batches.
 * @module net/edits
 */

import { TYPED } from "../core/dtypes.js";
import { keyString } from "../core/grid.js";
import { LABEL_DTYPES, make } from "./protocol.js";

/** Buffer bytes per `edits.apply` message (well under the server's 10 MiB websocket limit). */
export const MAX_BATCH_BYTES = 4 * 2 ** 20;

/**
 * Parse a label id (decimal string, number or BigInt) for `dtype`.
 * @param {string|number|bigint} label
 * @param {string} dtype a label dtype
 * @returns {number|bigint} a Number for uint8/16/32, a BigInt for uint64
 * @throws {RangeError} naming the value and the allowed range
 */
export function parseLabel(label, dtype) {
  if (!LABEL_DTYPES.includes(dtype)) throw new RangeError(`'${dtype}' is not a label dtype`);
  const text = String(label).trim();
  if (!/^\d+$/.test(text)) throw new RangeError(`label '${text}' is not a non-negative integer`);
  const bits = BigInt(8 * TYPED[dtype].BYTES_PER_ELEMENT);
  const max = (1n << bits) - 1n;
  const v = BigInt(text);
  if (v > max) throw new RangeError(`label ${text} is outside the ${dtype} range 0 … ${max}`);
  return dtype === "uint64" ? v : Number(v);
}

/** Exact-size ArrayBuffer of a typed array (what goes over the comm). */
function bufferOf(a) {
  if (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength) return a.buffer;
  return a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength);
}

/**
 * Build the `edits.apply` messages for a list of per-chunk entries, splitting so each message's
 * buffers stay within `maxBytes` (a chunk's voxels may span several messages).
 * @param {object} p
 * @param {string} p.stroke
 * @param {string} p.dtype label dtype
 * @param {{key: number[], base: number, offsets: Uint32Array, values: ArrayBufferView}[]} p.entries
 * @param {() => string} p.makeId
 * @param {number} [p.maxBytes]
 * @param {boolean} [p.preserve] preserve_labels: the kernel sets only the voxels that hold 0
 * @returns {{msg: object, buffers: ArrayBuffer[], batch: object}[]}
 */
export function encodeBatches({
  stroke,
  dtype,
  entries,
  makeId,
  maxBytes = MAX_BATCH_BYTES,
  preserve = false,
}) {
  const per = 4 + TYPED[dtype].BYTES_PER_ELEMENT;
  const cap = Math.max(1, Math.floor(maxBytes / per));
  const out = [];
  let edits = [];
  let used = 0;
  const close = () => {
    if (!edits.length) return;
    const batch = { id: makeId(), stroke, dtype, edits, sent: false, stored: false };
    if (preserve) batch.preserve = true;
    out.push({ ...batchMessage(batch), batch });
    edits = [];
    used = 0;
  };
  for (const e of entries) {
    let start = 0;
    const n = e.offsets.length;
    while (start < n) {
      if (used >= cap) close();
      const take = Math.min(n - start, cap - used);
      edits.push({
        key: e.key,
        ks: keyString(e.key),
        base: e.base,
        offsets: e.offsets.slice(start, start + take),
        values: e.values.slice(start, start + take),
      });
      used += take;
      start += take;
    }
  }
  close();
  return out;
}

/**
 * The `edits.apply` message of a stored batch (for sending and replaying).
 * @param {object} batch `{id, stroke, dtype, edits: [{key, base, offsets, values}], preserve?}`
 * @returns {{msg: object, buffers: ArrayBuffer[]}}
 */
export function batchMessage(batch) {
  const buffers = [];
  const records = batch.edits.map((e) => {
    buffers.push(bufferOf(e.offsets), bufferOf(e.values));
    return {
      key: e.key,
      base: e.base,
      count: e.offsets.length,
      offsets: buffers.length - 2,
      values: buffers.length - 1,
    };
  });
  const msg = make("edits.apply", {
    id: batch.id,
    stroke: batch.stroke,
    dtype: batch.dtype,
    edits: records,
    preserve: batch.preserve ? true : undefined,
  });
  return { msg, buffers };
}
