/**
 * One rendered view of a VoxWidget model: it builds its parts and wires them together.
 *
 * Parts: the DOM (ui/dom.js) with its toolbar (ui/toolbar.js), input (ui/input.js) and status line
 * (ui/status.js); the 2D view (views/view2d.js); the connection (net/connection.js), the chunk
 * client (net/client.js) and the edit queue (net/editqueue.js) over the page's persistent chunk
 * cache (store/chunkcache.js) and pending-edit journal (store/pendingdb.js); and the view's
 * controllers: traits (widget/traits.js), navigation (widget/navigation.js), painting
 * (widget/stroke.js), commands (widget/commands.js), kernel messages (widget/messages.js), the
 * model's sync_status (widget/syncstatus.js) and the test hooks (widget/hooks.js); the click and
 * key tools (widget/tools.js), the label panel (widget/labels.js) and the `?` help (ui/help.js). The `view`
 * trait's panels ("3d", "ortho": widget/viewmodes.js) are built beside the main slice view,
 * which stays exactly as it was for "2d".
 * @module widget/voxview
 */

import { ChunkClient } from "../net/client.js";
import { Connection } from "../net/connection.js";
import { EditQueue } from "../net/editqueue.js";
import { newId } from "../net/ids.js";
import { make, PROTOCOL_VERSION } from "../net/protocol.js";
import { ChunkCache } from "../store/chunkcache.js";
import { PendingDB } from "../store/pendingdb.js";
import { buildUI } from "../ui/dom.js";
import { makeHelp } from "../ui/help.js";
import { attachInput } from "../ui/input.js";
import { StatusLine } from "../ui/status.js";
import { bindUI } from "../ui/toolbar.js";
import { View2D } from "../views/view2d.js";
import { Capture } from "./capture.js";
import { Commands } from "./commands.js";
import { installHooks } from "./hooks.js";
import { kernelOf, kernelStatusOf } from "./kernelstatus.js";
import { LabelPanel } from "./labels.js";
import { routeMessage } from "./messages.js";
import { Navigation } from "./navigation.js";
import { watchShell } from "./shellwatch.js";
import { StrokeController } from "./stroke.js";
import { SyncReporter } from "./syncstatus.js";
import { ToolController } from "./tools.js";
import { syncFromModel, watchTraits } from "./traits.js";
import { ViewModes } from "./viewmodes.js";

/** The page's persistent chunk cache (one per page, shared by every view). */
let PERSIST = null;
function persistentCache(mb) {
  if (!PERSIST) PERSIST = new ChunkCache({ budget: mb * 2 ** 20 });
  else if (PERSIST.budget !== mb * 2 ** 20) PERSIST.setBudget(mb * 2 ** 20);
  return PERSIST;
}

/** One rendered view (see the module doc). */
export class VoxView {
  /**
   * @param {object} model anywidget model
   * @param {HTMLElement} el
   */
  constructor(model, el) {
    this.model = model;
    this.el = el;
    this.disposers = [];
    this.helloId = newId();

    const ui = buildUI(el);
    this.ui = ui;
    this.labelmapId = String(model.get("labelmap_id") ?? "");
    this.disposed = false;
    this.loaded = false; // batches earlier views left in IndexedDB have been read
    this.conn = new Connection({
      send: (msg, buffers) => this.model.send(msg, undefined, buffers),
      onChange: (state) => this.onConnection(state),
      onOnline: (info) => this.onOnline(info),
      // quiet liveness from the kernel's own status where the host tells it (net/connection.js)
      kernel: kernelStatusOf(model),
      outstanding: () => (this.queue?.pendingCount ?? 0) + (this.client?.idle === false ? 1 : 0),
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
      onViewChange: () => this.nav.fetchView(),
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
    const { client, view, queue, conn } = this;
    this.status = new StatusLine({ ui, view, client, queue, conn, onUpdate: () => this.sync.report() });
    this.sync = new SyncReporter({ model, status: this.status, queue, conn });
    this.nav = new Navigation({ model, view, client });
    this.stroke = new StrokeController({
      model,
      view,
      queue,
      status: this.status,
      onStart: () => this.sync.claim(),
    });
    this.commands = new Commands({ send, conn, queue, status: this.status });
    const setTrait = (k, v) => this.setTrait(k, v);
    this.help = makeHelp(ui.wrap);
    this.labels = new LabelPanel({
      model,
      parent: ui.side,
      setTrait,
      onDelete: (id) => this.tools.deleteLabel(id),
    });
    this.disposers.push(() => this.labels.dispose());
    this.tools = new ToolController({
      model,
      view,
      commands: this.commands,
      counts: this.labels.counts,
      status: this.status,
      setTrait,
      help: this.help,
    });
    // Screenshots (widget/capture.js): the 2D view's canvas is panel "2d"; other views add theirs.
    this.capture = new Capture({ root: ui.root, send });
    this.disposers.push(
      this.capture.register(
        "2d",
        () => ui.canvas,
        () => ui.canvas,
      ),
    );
    this.binding = bindUI({
      model,
      ui,
      setTrait,
      command: (n) => this.command(n),
      act: (n) => this.tools.act(n),
    });
    this.disposers.push(() => this.binding.dispose());

    this.detachInput = attachInput({
      canvas: ui.canvas,
      root: ui.root,
      size: () => ({ width: this.view.width, height: this.view.height }),
      actions: this.actions(),
    });
    this.disposers.push(this.detachInput);

    const onMsg = (msg, buffers) => routeMessage(this, msg, buffers ?? []);
    model.on("msg:custom", onMsg);
    this.disposers.push(() => model.off("msg:custom", onMsg));
    const onLive = () => this.conn.liveUpdate();
    model.on("comm_live_update", onLive);
    this.disposers.push(() => model.off("comm_live_update", onLive));
    this.disposers.push(this.sync.join());
    this.disposers.push(...watchTraits(model, (t) => this.syncFromModel(t)));

    if (typeof ResizeObserver !== "undefined") {
      const ro = new ResizeObserver(() => this.layout());
      ro.observe(ui.wrap);
      this.disposers.push(() => ro.disconnect());
    }
    const onClear = () => this.clearCache();
    ui.controls.clearCache.addEventListener("click", onClear);
    this.disposers.push(() => ui.controls.clearCache.removeEventListener("click", onClear));
    this.disposers.push(installHooks(this));
    /** The `view` trait's extra panels (widget/viewmodes.js). */
    this.modes = new ViewModes(this);
    this.status.extra = () => this.modes.statusText();
    this.syncFromModel();
    this.layout();
    this.modes.apply(model.get("view") ?? "2d");
    send(make("hello", { id: this.helloId, protocol: PROTOCOL_VERSION }));
    this.conn.start();
    this.disposers.push(() => this.conn.stop());
    // a tab that does not reach the restarted kernel is reconnected (widget/shellwatch.js)
    this.disposers.push(watchShell(kernelOf(model)));
    const days = Number(model.get("pending_max_age_days") ?? 30);
    this.store
      .sweep({ maxAgeMs: days * 86400000 }) // batches too old to replay (any label map)
      .catch(() => {})
      .then(() => this.store.load())
      .then((batches) => {
        if (this.disposed) return;
        this.queue.adopt(batches);
        this.loaded = true;
        if (this.conn.online) this.queue.replay();
        this.status.update();
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
    this.status.update();
  }

  /** The kernel answered (first welcome, or back after being offline): replay, refetch. */
  onOnline({ labelmapId, first }) {
    if (labelmapId !== undefined && labelmapId !== this.labelmapId) {
      this.status.showError(
        `the kernel's label map ${labelmapId} is not this view's ${this.labelmapId}: re-run the cell`,
      );
      return;
    }
    if (!first) {
      this.client.retry(); // replies to requests made while offline were lost
      this.modes.retry();
    }
    if (this.loaded) this.queue.replay();
    this.status.update();
  }

  // -- traits ----------------------------------------------------------------------------------
  setTrait(name, value) {
    this.model.set(name, value);
    this.model.save_changes();
  }

  /**
   * Read traits into the view (see widget/traits.js).
   * @param {string|null} name the changed trait, or null for all
   */
  syncFromModel(name = null) {
    const { model, view, queue, persist } = this;
    const layout = () => this.layout();
    const fixedAxis = this.modes?.mainAxis ?? null;
    syncFromModel(
      { model, view, queue, persist, sentPosition: this.nav.sentPosition, layout, fixedAxis },
      name,
    );
    this.tools?.syncPlane(); // a polygon stays on its own slice
    this.modes?.sync(name);
  }

  layout() {
    const width = this.ui.wrap.clientWidth || 640;
    const height = this.model.get("height") ?? 480;
    if (this.modes?.layout(width, height)) return;
    this.view.resize(width, height);
  }

  // -- actions from input --------------------------------------------------------------------
  /** @returns {import("../ui/input.js").Actions} what input does in this view */
  actions() {
    const nav = this.nav;
    return {
      tool: () => this.model.get("tool") ?? "brush",
      hover: (x, y) => {
        this.view.set({ cursor: x === null ? null : { x, y } });
        this.status.update();
      },
      strokeStart: (x, y) => this.stroke.start(x, y),
      strokeMove: (x, y) => this.stroke.move(x, y),
      strokeEnd: () => this.stroke.end(),
      panBy: (dx, dy) => nav.panBy(dx, dy),
      panEnd: () => nav.pushView(true),
      stepSlice: (n) => nav.stepSlice(n),
      zoomBy: (factor, x, y) => nav.zoomBy(factor, x, y),
      setTool: (t) => this.setTrait("tool", t),
      radiusBy: (d) =>
        this.setTrait("brush_radius", Math.max(0, Math.min(256, (this.model.get("brush_radius") ?? 5) + d))),
      command: (name) => this.command(name),
      toolClick: (x, y) => this.tools.click(x, y),
      pick: (x, y) => this.tools.pick(x, y),
      act: (name) => this.tools.act(name),
      click: (x, y) => {
        if (this.modes.mode !== "ortho") return false; // (a shift+click paints in "2d")
        const p = this.view.voxelAt(x, y);
        if (!this.view.inside(p)) return true;
        this.nav.sentPosition = p;
        this.setTrait("position", p);
        return true;
      },
    };
  }

  /** Undo or redo (a stroke in progress ends first). */
  command(name) {
    if (this.stroke.active) this.stroke.end();
    this.commands.run(name);
  }

  // -- notices from the parts ------------------------------------------------------------------
  onTiles(prefetchOnly = false) {
    if (!prefetchOnly) this.view.invalidate(); // planes not shown need no redraw
    this.status.soon();
  }

  onEdit(e) {
    const status = this.status;
    if (e.kind === "reject") status.showError(`edit rejected: ${e.error}`);
    if (e.kind === "retry") {
      this.retryError = `${e.error} (kept, retrying)`;
      status.showError(this.retryError);
    }
    if (e.kind === "ack" && this.retryError && status.error === this.retryError) {
      // the kernel saves again: the "not saved" error is over once no batch awaits a retry
      if (!this.queue.store.all().some((b) => b.retry)) {
        status.error = this.retryError = null;
        status.flash("saved again");
      }
    }
    this.view.invalidate();
    this.modes?.invalidate();
    this.status.update();
  }

  /** Empty the persistent chunk cache (Python's clear_browser_cache() or the toolbar button). */
  clearCache() {
    this.persist
      .clear()
      .then(() => this.status.flash("browser cache cleared"))
      .catch((err) => this.status.showError(`clearing the browser cache failed: ${err.message}`));
  }

  dispose() {
    if (this.stroke.active) this.stroke.end();
    this.queue.flush(); // stored in IndexedDB (and sent if still online)
    this.disposed = true;
    this.sync.dispose();
    this.nav.dispose();
    this.status.dispose();
    this.client.cancelAll();
    this.modes.dispose();
    this.view.dispose();
    for (const f of this.disposers.reverse()) f();
    this.ui.root.remove();
  }
}
