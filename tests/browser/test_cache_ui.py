"""The toolbar's "clear cache" button empties the browser's persistent chunk cache and says so."""

from __future__ import annotations

import json

import pytest

from .jupyter import wait_until, write_notebook
from .widget_hooks import CANVAS, hook, wait_view_idle

pytestmark = pytest.mark.browser


def cache_stats(lab) -> dict:
    return hook(lab, "state")["stats"]["cache"]


def test_clear_cache_button_empties_the_browser_cache(lab_page, lab_root):
    lab = lab_page
    write_notebook(
        lab_root / "cache.ipynb",
        ["from voxwidget import VoxWidget\nfrom voxwidget.data import cells\nw = VoxWidget(cells())\nw"],
    )
    lab.open_notebook("cache.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)
    sent = json.loads(lab.kernel_exec("import json; print(json.dumps(w.stream_stats))"))
    assert sent["tiles"] > 0
    wait_until(lambda: cache_stats(lab)["bytes"] > 0, 15, what="tiles written to the browser cache")

    lab.output_locator(".voxwidget-clear-cache").click()
    wait_until(lambda: cache_stats(lab)["bytes"] == 0, 10, what="cache emptied by the button")
    sync = lab.output_locator(".voxwidget-sync")
    wait_until(lambda: sync.inner_text() == "browser cache cleared", 3, what="the status line says so")
    # a new view of the same data finds nothing in the cache: every tile comes from the kernel
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)
    again = json.loads(lab.kernel_exec("import json; print(json.dumps(w.stream_stats))"))
    assert hook(lab, "state")["stats"]["fromCache"] == 0
    assert again["bytes"] > 0 and again["unchanged"] == 0, again
