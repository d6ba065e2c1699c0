"""Time lazily computed pyramid levels of a single-scale zarr against reading level 0 raw.

Usage::

    python bench/bench_pyramid.py [--size 512] [--chunk 64] [--repeat 5]
                                  [--overview-size 2048] [--window 640x480]

Tiles: a zarr volume (uint16, ``size``³, ``chunk``³ chunks, smooth noise so it compresses like
microscopy) is written to a temporary directory. For a 2D plane tile (1×64×64 at level 2) and a 3D tile
(64³ at level 2) it reports: the raw level-0 read of the tile's footprint, the cold computed tile (empty
cache) by the plane path (2D reads, ``ComputedLevel.read``'s default for thin regions) and by the block
path (``read_blocks``, what every read did before the plane path), and the warm tile. Medians of
``--repeat`` runs.

Overview (``--overview-size``, 0 to skip): a ``N``³ uint16 zarr written lazily (only the chunks of a
central ball hold data, the rest is the fill value) and the first planes a 2D view of it shows when it
fits the volume in a ``--window`` canvas: the coarsest level (the placeholder) and the level
``lod.choose_level`` picks, through the middle of the volume. For each: the raw zarr read of the level-0
planes the plane reduces from (and of just one of them: decimating would not read less, zarr decodes
whole chunks), the plane path cold and warm, and the block path cold (once: it reads
``2**k × block depth`` planes).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import zarr
from timing import median_time

from voxwidget.multiscale import open_image
from voxwidget.multiscale.lod import choose_level


def make_volume(path: Path, size: int, chunk: int) -> zarr.Array:
    z = zarr.create_array(path, shape=(size,) * 3, chunks=(chunk,) * 3, dtype="uint16")
    rng = np.random.default_rng(0)
    coarse = rng.integers(0, 4000, (size // 16 + 1,) * 3).astype(np.uint16)
    for k in range(0, size, chunk):  # write slab by slab to keep memory small
        slab = np.repeat(np.repeat(np.repeat(coarse, 16, 0), 16, 1), 16, 2)[k : k + chunk, :size, :size]
        z[k : k + chunk] = slab + rng.integers(0, 50, slab.shape, dtype=np.uint16)
    return z


def make_sparse_volume(path: Path, size: int, chunk: int) -> zarr.Array:
    """A ``size``³ uint16 zarr whose chunks inside a central ball (radius size/4) hold smooth data."""
    z = zarr.create_array(path, shape=(size,) * 3, chunks=(chunk,) * 3, dtype="uint16", fill_value=0)
    rng = np.random.default_rng(1)
    n = size // chunk
    centre, radius = (n - 1) / 2, n / 4
    c = np.arange(chunk)
    smooth = (1000 + 500 * np.sin(c / 9)[:, None, None] * np.cos(c / 13)[None, :, None] + 3 * c).astype(
        np.uint16
    )
    for kz in range(n):  # one slab of chunks per write, only the chunks inside the ball
        ky, kx = np.nonzero(
            (np.arange(n)[:, None] - centre) ** 2 + (np.arange(n)[None, :] - centre) ** 2
            <= radius**2 - (kz - centre) ** 2
        )
        if not len(ky):
            continue
        y0, y1, x0, x1 = ky.min(), ky.max() + 1, kx.min(), kx.max() + 1
        slab = np.zeros((chunk, (y1 - y0) * chunk, (x1 - x0) * chunk), np.uint16)
        for y, x in zip(ky, kx, strict=True):
            noise = rng.integers(0, 4, (chunk,) * 3, dtype=np.uint16)
            slab[:, (y - y0) * chunk : (y - y0 + 1) * chunk, (x - x0) * chunk : (x - x0 + 1) * chunk] = (
                smooth + noise + np.uint16(kz * 10 + y + x)
            )
        z[kz * chunk : (kz + 1) * chunk, y0 * chunk : y1 * chunk, x0 * chunk : x1 * chunk] = slab
    return z


def overview(size: int, chunk: int, window: tuple[int, int], repeat: int, tmp: str) -> None:
    t0 = time.perf_counter()
    z = make_sparse_volume(Path(tmp) / "overview.zarr", size, chunk)
    took = time.perf_counter() - t0
    print(f"\nwrote {size}³ uint16 lazily (central ball of chunks), chunks {chunk}³ in {took:.1f} s")
    im = open_image(z)
    print(f"levels: {[lv.shape for lv in im.levels]}")
    zoom = min(window[0] / size, window[1] / size)  # fit: the browser's fitScale for a z view
    fit = choose_level(im.downsamples, zoom, 0)
    index0 = size // 2
    print(f"window {window[0]}×{window[1]}: zoom {zoom:.3f} → level {fit}; plane z={index0} (level 0)")
    header = ["level", "raw planes", "raw 1 plane", "plane cold", "plane warm", "block cold"]
    header += ["block/plane", "plane/raw", "cache MB"]
    print("".join(f"{h:>12}" for h in header))
    for level in sorted({len(im.levels) - 1, fit}, reverse=True):
        d = im.levels[level].downsample[0]
        index = index0 // d
        region = (slice(index, index + 1), slice(0, None), slice(0, None))
        raw = median_time(lambda d=d, index=index: z[index * d : (index + 1) * d], repeat)
        raw1 = median_time(lambda d=d, index=index: z[index * d : index * d + 1], repeat)
        images: list = []
        read = lambda images=images, level=level, region=region: images[-1].read(region, level=level)  # noqa: E731
        cold = median_time(read, repeat, setup=lambda images=images: images.append(open_image(z)))
        warm = median_time(read, repeat)
        cache_mb = images[-1].cache.nbytes / 2**20
        lv = open_image(z).levels[level]
        box = (region[0], slice(0, lv.shape[1]), slice(0, lv.shape[2]))
        blocks = median_time(lambda lv=lv, box=box: lv.read_blocks(box), 1)
        row = [str(level), f"{raw * 1e3:.0f} ms", f"{raw1 * 1e3:.0f} ms", f"{cold * 1e3:.0f} ms"]
        row += [
            f"{warm * 1e3:.2f} ms",
            f"{blocks * 1e3:.0f} ms",
            f"{blocks / cold:.1f}x",
            f"{cold / raw:.2f}x",
        ]
        row += [f"{cache_mb:.1f}"]
        print("".join(f"{c:>12}" for c in row))
    # the browser's order: the coarsest level's plane first (placeholder), then the fit level's
    fresh = open_image(z)
    times = []
    for level in sorted({len(im.levels) - 1, fit}, reverse=True):
        index = index0 // fresh.levels[level].downsample[0]
        t0 = time.perf_counter()
        fresh.read((slice(index, index + 1), slice(0, None), slice(0, None)), level=level)
        times.append(f"level {level} {(time.perf_counter() - t0) * 1e3:.0f} ms")
    print(f"first view, one cold cache, coarsest then fit: {', then '.join(times)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--chunk", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--overview-size", type=int, default=2048)
    parser.add_argument("--window", default="640x480")
    args = parser.parse_args()
    window = tuple(int(v) for v in args.window.split("x"))
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
        print(f"{'tile':<18}{'raw level 0':>14}{'L2 cold':>11}{'L2 blocks':>11}{'L2 warm':>11}   footprint")
        for name, region in tiles.items():
            foot = tuple(slice(r.start * 4, r.stop * 4) for r in region)
            raw = median_time(lambda foot=foot: z[foot], args.repeat)
            cold = median_time(
                lambda region=region: holder["im"].read(region, level=2),  # type: ignore[attr-defined]
                args.repeat,
                setup=fresh,
            )
            fresh()
            box = tuple(region)
            blocks = median_time(
                lambda box=box: holder["im"].levels[2].read_blocks(box),  # type: ignore[attr-defined]
                args.repeat,
                setup=fresh,
            )
            holder["im"].read(region, level=2)  # type: ignore[attr-defined]
            warm = median_time(lambda region=region: holder["im"].read(region, level=2), args.repeat)  # type: ignore[attr-defined]
            shape = tuple(s.stop - s.start for s in foot)
            print(
                f"{name:<18}{raw * 1e3:>11.1f} ms{cold * 1e3:>8.1f} ms{blocks * 1e3:>8.1f} ms"
                f"{warm * 1e3:>8.2f} ms   {shape}"
            )
        if args.overview_size:
            overview(args.overview_size, args.chunk, window, args.repeat, tmp)  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
