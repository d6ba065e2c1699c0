"""The widget in JupyterLab and in Jupyter Notebook 7 (issue 15 item 9): nothing JupyterLab-only.

The same scenario runs in both front ends (the ``app_page`` fixture): open the widget, paint a
stroke with the mouse, check the kernel's array voxel for voxel against what the view painted,
check the view's keys (slice step, undo) reach the view and not the notebook's command-mode
shortcuts, check the quiet liveness reads the kernel's own status (a running cell shows as "busy"), save,
reload the page and check the view comes back from the live kernel model holding the paint and
drawing it in the label's colour.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxwidget.colors import label_rgb

from .jupyter import write_notebook
from .test_annotate import canvas_rgb_at, stroke
from .widget_hooks import CANVAS, hook, wait_view_idle

pytestmark = pytest.mark.browser

SHAPE = (48, 96, 128)
Z = SHAPE[0] // 2  # the view opens on the middle z slice
LABEL = 6
CELLS = [
    "#md A markdown cell above the widget's: command-mode ArrowUp would select it",
    "import numpy as np\nfrom voxwidget import VoxWidget\n"
    f"img = (np.arange({SHAPE[0] * SHAPE[1] * SHAPE[2]}).reshape{SHAPE} % 97).astype(np.uint8)\n"
    'w = VoxWidget(img, labels="labels.zarr", chunks=(16, 32, 32), opacity=1.0, brush_radius=2,\n'
    f"              label={LABEL})\n"
    "w",
]
KERNEL = "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"


def sync(lab) -> dict:
    return hook(lab, "state")["sync"]


def wait_saved(lab, what: str, timeout: float = 30) -> None:
    lab.wait_for_js(
        "() => { const c = document.querySelector('.voxwidget-canvas');"
        " const s = c && c.voxwidget && c.voxwidget.state();"
        " return !!s && s.idle && s.sync.state === 'saved' && s.sync.connection === 'online'; }",
        timeout=timeout,
        what=what,
    )


def kernel_voxels(lab, label: int) -> set[tuple[int, int, int]]:
    out = lab.kernel_exec(f"import json; print(json.dumps(np.argwhere(w.to_numpy() == {label}).tolist()))")
    return {tuple(p) for p in json.loads(out)}


def test_paint_reload_redraw(app_page):
    lab = app_page
    write_notebook(lab.base_dir / "hosts.ipynb", CELLS)
    lab.page.add_init_script("globalThis.__voxwidgetRecord = true;")
    lab.open_notebook("hosts.ipynb", prestart_kernel=True)
    assert lab.page.evaluate("() => window.jupyterapp.name") == (
        "Jupyter Notebook" if lab.server.app == "notebook" else "JupyterLab"
    )
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_saved(lab, "the new view saved and online")
    s = sync(lab)
    assert s["quiet"] is True, f"{lab.server.app}: the widget manager does not tell the kernel's status"
    assert s["persistent"] is True, s

    # -- paint with the mouse; the kernel holds exactly what the view painted ----------------------
    a, b = (Z, 30, 20), (Z, 60, 100)
    stroke(lab, [a, b])
    wait_saved(lab, "the stroke saved")
    rec = np.array(hook(lab, "painted"), dtype=np.int64).reshape(-1, 4)
    assert len(rec) > 50 and set(rec[:, 3].tolist()) == {LABEL}, rec[:5]
    want = {tuple(int(c) for c in p) for p in rec[:, :3]}
    got = kernel_voxels(lab, LABEL)
    assert got == want, f"kernel and view differ: {len(got - want)} extra, {len(want - got)} missing"
    assert {p[0] for p in got} == {Z}

    # -- the view's keys reach the view, not the notebook's command-mode shortcuts -----------------
    lab.kernel_exec("w.label = 7")
    lab.wait_for_js("() => document.querySelector('.voxwidget-label').value === '7'", timeout=10)
    stroke(lab, [(Z, 80, 20), (Z, 80, 100)])
    wait_saved(lab, "the second stroke saved")
    assert kernel_voxels(lab, 7)
    active = "(a, nb) => String(nb.content.activeCellIndex)"
    lab.output_locator(".voxwidget-readout").click()  # keyboard focus without a tool acting
    cell_before = lab.wait_for_js(active, timeout=5)
    assert cell_before == "1", cell_before  # the widget's cell
    lab.page.keyboard.press("ArrowUp")  # next slice (command mode: the cell above)
    lab.wait_for_js(
        f"() => document.querySelector('.voxwidget-canvas').voxwidget.view().index === {Z + 1}",
        timeout=10,
        what="ArrowUp stepped the slice",
    )
    lab.page.keyboard.press("ArrowDown")
    lab.page.keyboard.press("Control+z")  # undo the second stroke
    lab.wait_kernel("not (w.to_numpy() == 7).any()", timeout=15)
    wait_saved(lab, "the undo saved")
    assert hook(lab, "view")["index"] == Z
    assert lab.wait_for_js(active, timeout=5) == cell_before
    assert kernel_voxels(lab, LABEL) == want, "the undo touched the first stroke"
    assert len(lab.cells_info()) == len(CELLS)  # no cell undo/cut either

    # -- quiet liveness from the kernel's own status: a running cell is "busy", then online ---------
    lab.page.evaluate(
        f"() => {{ window.__vwLong = false;"
        f" {KERNEL}.requestExecute({{code: 'import time; time.sleep(3)'}}).done"
        f".then(() => {{ window.__vwLong = true; }}); }}"
    )
    lab.wait_for_js(
        "() => document.querySelector('.voxwidget-canvas').voxwidget.state().sync.connection === 'busy'",
        timeout=10,
        what="the view shows the kernel busy while a cell runs",
    )
    assert lab.page.evaluate("() => window.__vwLong") is False
    lab.wait_for_js("() => window.__vwLong === true", timeout=20, what="the long cell ended")
    wait_saved(lab, "online again after the cell")

    # -- save, reload: the view comes back from the live model and draws the paint --------------------
    lab.save()
    lab.reload()
    lab.wait_for_output(CANVAS, timeout=60)
    wait_saved(lab, "the view after the reload saved and online", timeout=60)
    assert kernel_voxels(lab, LABEL) == want, "the paint did not survive the reload in the kernel"
    pts = sorted(want)
    lab.wait_for_js(
        "(args) => document.querySelector('.voxwidget-canvas').voxwidget.labels(args.p)"
        ".every((v) => v === args.v)",
        {"p": [list(p) for p in pts], "v": str(LABEL)},
        timeout=30,
        what="the reloaded view holds the painted labels",
    )
    wait_view_idle(lab)
    colour = label_rgb(LABEL)
    mid = (Z, (a[1] + b[1]) // 2, (a[2] + b[2]) // 2)
    assert mid in want
    rgb = canvas_rgb_at(lab, mid)
    assert all(abs(g - c) <= 2 for g, c in zip(rgb, colour, strict=True)), (rgb, colour)
    assert canvas_rgb_at(lab, (Z, 85, 10)) != rgb  # away from the stroke: not the label colour
