"""The 3D view shows what the slice views show, in a real JupyterLab + headless Chromium (WebGL2
through SwiftShader), measured on its pixels:

* **hidden labels, any number**: 41 cubes of distinct ids painted from Python; with 500 ids hidden
  (40 of the cubes' among them, and ids above 2**32) none of the 40 shows, the 41st does (the
  shader once honoured the first 32 ids only).
* **anisotropic voxels**: a cube of 16³ voxels with ``voxel_size`` (4, 1, 1) seen along x and
  along y from Python-set cameras is four times as tall (z) as it is wide, in pixels; along z it
  is square.
* **a stroke shows in 3D before its ack**: with the kernel busy in a cell (widget comms on the
  main shell, so no reply can arrive), a stroke painted in a slice view of ``"ortho"`` shows in the
  3D view before the cell ends, and stays after the ack; a stroke the kernel rejects shows, then
  leaves the 3D view once the reject arrives.
"""

from __future__ import annotations

import numpy as np
import pytest

from voxwidget.colors import label_rgb

from .jupyter import wait_until, write_notebook
from .test_liveness import KERNEL
from .test_view3d import C3D, SLICES, hook3d, state3d, wait_3d_idle

pytestmark = pytest.mark.browser

IMPORTS = (
    "import numpy as np\nfrom voxwidget import VoxWidget\nfrom voxwidget.multiscale import open_image\n"
    "from voxwidget.colors import label_rgb\n"
)


def near(rgb, want, tol: int = 30) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb[:3], want, strict=True))


def pixels(lab) -> np.ndarray:
    """The 3D canvas as an (h, w, 3) array."""
    w, h, data = lab.canvas_pixels(C3D)
    return np.frombuffer(data, np.uint8).reshape(h, w, 4)[..., :3].astype(int)


def coloured(img: np.ndarray) -> np.ndarray:
    """Pixels in a colour (the cubes' colours are far from grey; the outline is grey)."""
    return np.ptp(img, axis=2) > 60


def set_camera(lab, position, target, up, fov: float = 20.0) -> None:
    frames = state3d(lab)["frames"]
    cam = {"position": list(position), "target": list(target), "up": list(up), "fov": fov}
    lab.kernel_exec(f"w.camera = {cam!r}")
    wait_until(lambda: state3d(lab)["frames"] > frames, 20, what="a frame after the camera change")
    wait_3d_idle(lab)


# -- hidden labels ------------------------------------------------------------------------------

CUBES = (
    "ids = [i for i in range(1000, 3000) if np.ptp(label_rgb(i)) > 90][:41]\n"
    "lab = np.zeros((96, 96, 96), np.uint64)\n"
    "centres = []\n"
    "for n, i in enumerate(ids):\n"
    "    y, x = 4 + 13 * (n // 7), 4 + 13 * (n % 7)\n"
    "    lab[44:52, y:y + 8, x:x + 8] = i\n"
    "    centres.append([48, y + 4, x + 4])\n"
    "w = VoxWidget(np.zeros((96, 96, 96), np.uint8), chunks=(32, 32, 32), label_dtype='uint64',"
    " view='3d', height=420, opacity=1.0, slice_planes=False)\n"
    "w.labels[:] = lab\nw"
)


def test_hidden_labels_beyond_32_are_all_hidden_in_3d(lab_page, lab_root):
    lab = lab_page
    write_notebook(lab_root / "hide3d.ipynb", [IMPORTS, CUBES])
    lab.open_notebook("hide3d.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(C3D, timeout=60)
    ids = lab.kernel_eval_json("ids")
    centres = lab.kernel_eval_json("centres")
    assert len(ids) == 41
    # straight up z onto the cubes (they lie side by side in one z slab)
    set_camera(lab, [48, 48, -260], [48, 48, 48], [0, -1, 0])

    def colours():
        out = []
        for c in centres:
            p = hook3d(lab, "voxelToClient", c)
            out.append(hook3d(lab, "pixel", p["x"], p["y"]))
        return out

    shown = wait_until(
        lambda: (px := colours()) and all(near(p, label_rgb(i)) for p, i in zip(px, ids, strict=True)) and px,
        60,
        what="every cube in its colour",
    )
    assert shown
    lit = coloured(pixels(lab)).mean()
    # 500 hidden ids: the first 40 cubes', ids nowhere in the volume, and uint64 ids above 2**32
    hidden = ids[:40] + list(range(5000, 5400)) + [2**40 + k for k in range(60)]
    lab.kernel_exec(f"w.hidden_labels = {hidden!r}")
    last = {}

    def hidden_ok() -> bool:
        px = last["px"] = colours()
        return all(max(p[:3]) < 40 for p in px[:40]) and near(px[40], label_rgb(ids[40]))

    try:
        wait_until(hidden_ok, 30, what="40 cubes hidden, the 41st shown")
    except Exception:
        showing = [i for i, p in zip(ids[:40], last["px"][:40], strict=True) if max(p[:3]) >= 40]
        raise AssertionError(
            f"hidden cubes still drawn in 3D: {showing} ({len(showing)} of 40); the 41st: {last['px'][40]}"
        ) from None
    img = pixels(lab)
    # no colour but the one visible cube's (one of 41 cubes' area, with margin for its edges)
    assert coloured(img).mean() < lit / 41 * 2, "more than one cube's area is drawn"
    for i in ids[:40]:
        d = np.abs(img - np.array(label_rgb(i))).max(axis=2)
        assert (d <= 12).sum() <= 3, f"label {i} is hidden but its colour shows in the 3D view"
    # shown again when no longer hidden
    lab.kernel_exec("w.hidden_labels = []")
    wait_until(
        lambda: all(near(p, label_rgb(i)) for p, i in zip(colours(), ids, strict=True)), 30, what="all shown"
    )


# -- anisotropic voxels -------------------------------------------------------------------------

ANISO = (
    "lab = np.zeros((32, 96, 96), np.uint32)\n"
    "lab[8:24, 40:56, 40:56] = 5  # 16 voxels a side: 64 x 16 x 16 in physical units\n"
    "lab[26:28, 10:18, 10:18] = 9  # 2 x 8 x 8 voxels: a cube of 8 in physical units\n"
    "w = VoxWidget(open_image(np.zeros((32, 96, 96), np.uint8), voxel_size=(4, 1, 1)), lab,"
    " chunks=(16, 32, 32), view='3d', height=480, opacity=1.0, slice_planes=False)\nw"
)


def extent(lab, rgb) -> tuple[int, int]:
    """(rows, columns) of the 3D canvas's pixels in colour ``rgb``."""
    img = pixels(lab)
    mask = np.abs(img - np.array(rgb)).max(axis=2) <= 30
    assert mask.sum() > 20, "the cube is not in the picture"
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


def test_anisotropic_voxels_render_with_physical_proportions(lab_page, lab_root):
    lab = lab_page
    write_notebook(lab_root / "aniso.ipynb", [IMPORTS, ANISO])
    lab.open_notebook("aniso.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(C3D, timeout=60)
    assert lab.kernel_eval_json("w.voxel_size") == [4.0, 1.0, 1.0]
    # world units (x, y, z): the volume is 96 x 96 x 128, its centre (48, 48, 64)
    c = [48, 48, 64]
    views = {
        "along x": ([c[0] + 500, c[1], c[2]], [0, 0, 1], 4.0),  # screen: y across, z up
        "along y": ([c[0], c[1] - 500, c[2]], [0, 0, 1], 4.0),  # screen: x across, z up
        "along z": ([c[0], c[1], c[2] - 500], [0, -1, 0], 1.0),  # screen: x across, y down
    }
    got = {}
    for name, (pos, up, want) in views.items():
        set_camera(lab, pos, c, up, fov=16)
        rows, cols = wait_until(lambda: extent(lab, label_rgb(5)), 30, what=f"the cube {name}")
        got[name] = (rows, cols, rows / cols)
        # a cube of 16 voxels at (4, 1, 1) is 64 tall and 16 wide: 4; ignoring voxel_size (or
        # applying it to another axis) gives 1 or 1/4
        assert abs(rows / cols - want) <= 0.15 * want, f"{name}: {rows} x {cols} px, want ratio {want}: {got}"
        # the CPU side agrees: the cube's centre projects onto its colour and a click there picks it
        p = hook3d(lab, "voxelToClient", [16, 48, 48])
        assert near(hook3d(lab, "pixel", p["x"], p["y"]), label_rgb(5)), name
        hit = hook3d(lab, "pick", p["x"], p["y"])
        assert hit and hit["label"] == "5", (name, hit)
        z, y, x = hit["voxel"]
        assert 8 <= z < 24 and 40 <= y < 56 and 40 <= x < 56, (name, hit)

    # a physical cube (2 x 8 x 8 voxels) is as opaque seen along z (2 voxels deep) as along x (8):
    # label opacity is per physical length, not per voxel crossed
    lab.kernel_exec("w.opacity = 0.3")
    small = {}
    for name, pos, up in (
        ("along z", [14, 14, -500], [0, -1, 0]),
        ("along x", [500, 14, 108], [0, 0, 1]),
    ):
        set_camera(lab, pos, [14, 14, 108], up, fov=8)
        small[name] = wait_until(lambda: brightness(lab, label_rgb(9)), 30, what=f"the small cube {name}")
    a, b = small["along z"], small["along x"]
    assert abs(a - b) <= 0.12 * max(a, b), f"the physical cube's brightness differs by view axis: {small}"


def brightness(lab, rgb) -> float:
    """Mean brightness (0 … 1 of the label's colour) of the middle of the coloured blob in hue ``rgb``."""
    img = pixels(lab)
    c = np.array(rgb, float)
    # pixels whose colour is a multiple of rgb (alpha times the colour over black)
    scale = (img * c).sum(axis=2) / (c * c).sum()
    hue = np.abs(img - scale[..., None] * c).max(axis=2) <= 12
    mask = hue & (scale > 0.15)
    if mask.sum() < 30:
        return 0.0
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    r0, r1 = rows[0] + (rows[-1] - rows[0]) // 4, rows[-1] - (rows[-1] - rows[0]) // 4
    c0, c1 = cols[0] + (cols[-1] - cols[0]) // 4, cols[-1] - (cols[-1] - cols[0]) // 4
    return float(scale[r0 : r1 + 1, c0 : c1 + 1].mean())


# -- a stroke in 3D before its ack ----------------------------------------------------------------

ORTHO = (
    "w = VoxWidget(np.zeros((96, 96, 96), np.uint8), chunks=(32, 32, 32), view='ortho', height=640,"
    " label=5, brush_radius=3, opacity=1.0, slice_planes=False)\nw"
)
# the kernel rejects the next batches: their `dtype` is garbled on the way in, so the endpoint's own
# validation refuses them (`edits.reject`, nothing applied), as it refuses any invalid batch
GARBLE = """
_handle = w._endpoint.handle
def _garble(content, buffers=()):
    if isinstance(content, dict) and content.get("kind") == "edits.apply":
        content = {**content, "dtype": "uint16"}
    return _handle(content, buffers)
w._endpoint.handle = _garble
"""
LONG = "() => window.__vwLong"


def busy_cell(lab, release) -> None:
    """Run a cell that keeps the kernel busy until file ``release`` exists (60 s at most), not
    waiting for it; ``window.__vwLong`` turns true when it ends."""
    code = (
        "import os, time\n_t0 = time.time()\n"
        f"while not os.path.exists({str(release)!r}) and time.time() - _t0 < 60:\n    time.sleep(0.05)"
    )
    lab.page.evaluate(
        f"""(code) => {{
          window.__vwLong = false;
          {KERNEL}.requestExecute({{code}}).done.then(() => {{ window.__vwLong = true; }});
        }}""",
        code,
    )
    lab.wait_for_js(f"() => {KERNEL}.status === 'busy'", timeout=10)


MAIN_SHELL = "() => { window.jupyterapp.serviceManager.kernels.commsOverSubshells = 'disabled'; }"


def drag(lab, view, a, b) -> None:
    """A stroke in slice view ``view`` from voxel ``a`` to ``b``."""
    pa = view.evaluate("(c, v) => c.voxwidget.voxelToClient(v)", a)
    pb = view.evaluate("(c, v) => c.voxwidget.voxelToClient(v)", b)
    lab.page.mouse.move(pa["x"], pa["y"])
    lab.page.mouse.down()
    lab.page.mouse.move(pb["x"], pb["y"], steps=12)
    lab.page.mouse.up()


def pixel_at(lab, voxel) -> list[int]:
    p = hook3d(lab, "voxelToClient", voxel)
    return hook3d(lab, "pixel", p["x"], p["y"])


def test_a_stroke_shows_in_3d_before_its_ack_and_a_rejected_one_leaves(lab_page, lab_root):
    lab = lab_page
    write_notebook(lab_root / "paint3d.ipynb", [IMPORTS, ORTHO])
    lab.open_notebook("paint3d.ipynb")
    # widget comms on the kernel's main shell (as in front ends without subshells), set before the
    # widget's comm opens: while a cell runs, no edit is applied and no ack can come back
    lab.page.evaluate(MAIN_SHELL)
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(C3D, timeout=60)
    slices = lab.output_locator(SLICES)
    wait_until(lambda: slices.count() == 3, 30, what="three slice views")
    wait_until(
        lambda: all(slices.nth(i).evaluate("(c) => c.voxwidget.state().shown") for i in range(3)),
        60,
        what="slice views drawn",
    )
    set_camera(lab, [48, -400, 48], [48, 48, 48], [0, 0, -1])  # along y: the y view's plane face on
    assert state3d(lab)["plan"]["target"] == 0, "the 3D view should draw level-0 bricks here"
    pending = "(c) => c.voxwidget.state().pendingBatches"

    # -- a stroke in the y view shows in 3D while the kernel is busy, and stays after the ack --
    spot = [30, 48, 45]
    assert max(pixel_at(lab, spot)[:3]) < 40, "the volume is empty: black"
    busy_cell(lab, lab_root / "release1")
    drag(lab, slices.nth(1), [30, 48, 30], [30, 48, 60])
    wait_until(lambda: near(pixel_at(lab, spot), label_rgb(5)), 10, what="the stroke in 3D before its ack")
    assert lab.page.evaluate(LONG) is False, "the cell ended: the ack may have come first"
    assert slices.nth(0).evaluate(pending) >= 1, "no batch pending: it was acknowledged"
    (lab_root / "release1").touch()
    lab.wait_for_js("() => window.__vwLong === true", timeout=30)
    wait_until(lambda: slices.nth(0).evaluate(pending) == 0, 30, what="the stroke acknowledged")
    assert lab.kernel_eval_json("sorted({int(y) for y in np.argwhere(w.to_numpy() == 5)[:, 1]})") == [48]
    wait_3d_idle(lab)
    assert near(pixel_at(lab, spot), label_rgb(5)), "the acknowledged stroke left the 3D view"

    # -- a stroke the kernel rejects (a 3D ball brush in the x view) shows, then leaves -------
    lab.kernel_exec(GARBLE + "w.label = 7\nw.brush_dims = 3")
    lab.wait_for_js("() => document.querySelector('.voxwidget-label').value === '7'", timeout=10)
    spot = [60, 45, 48]
    assert max(pixel_at(lab, spot)[:3]) < 40
    busy_cell(lab, lab_root / "release2")
    drag(lab, slices.nth(2), [60, 30, 48], [60, 60, 48])
    wait_until(
        lambda: near(pixel_at(lab, spot), label_rgb(7)), 10, what="the ball stroke in 3D before its answer"
    )
    assert lab.page.evaluate(LONG) is False, "the cell ended: the reject may have come first"
    (lab_root / "release2").touch()
    lab.wait_for_js("() => window.__vwLong === true", timeout=30)
    wait_until(lambda: max(pixel_at(lab, spot)[:3]) < 40, 30, what="the rejected stroke gone from 3D")
    assert "edit rejected" in lab.output_locator(".voxwidget-status").first.inner_text()
    assert lab.kernel_eval_json("int((w.to_numpy() == 7).sum())") == 0
    lab.kernel_exec("w._endpoint.handle = _handle")
