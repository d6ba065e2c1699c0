/**
 * A fake anywidget model with an in-browser fake kernel, for trying the bundle without Jupyter:
 * open js/dev/fake.html through any static server at the repository root (after `npm run build`).
 * It speaks the real protocol (raw/zero tiles, edits applied with versions, acks, change notices).
 */
import { validate } from "../src/net/protocol.js";

export function fakeModel({
  shape = [40, 150, 200],
  chunks = [16, 64, 64],
  labelDtype = "uint32",
  latency = 5,
} = {}) {
  const traits = {
    tool: "brush",
    label: "3",
    brush_radius: 4,
    axis: "z",
    position: shape.map((s) => Math.floor(s / 2)),
    zoom: 0,
    opacity: 0.5,
    contrast_limits: [0, 255],
    height: 400,
    shape,
    chunk_shape: chunks,
    image_dtype: "uint16",
    label_dtype: labelDtype,
    fingerprint: "fake",
    labelmap_id: "fake-lm",
  };
  const listeners = new Map();
  const emit = (ev, ...args) => {
    for (const f of [...(listeners.get(ev) ?? [])]) f(...args);
  };
  const sentLog = [];
  const labels = new Map(); // "kz,ky,kx" -> {version, data}
  const T =
    labelDtype === "uint64"
      ? BigUint64Array
      : labelDtype === "uint8"
        ? Uint8Array
        : labelDtype === "uint16"
          ? Uint16Array
          : Uint32Array;
  const live = new Set();
  const image = (z, y, x) => ((x + y + 3 * z) % 256) * (((x >> 4) + (y >> 4)) & 1 ? 1 : 0.6);
  const reply = (msg, buffers = []) => {
    validate(msg, buffers.length, "kernel");
    setTimeout(
      () =>
        emit(
          "msg:custom",
          msg,
          buffers.map((b) => new DataView(b)),
        ),
      latency,
    );
  };
  const chunkOf = (ks) => {
    let c = labels.get(ks);
    if (!c) {
      c = { version: 0, data: new T(chunks[0] * chunks[1] * chunks[2]) };
      labels.set(ks, c);
    }
    return c;
  };
  const kernel = {
    handle(msg, buffers) {
      validate(msg, buffers.length, "browser");
      sentLog.push(msg);
      if (msg.kind === "hello")
        reply({
          kind: "welcome",
          reply_to: msg.id,
          protocol: 1,
          labelmap_id: "fake-lm",
          fingerprint: "fake",
        });
      else if (msg.kind === "chunks.cancel") for (const id of msg.ids) live.delete(id);
      else if (msg.kind === "chunks.get") {
        live.add(msg.id);
        setTimeout(() => {
          if (!live.has(msg.id)) return;
          live.delete(msg.id);
          const tiles = [];
          const bufs = [];
          const a = msg.axis;
          const plane = [
            [2, 1],
            [2, 0],
            [1, 0],
          ][a];
          msg.keys.forEach((key, i) => {
            const start = key.map((k, j) => k * chunks[j]);
            const size = start.map((s, j) => Math.min(chunks[j], shape[j] - s));
            const [u, v] = plane;
            const rows = size[v];
            const cols = size[u];
            const ks = key.join(",");
            const version = msg.layer === "image" ? 0 : (labels.get(ks)?.version ?? 0);
            if (msg.known[i] === version) {
              tiles.push({
                key,
                version,
                shape: [rows, cols],
                dtype: msg.layer === "image" ? "uint16" : labelDtype,
                codec: "unchanged",
                buffer: -1,
              });
              return;
            }
            const out = msg.layer === "image" ? new Uint16Array(rows * cols) : new T(rows * cols);
            for (let r = 0; r < rows; r++) {
              for (let c = 0; c < cols; c++) {
                const p = [0, 0, 0];
                p[a] = msg.index;
                p[v] = start[v] + r;
                p[u] = start[u] + c;
                if (msg.layer === "image") out[r * cols + c] = image(...p);
                else {
                  const ch = labels.get(ks);
                  if (ch) {
                    const l = p.map((q, j) => q - start[j]);
                    out[r * cols + c] = ch.data[(l[0] * chunks[1] + l[1]) * chunks[2] + l[2]];
                  }
                }
              }
            }
            tiles.push({
              key,
              version,
              shape: [rows, cols],
              dtype: msg.layer === "image" ? "uint16" : labelDtype,
              codec: "raw",
              buffer: bufs.length,
            });
            bufs.push(out.buffer);
          });
          reply(
            {
              kind: "chunks.data",
              reply_to: msg.id,
              layer: msg.layer,
              level: 0,
              tiles,
              done: true,
              axis: msg.axis,
              index: msg.index,
            },
            bufs,
          );
        }, latency);
      } else if (msg.kind === "edits.apply") {
        const keys = [];
        const versions = [];
        for (const e of msg.edits) {
          const c = chunkOf(e.key.join(","));
          const off = new Uint32Array(buffers[e.offsets]);
          const val = new T(buffers[e.values]);
          for (let i = 0; i < e.count; i++) c.data[off[i]] = val[i];
          c.version++;
          keys.push(e.key);
          versions.push(c.version);
        }
        reply({ kind: "edits.ack", reply_to: msg.id, keys, versions, duplicate: false });
        setTimeout(
          () => reply({ kind: "chunks.changed", layer: "labels", level: 0, keys, versions, origin: msg.id }),
          20,
        );
      } else if (msg.kind === "command") {
        reply({ kind: "command.result", reply_to: msg.id, ok: true, changed: 0 });
      }
    },
    /** Python-style edit: set a box of voxels and announce it. */
    setBox(z, y0, y1, x0, x1, value) {
      const touched = new Map();
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const key = [Math.floor(z / chunks[0]), Math.floor(y / chunks[1]), Math.floor(x / chunks[2])];
          const ks = key.join(",");
          const c = chunkOf(ks);
          const l = [z % chunks[0], y % chunks[1], x % chunks[2]];
          c.data[(l[0] * chunks[1] + l[1]) * chunks[2] + l[2]] =
            labelDtype === "uint64" ? BigInt(value) : value;
          touched.set(ks, key);
        }
      }
      const keys = [];
      const versions = [];
      for (const [ks, key] of touched) {
        const c = labels.get(ks);
        c.version++;
        keys.push(key);
        versions.push(c.version);
      }
      reply({ kind: "chunks.changed", layer: "labels", level: 0, keys, versions });
    },
    count(value) {
      let n = 0;
      for (const c of labels.values()) for (const v of c.data) if (BigInt(v) === BigInt(value)) n++;
      return n;
    },
    sentLog,
    labels,
  };
  const model = {
    get: (k) => traits[k],
    set: (k, v) => {
      if (JSON.stringify(traits[k]) === JSON.stringify(v)) return;
      traits[k] = v;
      emit(`change:${k}`, model, v);
    },
    save_changes: () => {},
    on: (ev, f) => {
      if (!listeners.has(ev)) listeners.set(ev, new Set());
      listeners.get(ev).add(f);
    },
    off: (ev, f) => listeners.get(ev)?.delete(f),
    send: (msg, _callbacks, buffers = []) => kernel.handle(msg, buffers),
    /** Python-side trait change. */
    pySet: (k, v) => model.set(k, v),
    kernel,
    listenerCount: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
  };
  return model;
}
