"""Offline resilience end to end (issue 5): painting survives kernel crashes, restarts, shutdowns,
disconnects and page reloads.

Real JupyterLab, headless Chromium on a persistent profile (IndexedDB must survive reloads). The
browser records every voxel each view paints (``globalThis.__voxwidgetRecord``, the
``painted()`` test hook); the expected label map is those paints applied in order, and the kernel's
map (and the store reopened from disk) must equal it exactly: no voxel lost, none extra.

To make "before the ack" deterministic the kernel's endpoint is tapped (``_VwTap`` below, installed
on every VoxWidget through a patched ``__init__``): it can hold batches back (not applied, not
acked), apply them without acking, or stop answering pings (a silent disconnect).
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time

import numpy as np
import pytest

from .jupyter import JupyterServer, wait_until, write_notebook

pytestmark = pytest.mark.browser

CANVAS = ".voxwidget-canvas"
SHAPE = (32, 128, 128)
Z = SHAPE[0] // 2  # the view opens on the middle z slice
STORE = "labels.zarr"
CYCLES = int(os.environ.get("VOXWIDGET_CHAOS_CYCLES", "10"))

SETUP_CELL = f"""\
import numpy as np
from voxwidget import VoxWidget
image = (np.indices({SHAPE}).sum(axis=0) % 200).astype(np.uint8)
"""
WIDGET_CELL = f'w = VoxWidget(image, labels="{STORE}", chunks=(32, 64, 64), opacity=1.0, brush_radius=3)\nw'

# Run in the kernel before the cells: taps every VoxWidget's endpoint (see the module doc).
KERNEL_HOOKS = """
import json as _json, os as _os
import numpy as _np
import voxwidget.widget as _vwmod

class _VwTap:
    apply = True   # apply arriving batches (False: hold them back, unapplied)
    ack = True     # send edits.ack (False: apply silently, as if the ack got lost)
    pong = True    # answer pings (False: a silent disconnect)

    def __init__(self, w):
        ep = self.ep = w._endpoint
        self.seen, self.held = [], []
        orig_apply, orig_ping, orig_send = ep._handlers["edits.apply"], ep._handlers["ping"], ep.send
        self._apply = orig_apply

        def edits(msg, buffers):
            self.seen.append(msg["id"])
            if self.apply:
                orig_apply(msg, buffers)
            else:
                self.held.append((msg, [bytes(memoryview(b)) for b in buffers]))

        def ping(msg, buffers):
            if self.pong:
                orig_ping(msg, buffers)

        def send(kind, buffers=(), **fields):
            if kind == "edits.ack" and not self.ack:
                return
            orig_send(kind, buffers, **fields)

        ep._handlers["edits.apply"], ep._handlers["ping"], ep.send = edits, ping, send

    def release(self):
        self.apply = self.ack = self.pong = True
        held, self.held = self.held, []
        for msg, buffers in held:
            self._apply(msg, buffers)

_VW_DEFAULTS = {}
if not hasattr(_vwmod.VoxWidget, "_vw_orig_init"):
    _vwmod.VoxWidget._vw_orig_init = _vwmod.VoxWidget.__init__

    def _vw_init(self, *a, **k):
        _vwmod.VoxWidget._vw_orig_init(self, *a, **k)
        self._vw_tap = _VwTap(self)
        for name, value in _VW_DEFAULTS.items():
            setattr(self._vw_tap, name, value)

    _vwmod.VoxWidget.__init__ = _vw_init

def _vw_nonzero(a):
    idx = _np.argwhere(a)
    return _json.dumps({"idx": idx.tolist(), "val": a[a != 0].tolist()})

def _vw_on_disk(w):
    from voxwidget.labelmap import LabelMap
    w.labels.close()
    lm = LabelMap.open(w.labels.path)
    try:
        return _vw_nonzero(lm.to_numpy())
    finally:
        lm.close()
"""


# -- fixtures ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    """This module's own server: the kernel restarter notices a killed kernel within 0.5 s and
    keeps restarting it however often the chaos test kills it (the default gives up after 5
    deaths less than 10 s apart)."""
    root = tmp_path_factory.mktemp("lab-root-offline")
    args = ["--KernelRestarter.time_to_dead=0.5", "--KernelRestarter.restart_limit=100000"]
    with JupyterServer(root, extra_args=args) as server:
        yield server


@pytest.fixture
def lab(persistent_lab_page_factory, lab_root):
    write_notebook(lab_root / "offline.ipynb", [SETUP_CELL, WIDGET_CELL])
    lab = persistent_lab_page_factory()
    lab.page.add_init_script("globalThis.__voxwidgetRecord = true;")
    lab.open_notebook("offline.ipynb", prestart_kernel=True)
    return lab


# -- helpers ----------------------------------------------------------------------------------------
def canvas(lab, i: int = 0):
    return lab.output_locator(CANVAS).nth(i)


def hook(lab, call: str, *args, view: int = 0):
    return canvas(lab, view).evaluate(f"(c, args) => c.voxwidget.{call}(...args)", list(args))


def sync(lab, view: int = 0) -> dict:
    return hook(lab, "state", view=view)["sync"]


def wait_sync(lab, pred, what: str, timeout: float = 60, view: int = 0) -> dict:
    """Wait until ``pred(state().sync)`` holds for the view (a fresh view may not exist yet)."""
    last = {}

    def check():
        nonlocal last
        if canvas(lab, view).count() == 0:
            return False
        last = sync(lab, view)
        return pred(last)

    try:
        wait_until(check, timeout, interval=0.05, what=what)
    except TimeoutError as e:
        raise TimeoutError(f"{e}; last sync state {last}\n{lab.diagnostics()}") from None
    return last


def wait_saved(lab, timeout: float = 60, views=(0,)) -> None:
    for v in views:
        wait_sync(
            lab,
            lambda s: s["state"] == "saved" and s["connection"] == "online" and s["loaded"],
            "view saved and online",
            timeout,
            view=v,
        )
    lab.wait_for_js(
        "() => [...document.querySelectorAll('.voxwidget-canvas')].every((c) => c.voxwidget.state().idle)",
        timeout=timeout,
        what="views idle",
    )


def start_widget(lab, defaults: dict | None = None, timeout: float = 120) -> None:
    """Install the kernel hooks (tap defaults for the widget the cells make) and run all cells."""
    lab.kernel_exec(KERNEL_HOOKS + f"\n_VW_DEFAULTS.update({(defaults or {})!r})")
    lab.run_all_cells(timeout=timeout)
    lab.wait_for_output(CANVAS, timeout=60)


def stroke(lab, voxels, view: int = 0, steps: int = 8) -> None:
    mouse = lab.page.mouse
    canvas(lab, view).scroll_into_view_if_needed()
    pts = [hook(lab, "voxelToClient", list(v), view=view) for v in voxels]
    mouse.move(pts[0]["x"], pts[0]["y"])
    mouse.down()
    for p in pts[1:]:
        mouse.move(p["x"], p["y"], steps=steps)
    mouse.up()


def painted(lab, view: int = 0) -> np.ndarray:
    """Every voxel the view painted, in order: rows of (z, y, x, value)."""
    return np.array(hook(lab, "painted", view=view), dtype=np.int64).reshape(-1, 4)


def expected_volume(paints: list[np.ndarray]) -> np.ndarray:
    vol = np.zeros(SHAPE, np.int64)
    for p in paints:
        for z, y, x, v in p:  # in order: the last write wins
            vol[z, y, x] = v
    return vol


def kernel_volume(lab, expr: str = "_vw_nonzero(w.to_numpy())") -> np.ndarray:
    out = lab.kernel_exec(f"print({expr})", timeout=60)
    d = json.loads(out.strip().splitlines()[-1])
    vol = np.zeros(SHAPE, np.int64)
    if d["idx"]:
        idx = np.array(d["idx"])
        vol[tuple(idx.T)] = d["val"]
    return vol


def assert_same(got: np.ndarray, want: np.ndarray, what: str, paints: list[np.ndarray] | None = None) -> None:
    diff = np.argwhere(got != want)
    if len(diff):
        ex = [(tuple(int(c) for c in p), int(got[tuple(p)]), int(want[tuple(p)])) for p in diff[:5]]
        lost = int(((want != 0) & (got != want)).sum())
        history = ""
        if paints is not None:  # which cycles painted the first differing voxel, with what
            z, y, x = diff[0]
            hist = [
                (i, int(v))
                for i, p in enumerate(paints)
                for v in p[(p[:, 0] == z) & (p[:, 1] == y) & (p[:, 2] == x), 3]
            ]
            history = f"; history of {tuple(int(c) for c in diff[0])} as (cycle, value): {hist}"
        raise AssertionError(
            f"{what}: {len(diff)} voxels differ ({lost} painted voxels lost or wrong); "
            f"(voxel, got, want) e.g. {ex}{history}"
        )


def kernel_pid(lab) -> int:
    return lab.kernel_eval_json("__import__('os').getpid()")


def kill_kernel(lab, pid: int | None = None) -> None:
    """SIGKILL the kernel process (unless ``pid`` says it was killed already); wait until the
    restarter brought a new one up and it is idle."""
    if pid is None:
        pid = kernel_pid(lab)
        os.kill(pid, signal.SIGKILL)
    wait_until(lambda: kernel_pid(lab) != pid, 60, interval=0.2, what="the kernel restarted after SIGKILL")
    lab.wait_idle(60)
    dismiss_dialogs(lab)


def dismiss_dialogs(lab) -> None:
    """Close any dialog Lab may show ("kernel restarting") so it cannot catch the mouse."""
    for _ in range(3):
        if lab.page.locator(".jp-Dialog").count() == 0:
            return
        lab.page.keyboard.press("Escape")
        time.sleep(0.1)


def set_traits(lab, **traits) -> None:
    lab.kernel_exec("; ".join(f"w.{k} = {v!r}" for k, v in traits.items()))


# -- tests ------------------------------------------------------------------------------------------
def test_sigkill_before_ack_then_restart_and_rerun(lab):
    start_widget(lab)
    wait_saved(lab)
    lab.kernel_exec("w._vw_tap.apply = False")  # hold batches back: no apply, no ack
    set_traits(lab, label=5)
    stroke(lab, [(Z, 20, 20), (Z, 40, 100)])
    set_traits(lab, label=7)
    stroke(lab, [(Z, 100, 30), (Z, 70, 90)])
    s = wait_sync(lab, lambda s: s["pending"] >= 2 and s["unstored"] == 0, "batches pending and stored")
    n = s["pending"]
    assert s["state"] == "pending" and s["text"] == f"pending {n}"
    lab.wait_kernel(f"len(set(w._vw_tap.seen)) >= {n}", timeout=30)  # all sent, none acked
    assert lab.kernel_eval_json("bool(w.to_numpy().any())") is False
    paints = [painted(lab)]

    kill_kernel(lab)
    # the old view knows the kernel went away and still holds every batch
    wait_sync(lab, lambda s: s["state"] == "offline" and s["pending"] == n, "old view offline")
    assert lab.output_locator(".voxwidget-sync").first.inner_text() == f"offline ({n} pending)"

    start_widget(lab)
    wait_saved(lab)
    want = expected_volume(paints)
    assert (want != 0).sum() > 200
    assert_same(kernel_volume(lab), want, "kernel after replay")
    lab.wait_kernel("w.sync_status == {'state': 'saved', 'pending': 0}", timeout=10)
    assert_same(kernel_volume(lab, "_vw_on_disk(w)"), want, "store reopened from disk")


def test_shutdown_paint_offline_reload_rerun(lab):
    start_widget(lab)
    wait_saved(lab)
    lab.shutdown_kernel()  # the view stays; the brush paints label 1 (the default)
    stroke(lab, [(Z, 30, 30), (Z, 30, 110)])
    stroke(lab, [(Z, 60, 20), (Z, 110, 100)])
    s = wait_sync(
        lab,
        lambda s: s["state"] == "offline" and s["pending"] >= 2 and s["unstored"] == 0,
        "offline with stored batches",
    )
    assert s["text"] == f"offline ({s['pending']} pending)"
    assert lab.output_locator(".voxwidget-sync").first.inner_text() == s["text"]
    paints = [painted(lab)]
    want = expected_volume(paints)

    lab.reload()  # the page comes back with a fresh kernel and no widget
    if lab.kernel_status() != "idle":
        lab.start_kernel()
    # the re-run cell's view finds the batches in IndexedDB, shows them, replays them; the kernel
    # holds them back at first so the overlay can be checked before anything is applied
    start_widget(lab, {"apply": False})
    s = wait_sync(lab, lambda s: s["loaded"] and s["connection"] == "online", "new view online")
    assert s["pending"] >= 2, s
    lab.wait_kernel(f"len(set(w._vw_tap.seen)) >= {s['pending']}", timeout=30)
    assert lab.kernel_eval_json("bool(w.to_numpy().any())") is False
    zyx = [[int(z), int(y), int(x)] for z, y, x in np.argwhere(want)]
    lab.wait_for_js(
        "(args) => { const c = document.querySelector('.voxwidget-canvas');"
        " return c.voxwidget.labels(args.p).every((v) => v === '1'); }",
        {"p": zyx},
        timeout=30,
        what="the reloaded view's overlay shows every pending voxel",
    )
    lab.kernel_exec("w._vw_tap.release()")
    wait_saved(lab)
    assert_same(kernel_volume(lab), want, "kernel after reload and replay")
    assert_same(kernel_volume(lab, "_vw_on_disk(w)"), want, "store reopened from disk")


def test_two_views_edit_different_regions(lab, lab_root):
    two = WIDGET_CELL.replace("\nw", "\ndisplay(w)\ndisplay(w)")  # two views of one widget
    write_notebook(lab_root / "offline.ipynb", [SETUP_CELL, two])
    lab.reload()
    start_widget(lab)
    lab.wait_for_js(
        "() => document.querySelectorAll('.voxwidget-canvas').length === 2", timeout=30, what="two views"
    )
    wait_saved(lab, views=(0, 1))
    set_traits(lab, label=3)
    stroke(lab, [(Z, 10, 10), (Z, 50, 50)], view=0)
    wait_saved(lab, views=(0, 1))
    first = painted(lab, 0)
    set_traits(lab, label=4)
    stroke(lab, [(Z, 80, 70), (Z, 120, 120)], view=1)
    wait_saved(lab, views=(0, 1))
    set_traits(lab, label=3)
    stroke(lab, [(Z, 45, 45), (Z, 85, 75)], view=0)  # across both regions: overwrites some of each
    wait_saved(lab, views=(0, 1))
    p0, p1 = painted(lab, 0), painted(lab, 1)
    assert len(first) and len(p1) and len(p0) > len(first)
    got = kernel_volume(lab)
    # in arrival order: view 0's first stroke, view 1's, view 0's second (the last writer wins)
    assert_same(got, expected_volume([first, p1, p0[len(first) :]]), "kernel")
    assert {int(v) for v in got[got != 0]} == {3, 4}
    # both views hold the kernel's labels: everything painted, plus unpainted corners
    zyx = [[int(z), int(y), int(x)] for z, y, x in np.argwhere(got)] + [[Z, 5, 120], [Z, 120, 5]]
    want = [str(int(got[tuple(p)])) for p in zyx]
    for view in (0, 1):
        lab.wait_for_js(
            "(args) => { const c = document.querySelectorAll('.voxwidget-canvas')[args.v];"
            " const got = c.voxwidget.labels(args.p); return got.every((g, i) => g === args.want[i]); }",
            {"p": zyx, "want": want, "v": view},
            timeout=30,
            what=f"view {view} holds the kernel's labels",
        )
    assert lab.kernel_eval_json("w.sync_status") == {"state": "saved", "pending": 0}


def test_replayed_batches_apply_once(lab):
    """Batches applied but not acknowledged, then a silent disconnect: the view goes offline,
    comes back, replays every batch; the kernel sees each twice and applies it once."""
    start_widget(lab)
    wait_saved(lab)
    hook(lab, "heartbeat", {"pingMs": 400, "timeoutMs": 1500})
    lab.kernel_exec("w._vw_tap.ack = False")
    set_traits(lab, label=9)
    stroke(lab, [(Z, 20, 60), (Z, 100, 60)])
    stroke(lab, [(Z, 60, 20), (Z, 60, 100)])
    s = wait_sync(lab, lambda s: s["pending"] >= 2 and s["unstored"] == 0, "batches pending")
    n = s["pending"]
    lab.wait_kernel(f"len(set(w._vw_tap.seen)) >= {n}", timeout=30)
    want = expected_volume([painted(lab)])
    assert_same(kernel_volume(lab), want, "applied once, unacknowledged")
    versions = lab.kernel_eval_json(
        "{str(k): w.labels.version(k) for k in [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]}"
    )

    lab.kernel_exec("w._vw_tap.pong = False")  # the kernel goes silent
    wait_sync(lab, lambda s: s["state"] == "offline", "offline after the heartbeat timeout", timeout=20)
    assert lab.output_locator(".voxwidget-sync").first.inner_text() == f"offline ({n} pending)"
    lab.kernel_exec("w._vw_tap.ack = True; w._vw_tap.pong = True")
    wait_saved(lab)
    seen = lab.kernel_eval_json("__import__('collections').Counter(w._vw_tap.seen)")
    assert len(seen) == n and all(c >= 2 for c in seen.values()), seen
    assert_same(kernel_volume(lab), want, "after the replay")
    again = lab.kernel_eval_json(
        "{str(k): w.labels.version(k) for k in [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]}"
    )
    assert again == versions, "a replayed batch changed chunk versions"
    assert lab.kernel_eval_json("w.sync_status") == {"state": "saved", "pending": 0}


@pytest.mark.timeout(max(600, 60 + 30 * CYCLES))
def test_chaos_paint_kill_restart_loses_nothing(lab):
    rng = random.Random(int(os.environ.get("VOXWIDGET_CHAOS_SEED", "5")))
    start_widget(lab)
    wait_saved(lab)
    paints: list[np.ndarray] = []
    times = []
    modes: list[str] = []
    for cycle in range(CYCLES):
        t0 = time.monotonic()
        # flow: acks flow; hold: batches held back unapplied; noack: applied, acks lost;
        # midstroke: the kernel dies while a stroke is being painted
        mode = rng.choice(["flow", "hold", "noack", "midstroke"])
        lab.kernel_exec(
            {"hold": "w._vw_tap.apply = False", "noack": "w._vw_tap.ack = False"}.get(mode, "pass")
        )
        pid = kernel_pid(lab)
        killer = None
        for i in range(rng.randint(1, 2)):
            erase = rng.random() < 0.25
            set_traits(lab, tool="erase" if erase else "brush", label=rng.randint(1, 6))
            pts = [(Z, rng.randrange(4, SHAPE[1] - 4), rng.randrange(4, SHAPE[2] - 4)) for _ in range(3)]
            if mode == "midstroke" and i == 0:
                killer = threading.Timer(rng.uniform(0.0, 0.4), os.kill, (pid, signal.SIGKILL))
                killer.start()
            stroke(lab, pts, steps=12)
            if killer is not None:
                break  # the kernel is gone: no more trait changes
        if killer is not None:
            killer.join()
        else:
            time.sleep(rng.choice([0, 0.05, 0.3]))
        if mode in ("hold", "noack"):
            wait_sync(lab, lambda s: s["unstored"] == 0 and s["pending"] >= 1, "batches stored")
        paints.append(painted(lab))
        if killer is None:
            os.kill(pid, signal.SIGKILL)
        kill_kernel(lab, pid)
        modes.append(mode)
        start_widget(lab)
        wait_saved(lab)
        assert_same(kernel_volume(lab), expected_volume(paints), f"cycle {cycle} ({modes})", paints)
        times.append(time.monotonic() - t0)
    assert_same(kernel_volume(lab, "_vw_on_disk(w)"), expected_volume(paints), "store reopened from disk")
    print(
        f"\nchaos: {CYCLES} cycles ({', '.join(modes)}), {np.mean(times):.1f} s each "
        f"(max {max(times):.1f} s), {int((expected_volume(paints) != 0).sum())} labelled voxels"
    )
