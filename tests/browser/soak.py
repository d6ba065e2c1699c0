"""The soak driver (issue 15 item 8), shared by ``bench/soak.py`` (full length) and
``tests/browser/test_soak.py`` (the CI slice).

Two JupyterLab tabs on one notebook; the notebook makes two widgets on one stored map
(``w1 = VoxWidget(image, labels="soak.zarr")``, ``w2 = VoxWidget(image, labels=w1.labels)``) and
each tab shows both, so four views edit one map. Random strokes, erases, fills (the ``f`` tool),
slice scrolls, zooms, undo/redo, page reloads of tab B, and a kernel SIGKILL about every 20 s
(then the cells are run again in both tabs: a new epoch). After a kill each tab must reach the
restarted kernel by itself: the widget reconnects a tab whose shell connection the restarted kernel
stopped reading (widget/shellwatch.js, docs/sync.md); the harness only asks again, it never reloads
or reconnects a tab (``tab_reconnects`` and ``lost_requests`` count what happened).

The oracle (why it is sound):

- Per epoch the fresh kernel snapshots the store from disk before any cell runs (``snap_K.npy``).
  Kernel hooks log, in edit order, every durable edit (``LabelMap.on_edit``: kind, batch id and
  every voxel written with its value), every change announced before durability
  (``subscribe``: keys and versions) and every arriving batch with its stroke id.
  ``snap_K`` + the epoch's logged edits, replayed in order, must equal ``snap_K+1`` (the final map,
  and the store reopened from disk, at the end). The only allowed difference: an edit made durable
  but killed before its log line was written (announced, never logged): its chunks may differ.
- "Saved" means what a view showed: every paint a view recorded (``paintedStrokes()``) at a moment
  the view read ``saved`` with nothing pending was acknowledged, so it must have reached the map.
  Undo, redo, other views and fills may overwrite it later (last writer wins), so the check is on
  the logged history: the voxel must hold the painted value at some point between the first and
  the last logged batch of its stroke (from the arrival of its first batch to the last arrival or
  durable edit of its batches: a batch that changes nothing, e.g. erasing background, logs no
  edit). A saved stroke none of whose batches reached the kernel is lost.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import numpy as np

from .jupyter import HarnessTimeout, wait_until, write_notebook
from .soakcheck import CHUNKS, SHAPE, check

STORE = "soak.zarr"
CANVAS = ".voxwidget-canvas"
NOTEBOOK = "soak.ipynb"
CELLS = [
    "import numpy as np\nfrom voxwidget import VoxWidget\n"
    f"image = (np.indices({SHAPE}).sum(axis=0) % 200).astype(np.uint8)",
    "if 'w1' not in globals():\n"
    f"    w1 = VoxWidget(image, labels={STORE!r}, chunks={CHUNKS}, opacity=1.0, brush_radius=3)\n"
    "w1",
    "if 'w2' not in globals():\n    w2 = VoxWidget(image, labels=w1.labels, opacity=1.0, brush_radius=3)\nw2",
]

HOOKS = """
import json as _sj, numpy as _snp
import voxwidget.widget as _svm
from voxwidget.labelmap.rowmask import RowMask as _SRM
_SOAK_LOG = open(%(log)r, "a", buffering=1)

def _soak_w(d):
    _SOAK_LOG.write(_sj.dumps(d) + "\\n")
    _SOAK_LOG.flush()

def _soak_hook_map(lm):
    if getattr(lm, "_soak", False):
        return
    lm._soak = True
    ch = tuple(lm.chunk_shape)

    def pre(c):
        _soak_w({"t": "pre", "o": c.origin, "kv": [[list(k), int(v)] for k, v in zip(c.keys, c.versions)]})

    def post(ev):
        zyx, vals = [[], [], []], []
        for a in ev._atoms:
            off = a.offsets.offsets() if isinstance(a.offsets, _SRM) else _snp.asarray(a.offsets)
            if not len(off):
                continue
            loc = _snp.unravel_index(off.astype(_snp.int64), ch)
            for i in range(3):
                zyx[i] += (loc[i] + a.key[i] * ch[i]).tolist()
            vals += _snp.broadcast_to(_snp.asarray(a.new).reshape(-1), off.shape).astype(_snp.int64).tolist()
        kv = [[list(k), int(v)] for k, v in zip(ev.keys, ev.versions)]
        _soak_w({"t": "ev", "k": ev.kind, "o": ev.origin, "kv": kv, "zyx": zyx, "v": vals})

    lm.subscribe(pre)
    lm.on_edit(post)

if not hasattr(_svm.VoxWidget, "_soak_init"):
    _svm.VoxWidget._soak_init = _svm.VoxWidget.__init__

    def _soak_vw_init(self, *a, **k):
        _svm.VoxWidget._soak_init(self, *a, **k)
        _soak_hook_map(self.labels)
        ep = self._endpoint
        orig = ep._handlers["edits.apply"]

        def apply(msg, buffers):
            _soak_w({"t": "arr", "o": msg["id"], "s": msg["stroke"]})
            orig(msg, buffers)

        ep._handlers["edits.apply"] = apply

    _svm.VoxWidget.__init__ = _soak_vw_init
"""

SNAPSHOT = """
import os as _so, numpy as _snp
from voxwidget.labelmap import LabelMap as _SLM
if _so.path.exists(%(store)r):
    _slm = _SLM.open(%(store)r)
    _snp.save(%(out)r, _slm.to_numpy().astype(_snp.int64))
    _slm.close()
else:
    _snp.save(%(out)r, _snp.zeros(%(shape)r, _snp.int64))
"""

# Both tabs hold the notebook: autosave in one makes the other ask "File Changed" (a modal dialog
# that blocks running cells). Nothing needs the notebook saved.
LAB_SETTINGS = {"@jupyterlab/docmanager-extension/plugin": {"autosave": False}}
SERVER_ARGS = ["--KernelRestarter.time_to_dead=0.5", "--KernelRestarter.restart_limit=100000"]

SAMPLE_JS = """() => [...document.querySelectorAll('.voxwidget-canvas')].map((c) => {
  const h = c.voxwidget; if (!h) return null;
  const s = h.state();
  const saved = s.sync.state === 'saved' && s.sync.pending === 0 && s.pendingBatches === 0
    && s.sync.connection === 'online';
  return saved ? h.paintedStrokes() : null;
})"""


def open_tabs(context, server, root: Path):
    """Write the notebook into ``root`` and open it in two tabs (LabPages) of ``context``, with the
    views' paint record on (``paintedStrokes()``)."""
    from .jupyter import LabPage

    write_notebook(Path(root) / NOTEBOOK, CELLS)
    context.add_init_script("globalThis.__voxwidgetRecord = true;")
    a = LabPage(context.new_page(), server, base_dir=root)
    a.open_notebook(NOTEBOOK, prestart_kernel=True)
    b = LabPage(context.new_page(), server, base_dir=root)
    b.open_notebook(NOTEBOOK)
    return a, b


def kernel_pid(kid: str) -> int | None:
    """The process id of kernel ``kid``, found by its connection file (no kernel call: a dead or
    starting kernel does not answer); ``None`` when no such process runs."""
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if f"kernel-{kid}.json" in (d / "cmdline").read_bytes().decode(errors="replace"):
                    return int(d.name)
            except OSError:
                continue
    return None


class Soak:
    """Drive tabs ``a`` and ``b`` (LabPages opened on :data:`NOTEBOOK` in ``root``)."""

    def __init__(self, a, b, root: Path, seed: int = 1, say=print):
        self.a, self.b, self.root, self.say = a, b, Path(root), say
        self.rng = random.Random(seed)
        self.dir = self.root / "soak-logs"
        self.dir.mkdir(exist_ok=True)
        self.epoch = 0
        self.saved: dict[str, set[tuple[int, int, int, int]]] = {}
        self.counts = {
            "strokes": 0,
            "fills": 0,
            "undo": 0,
            "redo": 0,
            "scrolls": 0,
            "zooms": 0,
            "reloads": 0,
            "kills": 0,
            "tab_reconnects": 0,  # by widget/shellwatch.js, after a restart left a tab unanswered
            "lost_requests": 0,  # harness requests a stuck tab lost before it was reconnected
        }
        self.rss: list[int] = []
        self.heap: list[int] = []
        self.cdp = a.page.context.new_cdp_session(a.page)
        self._front = None
        self.kid = a.kernel_id()
        for lab in (a, b):
            lab.page.on("console", self._console)

    # -- kernel and pages ------------------------------------------------------------------------
    def front(self, lab):
        """Bring ``lab``'s tab to the front: Chromium throttles a background tab's timers and
        frames, so input and kernel calls through it crawl."""
        if self._front is not lab:
            lab.page.bring_to_front()
            self._front = lab
        return lab

    def pid(self) -> int | None:
        """The kernel's process id (see :func:`kernel_pid`)."""
        return kernel_pid(self.kid)

    def new_pid(self, old: int) -> bool:
        self.dismiss(self.a)
        pid = self.pid()
        return pid is not None and pid != old

    def start_epoch(self) -> None:
        snap = str(self.dir / f"snap_{self.epoch}.npy")
        self.front(self.a).kernel_exec(SNAPSHOT % {"store": STORE, "out": snap, "shape": SHAPE}, timeout=60)
        self.a.kernel_exec(HOOKS % {"log": str(self.dir / f"log_{self.epoch}.jsonl")}, timeout=60)
        for lab in (self.a, self.b):
            self.run_cells(lab)

    def dismiss(self, lab) -> None:
        """Answer JupyterLab's dialogs: "File Changed" (the other tab saved the notebook) with
        Overwrite (same cells), any other (kernel restarting) with Escape."""
        for _ in range(3):
            d = lab.page.locator(".jp-Dialog")
            if d.count() == 0:
                return
            ow = d.locator("button", has_text="Overwrite")
            if ow.count():
                ow.first.click()
            else:
                lab.page.keyboard.press("Escape")
            time.sleep(0.1)

    def run_cells(self, lab) -> None:
        self.front(lab)
        self.dismiss(lab)
        try:
            lab.run_all_cells(timeout=60)
        except TimeoutError:  # a dialog came up while the cells ran: answer it, run them again
            self.dismiss(lab)
            lab.run_all_cells(timeout=60)
        lab.wait_for_js(
            "() => [...document.querySelectorAll('.voxwidget-canvas')]"
            ".filter((c) => c.voxwidget).length >= 2",
            timeout=60,
            what="two views",
        )

    def wait_saved(self, timeout: float = 60) -> None:
        for lab in (self.a, self.b):
            self.front(lab).wait_for_js(
                "() => [...document.querySelectorAll('.voxwidget-canvas')].every((c) => c.voxwidget &&"
                " c.voxwidget.state().sync.state === 'saved'"
                " && c.voxwidget.state().sync.connection === 'online'"
                " && c.voxwidget.state().sync.loaded)",
                timeout=timeout,
                what="every view saved and online",
            )

    def sample(self) -> None:
        for lab in (self.a, self.b):
            try:
                views = lab.page.evaluate(SAMPLE_JS)
            except Exception:
                continue
            for v in views:
                for stroke, flat in v or []:
                    s = self.saved.setdefault(stroke, set())
                    s.update(zip(flat[0::4], flat[1::4], flat[2::4], flat[3::4], strict=True))

    def measure(self) -> None:
        pid = self.pid()
        rss = next(
            int(x.split()[1])
            for x in Path(f"/proc/{pid}/status").read_text().splitlines()
            if x.startswith("VmRSS")
        )
        self.rss.append(rss * 1024)
        self.cdp.send("HeapProfiler.collectGarbage")
        self.heap.append(int(self.cdp.send("Runtime.getHeapUsage")["usedSize"]))

    def reaches(self, lab, tries: int = 5, each: float = 8.0) -> int:
        """Wait until ``lab``'s tab gets answers from the restarted kernel; return how many requests
        went unanswered first. A tab whose shell connection the restarted kernel stopped reading
        (docs/sync.md) loses what it sends until widget/shellwatch.js has reconnected it (~6 s), so
        ask again instead of waiting on a lost request, and never interrupt (the other tab may be
        running its cells)."""
        for i in range(tries):
            try:
                self.front(lab)._kernel_exec("1", each, False)
                return i
            except HarnessTimeout:
                self.dismiss(lab)
        raise HarnessTimeout(f"no answer from the restarted kernel in {tries} tries\n{lab.diagnostics()}")

    def kill(self) -> None:
        self.sample()
        pid = self.pid()
        os.kill(pid, signal.SIGKILL)
        self.counts["kills"] += 1
        wait_until(lambda: self.new_pid(pid), 120, interval=0.5, what="kernel restarted after SIGKILL")
        for lab in (self.a, self.b):
            self.dismiss(self.front(lab))
            lab.wait_idle(60)
            self.counts["lost_requests"] += self.reaches(lab)
        self.epoch += 1
        t = time.monotonic()
        self.start_epoch()
        self.say(f"soak: kill {self.counts['kills']}: epoch {self.epoch} up in {time.monotonic() - t:.1f} s")

    def _console(self, msg) -> None:
        try:
            text = msg.text
        except Exception:
            return
        if "no replies from the restarted kernel" in text:  # widget/shellwatch.js reconnected a tab
            self.counts["tab_reconnects"] += 1

    def reload_b(self) -> None:
        self.sample()
        self.front(self.b).reload()
        self.counts["reloads"] += 1
        self.run_cells(self.b)

    # -- actions ---------------------------------------------------------------------------------
    def view(self):
        lab = self.front(self.rng.choice((self.a, self.b)))
        loc = lab.output_locator(CANVAS).nth(self.rng.randrange(2))
        loc.scroll_into_view_if_needed(timeout=5000)
        return lab, loc, loc.bounding_box()

    def point(self, box, m: float = 12) -> tuple[float, float]:
        return (
            box["x"] + self.rng.uniform(m, box["width"] - m),
            box["y"] + self.rng.uniform(m, box["height"] - m),
        )

    def act(self) -> None:
        lab, loc, box = self.view()
        self.dismiss(lab)
        if box is None:
            return
        mouse, kb, r = lab.page.mouse, lab.page.keyboard, self.rng.random()
        # keys go to the widget only while it has focus (else they are JupyterLab's shortcuts)
        loc.evaluate("(c) => c.closest('.voxwidget').focus({ preventScroll: true })")
        if r < 0.55:  # stroke (a quarter erase), a random label
            if self.rng.random() < 0.3:
                lab.kernel_exec(f"w1.label = w2.label = {self.rng.randint(1, 6)}")
            tool = "e" if self.rng.random() < 0.25 else "b"
            x, y = self.point(box)
            mouse.move(x, y)
            kb.press(tool)
            mouse.down()
            for _ in range(3):
                mouse.move(*self.point(box), steps=8)
            mouse.up()
            kb.press("b")
            self.counts["strokes"] += 1
        elif r < 0.60:
            x, y = self.point(box)
            mouse.move(x, y)
            kb.press("f")
            mouse.click(x, y)
            kb.press("b")
            self.counts["fills"] += 1
        elif r < 0.72:
            mouse.move(*self.point(box))
            mouse.wheel(0, self.rng.choice((-300, -100, 100, 300)))
            self.counts["scrolls"] += 1
        elif r < 0.82:
            mouse.move(*self.point(box))
            kb.down("Control")
            mouse.wheel(0, self.rng.choice((-200, 200)))
            kb.up("Control")
            self.counts["zooms"] += 1
        else:
            mouse.move(*self.point(box))
            redo = self.rng.random() < 0.4
            kb.press("Control+Shift+z" if redo else "Control+z")
            self.counts["redo" if redo else "undo"] += 1
        time.sleep(self.rng.choice((0, 0.05, 0.2)))

    def run(self, seconds: float, kill_every: float = 20.0, reload_every: float = 45.0) -> dict:
        t0 = time.monotonic()
        self.start_epoch()
        self.wait_saved()
        self.measure()
        next_kill = t0 + kill_every * self.rng.uniform(0.7, 1.3)
        next_reload = t0 + reload_every * self.rng.uniform(0.7, 1.3)
        n = 0
        while time.monotonic() - t0 < seconds:
            now = time.monotonic()
            if now >= next_kill:
                if self.rng.random() < 0.5:
                    try:
                        self.wait_saved(10)
                    except Exception:
                        pass
                self.measure()  # each kernel's RSS at the end of its life, the tab's heap
                self.kill()
                next_kill = time.monotonic() + kill_every * self.rng.uniform(0.7, 1.3)
                continue
            if now >= next_reload:
                self.reload_b()
                next_reload = time.monotonic() + reload_every * self.rng.uniform(0.7, 1.3)
                continue
            try:
                self.act()
            except Exception as e:  # a view replaced under the pointer (a cell re-run): go on
                self.say(f"soak: action failed ({type(e).__name__}: {str(e)[:120]})")
            n += 1
            if n % 3 == 0:
                self.sample()
        self.wait_saved(120)
        self.sample()
        self.measure()
        self.front(self.a)
        final = str(self.dir / "final.npy")
        disk = str(self.dir / "disk.npy")
        self.a.kernel_exec(f"np.save({final!r}, w1.labels.to_numpy().astype(np.int64))", timeout=60)
        self.a.kernel_exec(
            "w1.labels.close()\n" + SNAPSHOT % {"store": STORE, "out": disk, "shape": SHAPE}, timeout=60
        )
        return self.verify(np.load(final), np.load(disk))

    def verify(self, final: np.ndarray, disk: np.ndarray) -> dict:
        return {**self.counts, **check(self.dir, self.epoch, self.saved, final, disk, self.rss, self.heap)}
