"""Time a lazily computed level-2 tile against reading the same level-0 region raw.

Usage::

    python bench/bench_pyramid.py [--size 512] [--chunk 64] [--repeat 5]

A zarr volume (uint16, ``size``³, ``chunk``³ chunks, smooth noise so it compresses like microscopy) is
written to a temporary directory. For a 2D plane tile (1×64×64 at level 2) and a 3D tile (64³ at level 2)
it reports: the raw level-0 read of the tile's footprint, the cold computed tile (empty cache: level 0 is
read and reduced twice), and the warm tile (from the block cache). Medians of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import zarr

from voxwidget.multiscale import open_image


def make_volume(path: Path, size: int, chunk: int) -> zarr.Array:
    z = zarr.create_array(path, shape=(size,) * 3, chunks=(chunk,) * 3, dtype="uint16")
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 4000, (size // 16 + 1,) * 3).astype(np.uint16)
    for k in range(0, size, chunk):  # write slab by slab to keep memory small
        slab = np.repeat(np.repeat(np.repeat(coarse, 16, 0), 16, 1), 16, 2)[k : k + chunk, :size, :size]
        z[k : k + chunk] = slab + rng.integers(0, 50, slab.shape, dtype=np.uint16)
    return z


def median_time(fn: Callable[[], object], repeat: int, setup: Callable[[], object] | None = None) -> float:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        z = make_volume(Path(tmp) / "bench.zarr", args.size, args.chunk)
        print(f"wrote {args.size}³ uint16, chunks {args.chunk}³ in {time.perf_counter() - t0:.1f} s")
        holder: dict[str, object] = {}

        def fresh() -> None:
            holder["im"] = open_image(z)

        fresh()
        im = holder["im"]
        print(f"levels: {[lv.shape for lv in im.levels]}")  # type: ignore[attr-defined]
        tiles = {
            "2D tile 1×64×64": (slice(10, 11), slice(64, 128), slice(0, 64)),
            "3D tile 64³": (slice(0, 64), slice(64, 128), slice(0, 64)),
        }
        print(f"{'tile':<18}{'raw level 0':>14}{'level 2 cold':>14}{'level 2 warm':>14}   footprint")
        for name, region in tiles.items():
            foot = tuple(slice(r.start * 4, r.stop * 4) for r in region)
            raw = median_time(lambda foot=foot: z[foot], args.repeat)
            cold = median_time(
                lambda region=region: holder["im"].read(region, level=2),  # type: ignore[attr-defined]
                args.repeat,
                setup=fresh,
            )
            holder["im"].read(region, level=2)  # type: ignore[attr-defined]
            warm = median_time(lambda region=region: holder["im"].read(region, level=2), args.repeat)  # type: ignore[attr-defined]
            shape = tuple(s.stop - s.start for s in foot)
            print(f"{name:<18}{raw * 1e3:>11.1f} ms{cold * 1e3:>11.1f} ms{warm * 1e3:>11.2f} ms   {shape}")


if __name__ == "__main__":
    main()
