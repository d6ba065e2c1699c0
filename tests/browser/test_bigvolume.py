"""Big volumes in a real browser: a 1024³ uint16 OME-Zarr (built by the test, compressible: data in
one 64-slice chunk layer, the rest left to the fill value) scrolled and zoomed.

* Only visible chunks are requested, at the level ``multiscale/lod.py`` chooses for the view's zoom (plus the
  coarsest level as a placeholder; prefetch asks for the same in-plane chunks of up to the next
  ``PREFETCH`` planes, flagged), and the kernel's RSS grows by less than ``RSS_BOUND``.
* With a persistent browser profile, reopening the notebook draws the slice from the browser's
  chunk cache: the kernel sends no tile bytes the second time (every tile answered "unchanged").
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from voxwidget.multiscale.lod import choose_level, visible_chunks

from .jupyter import wait_until, write_notebook
from .widget_hooks import CANVAS, hook, wait_view_idle

pytestmark = pytest.mark.browser

N = 1024
CHUNK = 64
Z0 = N // 2  # data lives in z = Z0 … Z0 + 63 (one chunk layer); the view opens on z = Z0
RSS_BOUND = 512 * 2**20  # kernel RSS growth while browsing (the volume is 2 GiB raw)
LEVELS = 5  # 1024 → 64
PREFETCH = 16  # planes fetched ahead of the shown one at most: 3 at rest, more while scrolling on
# (js/src/widget/navigation.js PREFETCH_AHEAD … PREFETCH_MAX_AHEAD, bounded by bytes in flight in
# js/src/net/requests.js)


def pattern(z, y, x):
    return (((x // 16 + y // 16) % 8) * 1000 + (z % 64) * 10 + 100).astype(np.uint16)


def write_volume(path) -> None:
    """An NGFF 0.4 pyramid of ``LEVELS`` stored levels; only chunks holding data are written."""
    zarr = pytest.importorskip("zarr")
    g = zarr.open_group(path, mode="w", zarr_format=2)
    datasets = []
    for lv in range(LEVELS):
        d = 2**lv
        n = N // d
        arr = g.create_array(
            str(lv),
            shape=(n, n, n),
            chunks=(CHUNK,) * 3,
            dtype="uint16",
            fill_value=0,
            chunk_key_encoding={"name": "v2", "separator": "/"},
            config={"write_empty_chunks": False},
        )
        z0, z1 = Z0 // d, (Z0 + CHUNK) // d
        z, y, x = np.ogrid[z0:z1, 0:n, 0:n]
        arr[z0:z1] = pattern(z * d, y * d, x * d)
        datasets.append({"path": str(lv), "coordinateTransformations": [{"type": "scale", "scale": [d] * 3}]})
    axes = [{"name": a, "type": "space"} for a in "zyx"]
    g.attrs["multiscales"] = [{"version": "0.4", "name": "big", "axes": axes, "datasets": datasets}]


def rss(lab) -> int:
    return int(lab.kernel_exec("print(_rss())").strip())


CELLS = [
    "import numpy as np, resource\n"
    "from voxwidget import VoxWidget\n"
    "def _rss():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmRSS'):\n"
    "            return int(line.split()[1]) * 1024\n",
    "w = VoxWidget('big.ome.zarr', height=400)\nw",
]


def check_requests(lab, log: list[dict]) -> set[int]:
    """Every request of ``log`` is for keys the current view shows at a planned level, and the
    level the zoom needs is the one multiscale/lod.py chooses. Returns the levels requested."""
    view = hook(lab, "view")
    axis, index, zoom, r = view["axis"], view["index"], view["zoom"], view["rect"]
    downs = [(2**lv,) * 3 for lv in range(LEVELS)]
    target = choose_level(downs, zoom, axis)
    assert {p["level"] for p in view["plan"]} == {target, LEVELS - 1}
    levels = set()
    for req in log:
        lv = req["level"]
        d = 2**lv
        shape = (N // d,) * 3
        rect = (r["u0"] / d, r["v0"] / d, r["u1"] / d, r["v1"] / d)
        visible = set(visible_chunks(shape, (CHUNK,) * 3, axis, index // d, rect))
        got = {tuple(k) for k in req["keys"]}
        assert req["axis"] == axis, req
        if req.get("prefetch"):  # the next planes around the shown one: same in-plane keys, same level
            assert lv == target and 0 < abs(req["index"] - index // d) <= PREFETCH, req
            plane = {tuple(v for i, v in enumerate(k) if i != axis) for k in visible}
            assert {tuple(v for i, v in enumerate(k) if i != axis) for k in got} <= plane
            levels.add(lv)
            continue
        assert req["index"] == index // d, req
        assert got <= visible, f"level {lv}: requested {sorted(got - visible)} outside the view"
        assert lv in (target, LEVELS - 1), f"level {lv} requested; plan is {target} + {LEVELS - 1}"
        levels.add(lv)
    # the target level's requests cover exactly what the view shows there
    d = 2**target
    rect = (r["u0"] / d, r["v0"] / d, r["u1"] / d, r["v1"] / d)
    visible = set(visible_chunks((N // d,) * 3, (CHUNK,) * 3, axis, index // d, rect))
    shown = next(p for p in view["plan"] if p["level"] == target)
    assert {tuple(k) for k in shown["keys"]} == visible
    return levels


def requests(lab, since: int = 0) -> list[dict]:
    """The view's logged chunks.get requests numbered after ``since`` (the log keeps the last 1000)."""
    return [r for r in hook(lab, "state")["stats"]["requests"] if r["n"] > since]


def sent(lab) -> int:
    """How many chunks.get the view has sent."""
    return hook(lab, "state")["stats"]["sent"]


@pytest.fixture(scope="module")
def volume_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("bigvol")
    write_volume(d / "big.ome.zarr")
    return d


def setup_notebook(lab_root, volume_dir):
    import shutil

    shutil.copytree(volume_dir / "big.ome.zarr", lab_root / "big.ome.zarr")
    write_notebook(lab_root / "big.ipynb", CELLS)


def test_scroll_and_zoom_request_only_visible_chunks_at_the_right_level(lab_page, lab_root, volume_dir):
    lab = lab_page
    setup_notebook(lab_root, volume_dir)
    lab.open_notebook("big.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)
    assert json.loads(lab.kernel_exec("import json; print(json.dumps(len(w.levels)))")) == LEVELS
    rss0 = rss(lab)
    first = requests(lab)
    assert first, "the view requested nothing"
    levels = check_requests(lab, first)
    assert LEVELS - 1 in levels and len(levels) == 2, levels  # fit: coarse placeholder + zoom's level

    # scroll 12 slices with the mouse wheel, checking each step's requests
    box = lab.output_box(CANVAS)
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    lab.page.mouse.move(cx, cy)
    for step in range(12):
        n = sent(lab)
        lab.page.mouse.wheel(0, 100)
        want = Z0 + step + 1
        wait_until(lambda want=want: hook(lab, "view")["index"] == want, 10, what="slice stepped")
        wait_view_idle(lab)
        check_requests(lab, requests(lab, n))

    # zoom in (ctrl + wheel) until level 0, then pan a little: still only visible chunks
    lab.page.keyboard.down("Control")
    for _ in range(8):
        lab.page.mouse.wheel(0, -100)
        time.sleep(0.05)
    lab.page.keyboard.up("Control")
    wait_view_idle(lab)
    view = hook(lab, "view")
    assert view["zoom"] >= 1, view
    n = sent(lab)
    lab.page.mouse.wheel(0, 100)  # one more slice at full resolution
    wait_view_idle(lab)
    log = requests(lab, n)
    assert {r["level"] for r in log} <= {0, LEVELS - 1} and any(r["level"] == 0 for r in log)
    check_requests(lab, log)
    # the kernel answered at those levels, and its memory stayed flat
    stats = json.loads(lab.kernel_exec("import json; print(json.dumps(w.stream_stats))"))
    assert set(stats["levels"]) >= {"0", str(LEVELS - 1)}
    grown = rss(lab) - rss0
    print(f"kernel RSS {rss0 / 2**20:.0f} MiB, grew by {grown / 2**20:.0f} MiB; stats {stats}")
    assert grown < RSS_BOUND, f"kernel RSS grew by {grown / 2**20:.0f} MiB"


def test_reopening_draws_the_slice_from_the_browser_cache(persistent_lab_page_factory, lab_root, volume_dir):
    setup_notebook(lab_root, volume_dir)
    lab = persistent_lab_page_factory()
    lab.open_notebook("big.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)
    first = json.loads(lab.kernel_exec("import json; print(json.dumps(w.stream_stats))"))
    assert first["bytes"] > 0 and first["unchanged"] == 0

    # the tiles reach IndexedDB (batched writes; all-zero tiles are not written)
    def writes() -> int:
        return hook(lab, "state")["stats"]["cache"]["writes"]

    wait_until(lambda: writes() > 0, 10, what="tiles written to the browser cache")
    last = [-1]

    def settled() -> bool:
        n, last[0] = last[0], writes()
        return n == last[0]

    wait_until(settled, 10, interval=0.5, what="browser cache writes settled")
    time.sleep(0.5)
    lab.save()
    lab.close()

    lab2 = persistent_lab_page_factory()
    lab2.open_notebook("big.ipynb")
    lab2.run_all_cells(timeout=120)  # a new widget on the same data (a fresh kernel endpoint)
    lab2.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab2)
    st = hook(lab2, "state")["stats"]
    again = json.loads(lab2.kernel_exec("import json; print(json.dumps(w.stream_stats))"))
    # the image tiles came from the browser cache, drawn at once; the kernel only confirmed them
    assert st["fromCache"] > 0
    assert again["bytes"] == 0, again
    assert again["unchanged"] >= st["fromCache"] > 0
    # clearing the cache from Python empties it: the next view fetches bytes again
    lab2.kernel_exec("w.clear_browser_cache()")
    wait_until(lambda: hook(lab2, "state")["stats"]["cache"]["bytes"] == 0, 10, what="cache cleared")
