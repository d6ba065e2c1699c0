/**
 * The wire protocol between the browser view and the kernel: the mirror of
 * `voxwidget/comm/protocol.py`.
 *
 * A message is a JSON envelope `{kind, ...named fields}` plus a list of binary buffers. Both sides
 * declare the same schema (checked by `tests/test_protocol_agreement.py` through
 * `js/scripts/protocol-check.mjs`). Field types: `str`, `int`, `bool`, `num`, `key` (three
 * non-negative ints), `buf` (an index into the message's buffers), `list[T]` and the records in
 * {@link RECORDS}. A trailing `?` marks an optional field.
 *
 * Tile payloads: a `chunks.data` message carries all its tiles' payloads in **one** buffer (none
 * when no tile has bytes): tile record `t`'s payload is bytes `[t.offset, t.offset + t.nbytes)` of
 * `buffers[t.buffer]`, each payload starting at a multiple of 8 (zero padding between). `buffer` is
 * -1 and `offset` and `nbytes` are 0 when the codec carries no bytes. (Protocol 1 sent one buffer
 * per tile: hundreds of frames per message, each with a fixed cost in zmq, the Jupyter server and
 * JupyterLab's deserializer.) `tilePayload` in `tiles.js` reads a record's payload.
 * @module net/protocol
 */

/** Bumped on any incompatible change; `hello`/`welcome` carry it. */
export const PROTOCOL_VERSION = 4;
/** No message (envelope plus buffers) may exceed this, either way. */
export const MAX_MESSAGE_BYTES = 8 * 2 ** 20;
/** Kernel replies pack tiles into messages of at most this many buffer bytes. */
export const REPLY_BYTES = 4 * 2 ** 20;

export const LAYERS = Object.freeze(["image", "labels"]);
/**
 * Tile payloads (the tile's `shape` and `dtype` give the decoded size):
 * - `lz4`: one LZ4 block (no size prefix) of the tile's little-endian bytes;
 * - `lz4s`: one LZ4 block (no size prefix) of those bytes *shuffled* by the dtype's itemsize, as
 *   blosc's shuffle: byte 0 of every element in order, then byte 1 of every element, … (for `n`
 *   elements of `k` bytes, shuffled byte `j * n + i` is byte `j` of element `i`). Intensities with
 *   noisy low bits, which plain LZ4 hardly shrinks, go to about half their size so (protocol 3);
 * - `raw`: the little-endian bytes;
 * - `zero`: all zeros, no bytes;
 * - `unchanged`: the version the browser said it knows, no bytes.
 * `decodeTile` in `tiles.js` decodes them.
 */
export const CODECS = Object.freeze(["lz4", "lz4s", "raw", "zero", "unchanged"]);
export const DTYPES = Object.freeze([
  "uint8",
  "uint16",
  "uint32",
  "uint64",
  "int8",
  "int16",
  "int32",
  "int64",
  "float32",
  "float64",
]);
export const LABEL_DTYPES = Object.freeze(["uint8", "uint16", "uint32", "uint64"]);
/**
 * Names of `command` messages: `undo`, `redo` (no arguments); `fill` (`seed`, `label`, `dims`,
 * `axis`, `connectivity`, `preserve_labels`, `max_voxels`); `fill_polygon` (`points` as (row,
 * column) in the plane, `label`, `axis`, `index`); `interpolate` (`label`, `axis`); `replace`
 * (`old`, `new`). Label ids travel as decimal strings (uint64-safe). `command.result.changed` is
 * the voxels changed (undo/redo: 1 or 0, whether there was a step) (protocol 4).
 */
export const COMMANDS = Object.freeze(["undo", "redo", "fill", "fill_polygon", "interpolate", "replace"]);

/** Record types used inside messages. */
export const RECORDS = Object.freeze({
  // A 2D tile of one chunk cut by the visible plane (or the whole 3D chunk when no plane is given).
  tile: {
    key: "key",
    version: "int",
    shape: "list[int]",
    dtype: "str",
    codec: "str",
    buffer: "int", // index into the buffers, -1 when the codec carries no bytes
    offset: "int", // the payload's first byte in that buffer (a multiple of 8; 0 without bytes)
    nbytes: "int", // the payload's length (0 without bytes)
  },
  // The voxels one edit batch sets inside one chunk.
  edit: {
    key: "key",
    base: "int", // the chunk version the browser painted over
    count: "int",
    offsets: "buf", // uint32 LE, C-order index into the nominal chunk shape
    values: "buf", // label dtype LE, one per offset
  },
});

/** Every message kind: who sends it and its fields. */
export const SCHEMA = Object.freeze({
  // browser -> kernel
  hello: { from: "browser", fields: { id: "str", protocol: "int" } },
  "chunks.get": {
    from: "browser",
    fields: {
      id: "str",
      layer: "str",
      level: "int",
      keys: "list[key]",
      known: "list[int]", // the version the browser holds per key, -1 for none
      "axis?": "int", // with index: send the plane's 2D tiles, not whole chunks
      "index?": "int",
    },
  },
  "chunks.cancel": { from: "browser", fields: { ids: "list[str]" } },
  "edits.apply": {
    from: "browser",
    fields: {
      id: "str",
      stroke: "str",
      dtype: "str",
      edits: "list[edit]",
      "preserve?": "bool", // preserve_labels: set only voxels that hold 0 (protocol 4)
    },
  },
  command: {
    from: "browser",
    fields: {
      id: "str",
      name: "str", // one of COMMANDS; the fields it uses are listed there (protocol 4)
      "label?": "str",
      "seed?": "list[int]",
      "dims?": "int",
      "axis?": "int",
      "index?": "int",
      "connectivity?": "int",
      "preserve_labels?": "bool",
      "max_voxels?": "int",
      "points?": "list[list[num]]",
      "old?": "str",
      "new?": "str",
    },
  },
  ping: { from: "browser", fields: { id: "str" } }, // heartbeat: no pong in time = offline
  // a view's answer to `screenshot`: the PNG in one buffer, or the reason it has none
  "screenshot.data": {
    from: "browser",
    fields: { reply_to: "str", "png?": "buf", "width?": "int", "height?": "int", "error?": "str" },
  },
  // kernel -> browser
  welcome: {
    from: "kernel",
    fields: { reply_to: "str", protocol: "int", labelmap_id: "str", fingerprint: "str" },
  },
  "chunks.data": {
    from: "kernel",
    fields: {
      reply_to: "str",
      layer: "str",
      level: "int",
      tiles: "list[tile]",
      done: "bool",
      "axis?": "int",
      "index?": "int",
    },
  },
  "edits.ack": {
    from: "kernel",
    fields: { reply_to: "str", keys: "list[key]", versions: "list[int]", duplicate: "bool" },
  },
  // retry: valid but not made durable (disk full, I/O error): rolled back; keep pending, resend later
  "edits.reject": { from: "kernel", fields: { reply_to: "str", error: "str", "retry?": "bool" } },
  "chunks.changed": {
    from: "kernel",
    fields: {
      layer: "str",
      level: "int",
      keys: "list[key]",
      versions: "list[int]",
      "origin?": "str", // the batch id whose ack also carries these versions
    },
  },
  "command.result": {
    from: "kernel",
    fields: { reply_to: "str", ok: "bool", "error?": "str", "changed?": "int" },
  },
  error: { from: "kernel", fields: { error: "str", "reply_to?": "str" } },
  pong: { from: "kernel", fields: { reply_to: "str", labelmap_id: "str" } },
  // empty the browser's persistent chunk cache (`VoxWidget.clear_browser_cache()`)
  "cache.clear": { from: "kernel", fields: {} },
  // w.discard_pending(): ask the user, then drop this map's pending batches held in the browser
  "pending.discard": { from: "kernel", fields: {} },
  // voxel counts per label id (decimal strings, 0 left out): `full` replaces what the view holds,
  // else only these ids changed (count 0: no longer in use). Sent after `welcome` and with the
  // coalesced change notices (protocol 4).
  "labels.counts": {
    from: "kernel",
    fields: { labels: "list[str]", counts: "list[int]", full: "bool" },
  },
  // take a PNG of the live view (`await VoxWidget.screenshot()`): of one panel ("2d", or those a
  // view adds), or without `panel` of all the view's panels as laid out on the page
  screenshot: { from: "kernel", fields: { id: "str", "panel?": "str" } },
});

/** A message that does not match {@link SCHEMA}; the text names the field and the bad value. */
export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = "ProtocolError";
  }
}

function short(value) {
  let text;
  try {
    text = typeof value === "bigint" ? `${value}n` : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  if (text === undefined) text = String(value);
  return text.length <= 80 ? text : `${text.slice(0, 77)}...`;
}

const isInt = (v) => typeof v === "number" && Number.isInteger(v);
const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);

function check(type, value, where, nbuffers) {
  if (type.startsWith("list[") && type.endsWith("]")) {
    if (!Array.isArray(value)) throw new ProtocolError(`${where} must be a list, got ${short(value)}`);
    const inner = type.slice(5, -1);
    for (let i = 0; i < value.length; i++) check(inner, value[i], `${where}[${i}]`, nbuffers);
    return;
  }
  if (Object.hasOwn(RECORDS, type)) {
    if (!isObject(value)) throw new ProtocolError(`${where} must be an object, got ${short(value)}`);
    checkFields(RECORDS[type], value, where, nbuffers);
    return;
  }
  let ok;
  switch (type) {
    case "str":
      ok = typeof value === "string";
      break;
    case "int":
      ok = isInt(value);
      break;
    case "bool":
      ok = typeof value === "boolean";
      break;
    case "num":
      ok = typeof value === "number" && Number.isFinite(value);
      break;
    case "key":
      if (!(Array.isArray(value) && value.length === 3 && value.every((v) => isInt(v) && v >= 0))) {
        throw new ProtocolError(
          `${where} must be a chunk key of three non-negative ints, got ${short(value)}`,
        );
      }
      return;
    case "buf":
      if (!(isInt(value) && value >= 0 && value < nbuffers)) {
        throw new ProtocolError(
          `${where} must index one of the message's ${nbuffers} buffers, got ${short(value)}`,
        );
      }
      return;
    default:
      throw new Error(`unknown field type ${short(type)}`);
  }
  if (!ok) throw new ProtocolError(`${where} must be ${type}, got ${short(value)}`);
}

function checkFields(fields, msg, where, nbuffers) {
  const allowed = new Set();
  for (const [name, type] of Object.entries(fields)) {
    const bare = name.endsWith("?") ? name.slice(0, -1) : name;
    allowed.add(bare);
    if (!Object.hasOwn(msg, bare) || msg[bare] === null || msg[bare] === undefined) {
      if (name.endsWith("?")) continue;
      throw new ProtocolError(`${where} lacks required field '${bare}'`);
    }
    check(type, msg[bare], `${where}.${bare}`, nbuffers);
  }
  const extra = Object.keys(msg)
    .filter((k) => !allowed.has(k) && k !== "kind" && msg[k] !== undefined)
    .sort();
  if (extra.length) {
    throw new ProtocolError(
      `${where} has unknown field(s) ${short(extra)}; allowed: ${short([...allowed].sort())}`,
    );
  }
}

/**
 * Check a decoded message against the schema and return it.
 * @param {unknown} msg the JSON envelope
 * @param {number} [nbuffers=0] how many binary buffers came with it
 * @param {"browser"|"kernel"} [sender] also require that this side may send the kind
 * @returns {object} the message
 * @throws {ProtocolError} naming the field and the offending value
 */
export function validate(msg, nbuffers = 0, sender = undefined) {
  if (!isObject(msg)) throw new ProtocolError(`a message must be a JSON object, got ${short(msg)}`);
  const kind = msg.kind;
  if (typeof kind !== "string" || !Object.hasOwn(SCHEMA, kind)) {
    throw new ProtocolError(
      `unknown message kind ${short(kind)}; known: ${short(Object.keys(SCHEMA).sort())}`,
    );
  }
  const spec = SCHEMA[kind];
  if (sender !== undefined && spec.from !== sender) {
    throw new ProtocolError(`'${kind}' is sent by the ${spec.from}, not the ${sender}`);
  }
  checkFields(spec.fields, msg, kind, nbuffers);
  return msg;
}

/**
 * Build a message of `kind`, dropping optional fields given as null/undefined, and validate it.
 * @param {string} kind
 * @param {object} fields
 * @returns {object} the message
 * @throws {ProtocolError}
 */
export function make(kind, fields = {}) {
  const msg = { kind };
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined) msg[k] = v;
  let nbuf = 0;
  for (const [name, type] of Object.entries(SCHEMA[kind]?.fields ?? {})) {
    const v = msg[name.replace(/\?$/, "")];
    if (type === "buf" && isInt(v)) nbuf = Math.max(nbuf, v + 1);
  }
  if (Array.isArray(msg.edits)) {
    for (const e of msg.edits) {
      for (const f of ["offsets", "values"]) if (isInt(e?.[f])) nbuf = Math.max(nbuf, e[f] + 1);
    }
  }
  return validate(msg, nbuf);
}

/**
 * The schema as plain data, the same structure as Python's `schema_document()`.
 * @returns {object}
 */
export function schemaDocument() {
  return JSON.parse(
    JSON.stringify({
      version: PROTOCOL_VERSION,
      max_message_bytes: MAX_MESSAGE_BYTES,
      reply_bytes: REPLY_BYTES,
      layers: LAYERS,
      codecs: CODECS,
      dtypes: DTYPES,
      label_dtypes: LABEL_DTYPES,
      commands: COMMANDS,
      records: RECORDS,
      messages: SCHEMA,
    }),
  );
}
