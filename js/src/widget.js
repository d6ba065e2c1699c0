/**
 * anywidget entry point: one 2D slice view of a VoxWidget model.
 *
 * Each `render` builds its own view, chunk client and edit queue; several views of one model each
 * work (kernel replies are routed by the request/batch ids each view made; `chunks.changed` goes
 * to all). Only the public anywidget model API is used: get/set/save_changes/send/on/off.
 *
 * TEST HOOKS (stable; used by the browser tests in tests/browser/):
 * - the canvas has class `voxwidget-canvas` and a property `canvas.voxwidget`:
 *   - `voxelToClient([z, y, x]) -> {x, y}`: client (CSS) coordinates of the voxel's centre, for
 *     `page.mouse`;
 *   - `clientToVoxel(x, y) -> [z, y, x]`: the voxel under a client point (may lie outside the array);
 *   - `state() -> {pendingBatches, loadingTiles, idle, stats: {messages, tiles, bytes, unchanged,
 *     fromCache, requests, sent, planeBytes, cache}, sync}` (`requests`: the last 1000 chunks.get
 *     sent, each `{n, layer, level, axis, index, keys, known, prefetch, t}` (n: 1, 2, … over the
 *     view's life, `sent` the last; t: Date.now()); `planeBytes`: payload bytes received per plane
 *     `"level/axis/index"`; `fromCache`: tiles read from the persistent
 *     cache; `cache`: its hits/misses/writes/evicted/bytes):
 *     `idle` is true when no edit batch is pending or accumulating, no tile request is
 *     outstanding and no redraw is queued; stats count kernel messages, tiles and payload bytes
 *     this view received; `sync` is `{state: "saved"|"pending"|"offline"|"replaying"|"error",
 *     pending, text, connection: "connecting"|"online"|"offline", unstored (batches not yet in
 *     IndexedDB), persistent (IndexedDB in use), loaded (earlier batches read), labelmapId}`;
 *   - `painted() -> number[]`: with `globalThis.__voxwidgetRecord = true` set before the view was
 *     made, every voxel this view painted, in order, flat `[z, y, x, value, ...]` (values as
 *     Numbers);
 *   - `labels([[z, y, x], ...]) -> (string|null)[]`: the label this view holds for each voxel of
 *     the shown slice (null when its tile is not loaded);
 *   - `state().shown`: every tile of the shown planes arrived and no redraw is queued (prefetch
 *     requests for neighbouring planes, flagged `prefetch: true` in `stats.requests`, may still run);
 *   - `view() -> {axis, index, zoom, rect: {u0, u1, v0, v1}, plan}`: the shown plane, device px
 *     per level-0 voxel, the visible level-0 rectangle and the fetch plan (lod.js);
 *   - `heartbeat({pingMs, timeoutMs})`: change the heartbeat timing of this view.
 * - the status line has class `voxwidget-status` (its sync part `voxwidget-sync` reads "saved",
 *   "pending N", "offline (N pending)", "replaying N" or the error; `voxwidget-warn` shows when
 *   edits cannot be kept in IndexedDB).
 * @module widget
 */

import { strokeVoxels } from "./brush.js";
import { ChunkCache } from "./chunkcache.js";
import { ChunkClient, newId } from "./client.js";
import { Connection } from "./connection.js";
import { EditQueue, parseLabel } from "./editqueue.js";
import { offsetToLocal, planeAxes } from "./grid.js";
import { attachInput } from "./input.js";
import { prefetchPlan } from "./lod.js";
import { PendingDB } from "./pendingdb.js";
import { make, PROTOCOL_VERSION, ProtocolError, validate } from "./protocol.js";
import { bindUI, buildUI } from "./ui.js";
import { View2D } from "./view2d.js";

const AXES = ["z", "y", "x"];
const TRAIT_THROTTLE_MS = 100;
const MIN_ZOOM = 1 / 64;
const MAX_ZOOM = 256;
const SYNC_STATUS_MS = 150; // at most this often the owning view reports sync_status to Python
const PREFETCH_AHEAD = 3; // planes prefetched ahead of a view at rest
const PREFETCH_MAX_AHEAD = 16; // … and while scrolling on (the client bounds the bytes in flight)
const SCROLL_RUN_MS = 1000; // slice steps this close in one direction make a scroll run
const STATUS_MS = 100; // the status line follows streaming progress at most this often
const SEVERITY = { saved: 0, pending: 1, replaying: 2, offline: 3, error: 4 };

/**
 * The views of each model on this page. One of them (the most recently active) owns the model's
 * `sync_status` trait and reports the union of all their pending batches.
 * @type {WeakMap<object, {views: Set<VoxView>, owner: VoxView|null}>}
 */
const SIBLINGS = new WeakMap();

function siblings(model) {
  let s = SIBLINGS.get(model);
  if (!s) {
    s = { views: new Set(), owner: null };
    SIBLINGS.set(model, s);
  }
  return s;
}

/** The page's persistent chunk cache (one per page, shared by every view). */
let PERSIST = null;
function persistentCache(mb) {
  if (!PERSIST) PERSIST = new ChunkCache({ budget: mb * 2 ** 20 });
  else if (PERSIST.budget !== mb * 2 ** 20) PERSIST.setBudget(mb * 2 ** 20);
  return PERSIST;
}

/** One rendered view. */
class VoxView {
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.disposers = [];
    this.commands = new Map(); // command id -> name
    this.helloId = newId();
    this.error = null; // last error shown in the sync status
    this.throttle = null;
    this.sentPosition = null;
    this.stroke = null; // {value, last: [u, v]}

    const ui = buildUI(el);
    this.ui = ui;
    this.labelmapId = String(model.get("labelmap_id") ?? "");
    this.disposed = false;
    this.loaded = false; // batches earlier views left in IndexedDB have been read
    this.reported = null; // the sync_status last set
    this.reportTimer = null;
    this.conn = new Connection({
      send: (msg, buffers) => this.model.send(msg, undefined, buffers),
      onChange: (state) => this.onConnection(state),
      onOnline: (info) => this.onOnline(info),
    });
    const send = (msg, buffers = []) => this.conn.send(msg, buffers);
    this.send = send;
    this.persist = persistentCache(model.get("browser_cache_mb") ?? 256);
    this.client = new ChunkClient({
      send,
      onUpdate: (prefetchOnly) => this.onTiles(prefetchOnly),
      persist: this.persist,
      prefix: (layer) => {
        const fp = this.model.get("fingerprint");
        if (!fp) return null;
        return layer === "labels" ? `${fp}:${this.labelmapId}` : fp;
      },
    });
    this.view = new View2D({
      canvas: ui.canvas,
      client: this.client,
      onViewChange: () => this.fetchView(),
    });
    this.store = new PendingDB({
      labelmapId: this.labelmapId,
      onWarning: (text) => {
        ui.warn.textContent = "⚠ not kept in browser";
        ui.warn.title = text;
      },
    });
    this.queue = new EditQueue({
      send,
      client: this.client,
      dtype: model.get("label_dtype") || "uint32",
      chunks: model.get("chunk_shape") || [64, 64, 64],
      store: this.store,
      online: false, // until the kernel answered and earlier batches are loaded
      onEvent: (e) => this.onEdit(e),
    });
    if (globalThis.__voxwidgetRecord === true) this.queue.record = [];
    this.binding = bindUI({
      model,
      ui,
      setTrait: (k, v) => this.setTrait(k, v),
      command: (n) => this.command(n),
    });
    this.disposers.push(() => this.binding.dispose());

    this.detachInput = attachInput({
      canvas: ui.canvas,
      root: ui.root,
      size: () => ({ width: this.view.width, height: this.view.height }),
      actions: this.actions(),
    });
    this.disposers.push(this.detachInput);

    const onMsg = (msg, buffers) => this.onMessage(msg, buffers ?? []);
    model.on("msg:custom", onMsg);
    this.disposers.push(() => model.off("msg:custom", onMsg));
    const onLive = () => this.conn.liveUpdate();
    model.on("comm_live_update", onLive);
    this.disposers.push(() => model.off("comm_live_update", onLive));
    const sib = siblings(model);
    sib.views.add(this);
    sib.owner = this;
    this.disposers.push(() => {
      sib.views.delete(this);
      if (sib.owner === this) sib.owner = sib.views.values().next().value ?? null;
      sib.owner?.reportSync();
    });
    const traits = ["axis", "position", "zoom", "opacity", "contrast_limits", "tool", "brush_radius"];
    for (const t of [
      ...traits,
      "shape",
      "chunk_shape",
      "height",
      "label_dtype",
      "levels",
      "browser_cache_mb",
      "voxel_size",
    ]) {
      const onTrait = () => this.syncFromModel(t);
      model.on(`change:${t}`, onTrait);
      this.disposers.push(() => model.off(`change:${t}`, onTrait));
    }

    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(() => this.layout());
      ro.observe(ui.wrap);
      this.disposers.push(() => ro.disconnect());
    }
    const onClear = () => this.clearCache();
    ui.controls.clearCache.addEventListener("click", onClear);
    this.disposers.push(() => ui.controls.clearCache.removeEventListener("click", onClear));
    this.installHooks();
    this.syncFromModel();
    this.layout();
    send(make("hello", { id: this.helloId, protocol: PROTOCOL_VERSION }));
    this.conn.start();
    this.disposers.push(() => this.conn.stop());
    this.store
      .load()
      .then((batches) => {
        if (this.disposed) return;
        this.queue.adopt(batches);
        this.loaded = true;
        if (this.conn.online) this.queue.replay();
        this.updateStatus();
      })
      .catch((err) => {
        console.warn("voxwidget: reading pending edits failed", err);
        this.loaded = true;
        if (this.conn.online) this.queue.replay();
      });
  }

  // -- connection --------------------------------------------------------------------------
  onConnection(state) {
    if (state !== "online") this.queue.setOnline(false);
    this.updateStatus();
  }

  /** The kernel answered (first welcome, or back after being offline): replay, refetch. */
  onOnline({ labelmapId, first }) {
    if (labelmapId !== undefined && labelmapId !== this.labelmapId) {
      this.showError(
        `the kernel's label map ${labelmapId} is not this view's ${this.labelmapId}: re-run the cell`,
      );
      return;
    }
    if (!first) this.client.retry(); // replies to requests made while offline were lost
    if (this.loaded) this.queue.replay();
    this.updateStatus();
  }

  // -- traits ----------------------------------------------------------------------------------
  setTrait(name, value) {
    this.model.set(name, value);
    this.model.save_changes();
  }

  /**
   * Read traits into the view (Python may change any of them at any time). Only the trait that
   * changed is applied, so unsent local pan/zoom state is not clobbered by unrelated changes.
   * @param {string|null} name the changed trait, or null for all
   */
  syncFromModel(name = null) {
    const m = this.model;
    const all = name === null;
    const st = this.view.state;
    const shape = m.get("shape") ?? [1, 1, 1];
    const axis = Math.max(0, AXES.indexOf(m.get("axis") ?? "z"));
    const pos = m.get("position") ?? shape.map((s) => Math.floor(s / 2));
    const patch = {};
    if (all || name === "shape") patch.shape = shape;
    if (all || name === "chunk_shape") {
      patch.chunks = m.get("chunk_shape") ?? [64, 64, 64];
      this.queue.chunks = patch.chunks;
    }
    if (all || name === "zoom") patch.zoom = Number(m.get("zoom") ?? 0);
    if (all || name === "opacity") patch.opacity = Number(m.get("opacity") ?? 0.5);
    if (all || name === "contrast_limits") patch.contrast = m.get("contrast_limits") ?? [0, 255];
    if (all || name === "tool") patch.tool = m.get("tool") ?? "brush";
    if (all || name === "brush_radius") patch.radius = m.get("brush_radius") ?? 5;
    if (all || name === "label_dtype") this.queue.dtype = m.get("label_dtype") || this.queue.dtype;
    if (all || name === "levels") patch.levels = m.get("levels") ?? [];
    if (all || name === "voxel_size") patch.voxelSize = m.get("voxel_size") ?? null;
    if (name === "browser_cache_mb") this.persist.setBudget((m.get("browser_cache_mb") ?? 256) * 2 ** 20);
    if (all || name === "axis" || name === "position" || name === "shape") {
      const { u, v } = planeAxes(axis);
      patch.axis = axis;
      patch.index = pos[axis];
      const own = this.sentPosition?.every((p, i) => p === pos[i]);
      const moved = Math.floor(st.centerU) !== pos[u] || Math.floor(st.centerV) !== pos[v];
      if (all || axis !== st.axis || (!own && moved)) {
        patch.centerU = pos[u] + 0.5;
        patch.centerV = pos[v] + 0.5;
      }
    }
    this.view.set(patch);
    if (all || name === "height") this.layout();
  }

  layout() {
    const width = this.ui.wrap.clientWidth || 640;
    this.view.resize(width, this.model.get("height") ?? 480);
  }

  /** Push position/zoom after a pan or zoom, throttled. */
  pushView(now = false) {
    const flush = () => {
      this.throttle = null;
      const st = this.view.state;
      const { u, v } = planeAxes(st.axis);
      const shape = st.shape;
      const pos = [...(this.model.get("position") ?? [0, 0, 0])];
      pos[st.axis] = st.index;
      pos[u] = Math.max(0, Math.min(shape[u] - 1, Math.floor(st.centerU)));
      pos[v] = Math.max(0, Math.min(shape[v] - 1, Math.floor(st.centerV)));
      this.sentPosition = pos;
      this.model.set("zoom", st.zoom);
      this.model.set("position", pos);
      this.model.save_changes();
    };
    if (now) {
      if (this.throttle) clearTimeout(this.throttle);
      flush();
    } else if (!this.throttle) this.throttle = setTimeout(flush, TRAIT_THROTTLE_MS);
  }

  /** Leave fit mode: make the current fit explicit (before a pan or zoom). */
  unfit() {
    if (this.view.state.zoom > 0) return;
    const { cu, cv } = this.view.centre;
    this.view.set({ zoom: this.view.fitScale, centerU: cu, centerV: cv });
  }

  // -- actions from input --------------------------------------------------------------------
  actions() {
    return {
      tool: () => this.model.get("tool") ?? "brush",
      hover: (x, y) => {
        this.view.set({ cursor: x === null ? null : { x, y } });
        this.updateStatus();
      },
      strokeStart: (x, y) => this.strokeStart(x, y),
      strokeMove: (x, y) => this.strokeMove(x, y),
      strokeEnd: () => this.strokeEnd(),
      panBy: (dx, dy) => {
        this.unfit();
        const s = this.view.scale;
        this.view.set({
          centerU: this.view.state.centerU - dx / s,
          centerV: this.view.state.centerV - dy / (s * this.view.aspect),
        });
        this.pushView();
      },
      panEnd: () => this.pushView(true),
      stepSlice: (n) => {
        const st = this.view.state;
        const idx = Math.max(0, Math.min(st.shape[st.axis] - 1, st.index + n));
        if (idx === st.index) return;
        this.view.set({ index: idx });
        this.pushView(); // throttled: scrolling sends the kernel a position at most every 100 ms
      },
      zoomBy: (factor, x, y) => {
        this.unfit();
        const v = this.view;
        const px = x ?? v.width / 2;
        const py = y ?? v.height / 2;
        const before = v.screenToPlane(px, py);
        const zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, v.scale * factor));
        v.set({ zoom });
        const after = v.screenToPlane(px, py);
        v.set({
          centerU: v.state.centerU + before.u - after.u,
          centerV: v.state.centerV + before.v - after.v,
        });
        this.pushView();
      },
      setTool: (t) => this.setTrait("tool", t),
      radiusBy: (d) =>
        this.setTrait("brush_radius", Math.max(0, Math.min(256, (this.model.get("brush_radius") ?? 5) + d))),
      command: (name) => this.command(name),
    };
  }

  planeCentre(x, y) {
    const p = this.view.voxelAt(x, y);
    const { u, v } = this.view.axes;
    return [p[u], p[v]];
  }

  strokeStart(x, y) {
    siblings(this.model).owner = this;
    const tool = this.model.get("tool") ?? "brush";
    let value = 0;
    if (tool === "brush") {
      try {
        value = parseLabel(this.model.get("label") ?? "1", this.queue.dtype);
      } catch (err) {
        this.showError(err.message);
        return;
      }
    }
    this.error = null; // a new stroke clears the last error from the status line
    this.queue.beginStroke();
    this.stroke = { value, last: null };
    this.strokeMove(x, y);
  }

  strokeMove(x, y) {
    if (!this.stroke) return;
    const c = this.planeCentre(x, y);
    const last = this.stroke.last;
    if (last && last[0] === c[0] && last[1] === c[1]) return;
    const st = this.view.state;
    const groups = strokeVoxels({
      shape: st.shape,
      chunks: st.chunks,
      axis: st.axis,
      index: st.index,
      from: last,
      to: c,
      radius: this.model.get("brush_radius") ?? 5,
    });
    this.stroke.last = c;
    this.queue.paint(groups, this.stroke.value);
  }

  strokeEnd() {
    if (!this.stroke) return;
    this.stroke = null;
    this.queue.endStroke();
    this.updateStatus();
  }

  command(name) {
    if (this.stroke) this.strokeEnd();
    if (!this.conn.online) {
      this.queue.flush();
      this.flash(`offline: ${name} needs the kernel`);
      this.updateStatus();
      return;
    }
    // after every painted batch went out, so the command cannot overtake them
    this.queue.afterSent(() => {
      const id = newId();
      this.commands.set(id, name);
      this.send(make("command", { id, name }));
    });
  }

  // -- kernel messages -------------------------------------------------------------------------
  onMessage(msg, buffers) {
    try {
      validate(msg, buffers.length, "kernel");
    } catch (err) {
      if (err instanceof ProtocolError) {
        console.warn("voxwidget: bad message from the kernel:", err.message);
        this.showError(`bad message: ${err.message}`);
        return;
      }
      throw err;
    }
    if (this.conn.received(msg)) return; // the heartbeat's pong
    switch (msg.kind) {
      case "cache.clear":
        this.clearCache();
        return;
      case "welcome":
        if (msg.reply_to === this.helloId && msg.protocol !== PROTOCOL_VERSION) {
          this.showError(
            `kernel speaks protocol ${msg.protocol}, this view ${PROTOCOL_VERSION}: reload the page`,
          );
        }
        return;
      case "edits.ack":
      case "edits.reject":
        this.queue.handle(msg);
        this.updateStatus();
        return;
      case "command.result": {
        const name = this.commands.get(msg.reply_to);
        if (name === undefined) return;
        this.commands.delete(msg.reply_to);
        if (!msg.ok) this.showError(msg.error ?? `${name} failed`);
        else if (msg.changed === 0) this.flash(`nothing to ${name}`);
        this.updateStatus();
        return;
      }
      case "error":
        if (msg.reply_to !== undefined && this.queue.store.get(msg.reply_to)) {
          this.queue.handle({ kind: "edits.reject", reply_to: msg.reply_to, error: msg.error });
          this.updateStatus();
          return;
        }
        if (msg.reply_to !== undefined && this.commands.has(msg.reply_to)) {
          this.commands.delete(msg.reply_to);
          this.showError(msg.error);
          return;
        }
        if (this.client.handle(msg, buffers)) {
          this.showError(msg.error);
          return;
        }
        if (msg.reply_to === undefined || msg.reply_to === this.helloId) this.showError(msg.error);
        return;
      default:
        this.client.handle(msg, buffers);
    }
  }

  onTiles(prefetchOnly = false) {
    if (!prefetchOnly) this.view.invalidate(); // planes not shown need no redraw
    this.statusSoon();
  }

  /**
   * Update the status line soon (at most every STATUS_MS while tiles stream: its text changes
   * relayout the notebook page, which cost frames while scrolling).
   */
  statusSoon() {
    if (this.statusTimer) return;
    this.statusTimer = setTimeout(() => {
      this.statusTimer = null;
      if (!this.disposed) this.updateStatus();
    }, STATUS_MS);
  }

  onEdit(e) {
    if (e.kind === "reject") this.showError(`edit rejected: ${e.error}`);
    this.view.invalidate();
    this.updateStatus();
  }

  showError(text) {
    this.error = text;
    this.updateStatus();
  }

  flash(text) {
    this.note = text;
    this.updateStatus();
    clearTimeout(this.noteTimer);
    this.noteTimer = setTimeout(() => {
      this.note = null;
      this.updateStatus();
    }, 2000);
  }

  updateStatus() {
    const { readout, loading, sync } = this.ui;
    const cur = this.view.state.cursor;
    if (cur) {
      const p = this.view.voxelAt(cur.x, cur.y);
      if (this.view.inside(p)) {
        const vals = this.view.valuesAt(p);
        readout.textContent = `z y x = ${p.join(" ")}  image ${vals.image ?? "…"}  label ${vals.label ?? "…"}`;
      } else readout.textContent = `z y x = ${p.join(" ")}  (outside)`;
    }
    const { loading: n, total } = this.client.progress();
    loading.textContent = n ? `loading ${total - n}/${total}` : "";
    const { state, text } = this.syncState();
    if (sync.textContent !== text) sync.textContent = text;
    sync.title = this.error ?? (state === "offline" ? this.conn.why : "");
    sync.dataset.state = state;
    this.reportSync();
  }

  /** @returns {{state: string, pending: number, text: string}} this view's sync state */
  syncState() {
    const pending = this.queue.pendingCount + (this.queue.acc.size ? 1 : 0);
    const replaying = this.queue.replayCount;
    if (this.error) return { state: "error", pending, text: `error: ${this.error}` };
    if (this.conn.state === "offline")
      return { state: "offline", pending, text: `offline (${pending} pending)` };
    if (replaying) return { state: "replaying", pending, text: `replaying ${replaying}` };
    if (pending) return { state: "pending", pending, text: `pending ${pending}` };
    return { state: "saved", pending: 0, text: this.note ?? "saved" };
  }

  /**
   * Report the sync state of all views of this model to Python (`sync_status`), if this view owns
   * it and the kernel is there; throttled, and only when it changed.
   */
  reportSync() {
    const sib = siblings(this.model);
    if (sib.owner !== this || this.disposed) return;
    if (this.reportTimer !== null) return;
    this.reportTimer = setTimeout(() => {
      this.reportTimer = null;
      if (sib.owner !== this || this.disposed || !this.conn.online) return;
      let worst = "saved";
      let error;
      const ids = new Set();
      let accumulating = 0;
      for (const v of sib.views) {
        const s = v.syncState();
        if (SEVERITY[s.state] > SEVERITY[worst]) worst = s.state;
        if (s.state === "error") error = v.error;
        for (const b of v.queue.store.all()) ids.add(b.id);
        if (v.queue.acc.size) accumulating++;
      }
      const status = { state: worst, pending: ids.size + accumulating };
      if (error !== undefined) status.error = String(error);
      const key = JSON.stringify(status);
      if (key === this.reported) return;
      try {
        this.model.set("sync_status", status);
        this.model.save_changes();
        this.reported = key;
      } catch (err) {
        console.warn("voxwidget: could not report sync_status", err);
      }
    }, SYNC_STATUS_MS);
  }

  /**
   * Fetch what the view shows (coarse first), then prefetch the next planes in the scroll
   * direction: PREFETCH_AHEAD planes at rest, more while the user keeps scrolling one way (up to
   * PREFETCH_MAX_AHEAD), so a scroll finds its next slices on the wire or here while a view at rest
   * fetches little it may never show. The client bounds the bytes prefetch has in flight.
   */
  fetchView() {
    const st = this.view.state;
    const now = Date.now();
    if (this.lastIndex !== undefined && st.index !== this.lastIndex) {
      const dir = Math.sign(st.index - this.lastIndex);
      const onward = dir === this.scrollDir && now - (this.scrolledAt ?? 0) < SCROLL_RUN_MS;
      this.scrollRun = onward ? (this.scrollRun ?? 0) + 1 : 0;
      this.scrollDir = dir;
      this.scrolledAt = now;
    } else this.scrollRun = 0; // panned or zoomed: back to the window of a view at rest
    this.lastIndex = st.index;
    const plan = this.view.plan();
    const levels = st.levels?.length ? st.levels : [{ shape: st.shape }];
    const n = Math.min(PREFETCH_MAX_AHEAD, PREFETCH_AHEAD + 2 * (this.scrollRun ?? 0));
    const ahead = prefetchPlan(plan, levels, st.chunks, st.axis, this.scrollDir ?? 1, n);
    this.client.viewPlan(st.axis, [...plan, ...ahead]);
  }

  /** Empty the persistent chunk cache (Python's clear_browser_cache() or the toolbar button). */
  clearCache() {
    this.persist
      .clear()
      .then(() => this.flash("browser cache cleared"))
      .catch((err) => this.showError(`clearing the browser cache failed: ${err.message}`));
  }

  // -- test hooks ------------------------------------------------------------------------------
  installHooks() {
    const canvas = this.ui.canvas;
    const view = this.view;
    const rectScale = () => {
      const r = canvas.getBoundingClientRect();
      return { r, sx: r.width / (view.width || 1), sy: r.height / (view.height || 1) };
    };
    canvas.voxwidget = {
      voxelToClient: (p) => {
        const { u, v } = view.axes;
        const s = view.planeToScreen(p[u] + 0.5, p[v] + 0.5);
        const { r, sx, sy } = rectScale();
        return { x: r.left + s.x * sx, y: r.top + s.y * sy };
      },
      clientToVoxel: (x, y) => {
        const { r, sx, sy } = rectScale();
        return view.voxelAt((x - r.left) / sx, (y - r.top) / sy);
      },
      state: () => ({
        pendingBatches: this.queue.pendingCount,
        loadingTiles: this.client.inflight.size,
        idle: this.queue.idle && this.client.idle && !view.drawPending && !this.stroke,
        shown: this.client.shownLoading === 0 && !view.drawPending,
        stats: {
          ...this.client.stats,
          cache: { ...this.persist.stats, bytes: this.persist.bytes },
          draws: view.draws,
          drawMs: view.drawMs,
        },
        sync: {
          ...this.syncState(),
          connection: this.conn.state,
          unstored: this.queue.unstored,
          persistent: this.store.persistent,
          loaded: this.loaded,
          labelmapId: this.labelmapId,
        },
      }),
      painted: () => {
        const out = [];
        const chunks = this.queue.chunks;
        const local = [0, 0, 0];
        for (const r of this.queue.record ?? []) {
          for (const o of r.offsets) {
            offsetToLocal(o, chunks, local);
            out.push(
              r.key[0] * chunks[0] + local[0],
              r.key[1] * chunks[1] + local[1],
              r.key[2] * chunks[2] + local[2],
              Number(r.value),
            );
          }
        }
        return out;
      },
      labels: (points) => points.map((p) => view.valuesAt(p).label),
      view: () => {
        const r = view.visibleRect();
        return {
          axis: view.state.axis,
          index: view.state.index,
          zoom: view.scale * view.dpr,
          rect: { u0: r.u0, u1: r.u1, v0: r.v0, v1: r.v1 },
          plan: view.plan().map((p) => ({ level: p.level, index: p.index, keys: p.keys })),
        };
      },
      heartbeat: ({ pingMs, timeoutMs } = {}) => {
        if (pingMs) this.conn.pingMs = pingMs;
        if (timeoutMs) this.conn.timeoutMs = timeoutMs;
        this.conn.stop();
        this.conn.start();
      },
    };
    this.disposers.push(() => {
      delete canvas.voxwidget;
    });
  }

  dispose() {
    if (this.stroke) this.strokeEnd();
    this.queue.flush(); // stored in IndexedDB (and sent if still online)
    this.disposed = true;
    clearTimeout(this.reportTimer);
    if (this.throttle) {
      clearTimeout(this.throttle);
      this.throttle = null;
    }
    clearTimeout(this.noteTimer);
    clearTimeout(this.statusTimer);
    this.client.cancelAll();
    this.view.dispose();
    for (const f of this.disposers.reverse()) f();
    this.ui.root.remove();
  }
}

export default {
  /**
   * anywidget render: build one view in `el`; returns its cleanup.
   * @param {{model: object, el: HTMLElement}} ctx
   * @returns {() => void}
   */
  render({ model, el }) {
    const view = new VoxView(model, el);
    return () => view.dispose();
  },
};
