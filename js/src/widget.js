/**
 * anywidget entry point: one 2D slice view of a VoxWidget model per `render`.
 *
 * Each `render` builds its own view, chunk client and edit queue (widget/voxview.js); several views
 * of one model each work (kernel replies are routed by the request/batch ids each view made;
 * `chunks.changed` goes to all). Only the public anywidget model API is used:
 * get/set/save_changes/send/on/off.
 *
 * TEST HOOKS (stable; used by the browser tests in tests/browser/): `canvas.voxwidget` on the
 * canvas of class `voxwidget-canvas`, and the status line classes `voxwidget-status`,
 * `voxwidget-sync`, `voxwidget-warn`, are documented in widget/hooks.js.
 *
 * The source, by folder (a module imports only from its own folder or the ones above it here):
 * - core/: geometry and values every part shares (chunk grid, levels of detail, brush, label
 *   colours, dtypes);
 * - store/: what the browser keeps (the memory tile cache, IndexedDB: the persistent chunk cache
 *   and its write policy, the pending-edit journal);
 * - net/: the kernel connection (protocol, heartbeat, chunk client with its requests and replies,
 *   tile decoding, the edit queue and its batches);
 * - views/: what draws the volume (the 2D slice view, its mosaics and pixel composition);
 * - ui/: the DOM, toolbar, pointer and key input, status line;
 * - widget/: one view's wiring (VoxView) and controllers (traits, navigation, painting, commands,
 *   message routing, sync_status, test hooks).
 * @module widget
 */

import { VoxView } from "./widget/voxview.js";

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
