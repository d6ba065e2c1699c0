"""Levels computed on demand from the level below (:class:`ComputedLevel`), for pyramids built from one
scale (:func:`voxwidget.multiscale.image.open_image`).

A computed level is read in blocks on a fixed grid; each block is reduced from exactly the level below's
region under it (recursively down to a stored level, whose reads are aligned to its chunks) and kept in
a byte-bounded, thread-safe LRU shared by the image's levels: the image's own namespace of the
kernel-wide chunk cache (:mod:`voxwidget.multiscale.chunkcache`), bounded by ``cache_bytes`` and by the
kernel-wide budget that all widgets and images share. A region thinner than a block (a 2D slice)
instead reads only the stored planes under it (``2**k`` for a plane of level k, not the block depth
times that), in chunk-aligned pieces of at most ``BATCH_BYTES``, and caches plane tiles in the same LRU.
Both paths reduce every coarse voxel from the same window of the level below with the same function, so
they give identical voxels.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .blockcache import Cache
from .downsample import downsample_mean, downsample_mode, output_shape
from .levels import ImageLevel, Region, Shape3, normalize_region

__all__ = ["BATCH_BYTES", "ComputedLevel"]

MIN_BLOCK = 8
PLANE_TILE = 64  # minimum in-plane side of a cached plane tile of a computed level
BATCH_BYTES = 16 * 2**20  # parent bytes per batched read: enough for zarr to fetch ~32 chunks at once
_tokens = itertools.count()


class ComputedLevel(ImageLevel):
    """A level reduced on demand from ``parent`` by ``factors``, through ``cache``.

    Two read paths, both cached in ``cache`` and both giving the same voxels (every coarse voxel is the
    reduction of exactly the same window of the level below, whichever path computed it):

    * **blocks**: 3D blocks on a fixed grid (``block_shape``), each reduced from the parent's region
      under it — for thick regions (3D tiles).
    * **planes**: for a region thinner than a block along some axis (a 2D slice), only the planes that
      the region's voxels reduce from are read, down to the nearest stored level (``2**k`` planes for a
      plane of level k), in in-plane pieces aligned to that level's chunks and of at most
      ``BATCH_BYTES``; each piece is reduced level by level in memory. The result is cached as plane
      tiles (one plane thick, ``plane_tile`` wide), and the intermediate levels' planes are cached too
      while they are small (so zooming in on the same slice reads nothing more).
    """

    computed = True

    def __init__(self, parent: ImageLevel, factors: Shape3, cache: Cache, method: str) -> None:
        block = tuple(
            b // f if f > 1 and b % f == 0 and b // f >= MIN_BLOCK else b
            for b, f in zip(parent.block_shape, factors, strict=True)
        )
        super().__init__(
            output_shape(parent.shape, factors),
            parent.dtype,
            [s * f for s, f in zip(parent.scale, factors, strict=True)],
            [t + (f - 1) / 2 * s for t, s, f in zip(parent.translation, parent.scale, factors, strict=True)],
            [d * f for d, f in zip(parent.downsample, factors, strict=True)],
            None,
            block,  # type: ignore[arg-type]
        )
        self.parent, self.factors, self.cache = parent, factors, cache
        self._reduce = downsample_mode if method == "mode" else downsample_mean
        self._token = next(_tokens)
        self.stored = parent.stored if isinstance(parent, ComputedLevel) else parent
        #: in-plane size of a cached plane tile: the stored level's block, at least PLANE_TILE voxels
        self.plane_tile: Shape3 = tuple(b * -(-PLANE_TILE // b) for b in self.stored.block_shape)  # type: ignore[assignment]
        #: integer factors versus the stored level the planes are read from
        self.stored_factors: Shape3 = tuple(
            d // s for d, s in zip(self.downsample, self.stored.downsample, strict=True)
        )  # type: ignore[assignment]

    def block(self, index: Sequence[int]) -> np.ndarray:
        """Block ``index`` of this level's grid (cached; read-only)."""
        return self.cache.get_or_compute((self._token, tuple(index)), lambda: self._compute(index))

    def _parent_region(self, lo: Sequence[int], hi: Sequence[int]) -> tuple[slice, ...]:
        """The parent's region under blocks ``lo`` … ``hi - 1`` (a box of block indices)."""
        return tuple(
            slice(a * b * f, min(z * b * f, n))
            for a, z, b, f, n in zip(lo, hi, self.block_shape, self.factors, self.parent.shape, strict=True)
        )

    def _compute(self, index: Sequence[int]) -> np.ndarray:
        region = self._parent_region(index, [i + 1 for i in index])
        return self._reduce(self.parent.read(region), self.factors)  # type: ignore[arg-type]

    def _boxes(self, lo: list[int], hi: list[int]) -> Iterator[tuple[list[int], list[int]]]:
        """Split a box of blocks until each one's parent region is at most ``BATCH_BYTES``."""
        sizes = [(z - a) * b * f for a, z, b, f in zip(lo, hi, self.block_shape, self.factors, strict=True)]
        counts = [z - a for a, z in zip(lo, hi, strict=True)]
        if int(np.prod(sizes)) * self.dtype.itemsize <= BATCH_BYTES or max(counts) == 1:
            yield lo, hi
            return
        a = int(np.argmax(counts))
        mid = (lo[a] + hi[a]) // 2
        yield from self._boxes(lo, [*hi[:a], mid, *hi[a + 1 :]])
        yield from self._boxes([*lo[:a], mid, *lo[a + 1 :]], hi)

    def _compute_box(self, lo: list[int], hi: list[int]) -> dict[tuple[int, ...], np.ndarray]:
        """Compute (and cache) every block of a box from one parent read."""
        data = self._reduce(self.parent.read(self._parent_region(lo, hi)), self.factors)  # type: ignore[arg-type]
        blocks = {}
        for index in itertools.product(*(range(a, z) for a, z in zip(lo, hi, strict=True))):
            sl = tuple(
                slice((i - a) * b, (i - a + 1) * b)
                for i, a, b in zip(index, lo, self.block_shape, strict=True)
            )
            blk = blocks[index] = data[sl].copy()
            self.cache.put((self._token, index), blk)
        return blocks

    def read(self, region: Region) -> np.ndarray:
        """The voxels in ``region``.

        A region thinner than one block along some axis (a slice for a 2D view) takes the plane path;
        any other region, or one whose blocks are all cached already, is assembled from cached blocks.
        When the missing blocks form a box (a cold read), they are computed together from a few large
        parent reads (each ≤ ``BATCH_BYTES``), so a zarr source fetches its chunks concurrently; otherwise
        block by block. Two threads may then compute the same blocks twice; the results are equal.
        """
        bounds = normalize_region(region, self.shape)
        if any(step < 0 for _, _, step in bounds):
            raise ValueError(f"negative steps are not supported, got region {region!r}")
        box = tuple(slice(start, max(start, stop)) for start, stop, _ in bounds)
        out = None
        axis = self._thin_axis(box)
        if axis is not None and not self._blocks_cached(box):
            out = self.read_planes(box, axis)  # type: ignore[arg-type]
        if out is None:
            out = self.read_blocks(box)  # type: ignore[arg-type]
        if any(step != 1 for _, _, step in bounds):
            out = out[tuple(slice(None, None, step) for _, _, step in bounds)]
        return out

    # -- block path ------------------------------------------------------------------------------
    def _block_indices(self, box: Region) -> list[tuple[int, ...]]:
        ranges = [
            range(r.start // b, (r.stop - 1) // b + 1) for r, b in zip(box, self.block_shape, strict=True)
        ]
        return list(itertools.product(*ranges))

    def _blocks_cached(self, box: Region) -> bool:
        return all((self._token, i) in self.cache for i in self._block_indices(box))

    def read_blocks(self, box: Region) -> np.ndarray:
        """The voxels of ``box`` (unit-step slices within the level) through the 3D block cache."""
        lo = [r.start for r in box]
        hi = [r.stop for r in box]
        out = np.empty([h - lo_ for lo_, h in zip(lo, hi, strict=True)], self.dtype)
        if not out.size:
            return out
        indices = self._block_indices(box)
        missing = [i for i in indices if (self._token, i) not in self.cache]
        fresh: dict[tuple[int, ...], np.ndarray] = {}
        if len(missing) > 1:
            box_lo = [min(i[a] for i in missing) for a in range(3)]
            box_hi = [max(i[a] for i in missing) + 1 for a in range(3)]
            if len(missing) == np.prod([z - a for a, z in zip(box_lo, box_hi, strict=True)]):
                for part in self._boxes(box_lo, box_hi):
                    fresh.update(self._compute_box(*part))
        for index in indices:
            b0 = [i * b for i, b in zip(index, self.block_shape, strict=True)]
            blk = fresh.get(index)
            if blk is None:
                blk = self.block(index)
            src, dst = [], []
            for a in range(3):
                s0, s1 = max(lo[a], b0[a]), min(hi[a], b0[a] + blk.shape[a])
                src.append(slice(s0 - b0[a], s1 - b0[a]))
                dst.append(slice(s0 - lo[a], s1 - lo[a]))
            out[tuple(dst)] = blk[tuple(src)]
        return out

    # -- plane path ------------------------------------------------------------------------------
    def _thin_axis(self, box: Region) -> int | None:
        """The axis along which ``box`` is thinnest relative to a block, if thinner than one block."""
        thin = [
            ((r.stop - r.start) / b, a)
            for a, (r, b) in enumerate(zip(box, self.block_shape, strict=True))
            if 0 < r.stop - r.start < b
        ]
        return min(thin)[1] if thin else None

    def _tile_shape(self, axis: int) -> Shape3:
        return tuple(1 if a == axis else t for a, t in enumerate(self.plane_tile))  # type: ignore[return-value]

    def _tiles(self, box: Region, axis: int) -> Iterator[tuple[tuple[int, ...], Region]]:
        """(tile index, tile box clipped to the level) of every plane tile ``box`` overlaps."""
        ts = self._tile_shape(axis)
        ranges = [range(r.start // t, (r.stop - 1) // t + 1) for r, t in zip(box, ts, strict=True)]
        for index in itertools.product(*ranges):
            yield (
                index,
                tuple(  # type: ignore[misc]
                    slice(i * t, min((i + 1) * t, n)) for i, t, n in zip(index, ts, self.shape, strict=True)
                ),
            )

    def _assemble(self, box: Region, parts: Iterable[tuple[Region, np.ndarray]]) -> np.ndarray:
        """``box`` filled from (tile box, tile voxels) parts that cover it."""
        out = np.empty([r.stop - r.start for r in box], self.dtype)
        for tile_box, tile in parts:
            src, dst = [], []
            for r, t in zip(box, tile_box, strict=True):
                s0, s1 = max(r.start, t.start), min(r.stop, t.stop)
                src.append(slice(s0 - t.start, s1 - t.start))
                dst.append(slice(s0 - r.start, s1 - r.start))
            out[tuple(dst)] = tile[tuple(src)]
        return out

    def _cached_planes(self, box: Region, axis: int) -> np.ndarray | None:
        """``box`` assembled from cached plane tiles, or None when one is missing."""
        parts = []
        for index, tile_box in self._tiles(box, axis):
            tile = self.cache.get((self._token, "plane", axis, index))
            if tile is None:
                return None
            parts.append((tile_box, tile))
        return self._assemble(box, parts)

    def _put_planes(self, box: Region, axis: int, data: np.ndarray) -> None:
        """Cache every plane tile lying wholly inside ``box`` (whose voxels are ``data``)."""
        for index, tile_box in self._tiles(box, axis):
            if all(r.start <= t.start and t.stop <= r.stop for r, t in zip(box, tile_box, strict=True)):
                sl = tuple(
                    slice(t.start - r.start, t.stop - r.start) for r, t in zip(box, tile_box, strict=True)
                )
                self.cache.put((self._token, "plane", axis, index), data[sl].copy())

    def _slab(self, box: Region, axis: int, keep: frozenset[int]) -> np.ndarray:
        """The voxels of ``box`` (thin along ``axis``): cached planes or blocks, else reduced from the
        parent's planes under it; caches its plane tiles when this level is in ``keep``."""
        out = self._cached_planes(box, axis)
        if out is None and self._blocks_cached(box):
            out = self.read_blocks(box)
        if out is None:
            below = tuple(
                slice(r.start * f, min(r.stop * f, n))
                for r, f, n in zip(box, self.factors, self.parent.shape, strict=True)
            )
            parent = self.parent
            data = (
                parent._slab(below, axis, keep) if isinstance(parent, ComputedLevel) else parent.read(below)
            )
            out = self._reduce(data, self.factors)  # type: ignore[arg-type]
            if self._token in keep:
                self._put_planes(box, axis, out)
        return out

    def _pieces(self, box: Region, axis: int) -> Iterator[Region]:
        """Split ``box`` until the stored region under each piece is at most ``BATCH_BYTES``, at
        plane-tile boundaries (or, inside one tile, at boundaries aligned to the stored chunks)."""
        sizes = [(r.stop - r.start) * f for r, f in zip(box, self.stored_factors, strict=True)]
        if int(np.prod(sizes)) * self.dtype.itemsize <= BATCH_BYTES or all(
            r.stop - r.start == 1 for r in box
        ):
            yield box
            return
        ts = self._tile_shape(axis)
        best = None
        for a, (r, t, f) in enumerate(zip(box, ts, self.stored_factors, strict=True)):
            n = r.stop - r.start
            if n < 2:
                continue
            unit = t if n > t else max(1, self.stored.block_shape[a] // f if a != axis else 1)
            mid = (r.start + r.stop) // 2 // unit * unit
            if not r.start < mid < r.stop:
                mid = (r.start + r.stop) // 2
            score = n * f  # split the side that is longest in stored voxels
            if best is None or score > best[0]:
                best = (score, a, mid)
        _, a, mid = best  # type: ignore[misc]
        yield from self._pieces(tuple(slice(r.start, mid) if i == a else r for i, r in enumerate(box)), axis)  # type: ignore[arg-type]
        yield from self._pieces(tuple(slice(mid, r.stop) if i == a else r for i, r in enumerate(box)), axis)  # type: ignore[arg-type]

    def read_planes(self, box: Region, axis: int) -> np.ndarray:
        """The voxels of ``box`` (unit-step slices, thin along ``axis``) by the plane path.

        Missing plane tiles are computed over the tile-aligned rectangle around them, piece by piece
        (:meth:`_pieces`), each piece reduced from the stored level's planes under it; then cached.
        """
        tiles = [(i, t, self.cache.get((self._token, "plane", axis, i))) for i, t in self._tiles(box, axis)]
        missing = [i for i, _, tile in tiles if tile is None]
        if not missing:
            return self._assemble(box, [(t, tile) for _, t, tile in tiles])  # type: ignore[misc]
        ts = self._tile_shape(axis)
        full = tuple(  # the tile-aligned rectangle of the missing tiles
            slice(min(i[a] for i in missing) * ts[a], min((max(i[a] for i in missing) + 1) * ts[a], n))
            for a, n in enumerate(self.shape)
        )
        keep = self._keep(full, axis)  # type: ignore[arg-type]
        data = np.empty([r.stop - r.start for r in full], self.dtype)
        for piece in self._pieces(full, axis):  # type: ignore[arg-type]
            sl = tuple(slice(p.start - f.start, p.stop - f.start) for p, f in zip(piece, full, strict=True))
            data[sl] = self._slab(piece, axis, keep)
        self._put_planes(full, axis, data)  # type: ignore[arg-type]
        # tiles outside ``full`` were cached when we looked (and we hold them)
        parts = [(full, data)] + [(t, tile) for _, t, tile in tiles if tile is not None]
        return self._assemble(box, parts)  # type: ignore[arg-type]

    def _keep(self, box: Region, axis: int) -> frozenset[int]:
        """The computed levels below this one whose planes under ``box`` are small enough to cache:
        each level's share at most 1/16 of the cache, so one slice cannot flush it."""
        keep = []
        level: ImageLevel = self
        region = box
        while isinstance(level, ComputedLevel):
            region = tuple(
                slice(r.start * f, min(r.stop * f, n))
                for r, f, n in zip(region, level.factors, level.parent.shape, strict=True)
            )
            level = level.parent
            nbytes = int(np.prod([r.stop - r.start for r in region])) * self.dtype.itemsize
            if isinstance(level, ComputedLevel) and nbytes <= self.cache.max_bytes // 16:
                keep.append(level._token)
        return frozenset(keep)
