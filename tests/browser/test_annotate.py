"""The walking skeleton end to end: the quickstart notebook in a real JupyterLab + headless Chromium.

Paint with the mouse, erase, and edit from Python; check the kernel's label map against the brush
geometry along the path, and the canvas against the hashed label colour.
"""

from __future__ import annotations

import json
import pathlib
import shutil

import numpy as np
import pytest

from voxwidget.colors import label_rgb

from .widget_hooks import CANVAS, hook, wait_view_idle

NOTEBOOK = pathlib.Path(__file__).parents[2] / "notebooks" / "quickstart.ipynb"
Z = 48  # the quickstart opens on the middle z slice of the 96-deep demo volume
OUTER = 0.51  # painted voxels lie within radius + 0.5 of the path
INNER = 0.75  # voxels within radius - 0.75 of the path are always covered (0.71 = half a diagonal step)

pytestmark = pytest.mark.browser


def stroke(lab, voxels: list[tuple[int, int, int]], steps: int = 25) -> None:
    """Press at the first voxel, move through the others in ``steps`` pointer events each, release."""
    mouse = lab.page.mouse
    lab.output_box(CANVAS)  # scrolls the canvas into view, so the client coordinates are on screen
    pts = [hook(lab, "voxelToClient", list(v)) for v in voxels]
    mouse.move(pts[0]["x"], pts[0]["y"])
    mouse.down()
    for p in pts[1:]:
        mouse.move(p["x"], p["y"], steps=steps)
    mouse.up()


def segment_distance(points: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance of each (y, x) point to the segment a–b."""
    ab = b - a
    t = np.clip(((points - a) @ ab) / float(ab @ ab), 0, 1)
    return np.linalg.norm(points - (a + t[:, None] * ab), axis=1)


def labelled(lab, value: int) -> np.ndarray:
    out = lab.kernel_exec(f"import json; print(json.dumps(np.argwhere(w.to_numpy() == {value}).tolist()))")
    return np.array(json.loads(out), dtype=int).reshape(-1, 3)


def canvas_rgb_at(lab, voxel: tuple[int, int, int]) -> tuple[int, int, int]:
    p = hook(lab, "voxelToClient", list(voxel))
    box = lab.output_box(CANVAS)
    w, h, data = lab.canvas_pixels(CANVAS)
    x = int((p["x"] - box["x"]) * w / box["width"])
    y = int((p["y"] - box["y"]) * h / box["height"])
    i = 4 * (y * w + x)
    return tuple(data[i : i + 3])


def test_paint_erase_and_python_edits_round_trip(lab_page, lab_root):
    lab = lab_page
    shutil.copy(NOTEBOOK, lab_root / "quickstart.ipynb")
    lab.open_notebook("quickstart.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)
    radius = lab.kernel_eval_json("w.brush_radius")
    assert radius == 4 and lab.kernel_eval_json("w.label") == 3  # set by the notebook

    # -- paint a diagonal stroke with the mouse -------------------------------------------------
    a, b = (Z, 100, 60), (Z, 150, 160)
    stroke(lab, [a, b])
    wait_view_idle(lab)
    painted = labelled(lab, 3)
    assert len(painted) > 0, "no voxel of label 3 reached the kernel"
    assert set(painted[:, 0]) == {Z}, f"paint leaked off slice {Z}: {sorted(set(painted[:, 0]))}"
    yx = painted[:, 1:].astype(float)
    d = segment_distance(yx, np.array(a[1:], float), np.array(b[1:], float))
    # stamps sit on integer points at most 0.5 voxel off the segment (DDA): exact bounds, so a brush
    # one voxel too big or too small fails
    assert d.max() <= radius + OUTER, f"voxel {painted[d.argmax()].tolist()} is {d.max():.1f} from the path"
    grid = np.argwhere(np.ones((192, 192), bool)).astype(float)
    inner = grid[segment_distance(grid, np.array(a[1:], float), np.array(b[1:], float)) <= radius - INNER]
    missing = {tuple(p) for p in inner.astype(int)} - {tuple(p) for p in painted[:, 1:]}
    assert not missing, (
        f"{len(missing)} voxels within the brush along the path are unpainted, e.g. {sorted(missing)[:3]}"
    )

    # -- erase across the middle of the stroke -----------------------------------------------------
    lab.kernel_exec("w.tool = 'erase'")
    lab.wait_for_js("() => true", timeout=1)
    e0, e1 = (Z, 140, 90), (Z, 110, 130)
    stroke(lab, [e0, e1])
    wait_view_idle(lab)
    after = labelled(lab, 3)
    d_erase = segment_distance(after[:, 1:].astype(float), np.array(e0[1:], float), np.array(e1[1:], float))
    assert d_erase.min() > radius - INNER, "label 3 survives inside the eraser's path"
    kept = {tuple(p) for p in painted[d_erase_all(painted, e0, e1) > radius + OUTER]}
    assert kept <= {tuple(p) for p in after}, "the eraser removed voxels away from its path"
    assert len(after) < len(painted)

    # -- Python edits show on the canvas ---------------------------------------------------------
    lab.kernel_exec("w.opacity = 1.0\nw.labels[48, 10:20, 10:30] = 5")
    target = (Z, 15, 20)
    want = label_rgb(5)
    lab_wait = lab.wait_for_js(
        "() => document.querySelector('.voxwidget-canvas').voxwidget.state().idle", timeout=30
    )
    del lab_wait
    got = None
    for _ in range(50):
        got = canvas_rgb_at(lab, target)
        if all(abs(g - w) <= 2 for g, w in zip(got, want, strict=True)):
            break
        lab.page.wait_for_timeout(100)
    assert got is not None and all(abs(g - w) <= 2 for g, w in zip(got, want, strict=True)), (got, want)
    assert canvas_rgb_at(lab, (Z, 15, 40)) != got  # outside the rectangle: no label 5 there


def d_erase_all(points: np.ndarray, e0, e1) -> np.ndarray:
    return segment_distance(points[:, 1:].astype(float), np.array(e0[1:], float), np.array(e1[1:], float))
