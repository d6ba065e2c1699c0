import assert from "node:assert/strict";
import { test } from "node:test";
import {
  make,
  PROTOCOL_VERSION,
  ProtocolError,
  RECORDS,
  SCHEMA,
  schemaDocument,
  validate,
} from "../../src/net/protocol.js";

const GOOD = [
  [{ kind: "hello", id: "a", protocol: 1 }, 0],
  [{ kind: "chunks.get", id: "r", layer: "image", level: 0, keys: [[0, 1, 2]], known: [-1] }, 0],
  [{ kind: "chunks.get", id: "r", layer: "labels", level: 0, keys: [], known: [], axis: 0, index: 5 }, 0],
  [{ kind: "chunks.cancel", ids: ["r1", "r2"] }, 0],
  [
    {
      kind: "edits.apply",
      id: "b",
      stroke: "s",
      dtype: "uint32",
      edits: [{ key: [0, 0, 0], base: 0, count: 3, offsets: 0, values: 1 }],
    },
    2,
  ],
  [{ kind: "command", id: "c", name: "undo" }, 0],
  [{ kind: "welcome", reply_to: "a", protocol: 1, labelmap_id: "x", fingerprint: "f" }, 0],
  [
    {
      kind: "chunks.data",
      reply_to: "r",
      layer: "image",
      level: 0,
      done: true,
      tiles: [
        {
          key: [1, 2, 3],
          version: 0,
          shape: [4, 4],
          dtype: "uint8",
          codec: "raw",
          buffer: 0,
          offset: 0,
          nbytes: 16,
        },
      ],
    },
    1,
  ],
  [{ kind: "chunks.changed", layer: "labels", level: 0, keys: [[0, 0, 0]], versions: [2] }, 0],
  [{ kind: "command.result", reply_to: "c", ok: true, changed: 1 }, 0],
  [{ kind: "error", error: "x", reply_to: null }, 0],
];

const BAD = [
  ["not a dict", 0, "JSON object"],
  [{ kind: "nope" }, 0, '"nope"'],
  [{ kind: "hello", id: 3, protocol: 1 }, 0, "hello.id must be str, got 3"],
  [{ kind: "hello", id: "a" }, 0, "lacks required field 'protocol'"],
  [{ kind: "hello", id: "a", protocol: 1, extra: 1 }, 0, 'unknown field(s) ["extra"]'],
  [{ kind: "hello", id: "a", protocol: true }, 0, "hello.protocol must be int, got true"],
  [{ kind: "hello", id: "a", protocol: 1.5 }, 0, "must be int, got 1.5"],
  [
    { kind: "chunks.get", id: "r", layer: "image", level: 0, keys: [[0, -1, 2]], known: [-1] },
    0,
    "chunks.get.keys[0] must be a chunk key of three non-negative ints, got [0,-1,2]",
  ],
  [{ kind: "chunks.get", id: "r", layer: "image", level: 0, keys: [[0, 1]], known: [-1] }, 0, "got [0,1]"],
  [
    {
      kind: "edits.apply",
      id: "b",
      stroke: "s",
      dtype: "uint32",
      edits: [{ key: [0, 0, 0], base: 0, count: 3, offsets: 0, values: 2 }],
    },
    2,
    "edits.apply.edits[0].values must index one of the message's 2 buffers, got 2",
  ],
  [{ kind: "chunks.cancel", ids: "r1" }, 0, 'chunks.cancel.ids must be a list, got "r1"'],
  [
    { kind: "chunks.data", reply_to: "r", layer: "image", level: 0, done: true, tiles: [3] },
    0,
    "chunks.data.tiles[0] must be an object, got 3",
  ],
];

test("good messages validate", () => {
  for (const [msg, n] of GOOD) assert.equal(validate(msg, n), msg);
});

test("bad messages are refused naming the field and value", () => {
  for (const [msg, n, text] of BAD) {
    assert.throws(
      () => validate(msg, n),
      (err) => err instanceof ProtocolError && err.message.includes(text),
      `expected an error containing ${text}`,
    );
  }
});

test("sender is checked", () => {
  validate({ kind: "hello", id: "a", protocol: 1 }, 0, "browser");
  assert.throws(
    () => validate({ kind: "hello", id: "a", protocol: 1 }, 0, "kernel"),
    /'hello' is sent by the browser, not the kernel/,
  );
});

test("make drops null optionals, counts edit buffers and validates", () => {
  const m = make("chunks.get", {
    id: "r",
    layer: "image",
    level: 0,
    keys: [[0, 0, 0]],
    known: [-1],
    axis: undefined,
    index: null,
  });
  assert.deepEqual(Object.keys(m).sort(), ["id", "keys", "kind", "known", "layer", "level"]);
  const e = make("edits.apply", {
    id: "b",
    stroke: "s",
    dtype: "uint8",
    edits: [{ key: [0, 0, 0], base: -1, count: 1, offsets: 0, values: 1 }],
  });
  assert.equal(e.kind, "edits.apply");
  assert.throws(() => make("command", { id: "c" }), /lacks required field 'name'/);
});

test("schema document has the Python structure", () => {
  const doc = schemaDocument();
  assert.equal(doc.version, PROTOCOL_VERSION);
  assert.equal(doc.max_message_bytes, 8 * 2 ** 20);
  assert.equal(doc.reply_bytes, 4 * 2 ** 20);
  assert.deepEqual(doc.records, JSON.parse(JSON.stringify(RECORDS)));
  assert.deepEqual(Object.keys(doc.messages).sort(), Object.keys(SCHEMA).sort());
  assert.equal(doc.messages["chunks.get"].fields["axis?"], "int");
  assert.deepEqual(Object.keys(doc).sort(), [
    "codecs",
    "commands",
    "dtypes",
    "label_dtypes",
    "layers",
    "max_message_bytes",
    "messages",
    "records",
    "reply_bytes",
    "version",
  ]);
});
