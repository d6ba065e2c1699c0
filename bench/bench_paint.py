"""Brush-stroke benchmark: LabelMap.paint vs bare numpy vs napari's Labels.paint (headless).

A 100-point stroke (points 3 voxels apart along a wavy line) on a 512³ uint32 volume, radius 10 and
30, 2D disks and 3D balls. Columns:

- ``numpy``: the same disks/balls with a precomputed boolean template, ``vol[box][mask] = label``
  on one dense 512³ array (the floor: no chunking, no history, no versions, no journal);
- ``LM mem``: ``LabelMap.paint`` in memory (64³ chunks; undo atoms, versions, notifications);
- ``LM path``: the same with a zarr store + write-ahead journal (time of the 100 calls; the
  journal's group commit runs concurrently; ``durable`` = until the last batch is fsync'd);
- ``napari``: ``napari.layers.Labels.paint`` inside ``block_history()``, ``brush_size = 2r + 1``.

Each cell is the best (min) over repeats of one whole stroke (ms); every repeat paints a new label so
all voxels change. Run: ``python bench/bench_paint.py [--repeats N] [--no-napari]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from voxwidget.brush import brush_box, brush_template
from voxwidget.labelmap import LabelMap

N = 512
SHAPE = (N, N, N)


def stroke(n: int = 100, dims: int = 2) -> list[tuple[int, int, int]]:
    pts = []
    for i in range(n):
        z = 256 + (int(20 * math.sin(i / 15)) if dims == 3 else 0)
        pts.append((z, 100 + 3 * i, 256 + int(40 * math.sin(i / 10))))
    return pts


def bench_numpy(vol, pts, r, dims, label):
    t = time.perf_counter()
    tmpl = brush_template(r, dims, 0)
    for c in pts:
        lo, hi, tsl = brush_box(c, r, dims, 0, SHAPE)
        vol[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]][tmpl[tsl]] = label
    return time.perf_counter() - t


def bench_lm(lm, pts, r, dims, label):
    t = time.perf_counter()
    res = None
    for c in pts:
        res = lm.paint(c, r, label, dims=dims, stroke=f"s{label}")
    t1 = time.perf_counter() - t
    res.durable.result()
    return t1, time.perf_counter() - t


def bench_napari(layer, pts, r, dims, label):
    layer.brush_size = 2 * r + 1
    layer.n_edit_dimensions = dims
    t = time.perf_counter()
    with layer.block_history():
        for c in pts:
            layer.paint(c, label, refresh=False) if _napari_refresh_kw(layer) else layer.paint(c, label)
    return time.perf_counter() - t


def _napari_refresh_kw(layer) -> bool:
    import inspect

    return "refresh" in inspect.signature(layer.paint).parameters


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-napari", action="store_true")
    args = ap.parse_args()
    napari_note = ""
    layer = None
    if not args.no_napari:
        try:
            from napari.layers import Labels

            layer = Labels(np.zeros(SHAPE, np.uint32))
        except Exception as e:  # pragma: no cover - depends on the environment
            napari_note = f"napari column skipped: cannot import/create napari Labels ({e!r})"
    vol = np.zeros(SHAPE, np.uint32)
    tmp = tempfile.mkdtemp(prefix="vw-bench-")
    rows = []
    for dims in (2, 3):
        for r in (10, 30):
            pts = stroke(100, dims)
            vol.fill(0)
            lm_mem = LabelMap(SHAPE)
            lm_path = LabelMap(SHAPE, path=Path(tmp) / f"d{dims}r{r}.zarr")
            res = {"numpy": [], "mem": [], "path": [], "durable": [], "napari": []}
            for rep in range(args.repeats):
                label = rep + 1
                res["numpy"].append(bench_numpy(vol, pts, r, dims, label))
                res["mem"].append(bench_lm(lm_mem, pts, r, dims, label)[0])
                t, td = bench_lm(lm_path, pts, r, dims, label)
                res["path"].append(t)
                res["durable"].append(td)
                if layer is not None:
                    res["napari"].append(bench_napari(layer, pts, r, dims, label))
            np.testing.assert_array_equal(lm_mem[200:320, 90:410, 200:310], vol[200:320, 90:410, 200:310])
            lm_path.close()
            med = {k: min(v) * 1e3 if v else float("nan") for k, v in res.items()}
            rows.append((f"{dims}D r={r}", med))
    hdr = (
        f"{'case':<9} {'numpy':>8} {'LM mem':>8} {'LM path':>8} {'durable':>8} {'napari':>9}"
        f" {'mem/np':>7} {'path/np':>8} {'napari/mem':>10} {'napari/path':>11}"
    )
    print(f"100-point stroke on {N}^3 uint32, best-of ms per stroke ({args.repeats} repeats)")
    print(hdr)
    print("-" * len(hdr))
    for name, m in rows:
        print(
            f"{name:<9} {m['numpy']:8.2f} {m['mem']:8.2f} {m['path']:8.2f}"
            f" {m['durable']:8.2f} {m['napari']:9.2f}"
            f" {m['mem'] / m['numpy']:7.2f} {m['path'] / m['numpy']:8.2f}"
            f" {m['napari'] / m['mem']:10.1f} {m['napari'] / m['path']:11.1f}"
        )
    if napari_note:
        print(napari_note)
    print("goal: napari/mem >= 10, mem/np <= 2")


if __name__ == "__main__":
    main()
