"""Durability benchmark: journal ack latency and checkpoint throughput.

1. Ack latency: a stroke of 200 browser-like batches (a radius-10 disk's voxels split per 64³
   chunk, uint32 offsets + values, as ``edits.apply`` carries them) sent back to back without waiting
   (the browser never waits for an ack); latency = ``apply_batch`` call -> ``durable`` future done.
   Also the same stroke one batch at a time (wait for each ack).
2. Checkpoint throughput: 128 dirty 64³ uint32 chunks of blob-like labels, ``checkpoint()`` vs a raw
   baseline that writes the same compressed chunk bytes (precomputed) with temp file + write +
   fsync + rename + fsync(dir), one chunk after the other.

Run: ``python bench/bench_durability.py``.
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from brush_templates import brush_box, brush_template

from voxwidget.labelmap import ChunkEdit, LabelMap

SHAPE = (512, 512, 512)
C = 64


def stroke_batches(n: int, label: int) -> list[list[ChunkEdit]]:
    out = []
    for i in range(n):
        c = (256, 100 + 2 * i, 256 + int(30 * np.sin(i / 10)))
        lo, _, tsl = brush_box(c, 10, 2, 0, SHAPE)
        zz, yy, xx = np.nonzero(brush_template(10, 2, 0)[tsl])
        zz, yy, xx = zz + lo[0], yy + lo[1], xx + lo[2]
        keys = np.stack([zz // C, yy // C, xx // C], 1)
        edits = []
        for k in np.unique(keys, axis=0):
            sel = (keys == k).all(1)
            offs = np.ravel_multi_index((zz[sel] % C, yy[sel] % C, xx[sel] % C), (C, C, C)).astype(np.uint32)
            edits.append(ChunkEdit(tuple(int(v) for v in k), offs, np.full(offs.size, label, np.uint32)))
        out.append(edits)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def ack_latency(tmp: Path) -> None:
    lm = LabelMap(SHAPE, path=tmp / "ack.zarr")
    batches = stroke_batches(200, 7)
    lat: list[float] = []
    t0 = time.perf_counter()
    futs = []
    for i, edits in enumerate(batches):
        t = time.perf_counter()
        r = lm.apply_batch(f"p{i}", edits, stroke="s1")
        r.durable.add_done_callback(lambda _f, t=t: lat.append(time.perf_counter() - t))
        futs.append(r.durable)
    for f in futs:
        f.result()
    wall = time.perf_counter() - t0
    fsyncs = lm._core.persist.journal.fsyncs
    seq = []
    for i, edits in enumerate(stroke_batches(200, 8)):
        t = time.perf_counter()
        lm.apply_batch(f"q{i}", edits, stroke="s2").durable.result()
        seq.append(time.perf_counter() - t)
    lm.close()
    print("journal ack latency, 200 browser-like batches (radius-10 disk each, ~317 voxels)")
    print(f"{'mode':<22} {'median ms':>10} {'p95 ms':>8} {'max ms':>8}  notes")
    print(
        f"{'pipelined':<22} {statistics.median(lat) * 1e3:10.2f} {pct(lat, 95) * 1e3:8.2f}"
        f" {max(lat) * 1e3:8.2f}"
        f"  {wall * 1e3:.0f} ms for all, {fsyncs} fsyncs for 200 batches (group commit)"
    )
    print(
        f"{'one at a time':<22} {statistics.median(seq) * 1e3:10.2f} {pct(seq, 95) * 1e3:8.2f}"
        f" {max(seq) * 1e3:8.2f}"
        f"  (one fsync per batch)"
    )


def blob_chunk(rng: np.random.Generator) -> np.ndarray:
    z, y, x = np.ogrid[:C, :C, :C]
    out = np.zeros((C, C, C), np.uint32)
    for _ in range(6):
        c = rng.integers(0, C, 3)
        r = rng.integers(8, 24)
        out[(z - c[0]) ** 2 + (y - c[1]) ** 2 + (x - c[2]) ** 2 <= r * r] = rng.integers(1, 2**31)
    return out


def raw_write(path: str, data: bytes) -> None:
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.replace(tmp, path)
    dfd = os.open(os.path.dirname(path), os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)


def checkpoint_throughput(tmp: Path, n: int = 128, repeats: int = 3) -> None:
    rng = np.random.default_rng(0)
    chunks = [blob_chunk(rng) for _ in range(16)]
    keys = [(z, y, x) for z in range(8) for y in range(4) for x in range(4)][:n]
    ours, base, nbytes = [], [], 0
    for rep in range(repeats):
        p = tmp / f"ck{rep}.zarr"
        lm = LabelMap(SHAPE, path=p, checkpoint_delay=3600)
        for i, k in enumerate(keys):
            res = lm.set(tuple(slice(v * C, (v + 1) * C) for v in k), chunks[i % 16])
        res.durable.result()  # the journal is flushed: the timing below is the checkpoint alone
        lm._core.history.clear()
        t = time.perf_counter()
        lm.checkpoint()
        ours.append(time.perf_counter() - t)
        enc = [lm._core.persist.store._codec.encode(chunks[i % 16]) for i in range(len(keys))]
        nbytes = sum(len(b) for b in enc)
        lm.close()
        # raw baseline: the same compressed bytes, same directory layout, fresh directories
        root = tmp / f"raw{rep}"
        for k in keys:
            os.makedirs(root / "c" / str(k[0]) / str(k[1]), exist_ok=True)
        t = time.perf_counter()
        for k, b in zip(keys, enc, strict=True):
            raw_write(str(root / "c" / str(k[0]) / str(k[1]) / str(k[2])), b)
        base.append(time.perf_counter() - t)
        shutil.rmtree(p)
        shutil.rmtree(root)
    mib = n * C**3 * 4 / 2**20
    o, b = min(ours), min(base)
    print(
        f"\ncheckpoint throughput, {n} dirty 64^3 uint32 chunks "
        f"({mib:.0f} MiB raw, {nbytes / 2**20:.1f} MiB lz4)"
    )
    print(f"{'writer':<36} {'best s':>7} {'chunks/s':>9} {'MiB/s raw':>10}")
    print(f"{'LabelMap.checkpoint (encode+write)':<36} {o:7.3f} {n / o:9.0f} {mib / o:10.0f}")
    print(f"{'raw baseline (pre-encoded bytes)':<36} {b:7.3f} {n / b:9.0f} {mib / b:10.0f}")
    print(f"ratio checkpoint/baseline throughput: {b / o:.2f}x (goal >= 0.8x)")


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="vw-dur-"))
    try:
        ack_latency(tmp)
        checkpoint_throughput(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
