/**
 * The test hooks of a view, installed on its canvas.
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
 *     outstanding, no redraw is queued and no trait report (sync_status, position) is due; stats
 *     count kernel messages, tiles and payload bytes this view received; `sync` is
 *     `{state: "saved"|"pending"|"busy"|"offline"|"replaying"|"error", pending, text, connection:
 *     "connecting"|"online"|"busy"|"offline", unstored (batches not yet in IndexedDB), persistent
 *     (IndexedDB in use), loaded (earlier batches read), labelmapId}`;
 *   - `painted() -> number[]`: with `globalThis.__voxwidgetRecord = true` set before the view was
 *     made, every voxel this view painted, in order, flat `[z, y, x, value, ...]` (values as
 *     Numbers);
 *   - `paintedStrokes() -> [stroke, [z, y, x, value, ...]][]`: the same record grouped per paint call,
 *     each with the stroke id its batches carry (`edits.apply` `stroke`), for tests that match
 *     paints against the kernel's batches (bench/soak.py);
 *   - `labels([[z, y, x], ...]) -> (string|null)[]`: the label this view holds for each voxel of
 *     the shown slice (null when its tile is not loaded);
 *   - `state().shown`: every tile of the shown planes arrived and no redraw is queued (prefetch
 *     requests for neighbouring planes, flagged `prefetch: true` in `stats.requests`, may still run);
 *   - `view() -> {axis, index, zoom, rect: {u0, u1, v0, v1}, plan}`: the shown plane, device px
 *     per level-0 voxel, the visible level-0 rectangle and the fetch plan (core/lod.js);
 *   - `heartbeat({pingMs, timeoutMs, busyMs})`: change the heartbeat timing of this view;
 *   - `state().sync.quiet`: the view reads the kernel's own status (quiet liveness, net/connection.js).
 * - in the "ortho" view every slice view's canvas has these hooks (the main one is the z view);
 *   the 3D panel's canvas (class `voxwidget-canvas3d`) has `canvas.voxwidget3d`, documented in
 *   widget/panel3d.js;
 * - the tools: `.voxwidget-interpolate` (button), `.voxwidget-help` (the `?` overlay), the label
 *   panel's elements as ui/labelpanel.js lists them (rows `.voxwidget-row[data-label=<id>]` with
 *   `.voxwidget-row-count`, `.voxwidget-row-visible`, `.voxwidget-row-delete`; `.voxwidget-only`);
 * - the status line has class `voxwidget-status` (its sync part `voxwidget-sync` reads "saved",
 *   "pending N", "offline (N pending)", "replaying N" or the error; `voxwidget-warn` shows when
 *   edits cannot be kept in IndexedDB).
 * @module widget/hooks
 */

import { offsetToLocal } from "../core/grid.js";

/**
 * Install the test hooks of view `vox` on its canvas (`canvas.voxwidget`, see the module doc).
 * @param {import("./voxview.js").VoxView} vox
 * @returns {() => void} remove them
 */
export function installHooks(vox) {
  const canvas = vox.ui.canvas;
  const view = vox.view;
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
      pendingBatches: vox.queue.pendingCount,
      loadingTiles: vox.client.inflight.size,
      idle:
        vox.queue.idle &&
        vox.client.idle &&
        !view.drawPending &&
        !vox.stroke.active &&
        vox.sync.timer === null &&
        !vox.nav.throttle,
      shown: vox.client.shownLoading === 0 && !view.drawPending,
      stats: {
        ...vox.client.stats,
        cache: { ...vox.persist.stats, bytes: vox.persist.bytes },
        draws: view.draws,
        drawMs: view.drawMs,
      },
      sync: {
        ...vox.status.syncState(),
        connection: vox.conn.state,
        quiet: vox.conn.kernel !== null,
        unstored: vox.queue.unstored,
        persistent: vox.store.persistent,
        loaded: vox.loaded,
        labelmapId: vox.labelmapId,
      },
    }),
    painted: () => {
      const out = [];
      const chunks = vox.queue.chunks;
      const local = [0, 0, 0];
      for (const r of vox.queue.record ?? []) {
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
    paintedStrokes: () => {
      const chunks = vox.queue.chunks;
      const local = [0, 0, 0];
      return (vox.queue.record ?? []).map((r) => {
        const flat = [];
        for (const o of r.offsets) {
          offsetToLocal(o, chunks, local);
          flat.push(
            r.key[0] * chunks[0] + local[0],
            r.key[1] * chunks[1] + local[1],
            r.key[2] * chunks[2] + local[2],
            Number(r.value),
          );
        }
        return [r.stroke, flat];
      });
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
    heartbeat: ({ pingMs, timeoutMs, busyMs } = {}) => {
      if (pingMs) vox.conn.pingMs = pingMs;
      if (timeoutMs) vox.conn.timeoutMs = timeoutMs;
      if (busyMs) vox.conn.busyMs = busyMs;
      vox.conn.stop();
      vox.conn.start();
    },
  };
  return () => {
    delete canvas.voxwidget;
  };
}
