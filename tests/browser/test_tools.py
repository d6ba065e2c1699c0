"""The annotation tools in a real JupyterLab + headless Chromium, each checked against the kernel's
array: the label panel's counts, the picker (alt+click and ``l``), the fill tool (3D, 2D, and the
``fill_max_voxels`` refusal in the status line), new label (``n``), deleting and hiding a label from
the panel; the interpolate button, the polygon tool and the 3D brush."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest

from voxwidget.colors import label_rgb
from voxwidget.labelmap import LabelMap

from .jupyter import wait_until, write_notebook
from .widget_hooks import CANVAS, hook, wait_view_idle

pytestmark = pytest.mark.browser

SHAPE = (32, 96, 96)
SETUP = """
import numpy as np
from voxwidget import VoxWidget
rng = np.random.default_rng(0)
image = (rng.integers(0, 60, (32, 96, 96))).astype(np.uint8)
w = VoxWidget(image, chunks=(16, 32, 32), label_dtype="uint16", height=420, opacity=1.0)
w.position = [16, 48, 48]
w
"""


def open_widget(lab, lab_root, prepare: str) -> None:
    write_notebook(lab_root / "tools.ipynb", [SETUP, prepare])
    lab.open_notebook("tools.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)


def client_xy(lab, voxel) -> tuple[float, float]:
    lab.output_box(CANVAS)  # scrolled into view
    p = hook(lab, "voxelToClient", list(voxel))
    return p["x"], p["y"]


def click(lab, voxel, modifiers=()) -> None:
    x, y = client_xy(lab, voxel)
    kb = lab.page.keyboard
    for m in modifiers:
        kb.down(m)
    try:
        lab.page.mouse.click(x, y)
    finally:
        for m in modifiers:
            kb.up(m)


def kernel_array(lab) -> np.ndarray:
    data = lab.kernel_eval_json("w.to_numpy().ravel().tolist()")
    return np.array(data, np.uint16).reshape(SHAPE)


def panel_counts(lab) -> dict[str, str]:
    return lab.output_locator(".voxwidget-panel").evaluate(
        """(p) => Object.fromEntries([...p.querySelectorAll('.voxwidget-row')].map(
             (r) => [r.dataset.label, r.querySelector('.voxwidget-row-count').textContent]))"""
    )


def panel_name(lab, label: str) -> str:
    return lab.output_locator(f'.voxwidget-row[data-label="{label}"] .voxwidget-row-name').inner_text()


def set_traits(lab, code: str) -> None:
    lab.kernel_exec(code)
    lab.page.wait_for_timeout(150)  # the trait change reaches the view
    wait_view_idle(lab)


def test_panel_picker_fill_new_label_delete_and_hide(lab_page, lab_root):
    lab = lab_page
    prepare = (
        "w.labels[8:24, 20:60, 20:60] = 2\nw.labels[16, 70:80, 70:80] = 5\nw.label_names = {2: 'nucleus'}"
    )
    open_widget(lab, lab_root, prepare)
    box = np.zeros(SHAPE, bool)
    box[8:24, 20:60, 20:60] = True

    # -- the panel lists the ids in use with the kernel's counts ------------------------------
    want = {"2": str(16 * 40 * 40), "5": "100"}
    wait_until(lambda: {k: v for k, v in panel_counts(lab).items() if v != "new"} == want, 15, what="counts")
    assert lab.kernel_eval_json("{str(k): v for k, v in w.labels.label_counts().items() if k}") == {
        "2": 25600,
        "5": 100,
    }
    name = lab.output_locator('.voxwidget-row[data-label="2"] .voxwidget-row-name')
    assert name.inner_text() == "nucleus"
    lab.output_locator('.voxwidget-row[data-label="5"] .voxwidget-row-id').dblclick()
    lab.page.keyboard.type("spot")
    lab.page.keyboard.press("Enter")  # the name goes to label_names; the key is no view key
    lab.wait_kernel("w.label_names == {2: 'nucleus', 5: 'spot'}", timeout=10)
    wait_until(lambda: panel_name(lab, "5") == "spot", 5, what="the new name shown")
    assert lab.kernel_eval_json("w.label") == 5  # the double-click selected the row
    set_traits(lab, "w.label = 1")  # so that the picker below has something to change

    # -- picker: alt+click, and `l` at the cursor -----------------------------------------------
    click(lab, (16, 75, 75), modifiers=["Alt"])
    lab.wait_kernel("w.label == 5", timeout=10)
    x, y = client_xy(lab, (16, 30, 30))
    lab.page.mouse.move(x, y)
    lab.page.keyboard.press("l")
    lab.wait_kernel("w.label == 2", timeout=10)

    # -- fill tool, 3D: the whole box, across chunk borders -------------------------------------
    set_traits(lab, "w.tool = 'fill'; w.label = 7; w.brush_dims = 3")
    click(lab, (16, 30, 30))
    # the first fill in a fresh kernel compiles the numba flood kernels (7 s seen on a loaded machine)
    lab.wait_kernel("int((w.to_numpy() == 7).sum()) > 0", timeout=60)
    arr = kernel_array(lab)
    assert ((arr == 7) == box).all()
    wait_until(
        lambda: panel_counts(lab).get("7") == "25600" and "2" not in panel_counts(lab), 10, what="panel"
    )

    # -- a fill over fill_max_voxels is refused, the status line says so, nothing changes ---------
    set_traits(lab, "w.fill_max_voxels = 100; w.label = 9")
    click(lab, (16, 5, 5))  # the background: far more than 100 voxels
    sync = lab.output_locator(".voxwidget-sync")
    wait_until(lambda: "100" in sync.inner_text() and "error" in sync.inner_text(), 10, what="refusal shown")
    assert (kernel_array(lab) == arr).all()

    # -- fill tool, 2D: only the shown slice's cross-section --------------------------------------
    set_traits(lab, "w.fill_max_voxels = 50_000_000; w.label = 4; w.brush_dims = 2")
    click(lab, (16, 30, 30))
    lab.wait_kernel("int((w.to_numpy() == 4).sum()) > 0", timeout=15)
    arr = kernel_array(lab)
    assert ((arr == 4) == (box & (np.arange(32) == 16)[:, None, None])).all()
    assert int((arr == 7).sum()) == 25600 - 1600

    # -- new label: one more than the largest id in use (7) ----------------------------------------
    lab.page.keyboard.press("n")
    lab.wait_kernel("w.label == 8", timeout=10)

    # -- the panel: delete label 5 (× = replace(5, 0)), select 4, hide it --------------------------
    wait_until(lambda: "5" in panel_counts(lab), 10, what="row 5")
    lab.output_locator('.voxwidget-row[data-label="5"] .voxwidget-row-delete').click()
    lab.wait_kernel("not (w.to_numpy() == 5).any()", timeout=10)
    assert (kernel_array(lab) == np.where(arr == 5, 0, arr)).all()
    lab.output_locator('.voxwidget-row[data-label="4"] .voxwidget-row-id').click()
    lab.wait_kernel("w.label == 4", timeout=10)
    wait_view_idle(lab)
    assert close(canvas_rgb(lab, (16, 40, 40)), label_rgb(4))
    lab.output_locator('.voxwidget-row[data-label="4"] .voxwidget-row-visible').click()
    lab.wait_kernel("w.hidden_labels == [4]", timeout=10)
    wait_until(lambda: not close(canvas_rgb(lab, (16, 40, 40)), label_rgb(4)), 5, what="label 4 hidden")
    lab.output_locator(".voxwidget-only").click()  # only the selected (4) shows, even if hidden
    lab.wait_kernel("w.show_selected_only", timeout=10)
    wait_until(lambda: close(canvas_rgb(lab, (16, 40, 40)), label_rgb(4)), 5, what="selected shows")


def click_focus(lab) -> None:
    """Give the widget the keyboard focus without touching the canvas (no tool acts)."""
    lab.output_locator(".voxwidget-readout").click()


def readme_key_rows() -> list[str]:
    text = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    section = text[text.index("### Tools and keys") :]
    section = section[: section.index("\n#", 1)]
    return [ln for ln in section.splitlines() if ln.startswith("| `")]


def canvas_rgb(lab, voxel) -> tuple[int, int, int]:
    x, y = client_xy(lab, voxel)
    box = lab.output_box(CANVAS)
    w, h, data = lab.canvas_pixels(CANVAS)
    i = 4 * (int((y - box["y"]) * h / box["height"]) * w + int((x - box["x"]) * w / box["width"]))
    return tuple(data[i : i + 3])


def close(a, b, tol: int = 3) -> bool:
    return all(abs(int(p) - int(q)) <= tol for p, q in zip(a, b, strict=True))


def test_interpolate_button_polygon_and_3d_brush(lab_page, lab_root):
    lab = lab_page
    prepare = (
        "w.labels.paint([8, 48, 48], 10, 3, dims=2, axis=0)\n"
        "w.labels.paint([16, 48, 48], 14, 3, dims=2, axis=0)\n"
        "w.label = 3"
    )
    open_widget(lab, lab_root, prepare)
    before = kernel_array(lab)

    # -- `?` shows every tool and key (the rows of README's table), Escape closes it -----------
    click_focus(lab)
    lab.page.keyboard.press("?")
    rows = lab.wait_for_js(
        "() => { const h = document.querySelector('.voxwidget-help');"
        " return h && !h.hidden && h.offsetHeight > 0 && h.querySelectorAll('tr').length; }",
        timeout=5,
        what="help shown",
    )
    assert rows == len(readme_key_rows())
    lab.page.keyboard.press("Escape")
    lab.wait_for_js("() => document.querySelector('.voxwidget-help').hidden", timeout=5, what="help closed")
    ref = LabelMap.from_array(before, chunks=(16, 32, 32))

    # -- interpolate button: the label and the view axis, the kernel's interpolate ------------
    lab.output_locator(".voxwidget-interpolate").click()
    lab.wait_kernel("bool((w.to_numpy()[12] == 3).any())", timeout=20)
    want = ref.interpolate(3, axis=0)
    arr = kernel_array(lab)
    assert want > 0 and (arr == ref.to_numpy()).all()
    lab.page.keyboard.press("Control+z")  # one undo step
    lab.wait_kernel("not (w.to_numpy()[12] == 3).any()", timeout=10)
    ref.undo()

    # -- polygon tool on slice 20: clicks, Enter → fill_polygon ------------------------------------
    set_traits(lab, "w.position = [20, 48, 48]; w.tool = 'polygon'; w.label = 6")
    verts = [(20, 10, 10), (20, 10, 80), (20, 70, 45)]
    for v in verts:
        click(lab, v)
    lab.page.keyboard.press("Enter")
    lab.wait_kernel("bool((w.to_numpy() == 6).any())", timeout=15)
    ref.fill_polygon([[10, 10], [10, 80], [70, 45]], 6, axis=0, index=20)
    assert (kernel_array(lab) == ref.to_numpy()).all()

    # -- 3D brush: a click paints a ball ---------------------------------------------------------
    set_traits(lab, "w.tool = 'brush'; w.brush_dims = 3; w.brush_radius = 3; w.label = 9")
    click(lab, (20, 85, 85))
    lab.wait_kernel("bool((w.to_numpy() == 9).any())", timeout=15)
    wait_view_idle(lab)
    ref.paint([20, 85, 85], 3, 9, dims=3)
    assert (kernel_array(lab) == ref.to_numpy()).all()

    # -- preserve_labels: a brush stroke over label 6 and background paints only the background --
    set_traits(lab, "w.brush_dims = 2; w.brush_radius = 4; w.label = 11; w.preserve_labels = True")
    click(lab, (20, 12, 45))  # on the polygon's top edge: label 6 below, background above
    lab.wait_kernel("bool((w.to_numpy() == 11).any())", timeout=15)
    wait_view_idle(lab)
    ref.paint([20, 12, 45], 4, 11, dims=2, axis=0, preserve_labels=True)
    got = kernel_array(lab)
    assert (got == ref.to_numpy()).all()
    assert (got == 6).sum() == (ref.to_numpy() == 6).sum() > 0
