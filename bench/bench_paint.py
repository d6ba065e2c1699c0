"""Brush-stroke benchmark: LabelMap.paint (per point and whole stroke) vs bare numpy vs napari.

A 100-point stroke (points 3 voxels apart along a wavy line) on a 512³ uint32 volume, radius 10 and
30, 2D disks (axis 0) and 3D balls. Columns (best-of ms per whole stroke):

- ``np/pt``: the same disks/balls per point with the precomputed boolean template,
  ``vol[box][mask] = label`` on one dense 512³ array (no chunking, history, versions or journal);
- ``np∪``: numpy painting the stroke's union once: stamp the templates into one boolean mask over
  the stroke's bounding box (slicing), then one ``vol[bbox][mask] = label`` (the floor for a stroke);
- ``LM/pt``: ``LabelMap.paint(centre, …, stroke=id)`` per point, in memory (64³ chunks);
- ``LM/pt P``: the same with a zarr store + write-ahead journal (time of the calls);
- ``LM∪``: ``LabelMap.paint(centres)`` with the (100, 3) array: one batch, in memory;
- ``LM∪ P``: the same with a store (journal record encoded in the call, fsync'd by the journal
  thread); ``durable``: until that batch's ``durable`` future is done (one group-commit fsync);
- ``napari``: ``napari.layers.Labels.paint(centre, label, refresh=False)`` per point inside
  ``block_history()`` (so it also records undo), ``n_edit_dimensions = dims``.

Brush match: napari's brush is ``dist² <= (floor(brush_size / 2) + 0.5)²``, our contract
``dist² <= r²``; no ``brush_size`` gives exactly ours, the closest superset is ``brush_size = 2r + 1``
(``dist² <= r² + r``), used here; the footprints (voxels per stamp) are printed below the table.

Every repeat paints a new label so all voxels of the stroke change. Run:
``python bench/bench_paint.py [--repeats N] [--no-napari]``.
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
from brush_templates import brush_box, brush_template

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


def bench_numpy_union(vol, pts, r, dims, label):
    t = time.perf_counter()
    tmpl = brush_template(r, dims, 0)
    boxes = [brush_box(c, r, dims, 0, SHAPE) for c in pts]
    lo = [min(b[0][d] for b in boxes) for d in range(3)]
    hi = [max(b[1][d] for b in boxes) for d in range(3)]
    mask = np.zeros([b - a for a, b in zip(lo, hi, strict=True)], bool)
    for a, b, tsl in boxes:
        v = mask[a[0] - lo[0] : b[0] - lo[0], a[1] - lo[1] : b[1] - lo[1], a[2] - lo[2] : b[2] - lo[2]]
        v |= tmpl[tsl]
    vol[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]][mask] = label
    return time.perf_counter() - t


def bench_lm(lm, pts, r, dims, label):
    t = time.perf_counter()
    res = None
    for c in pts:
        res = lm.paint(c, r, label, dims=dims, stroke=f"s{label}")
    t1 = time.perf_counter() - t
    res.durable.result()
    return t1, time.perf_counter() - t


def bench_lm_stroke(lm, centres, r, dims, label):
    t = time.perf_counter()
    res = lm.paint(centres, r, label, dims=dims)
    t1 = time.perf_counter() - t
    res.durable.result()
    return t1, time.perf_counter() - t


def bench_napari(layer, pts, r, dims, label):
    layer.brush_size = 2 * r + 1
    layer.n_edit_dimensions = dims
    t = time.perf_counter()
    with layer.block_history():
        for c in pts:
            layer.paint(c, label, refresh=False)
    return time.perf_counter() - t


def footprints(layer, r: int, dims: int) -> tuple[int, int]:
    """Voxels of one stamp: ours, napari's (painted on a scratch layer at the volume centre)."""
    ours = int(brush_template(r, dims, 0).sum())
    if layer is None:
        return ours, -1
    from napari.layers import Labels

    n = 2 * r + 9
    scratch = Labels(np.zeros((n, n, n), np.uint8))
    scratch.brush_size = 2 * r + 1
    scratch.n_edit_dimensions = dims
    scratch.paint((n // 2,) * 3, 1, refresh=False)
    return ours, int((scratch.data == 1).sum())


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
    vol_u = np.zeros(SHAPE, np.uint32)
    tmp = tempfile.mkdtemp(prefix="vw-bench-")
    rows, feet = [], []
    cols = ("np", "npu", "pt", "ptP", "st", "stP", "dur", "napari")
    for dims in (2, 3):
        for r in (10, 30):
            pts = stroke(100, dims)
            centres = np.array(pts)
            vol.fill(0)
            vol_u.fill(0)
            lms = {k: LabelMap(SHAPE) for k in ("pt", "st")}
            lms |= {k: LabelMap(SHAPE, path=Path(tmp) / f"{k}{dims}{r}.zarr") for k in ("ptP", "stP")}
            res: dict[str, list[float]] = {k: [] for k in cols}
            for rep in range(args.repeats):
                label = rep + 1
                res["np"].append(bench_numpy(vol, pts, r, dims, label))
                res["npu"].append(bench_numpy_union(vol_u, pts, r, dims, label))
                res["pt"].append(bench_lm(lms["pt"], pts, r, dims, label)[0])
                res["ptP"].append(bench_lm(lms["ptP"], pts, r, dims, label)[0])
                res["st"].append(bench_lm_stroke(lms["st"], centres, r, dims, label)[0])
                t, td = bench_lm_stroke(lms["stP"], centres, r, dims, label)
                res["stP"].append(t)
                res["dur"].append(td)
                for k in ("ptP", "stP"):  # checkpoint now, untimed, not in a later column's time
                    lms[k].save()
                if layer is not None:
                    res["napari"].append(bench_napari(layer, pts, r, dims, label))
            region = np.s_[200:320, 60:440, 180:340]
            np.testing.assert_array_equal(vol_u[region], vol[region])
            for lm in lms.values():
                np.testing.assert_array_equal(lm[region], vol[region])
                lm.close()
            rows.append((f"{dims}D r={r}", {k: min(v) * 1e3 if v else float("nan") for k, v in res.items()}))
            feet.append((f"{dims}D r={r}", *footprints(layer, r, dims)))
    hdr = (
        f"{'case':<8} {'np/pt':>7} {'np∪':>6} {'LM/pt':>7} {'LM/pt P':>7} {'LM∪':>6} {'LM∪ P':>6}"
        f" {'durable':>7} {'napari':>7} | {'nap/LM∪':>7} {'nap/LM∪P':>8} {'LM∪/np/pt':>9} {'LM∪/np∪':>7}"
        f" {'LM/pt÷np/pt':>11}"
    )
    print(f"100-point stroke on {N}^3 uint32, best-of ms per stroke ({args.repeats} repeats)")
    print(hdr)
    print("-" * len(hdr))
    for name, m in rows:
        print(
            f"{name:<8} {m['np']:7.2f} {m['npu']:6.2f} {m['pt']:7.2f} {m['ptP']:7.2f} {m['st']:6.2f}"
            f" {m['stP']:6.2f} {m['dur']:7.2f} {m['napari']:7.1f} | {m['napari'] / m['st']:7.1f}"
            f" {m['napari'] / m['stP']:8.1f} {m['st'] / m['np']:9.2f} {m['st'] / m['npu']:7.2f}"
            f" {m['pt'] / m['np']:11.2f}"
        )
    print("voxels per stamp (ours dist²<=r², napari brush_size=2r+1):")
    for name, ours, nap in feet:
        print(
            f"  {name}: ours {ours}, napari {nap}" + (f" (+{100 * (nap / ours - 1):.0f}%)" if nap > 0 else "")
        )
    if napari_note:
        print(napari_note)
    print("goal: nap/LM∪ >= 10 and LM∪/np/pt <= 2")


if __name__ == "__main__":
    main()
