"""Exports of the label map against baselines measured in the same run.

Usage::

    python bench/bench_export.py [--size 512] [--chunk 64] [--repeat 3] [--big 2048]

A ``size``³ uint32 segmentation (blocky cells with shifted boundaries over a background, written
into a stored map) is exported, and each export is compared with its baseline:

* ``to_ome_zarr`` (label pyramid, mode downsampling, 2× per level until one chunk) vs
  ``ome_zarr.writer.write_labels`` of the same numpy array with the same chunks and as many levels
  (its default "nearest" downsampling; the ``labels`` group's ``version`` added as NGFF 0.5 requires);
  goal ≥ 2× faster.
* ``to_numpy()`` of the whole map (in memory) vs ``np.copy`` of the same array; goal ≤ 1.5×.
* ``to_nanovdb`` (OnIndex + labels channel, and int64 leaves) in MB/s vs writing the same number of
  bytes raw (one write + fsync).
* peak RSS and time of a lazily created ``big``³ map with a few painted regions exported to
  OME-Zarr and NanoVDB in a fresh subprocess (0 skips).

Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from timing import median_time, paired

from voxwidget import LabelMap


def segmentation(size: int, seed: int = 0) -> np.ndarray:
    """Cells of ~16³ voxels with ids up to 2**20, boundaries shifted plane by plane, 1/3 background."""
    rng = np.random.default_rng(seed)
    cell = 16
    n = size // cell + 2
    coarse = rng.integers(1, 2**20, (n, n, n), dtype=np.uint32)
    coarse[rng.random((n, n, n)) < 0.33] = 0
    out = np.empty((size, size, size), np.uint32)
    shifts = (np.sin(np.arange(size) / 9.0) * 5).astype(int)
    for z in range(size):
        plane = np.repeat(np.repeat(coarse[z // cell], cell, 0), cell, 1)
        s = shifts[z]
        out[z] = plane[cell + s : cell + s + size, cell - s : cell - s + size]
    return out


def rm(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()


def write_labels_baseline(arr: np.ndarray, path: Path, chunk: int, levels: int) -> None:
    import zarr
    from ome_zarr.writer import write_labels

    root = zarr.open_group(str(path), mode="w")
    write_labels(
        arr,
        root,
        name="labels",
        axes="zyx",
        scale_factors=[2**k for k in range(1, levels)],
        storage_options={"chunks": (chunk,) * 3},
    )
    labels = zarr.open_group(str(path / "labels"), mode="r+")
    labels.attrs["ome"] = {**labels.attrs["ome"], "version": "0.5"}


BIG = r"""
import json, re, sys, time
from pathlib import Path
from voxwidget import LabelMap
root, size = Path(sys.argv[1]), int(sys.argv[2])
lm = LabelMap((size,) * 3, dtype="uint32", chunks=(64, 64, 64), path=root / "big.zarr")
lm[100:160, 200:260, 300:420] = 7
lm.paint((size // 2,) * 3, 40, 9, dims=3)
lm[size - 48 :, 0:64, size - 58 :] = 123456
lm.checkpoint()
t0 = time.perf_counter()
lm.to_ome_zarr(root / "big.ome.zarr", progress=False)
t1 = time.perf_counter()
lm.to_nanovdb(root / "big.nvdb", progress=False)
t2 = time.perf_counter()
# VmHWM: this process's own peak (ru_maxrss would include the parent's RSS at fork, kept over exec)
hwm = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
print(json.dumps({"rss": hwm,
                  "ome_s": t1 - t0, "nvdb_s": t2 - t1}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--chunk", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--big", type=int, default=2048)
    args = ap.parse_args()
    size, chunk, rep = args.size, args.chunk, args.repeat
    with tempfile.TemporaryDirectory(prefix="bench-export-", dir=os.environ.get("TMPDIR")) as d:
        tmp = Path(d)
        arr = segmentation(size)
        print(
            f"map: {size}³ uint32, {chunk}³ chunks, {arr.nbytes / 2**20:.0f} MiB, "
            f"{np.count_nonzero(arr) / arr.size:.0%} labelled"
        )
        lm = LabelMap.from_array(arr, chunks=(chunk,) * 3, path=tmp / "map.zarr")
        from voxwidget.export.pyramid import level_shapes

        levels = len(level_shapes(arr.shape, (chunk,) * 3))

        ours = median_time(
            lambda: lm.to_ome_zarr(tmp / "ours.zarr", progress=False), rep, lambda: rm(tmp / "ours.zarr")
        )
        ref = median_time(
            lambda: write_labels_baseline(arr, tmp / "ref.zarr", chunk, levels),
            rep,
            lambda: rm(tmp / "ref.zarr"),
        )
        print(
            f"OME-Zarr, {levels} levels: to_ome_zarr {ours:.2f} s, ome_zarr write_labels {ref:.2f} s "
            f"-> {ref / ours:.2f}x faster (goal >= 2x)"
        )

        mem = LabelMap.from_array(arr, chunks=(chunk,) * 3)
        ours, ref = paired(mem.to_numpy, lambda: np.copy(arr), max(rep, 5))
        print(f"to_numpy (in memory): {ours:.3f} s, np.copy {ref:.3f} s -> {ours / ref:.2f}x (goal <= 1.5x)")
        ours_s, ref = paired(lm.to_numpy, lambda: np.copy(arr), rep)
        print(
            f"to_numpy (stored map, chunks decoded from disk): {ours_s:.3f} s -> {ours_s / ref:.2f}x np.copy"
        )

        for grid in ("onindex", "int64"):
            p = tmp / f"{grid}.nvdb"
            lm.to_nanovdb(p, grid=grid, progress=False)
            nbytes = p.stat().st_size
            payload = memoryview(os.urandom(1 << 20) * (nbytes >> 20) + os.urandom(nbytes & ((1 << 20) - 1)))

            def raw(payload: memoryview = payload) -> None:
                fd = os.open(tmp / "raw.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    view = payload
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)

            ours, ref = paired(
                lambda p=p, grid=grid: lm.to_nanovdb(p, grid=grid, progress=False, overwrite=True), raw, rep
            )
            mb = nbytes / 1e6
            print(
                f"NanoVDB {grid}: {mb:.0f} MB in {ours:.2f} s = {mb / ours:.0f} MB/s; raw write+fsync "
                f"{mb / ref:.0f} MB/s -> {ours / ref:.1f}x the raw time"
            )
        lm.close()

        if args.big:
            out = subprocess.run(
                [sys.executable, "-c", BIG, str(tmp), str(args.big)],
                capture_output=True,
                text=True,
                check=True,
            )
            s = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{args.big}³ lazily created map, 3 painted regions: to_ome_zarr {s['ome_s']:.1f} s, "
                f"to_nanovdb {s['nvdb_s']:.1f} s, peak RSS {s['rss'] / 2**20:.0f} MiB (goal < 1024)"
            )


if __name__ == "__main__":
    main()
