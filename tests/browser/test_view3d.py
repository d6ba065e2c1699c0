"""The 3D and ortho views in a real JupyterLab + headless Chromium (WebGL2 through SwiftShader).

* ``view="3d"``: the volume renders (not blank); a cube painted from Python appears in its hashed
  label colour where the cube's centre projects; a later edit and an undo show up; setting
  ``camera`` from Python changes the picture and the hook's camera; a click on the cube picks a voxel
  of it into ``position``; the bricks held stay within ``gpu_budget_mb``.
* ``view="ortho"`` (a uint16 image: the float image atlas): the three slice views and the 3D view
  render; a stroke painted in the y view reaches the kernel on that y plane and shows in the 3D
  view; a click with the pan tool in the x view sets ``position``, moves the z view's slice and the
  y view's crosshair.
* Without WebGL2 the 3D panel says so, and the slice views draw and paint.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxwidget.colors import label_rgb

from .jupyter import wait_until, write_notebook

pytestmark = pytest.mark.browser

C3D = ".voxwidget-canvas3d"
SLICES = ".voxwidget-canvas"
CUBE = (slice(40, 60), slice(36, 56), slice(44, 64))
CENTRE = [50, 46, 54]
BIG = 2**40 + 5  # hashed colour (253, 57, 205): far from any grey

SETUP = (
    "import numpy as np\n"
    "from voxwidget import VoxWidget\n"
    "z, y, x = np.mgrid[0:96, 0:96, 0:96]\n"
    "img = (40 + 30 * np.sin(x / 9.0) * np.cos(y / 7.0) + z // 2).astype(np.uint8)\n"
)


def state3d(lab) -> dict:
    return lab.output_locator(C3D).first.evaluate("(c) => c.voxwidget3d.state()")


def hook3d(lab, call: str, *args):
    return lab.output_locator(C3D).first.evaluate(f"(c, a) => c.voxwidget3d.{call}(...a)", list(args))


def wait_3d_idle(lab, timeout: float = 90) -> dict:
    return wait_until(lambda: (s := state3d(lab))["idle"] and s, timeout, what="3D view idle")


def close(rgb, want, tol=20) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb[:3], want, strict=True))


def wait_colour(lab, voxel, want, timeout: float = 60) -> list[int]:
    """Wait until the 3D pixel over ``voxel``'s centre shows ``want``; returns the pixel."""
    last = {}

    def check():
        p = hook3d(lab, "voxelToClient", voxel)
        last["px"] = hook3d(lab, "pixel", p["x"], p["y"])
        return close(last["px"], want)

    try:
        wait_until(check, timeout, what=f"3D pixel over {voxel} in colour {want}")
    except Exception as e:
        raise AssertionError(f"3D pixel over {voxel} is {last.get('px')}, not {want}: {e}") from None
    return last["px"]


def picture(lab) -> bytes:
    return lab.canvas_pixels(C3D)[2]


def test_3d_renders_edits_undo_camera_and_pick(lab_page, lab_root):
    lab = lab_page
    write_notebook(
        lab_root / "v3d.ipynb",
        [
            SETUP,
            "w = VoxWidget(img, chunks=(32, 32, 32), label_dtype='uint64', view='3d', height=360,"
            " contrast_limits=[0, 255])\nw",
        ],
    )
    lab.open_notebook("v3d.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(C3D, timeout=60)
    st = wait_3d_idle(lab)
    assert st["gpuBytes"] <= st["budgetBytes"]
    # frames are drawn by views/drawpolicy.js: loading ones are fast (a longer ray step), and the
    # complete view ends on a full-quality one (idle also waits for the GPU to finish it)
    assert 1 <= st["drawnFrames"] - st["fastFrames"], f"no full-quality frame: {st}"
    w, h, data = lab.canvas_pixels(C3D)
    px = np.frombuffer(data, np.uint8).reshape(h, w, 4)[..., :3]
    assert (px.max(axis=2) > 30).mean() > 0.05, "the 3D view is blank"

    p = hook3d(lab, "voxelToClient", CENTRE)
    assert not close(hook3d(lab, "pixel", p["x"], p["y"]), label_rgb(BIG)), (
        "the colour is there before painting"
    )
    # a cube painted from Python shows in its hashed colour at its projected centre (a uint64 label
    # above 2**32: the shader reads both 32-bit halves and hashes them as the 2D view does)
    lab.kernel_exec(
        f"w.labels[{CUBE[0].start}:{CUBE[0].stop}, {CUBE[1].start}:{CUBE[1].stop}, "
        f"{CUBE[2].start}:{CUBE[2].stop}] = {BIG}"
    )
    wait_colour(lab, CENTRE, label_rgb(BIG))
    uploads = state3d(lab)["uploads"]
    # a later edit, then its undo
    lab.kernel_exec("w.labels[40:60, 36:56, 44:64] = 9")
    wait_colour(lab, CENTRE, label_rgb(9))
    assert state3d(lab)["uploads"] - uploads <= 8, "an edit of one brick's voxels re-uploaded many bricks"
    lab.kernel_exec("w.undo()")
    wait_colour(lab, CENTRE, label_rgb(BIG))

    # show_selected_only with another label selected hides the cube; hidden_labels too
    p = hook3d(lab, "voxelToClient", CENTRE)

    def cube_shown() -> bool:
        return close(hook3d(lab, "pixel", p["x"], p["y"]), label_rgb(BIG))

    lab.kernel_exec("w.label = 3\nw.show_selected_only = True")
    wait_until(lambda: not cube_shown(), 20, what="the cube hidden by show_selected_only")
    lab.kernel_exec(f"w.label = {BIG}")
    wait_until(cube_shown, 20, what="the cube shown: it is the selected label")
    lab.kernel_exec(f"w.show_selected_only = False\nw.hidden_labels = [{BIG}]")
    wait_until(lambda: not cube_shown(), 20, what="the cube hidden by hidden_labels")
    lab.kernel_exec("w.hidden_labels = []")
    wait_until(cube_shown, 20, what="the cube shown again")
    # composite mode draws another picture of the same volume (labels still in their colour)
    mip = picture(lab)
    frames = state3d(lab)["frames"]
    lab.kernel_exec("w.render_mode = 'composite'")
    wait_until(lambda: state3d(lab)["frames"] > frames, 20, what="a composite frame")
    assert picture(lab) != mip

    def magenta() -> bool:  # the image in front absorbs part of it: its hue, not its exact colour
        r, g, b, _ = hook3d(lab, "pixel", p["x"], p["y"])
        return r > g + 40 and b > g + 30

    wait_until(magenta, 30, what="the cube's colour in composite mode")
    lab.kernel_exec("w.render_mode = 'mip'")

    # a click on the cube picks one of its voxels into `position`
    p = hook3d(lab, "voxelToClient", CENTRE)
    lab.page.mouse.click(p["x"], p["y"])
    pos = lab.wait_kernel("w.position if w.position != [48, 48, 48] else None", timeout=20)
    assert all(s.start <= c < s.stop for c, s in zip(pos, CUBE, strict=True)), pos

    # `camera` set from Python changes the picture
    before = picture(lab)
    frames = state3d(lab)["frames"]
    cam = {
        "position": [48.0, 48.0, -150.0],
        "target": [48.0, 48.0, 48.0],
        "up": [0.0, -1.0, 0.0],
        "fov": 30.0,
    }
    lab.kernel_exec(f"w.camera = {json.dumps(cam)}")
    wait_until(lambda: state3d(lab)["frames"] > frames, 20, what="a frame after the camera change")
    wait_3d_idle(lab)
    got = hook3d(lab, "camera")
    assert np.allclose(got["position"], cam["position"]) and got["fov"] == 30
    assert picture(lab) != before, "setting camera did not change the picture"
    # straight down z onto the cube's centre column: its colour is in the middle of the view
    wait_colour(lab, CENTRE, label_rgb(BIG))


def test_ortho_renders_paints_and_shares_position(lab_page, lab_root):
    lab = lab_page
    write_notebook(
        lab_root / "ortho.ipynb",
        [
            SETUP,
            "w = VoxWidget(img.astype(np.uint16) * 100, chunks=(32, 32, 32), view='ortho', height=640,"
            " label=5, brush_radius=3)\nw",
        ],
    )
    lab.open_notebook("ortho.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(C3D, timeout=60)
    slices = lab.output_locator(SLICES)
    wait_until(lambda: slices.count() == 3, 30, what="three slice views")
    axes = [slices.nth(i).evaluate("(c) => c.voxwidget.view().axis") for i in range(3)]
    assert axes == [0, 1, 2]
    wait_until(
        lambda: all(slices.nth(i).evaluate("(c) => c.voxwidget.state().shown") for i in range(3)),
        60,
        what="slice views drawn",
    )
    wait_3d_idle(lab)
    for sel in (C3D,):
        w, h, data = lab.canvas_pixels(sel)
        px = np.frombuffer(data, np.uint8).reshape(h, w, 4)[..., :3]
        assert (px.max(axis=2) > 30).mean() > 0.05, f"{sel} is blank"

    # paint a short stroke in the y view (plane y = 48)
    q = hook3d(lab, "voxelToClient", [30, 48, 45])
    before = hook3d(lab, "pixel", q["x"], q["y"])
    yv = slices.nth(1)
    a = yv.evaluate("(c) => c.voxwidget.voxelToClient([30, 48, 30])")
    b = yv.evaluate("(c) => c.voxwidget.voxelToClient([30, 48, 60])")
    lab.page.mouse.move(a["x"], a["y"])
    lab.page.mouse.down()
    lab.page.mouse.move(b["x"], b["y"], steps=15)
    lab.page.mouse.up()
    painted = lab.wait_kernel("np.argwhere(w.to_numpy() == 5).tolist() or None", timeout=30)
    assert {p[1] for p in painted} == {48}, "the stroke left the y view's plane"
    # the z view (slice 48) shows the stroke's voxels at once (shared edit queue)...
    z_labels = slices.nth(0).evaluate("(c) => c.voxwidget.labels([[48, 48, 45]])")
    assert z_labels == [None] or z_labels == ["0"]  # z = 48 is not painted (stroke is at z = 30)
    # ...and the 3D view shows it: the pixel over it turns towards label 5's colour (the stroke is one
    # voxel thick along y, so the ray crosses it only partly: not the pure colour)
    want = np.array(label_rgb(5))

    def towards():
        now = hook3d(lab, "pixel", q["x"], q["y"])
        return np.abs(np.array(now[:3]) - want).sum() < 0.5 * np.abs(np.array(before[:3]) - want).sum()

    wait_until(towards, 60, what="the stroke in the 3D view")

    # a click with the pan tool in the x view sets position; the z view moves to its z
    lab.kernel_exec("w.tool = 'pan'")
    xv = slices.nth(2)
    c = xv.evaluate("(c) => c.voxwidget.voxelToClient([20, 70, 48])")
    lab.page.mouse.click(c["x"], c["y"])
    pos = lab.wait_kernel("w.position if w.position[0] == 20 else None", timeout=20)
    assert pos == [20, 70, 48]
    wait_until(
        lambda: slices.nth(0).evaluate("(c) => c.voxwidget.view().index") == 20, 10, what="z view at 20"
    )
    assert slices.nth(1).evaluate("(c) => c.voxwidget.view().index") == 70
    # the y view's crosshair: the z plane (blue) crosses at z = 20, the x plane (red) at x = 48
    wait_until(lambda: crosshair_rgba(slices.nth(1), [20, 70, 48])[3] > 0, 10, what="crosshair drawn")
    r, g, b_, a = crosshair_rgba(slices.nth(1), [20, 70, 10])  # on the z line, away from the x line
    assert a > 0 and b_ > r and b_ > g, (r, g, b_, a)
    assert crosshair_rgba(slices.nth(1), [40, 70, 10])[3] == 0, "no line away from the position"


NO_WEBGL2 = """
(() => {
  const orig = HTMLCanvasElement.prototype.getContext;
  HTMLCanvasElement.prototype.getContext = function (type, ...rest) {
    return type === "webgl2" ? null : orig.call(this, type, ...rest);
  };
})();
"""


def test_without_webgl2_the_3d_panel_says_so_and_the_slices_work(lab_page, lab_root):
    lab = lab_page
    lab.page.add_init_script(NO_WEBGL2)
    write_notebook(
        lab_root / "nogl.ipynb", [SETUP, "w = VoxWidget(img, chunks=(32, 32, 32), view='ortho', label=4)\nw"]
    )
    lab.open_notebook("nogl.ipynb")
    lab.run_all_cells(timeout=120)
    msg = lab.wait_for_output(".voxwidget-no3d", timeout=60)
    assert "WebGL2" in msg.inner_text()
    assert lab.output_locator(C3D).count() == 0
    slices = lab.output_locator(SLICES)
    wait_until(lambda: slices.count() == 3, 30, what="three slice views")
    wait_until(
        lambda: all(slices.nth(i).evaluate("(c) => c.voxwidget.state().shown") for i in range(3)),
        60,
        what="slice views drawn",
    )
    # painting still works in a slice view
    zv = slices.nth(0)
    p = zv.evaluate("(c) => c.voxwidget.voxelToClient([48, 30, 30])")
    lab.page.mouse.click(p["x"], p["y"])
    lab.wait_kernel("int(w.to_numpy()[48, 30, 30]) == 4 or None", timeout=30)
    assert "3D: no WebGL2" in lab.output_locator(".voxwidget-status").first.inner_text()


def crosshair_rgba(slice_view, voxel) -> list[int]:
    """The crosshair overlay's pixel over ``voxel``'s centre in one slice view."""
    return slice_view.evaluate(
        """(c, v) => {
          const p = c.voxwidget.voxelToClient(v);
          const o = c.parentElement.querySelector('.voxwidget-crosshair');
          const r = o.getBoundingClientRect();
          const x = Math.floor((p.x - r.left) * o.width / r.width);
          const y = Math.floor((p.y - r.top) * o.height / r.height);
          return Array.from(o.getContext('2d').getImageData(x, y, 1, 1).data);
        }""",
        voxel,
    )
