"""Durability seen from the browser (issue 15): a disk that fills up while painting (the kernel
rolls the batches back, the view keeps them pending and retries until space is back), and
``w.discard_pending()`` (the view asks, then drops the unsaved batches or keeps them).

Real JupyterLab, headless Chromium on a persistent profile; the label store of the first test lives
on a 4 MiB tmpfs mounted for the test (needs root; skipped otherwise).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from smallfs import CannotMount, fill, tmpfs_at

from .jupyter import wait_until, write_notebook
from .test_offline import (
    CANVAS,
    KERNEL_HOOKS,
    SETUP_CELL,
    Z,
    assert_same,
    expected_volume,
    kernel_volume,
    painted,
    set_traits,
    stroke,
    sync,
    wait_saved,
    wait_sync,
)

pytestmark = pytest.mark.browser


@pytest.fixture
def tmpfs(lab_root):
    try:
        with tmpfs_at(lab_root / "fs") as fs:
            yield fs
    except CannotMount as e:
        pytest.skip(f"cannot mount a tmpfs ({e})")


def _labels(lab, points) -> list[str]:
    """The label values the view shows at voxels (as the readout's text)."""
    return lab.output_locator(CANVAS).first.evaluate(
        "(c, p) => c.voxwidget.labels(p)", [list(p) for p in points]
    )


def _open(persistent_lab_page_factory, lab_root, widget_cell: str):
    write_notebook(lab_root / "durable.ipynb", [SETUP_CELL, widget_cell])
    lab = persistent_lab_page_factory()
    lab.page.add_init_script("globalThis.__voxwidgetRecord = true;")
    lab.open_notebook("durable.ipynb", prestart_kernel=True)
    lab.kernel_exec(KERNEL_HOOKS)
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    return lab


def test_disk_full_keeps_batches_pending_and_retries(persistent_lab_page_factory, lab_root, tmpfs):
    cell = (
        'w = VoxWidget(image, labels="fs/labels.zarr", chunks=(32, 64, 64), opacity=1.0, brush_radius=12)\nw'
    )
    lab = _open(persistent_lab_page_factory, lab_root, cell)
    wait_saved(lab)
    set_traits(lab, label=4)
    stroke(lab, [(Z, 20, 20), (Z, 20, 60)])
    wait_saved(lab)
    filler = fill(tmpfs)

    set_traits(lab, label=9)
    stroke(lab, [(Z, 70, 30), (Z, 100, 100)])  # big batches: more than a page of journal each
    s = wait_sync(lab, lambda s: s["state"] == "error" and s["pending"] >= 1, "not saved, pending", 30)
    assert "No space left on device" in s["text"] and "retrying" in s["text"]
    # the kernel rolled the batches back (and says why); the view still shows the paint
    status = lab.kernel_eval_json("w.labels.storage_status")
    assert status["state"] == "error" and "No space left" in status["journal_error"]
    assert lab.kernel_eval_json("int((w.to_numpy() == 9).sum())") == 0
    lab.wait_kernel("w.sync_status.get('state') == 'error' and w.sync_status['pending'] >= 1", timeout=10)
    time.sleep(3)  # a retry or two while the disk is still full: still pending, nothing applied
    assert sync(lab)["pending"] >= 1
    assert lab.kernel_eval_json("int((w.to_numpy() == 9).sum())") == 0

    os.unlink(filler)  # space is back: the next retry goes through
    wait_saved(lab, timeout=60)
    want = expected_volume([painted(lab)])
    assert (want == 9).sum() > 500
    assert_same(kernel_volume(lab), want, "kernel after the retries")
    lab.wait_kernel("w.sync_status == {'state': 'saved', 'pending': 0}", timeout=10)
    assert lab.kernel_eval_json("w.labels.storage_status['state']") == "ok"
    assert_same(kernel_volume(lab, "_vw_on_disk(w)"), want, "store reopened from disk")


def test_discard_pending_asks_then_drops_or_keeps(persistent_lab_page_factory, lab_root):
    cell = 'w = VoxWidget(image, labels="labels.zarr", chunks=(32, 64, 64), opacity=1.0, brush_radius=3)\nw'
    lab = _open(persistent_lab_page_factory, lab_root, cell)
    wait_saved(lab)
    lab.kernel_exec("w._vw_tap.apply = False")  # hold batches back: never applied, never acked
    set_traits(lab, label=6)
    stroke(lab, [(Z, 30, 30), (Z, 30, 90)])
    s = wait_sync(lab, lambda s: s["pending"] >= 1 and s["unstored"] == 0, "batches pending")
    n = s["pending"]
    lab.wait_kernel(f"len(w.pending_edits()) == {n}", timeout=10)
    listed = lab.kernel_eval_json("[{**b, 'created': b['created'].timestamp()} for b in w.pending_edits()]")
    p = painted(lab)  # every stamp's voxels (a voxel painted again in a later batch counts again)
    assert len(np.unique(p[:, :3], axis=0)) <= sum(b["voxels"] for b in listed) <= len(p)
    assert all(abs(b["created"] - time.time()) < 120 for b in listed)

    pts = [(Z, 30, 30), (Z, 30, 60), (Z, 30, 90)]
    assert _labels(lab, pts) == ["6"] * len(pts), "the unsaved paint is shown (overlay)"
    banner = lab.output_locator(".voxwidget-discard")
    lab.kernel_exec("w.discard_pending()")
    banner.wait_for(timeout=10_000)
    assert f"Discard {n} unsaved edit batch" in banner.inner_text()
    lab.output_locator(".voxwidget-discard-no").click()  # Keep: nothing changes
    wait_until(lambda: banner.count() == 0, 10, what="banner closed")
    assert sync(lab)["pending"] == n

    lab.kernel_exec("w.discard_pending()")
    banner.wait_for(timeout=10_000)
    lab.output_locator(".voxwidget-discard-yes").click()
    wait_sync(lab, lambda s: s["pending"] == 0, "pending batches dropped", 10)
    lab.wait_kernel("w.pending_edits() == []", timeout=10)
    # gone from IndexedDB too, and the view shows the kernel's (empty) labels again
    counts = lab.page.evaluate(
        """async () => new Promise((resolve) => {
          const r = indexedDB.open('voxwidget-pending');
          r.onsuccess = () => {
            const tx = r.result.transaction('batches', 'readonly');
            const g = tx.objectStore('batches').count();
            g.onsuccess = () => resolve(g.result);
          };
        })"""
    )
    assert counts == 0
    wait_until(
        lambda: _labels(lab, pts) == ["0"] * len(pts),
        20,
        what="the discarded paint reverted in the view",
    )
    assert lab.kernel_eval_json("int(w.to_numpy().any())") == 0
