"""``png = await w.screenshot()`` from a cell, in a real JupyterLab + headless Chromium.

The request goes out over the comm while the cell runs, the view answers with a PNG of its canvas,
and the awaiting cell gets it (ipykernel >= 7.4 dispatches comm messages to a cell that awaits),
with JupyterLab's widget comms over a kernel subshell (its default) and without. The PNG shows what
the canvas shows (a label painted from Python in its hashed colour); an unknown panel gets the
view's error; a blocking wait in a cell gets nothing (why the API is awaited: a blocking
``jupyter-ui-poll`` loop gets nothing either, as ipykernel 7 has no ``do_one_iteration``); the
kernel stays usable.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from voxwidget.colors import label_rgb

from .jupyter import KernelError, write_notebook
from .widget_hooks import CANVAS, hook, wait_view_idle

pytestmark = pytest.mark.browser

CELLS = [
    "import numpy as np\nfrom voxwidget import VoxWidget\n"
    "img = (np.arange(48 * 96 * 128).reshape(48, 96, 128) % 97).astype(np.uint8)\n"
    "w = VoxWidget(img, chunks=(16, 32, 32), opacity=1.0)\nw",
]


def png_rgb(lab, code: str) -> np.ndarray:
    out = lab.kernel_exec(code + "\nimport base64\nprint(base64.b64encode(png).decode())", timeout=60)
    png = base64.b64decode(out.strip().splitlines()[-1])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def canvas_xy(lab, voxel) -> tuple[int, int]:
    p = hook(lab, "voxelToClient", list(voxel))
    box = lab.output_box(CANVAS)
    w, h, _ = lab.canvas_pixels(CANVAS)
    return int((p["x"] - box["x"]) * w / box["width"]), int((p["y"] - box["y"]) * h / box["height"])


def test_awaited_screenshot_is_the_live_canvas(lab_page, lab_root):
    lab = lab_page
    write_notebook(lab_root / "shot.ipynb", CELLS)
    lab.open_notebook("shot.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)

    lab.kernel_exec("w.labels[24, 10:40, 10:60] = 5")
    want = label_rgb(5)
    x, y = canvas_xy(lab, (24, 25, 35))
    for _ in range(100):  # the change notice reaches the view and it redraws
        cw, ch, data = lab.canvas_pixels(CANVAS)
        got = tuple(data[4 * (y * cw + x) : 4 * (y * cw + x) + 3])
        if all(abs(g - v) <= 2 for g, v in zip(got, want, strict=True)):
            break
        lab.page.wait_for_timeout(100)
    wait_view_idle(lab)

    shot = png_rgb(lab, "png = await w.screenshot(timeout=20)")
    cw, ch, data = lab.canvas_pixels(CANVAS)
    canvas = np.frombuffer(data, np.uint8).reshape(ch, cw, 4)[..., :3]
    assert shot.shape == canvas.shape, (shot.shape, canvas.shape)
    assert np.abs(shot[y, x].astype(int) - want).max() <= 2, (shot[y, x], want)
    same = np.mean(np.all(np.abs(shot.astype(int) - canvas) <= 2, axis=-1))
    assert same > 0.99, f"only {same:.1%} of the screenshot's pixels match the canvas"
    ox, oy = canvas_xy(lab, (24, 80, 100))  # outside the painted rectangle: image, not label 5
    assert np.abs(shot[oy, ox].astype(int) - want).max() > 10

    # the panel named explicitly gives the same picture; an unknown panel is the view's error
    shot2 = png_rgb(lab, "png = await w.screenshot('2d', timeout=20)")
    assert shot2.shape == shot.shape
    with pytest.raises(KernelError, match=r'no panel \\?"3d\\?".*2d'):
        lab.kernel_exec("await w.screenshot('3d', timeout=20)", timeout=60)

    # a cell that blocks for the answer gets nothing while it runs (the view answers meanwhile);
    # jupyter-ui-poll's blocking pump gets nothing either on ipykernel 7
    blocked = lab.kernel_exec(
        "import time\nfrom jupyter_ui_poll import run_ui_poll_loop\n"
        "ep = w._endpoint.screenshots\n"
        "_req = ep._ask(None, 5)[1]\n"
        "t0 = time.monotonic()\n"
        "run_ui_poll_loop(lambda: True if _req.done() or time.monotonic() - t0 > 4 else None)\n"
        "print(_req.done())",
        timeout=60,
    )
    assert blocked.strip().splitlines()[-1] == "False"
    assert lab.kernel_eval_json("_req.done()") is True  # the answer came once the cell ended

    # widget comms on the main shell (JupyterLab's commsOverSubshells off): awaiting still works
    lab.page.evaluate("() => { window.jupyterapp.serviceManager.kernels.commsOverSubshells = 'disabled'; }")
    shot3 = png_rgb(lab, "png = await w.screenshot(timeout=20)")
    assert shot3.shape == shot.shape and np.abs(shot3[y, x].astype(int) - want).max() <= 2

    # view="3d": the 3D panel's WebGL canvas is captured; the hidden slice view is not offered
    lab.kernel_exec("w.view = '3d'")
    lab.wait_for_output(".voxwidget-canvas3d", timeout=60)
    lab.page.wait_for_timeout(1500)  # a few frames
    w3, h3, _ = lab.canvas_pixels(".voxwidget-canvas3d")
    shot3d = png_rgb(lab, "png = await w.screenshot('3d', timeout=20)")
    assert shot3d.shape == (h3, w3, 3)
    assert shot3d.reshape(-1, 3).std(axis=0).max() > 1, "the 3D screenshot is blank"
    whole = png_rgb(lab, "png = await w.screenshot(timeout=20)")
    assert whole.shape == shot3d.shape  # only the 3D panel is shown
    with pytest.raises(KernelError, match=r"panel .*2d.* is not shown"):
        lab.kernel_exec("await w.screenshot('2d', timeout=20)", timeout=60)
    lab.kernel_exec("w.view = '2d'")

    # the kernel is idle and answers ordinary cells afterwards; a painted stroke still round-trips
    assert lab.kernel_eval_json("int(w.labels[24, 25, 35])") == 5
