"""Streaming a big volume to a real browser: first slice, slice scrolling and kernel memory, against
the raw comm throughput measured in the same run.

Usage::

    python bench/bench_streaming.py [--size 2048] [--slices 40] [--raw-mib 200] [--keep DIR] [--profile [N]]
        [--driver pipe|playwright] [--view 2d|ortho]

``--profile`` samples the page's main thread during the scroll (Chrome DevTools Protocol profiler)
and prints the self time per script and the top N functions by self time (with their total time).

What it does
------------
1. Writes a ``size``³ uint16 OME-Zarr pyramid (NGFF 0.4, stored levels down to 64³, 64³ chunks,
   zstd) lazily: only ``--repeat`` 64-slice chunk layers from the middle on hold data (a blocky
   pattern plus 6 bits of noise per voxel, like microscopy); every other chunk is the fill value and
   is never written (``write_empty_chunks`` off). 2048³ takes ~0.3 GB on disk and ~15 s to write
   per data layer. LZ4 does
   not shrink these tiles (the noisy low byte breaks its matches); byte-shuffled LZ4 (codec
   ``lz4s``) halves them: a slice is ~1.3 MB on the wire (2.3 MB raw).
2. Starts an isolated JupyterLab and headless Chromium (the test harness in ``tests/browser``).
   By default Chromium runs bare on the DevTools pipe (``tests/browser/cdp.py``): Playwright's
   Chromium copies every websocket frame, base64-encoded, to the Playwright driver and on to this
   script, which on 2 cores cost ~2.8 s of CPU per 200 MiB and held the raw channel at 48–57 MB/s
   (a bare browser: 120–160 MB/s). Issue 4's figures of sessions 1–2 were taken that way
   (``--driver playwright`` reproduces them).
3. **Raw channel**: a minimal anywidget receives ``--raw-mib`` × 1 MiB buffers sent by the kernel;
   throughput = bytes / (last arrival − first send), clocks on one machine.
4. **First slice**: the cell ``w = VoxWidget(path); w`` runs; reported: time in the kernel to open
   the volume and build the widget, and from the cell's start (and from the view's first request)
   until the slice is drawn (every planned tile arrived, no redraw pending). Fit zoom: the coarsest
   level plus the level the zoom needs.
5. **Scrolling**, ``--repeat`` runs (default 3; the median is the result), run *r* through data
   layer *r*: at zoom 1 (level 0, a ~1400 × 900 px view, ~290 tiles per layer and slice) the
   view steps ``--slices`` slices one by one through the data layer (after resting on its first
   plane, so the kernel holds that chunk layer), each step as soon as the
   previous slice is complete (every tile of the shown planes arrived and drawn). The loop runs in
   the page: it dispatches a wheel event on the canvas (the widget's own wheel handler steps the
   slice) and polls the view's state every few ms, so no harness round trip sits between slices
   and the wall time of the loop is the time the view spent scrolling. Reported: slices/s, the
   wheel → slice complete latency, **comm MB/s** = tile payload bytes (as sent) the view received
   during the loop / its wall time, compared with the raw channel; **useful MB/s** = the part of
   those bytes that belongs to planes the view showed during the loop (the rest is prefetch of
   planes ahead that the loop did not reach: prefetch waste, at most the prefetch window); MB/s of
   decoded voxels shown. Browser: draws, time in draws and in tile handling (decode, cache).
   (Before issue 4's work the loop was driven from Python with ``page.mouse.wheel`` and the rates
   were taken over the sum of the per-slice latencies; bytes that arrived between slices, while
   the harness talked to the page, were counted against time that excluded them. Also, the view's
   ``shown`` state then ignored tiles of a shown plane still in flight under a prefetch request,
   so a slice could count as complete before its tiles arrived: those figures flattered.)
6. **Kernel RSS**: sampled every 20 ms by a thread in the kernel during the scroll (max and
   growth).
7. **CPU by process** (user + system seconds from ``/proc``) during each raw run and the scroll:
   kernel, Jupyter server, the browser's processes by type (the renderer runs the page), the
   harness. On a 2-core machine this shows which process limits the rate.

Goals (issue 4): first slice < 0.5 s, streaming ≥ 70 % of the raw channel, RSS < 1 GiB.

What limits scrolling here (2-core VM, session 3 figures)
--------------------------------------------------------
The raw channel is itself CPU-bound: 200 MiB in 1 MiB messages took 2.0–2.8 CPU-seconds (page
1.0–1.5, Jupyter server 0.5–1.0, Chromium's network service 0.15, kernel 0.1–0.2), i.e. 1.6–1.8 of
the 2 cores at 135–217 MB/s. Carrying 70 % of that (~100–150 MB/s, 45–65 slices/s of this view with
raw tiles) would leave under half a core for everything the widget does besides moving bytes:
reading and decompressing zarr chunks in the kernel (~14–20 CPU-ms per slice), decoding, composing
and drawing ~290 tiles per layer in the page (~20–30 ms per slice). Scrolling measured 15–26
slices/s per run with every process together using 80–90 % of both cores and the page's main
thread ~90 % busy. Reaching the goal on this machine would need the decode/compose work off the
page's main thread (a worker with OffscreenCanvas) and fewer CPU-seconds per byte in the Jupyter
server than the raw channel itself spends; on a machine with more cores the same code scrolls
faster without change.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import zarr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.cdp import PipeBrowser  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.jupyter import JupyterServer, LabPage, wait_until, write_notebook  # noqa: E402

CHUNK = 64
CANVAS = ".voxwidget-canvas"

SINK = '''
import anywidget, traitlets, time
class Sink(anywidget.AnyWidget):
    _esm = """
    export default { render({ model, el }) {
      el.textContent = "sink";
      globalThis.__sink = { n: 0, bytes: 0, first: 0, last: 0 };
      model.on("msg:custom", (msg, buffers) => {
        const s = globalThis.__sink;
        if (!s.n) s.first = Date.now();
        s.n++;
        for (const b of buffers) s.bytes += b.byteLength;
        s.last = Date.now();
      });
    } };
    """
sink = Sink()
sink
'''

SEND_RAW = """
import os, time
_payload = os.urandom(2**20)
_t_send = time.time() * 1000
for i in range({n}):
    sink.send({{"i": i}}, [_payload])
print(_t_send, time.time() * 1000 - _t_send)
"""

SETUP = """
import time, resource, json, threading
from voxwidget import VoxWidget
def _rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) * 1024
class _RSSMax:
    def __init__(self):
        self.max, self._stop = _rss(), threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
    def _run(self):
        while not self._stop.wait(0.02):
            self.max = max(self.max, _rss())
    def stop(self):
        self._stop.set()
        self._t.join()
        return max(self.max, _rss())
"""

OPEN = """
_t0 = time.perf_counter()
w = VoxWidget({path!r}, height=900, browser_cache_mb={cache_mb}, view={view!r})
_t_open = time.perf_counter() - _t0
w
"""


def write_volume(path: Path, size: int, layers: int = 1) -> float:
    """The lazily written pyramid (``layers`` chunk layers of data from the middle on); returns the
    seconds it took."""
    t0 = time.perf_counter()
    g = zarr.open_group(path, mode="w", zarr_format=2)
    rng = np.random.default_rng(0)
    datasets = []
    z_data = size // 2
    levels = 0
    while size >> levels >= CHUNK:
        levels += 1
    for lv in range(levels):
        d = 2**lv
        n = size // d
        arr = g.create_array(
            str(lv),
            shape=(n, n, n),
            chunks=(CHUNK,) * 3,
            dtype="uint16",
            fill_value=0,
            chunk_key_encoding={"name": "v2", "separator": "/"},
            config={"write_empty_chunks": False},
        )
        z0, z1 = z_data // d, (z_data + CHUNK * layers) // d
        for y0 in range(0, n, 128):  # in bands, to keep memory small
            y1 = min(n, y0 + 128)
            z, y, x = np.ogrid[z0:z1, y0:y1, 0:n]
            block = ((x * d // 32 + y * d // 32) % 8) * 1000 + (z * d % 64) * 20 + 200
            noise = rng.integers(0, 64, (z1 - z0, y1 - y0, n), dtype=np.uint16)
            arr[z0:z1, y0:y1] = block.astype(np.uint16) + noise
        datasets.append({"path": str(lv), "coordinateTransformations": [{"type": "scale", "scale": [d] * 3}]})
    axes = [{"name": a, "type": "space"} for a in "zyx"]
    g.attrs["multiscales"] = [{"version": "0.4", "name": "bench", "axes": axes, "datasets": datasets}]
    return time.perf_counter() - t0


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def hook(lab: LabPage, call: str, *args):
    return lab.page.evaluate(
        f"(args) => document.querySelector('{CANVAS}:not([data-old])').voxwidget.{call}(...args)", list(args)
    )


class ProcessCPU:
    """CPU seconds (user + system) between :meth:`start` and :meth:`stop` per role of the processes
    descending from ``roots`` (pid → role): the Jupyter server and its kernel, this script and its
    children (the browser by process type, Playwright's driver)."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, roots: dict[int, str]):
        self.roots = roots  # pid -> role of its whole process tree

    def _sample(self) -> dict[int, tuple[str, float]]:
        procs = {}
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open(f"/proc/{d}/stat") as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    with open(f"/proc/{d}/cmdline", "rb") as f:
                        cmd = f.read()
                except OSError:
                    continue
                procs[int(d)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / self.TICK, cmd)
        out = {}
        for pid, (_, secs, cmd) in procs.items():
            p, seen = pid, set()
            while p in procs and p not in self.roots and p not in seen:
                seen.add(p)
                p = procs[p][0]
            role = self.roots.get(p)
            if role is None:
                continue
            exe = cmd.split(b"\0", 1)[0]
            if role == "server" and b"ipykernel" in cmd:
                role = "kernel"
            elif b"chrom" in exe:  # Chromium joins its child processes' arguments with spaces
                kind = cmd.split(b"--type=", 1)[1].split(None, 1)[0] if b"--type=" in cmd else b"main"
                role = f"browser {kind.decode()}"
            elif role == "harness" and pid != os.getpid():
                role = "playwright driver" if b"playwright" in cmd else "harness child"
            out[pid] = (role, secs)
        return out

    def start(self) -> None:
        self.t0, self.s0 = time.perf_counter(), self._sample()

    def stop(self) -> str:
        wall, s1 = time.perf_counter() - self.t0, self._sample()
        roles: dict[str, float] = {}
        for pid, (role, secs) in s1.items():
            roles[role] = roles.get(role, 0.0) + secs - self.s0.get(pid, (role, 0.0))[1]
        total = sum(roles.values())
        ranked = sorted(roles.items(), key=lambda kv: -kv[1])
        parts = ", ".join(f"{r} {v:.2f}" for r, v in ranked if v >= 0.01)
        return f"CPU s in {wall:.1f} s wall ({os.cpu_count()} cores): {total:.1f} total; {parts}"


WAIT_COMPLETE = """
async ({ minTiles, timeout, index }) => {
  const t0 = Date.now();
  for (;;) {
    const c = document.querySelector('.voxwidget-canvas:not([data-old])');
    if (c && c.voxwidget) {
      const s = c.voxwidget.state();
      const at = index === undefined || c.voxwidget.view().index === index;
      if (s.shown && s.stats.tiles >= minTiles && s.stats.requests.length && at) {
        return { t: Date.now(), first: s.stats.requests[0].t, tiles: s.stats.tiles, bytes: s.stats.bytes };
      }
    }
    if (Date.now() - t0 > timeout) throw new Error('timed out waiting for the slice');
    await new Promise((r) => setTimeout(r, 4));
  }
}
"""


SCROLL = """
async ({ slices, z0, timeout }) => {
  const c = document.querySelector('.voxwidget-canvas:not([data-old])');
  const h = c.voxwidget;
  const r = c.getBoundingClientRect();
  const x = r.left + r.width / 2;
  const y = r.top + r.height / 2;
  const lat = [];
  const planes = new Set();
  const t0 = performance.now();
  for (let i = 0; i < slices; i++) {
    const t = performance.now();
    c.dispatchEvent(
      new WheelEvent('wheel', { deltaY: 100, clientX: x, clientY: y, bubbles: true, cancelable: true }),
    );
    for (;;) {
      // state() first: it is cheap, and false from the wheel until the new slice is drawn
      if (h.state().shown) {
        const v = h.view();
        if (v.index === z0 + i + 1) {
          for (const p of v.plan) planes.add(`${p.level}/${v.axis}/${p.index}`);
          break;
        }
      }
      if (performance.now() - t > timeout) throw new Error(`slice ${z0 + i + 1} not complete in time`);
      await new Promise((res) => setTimeout(res, 1));
    }
    lat.push(performance.now() - t);
  }
  return { lat, ms: performance.now() - t0, planes: [...planes] };
}
"""


class Tracer:
    """A Chrome trace of the page's processes (DevTools ``Tracing`` domain, events reported)."""

    CATEGORIES = "devtools.timeline,disabled-by-default-devtools.timeline,v8,blink,toplevel"

    def __init__(self, page):
        self.page, self.events, self.done = page, [], threading.Event()
        on = page.browser.on
        on("Tracing.dataCollected", lambda p: self.events.extend(p["value"]), session=page.session)
        on("Tracing.tracingComplete", lambda p: self.done.set(), session=page.session)

    def start(self) -> None:
        self.page.send("Tracing.start", {"categories": self.CATEGORIES, "transferMode": "ReportEvents"})

    def stop(self) -> list[dict]:
        self.page.send("Tracing.end")
        if not self.done.wait(60):
            raise RuntimeError("the trace did not complete within 60 s")
        return self.events


def print_trace(events: list[dict], top: int) -> None:
    """Renderer main thread time by top-level task kind, and the event kinds inside them by self
    time (complete 'X' events and B/E pairs, nested by time on one thread)."""
    names = {(e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"}
    main = {k for k, n in names.items() if n == "CrRendererMain"}
    spans: dict[tuple, list[tuple[float, float, str]]] = {}
    open_: dict[tuple, list[tuple[float, str]]] = {}
    for e in events:
        k = (e.get("pid"), e.get("tid"))
        if k not in main:
            continue
        ph = e.get("ph")
        if ph == "X" and "dur" in e:
            spans.setdefault(k, []).append((e["ts"], e["ts"] + e["dur"], e["name"]))
        elif ph == "B":
            open_.setdefault(k, []).append((e["ts"], e["name"]))
        elif ph == "E" and open_.get(k):
            t0, name = open_[k].pop()
            spans.setdefault(k, []).append((t0, e["ts"], name))
    top_level: dict[str, float] = {}
    self_time: dict[str, float] = {}
    total = 0.0
    for items in spans.values():
        items.sort(key=lambda s: (s[0], -s[1]))
        stack: list[list] = []  # [start, end, name, child time]
        for t0, t1, name in items:
            while stack and stack[-1][1] <= t0:
                s = stack.pop()
                self_time[s[2]] = self_time.get(s[2], 0) + (s[1] - s[0] - s[3])
            if stack:
                stack[-1][3] += t1 - t0
            else:
                top_level[name] = top_level.get(name, 0) + t1 - t0
                total += t1 - t0
            stack.append([t0, t1, name, 0.0])
        for s in stack:
            self_time[s[2]] = self_time.get(s[2], 0) + (s[1] - s[0] - s[3])
    print(f"trace of the renderer main thread during the scroll: {total / 1000:.0f} ms in top-level tasks")
    for name, us in sorted(top_level.items(), key=lambda kv: -kv[1])[:8]:
        print(f"  top-level {us / 1000:7.0f} ms  {name}")
    print("  event kinds by self time:")
    for name, us in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {us / 1000:7.0f} ms  {name}")


def print_profile(profile: dict, top: int) -> None:
    """Self and total time per function (name, script, line) of a CDP CPU profile, by self time."""
    nodes = {n["id"]: n for n in profile["nodes"]}
    parent = {c: n["id"] for n in profile["nodes"] for c in n.get("children", [])}
    deltas = profile.get("timeDeltas", [])

    def fn_key(nid):
        cf = nodes[nid]["callFrame"]
        url = cf.get("url", "").rsplit("/", 1)[-1].split("?")[0] or "(native)"
        return (cf.get("functionName") or "(anonymous)", url, cf.get("lineNumber", -1) + 1)

    self_us: dict[tuple, float] = {}
    total_us: dict[tuple, float] = {}
    by_script: dict[str, float] = {}
    total = 0.0
    for i, nid in enumerate(profile.get("samples", [])):
        dt = deltas[i + 1] if i + 1 < len(deltas) else 0  # a sample lasts until the next one
        total += dt
        key = fn_key(nid)
        self_us[key] = self_us.get(key, 0) + dt
        by_script[key[1]] = by_script.get(key[1], 0) + dt
        seen = set()
        while nid is not None:
            k = fn_key(nid)
            if k not in seen:
                seen.add(k)
                total_us[k] = total_us.get(k, 0) + dt
            nid = parent.get(nid)
    total = total or 1
    print(f"profile of the page's main thread during the scroll: {total / 1000:.0f} ms sampled")
    for url, us in sorted(by_script.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {us / total:6.1%} {us / 1000:7.0f} ms  {url}")
    print("  top functions by self time (self share, self ms, total ms):")
    for key, us in sorted(self_us.items(), key=lambda kv: -kv[1])[:top]:
        fn, url, line = key
        print(f"  {us / total:6.1%} {us / 1000:7.0f} ms {total_us[key] / 1000:7.0f} ms  {fn}  {url}:{line}")


def reopen(lab: LabPage, page) -> float:
    """Close the widget and run its cell again (a fresh view: empty memory cache); returns the
    page clock (ms) at which the cell was run."""
    lab.kernel_exec("w.close()")
    return page.evaluate(
        "() => { document.querySelectorAll('.voxwidget-canvas')"
        ".forEach((c) => { c.dataset.old = 1; });"
        " const nb = jupyterapp.shell.currentWidget; nb.content.activeCellIndex = 2;"
        " const t = Date.now(); jupyterapp.commands.execute('notebook:run-cell'); return t; }"
    )


def measure_raw(lab: LabPage, page, cpu: ProcessCPU, mib: int, runs: int) -> list[float]:
    """MB/s of ``runs`` runs of ``mib`` × 1 MiB kernel → browser through the sink widget."""
    out = []
    for _ in range(runs):
        page.evaluate("() => { globalThis.__sink.n = 0; globalThis.__sink.bytes = 0; }")
        cpu.start()
        t_send, t_loop = map(float, lab.kernel_exec(SEND_RAW.format(n=mib)).split())
        wait_until(lambda: page.evaluate("() => globalThis.__sink.n") >= mib, 60, what="raw")
        s = page.evaluate("() => globalThis.__sink")
        out.append(s["bytes"] / ((s["last"] - t_send) / 1000) / 1e6)
        print(f"raw run: {out[-1]:.0f} MB/s (kernel send loop {t_loop:.0f} ms); {cpu.stop()}")
    return out


def scroll_run(lab: LabPage, page, cpu: ProcessCPU, args, z_data: int, *, profile: int, trace: int) -> dict:
    """Scroll ``args.slices`` slices one by one from ``z_data`` at level 0; print what it took."""
    lab.kernel_exec(f"w.zoom = 1.0\nw.position = [{z_data}, {args.size // 2}, {args.size // 2}]")
    page.evaluate(WAIT_COMPLETE, {"minTiles": 1, "timeout": 60000})
    time.sleep(0.3)
    page.evaluate(WAIT_COMPLETE, {"minTiles": 1, "timeout": 60000})
    rss0 = int(lab.kernel_exec("print(_rss())").strip())
    s0 = hook(lab, "state")["stats"]
    k0 = json.loads(lab.kernel_exec("print(json.dumps(w.stream_stats))"))
    lab.kernel_exec("_rss_max = _RSSMax()")
    tracer = Tracer(page) if trace else None
    if tracer:
        tracer.start()
    if profile:
        cdp = page if args.driver == "pipe" else page.context.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 200})
        cdp.send("Profiler.start")
    cpu.start()
    run = page.evaluate(SCROLL, {"slices": args.slices, "z0": z_data, "timeout": 60000})
    scroll_cpu = cpu.stop()
    if tracer:
        events = tracer.stop()
    if profile:
        prof = cdp.send("Profiler.stop")["profile"]
    rss_max = int(lab.kernel_exec("print(_rss_max.stop())").strip())
    s1 = hook(lab, "state")["stats"]
    k1 = json.loads(lab.kernel_exec("print(json.dumps(w.stream_stats))"))
    rss1 = int(lab.kernel_exec("print(_rss())").strip())
    lat, wall = run["lat"], run["ms"] / 1000
    got = s1["bytes"] - s0["bytes"]
    pb0, pb1 = s0.get("planeBytes", {}), s1.get("planeBytes", {})
    useful = sum(pb1.get(k, 0) - pb0.get(k, 0) for k in run["planes"])
    wire = got / wall / 1e6
    tiles = s1["tiles"] - s0["tiles"]
    view = hook(lab, "view")
    u = view["rect"]
    voxels = (u["u1"] - u["u0"]) * (u["v1"] - u["v0"])
    decoded = voxels * 2 * args.slices / wall / 1e6
    print(
        f"scrolling at level 0 ({voxels / 1e6:.2f} M voxels/slice, "
        f"{len(view['plan'][-1]['keys'])} tiles/layer/slice): {args.slices / wall:.1f} slices/s; "
        f"comm {wire:.0f} MB/s, "
        f"useful {useful / wall / 1e6:.0f} MB/s ("
        f"{useful / max(got, 1):.0%} of the bytes received), "
        f"{decoded:.0f} MB/s decoded voxels shown"
    )
    print(
        f"kernel sent {(k1['bytes'] - k0['bytes']) / 2**20:.0f} MiB in "
        f"{k1['messages'] - k0['messages']} messages, {k1['seconds'] - k0['seconds']:.1f} s of "
        "worker time; view received "
        f"{got / 2**20:.0f} MiB in {tiles} tiles, {useful / 2**20:.0f} MiB of shown planes"
    )
    reqs = s1["requests"][len(s0["requests"]) :] if len(s1["requests"]) < 1000 else s1["requests"]
    npre = sum(bool(r.get("prefetch")) for r in reqs)
    print(
        f"requests while scrolling: {len(reqs)} ({npre} prefetch, "
        f"{s1.get('prefetchDeferred', 0) - s0.get('prefetchDeferred', 0)} deferred by the "
        f"bytes-in-flight bound), kernel requests {k1['requests'] - k0['requests']}"
    )
    print(f"wheel → slice complete: median {np.median(lat):.0f} ms, max {max(lat):.0f} ms")
    print(
        f"browser: {s1['draws'] - s0['draws']} draws taking {s1['drawMs'] - s0['drawMs']:.0f} ms, "
        f"tile handling {s1['dataMs'] - s0['dataMs']:.0f} ms, wall {wall * 1000:.0f} ms"
    )
    print(
        f"kernel RSS: {rss0 / 2**20:.0f} MiB before scrolling, max {rss_max / 2**20:.0f} MiB "
        f"(sampled every 20 ms), after {rss1 / 2**20:.0f} MiB"
    )
    print(f"scroll {scroll_cpu}")
    if profile:
        print_profile(prof, profile)
    if tracer:
        print_trace(events, trace)
    return {"slices": args.slices, "wall": wall, "got": got, "useful": useful, "decoded": decoded}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--slices", type=int, default=40)
    ap.add_argument("--raw-mib", type=int, default=200)
    ap.add_argument(
        "--repeat", type=int, default=3, help="scroll runs, each through its own chunk layer; median"
    )
    ap.add_argument("--cache-mb", type=int, default=256, help="browser_cache_mb (0: no IndexedDB cache)")
    ap.add_argument("--keep", type=Path, help="write the volume here (reused when it exists)")
    ap.add_argument(
        "--view",
        choices=("2d", "ortho", "3d"),
        default="2d",
        help="the widget's view: 2d (one slice view), ortho (the scroll runs in the z view while the y and "
        "x views and the 3D view follow position)",
    )
    ap.add_argument(
        "--driver",
        choices=("pipe", "playwright"),
        default="pipe",
        help="pipe: a bare Chromium on the DevTools pipe (default); playwright: Playwright's Chromium, "
        "which copies every websocket frame to its driver (the figures of sessions 1-2)",
    )
    ap.add_argument(
        "--profile",
        type=int,
        nargs="?",
        const=25,
        default=0,
        metavar="N",
        help="profile the page's main thread during the scroll (CDP); print the top N functions by self time",
    )
    ap.add_argument(
        "--trace",
        type=int,
        nargs="?",
        const=20,
        default=0,
        metavar="N",
        help="record a Chrome trace of the scroll (--driver pipe) and print the renderer main thread's "
        "time by top-level task kind and the N biggest event kinds inside them",
    )
    args = ap.parse_args()
    if args.trace and args.driver != "pipe":
        ap.error("--trace needs --driver pipe")

    tmp = Path(tempfile.mkdtemp(prefix="vw-bench-"))
    try:
        root = tmp / "root"
        root.mkdir()
        name = f"vol{args.size}x{args.repeat}.ome.zarr"
        vol = args.keep / name if args.keep else root / name
        if vol.exists():
            print(f"volume: reusing {vol}")
        else:
            secs = write_volume(vol, args.size, args.repeat)
            print(
                f"volume: {args.size}³ uint16 pyramid written in {secs:.1f} s, "
                f"{du(vol) / 2**20:.0f} MiB on disk"
            )
        write_notebook(
            root / "bench.ipynb",
            [SETUP, SINK, OPEN.format(path=str(vol), cache_mb=args.cache_mb, view=args.view)],
        )
        with JupyterServer(root) as server, contextlib.ExitStack() as stack:
            if args.driver == "pipe":
                browser = stack.enter_context(PipeBrowser(CHROMIUM, CHROMIUM_ARGS))
                page = browser.new_page(1500, 1300)
            else:
                from playwright.sync_api import sync_playwright

                p = stack.enter_context(sync_playwright())
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                stack.callback(browser.close)
                page = browser.new_page(viewport={"width": 1500, "height": 1300})
            print(f"browser driver: {args.driver}")
            cpu = ProcessCPU({server._proc.pid: "server", os.getpid(): "harness"})
            lab = LabPage(page, server, owns_context=False, base_dir=root)
            lab.open_notebook("bench.ipynb")
            lab.kernel_exec(SETUP)
            # -- raw channel --------------------------------------------------------------------
            page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
            wait_until(lambda: page.evaluate("() => !!globalThis.__sink"), 60, what="sink rendered")
            wait_until(
                lambda: page.evaluate(
                    "() => { const c = document.querySelector('.voxwidget-canvas');"
                    " return !!(c && c.voxwidget && c.voxwidget.state().idle &&"
                    " c.voxwidget.state().stats.tiles > 0); }"
                ),
                120,
                what="first slice (warm-up run)",
            )
            raws = measure_raw(lab, page, cpu, args.raw_mib, 2)

            # -- first slice: re-run the widget cell (the zarr files are in the OS cache) -------
            firsts = []
            for _ in range(3):
                t_run = reopen(lab, page)
                done = page.evaluate(WAIT_COMPLETE, {"minTiles": 1, "timeout": 60000})
                t_open = float(lab.kernel_exec("print(_t_open)").strip())
                firsts.append((done["t"] - t_run, done["t"] - done["first"], t_open * 1000, done["tiles"]))
            best = min(firsts)
            print(
                f"first slice: {best[0]:.0f} ms from running the cell (kernel opens the volume in "
                f"{best[2]:.0f} ms), {best[1]:.0f} ms from the view's first request; {best[3]} tiles "
                f"(runs: {[round(f[0]) for f in firsts]} ms)"
            )
            levels = json.loads(lab.kernel_exec("print(json.dumps(w.levels))"))
            print(f"levels: {[lv['shape'][0] for lv in levels]}")

            # -- scrolling at level 0: each run through its own chunk layer of data -------------
            runs = []
            for r in range(args.repeat):
                z0 = args.size // 2 + r * CHUNK
                print(f"-- scroll run {r + 1} of {args.repeat}: slices {z0 + 1}…{z0 + args.slices}")
                prof, trace = (args.profile, args.trace) if r == args.repeat - 1 else (0, 0)
                runs.append(scroll_run(lab, page, cpu, args, z0, profile=prof, trace=trace))
            raws += measure_raw(lab, page, cpu, args.raw_mib, 1)
            raw = max(raws)
            rates = [x["slices"] / x["wall"] for x in runs]
            wires = [x["got"] / x["wall"] / 1e6 for x in runs]
            useful = [x["useful"] / x["wall"] / 1e6 for x in runs]
            decoded = [x["decoded"] for x in runs]
            print(
                f"raw comm kernel→browser: {raw:.0f} MB/s, the best of {len(raws)} runs of "
                f"{args.raw_mib} × 1 MiB ({', '.join(f'{x:.0f}' for x in raws)}; the last after scrolling)"
            )
            print(
                f"scrolling, median of {len(runs)} runs: {np.median(rates):.1f} slices/s "
                f"({', '.join(f'{x:.1f}' for x in rates)}); comm {np.median(wires):.0f} MB/s "
                f"= {np.median(wires) / raw:.0%} of raw; useful {np.median(useful):.0f} MB/s "
                f"= {np.median(useful) / raw:.0%}; decoded voxels shown {np.median(decoded):.0f} MB/s "
                f"= {np.median(decoded) / raw:.0%}"
            )

    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
