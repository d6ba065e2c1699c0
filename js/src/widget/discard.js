/**
 * `w.discard_pending()`: the view asks the user before dropping the edit batches this browser holds
 * for the label map (never acknowledged by the kernel: discarding them loses that painting). A
 * banner in the view names how many batches and voxels; "Discard" drops them from IndexedDB and
 * the overlay (their chunks are refetched), "Keep" leaves everything as it was. Either way the
 * choice is noted in the console.
 * @module widget/discard
 */

import { h } from "../ui/dom.js";

/**
 * Show the confirmation banner (one per view; asking again while it is open does nothing).
 * @param {import("./voxview.js").VoxView} vox
 * @returns {HTMLElement|null} the banner, or null when nothing is pending or it is already open
 */
export function askDiscard(vox) {
  const batches = vox.queue.store.all();
  const open = vox.ui.root.querySelector(".voxwidget-discard");
  if (open) return null;
  if (!batches.length && !vox.queue.acc.size) {
    console.info("voxwidget: discard_pending: no unsaved edits are held in this view");
    return null;
  }
  let voxels = 0;
  for (const b of batches) for (const e of b.edits) voxels += e.offsets.length;
  const text = `Discard ${batches.length} unsaved edit batch(es) (${voxels} voxels) kept in this browser for this label map? The kernel never saved them.`;
  const yes = h("button", { class: "voxwidget-discard-yes", type: "button" }, "Discard");
  const no = h("button", { class: "voxwidget-discard-no", type: "button" }, "Keep");
  const banner = h(
    "div",
    { class: "voxwidget-discard", role: "alertdialog", "aria-label": "discard unsaved edits" },
    h("span", {}, text),
    yes,
    no,
  );
  const close = () => banner.remove();
  yes.addEventListener("click", () => {
    close();
    vox.queue.discard().then((n) => {
      console.info(`voxwidget: discarded ${n} unsaved edit batches of label map ${vox.labelmapId}`);
      vox.status.update();
      vox.sync.report();
    });
  });
  no.addEventListener("click", () => {
    close();
    console.info("voxwidget: discard_pending: kept the unsaved edits");
  });
  vox.ui.root.prepend(banner);
  return banner;
}
