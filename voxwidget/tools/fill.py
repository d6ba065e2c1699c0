"""Fill and replace: the voxels holding one value — connected to a seed, or all of them — as atoms.

:func:`flood_atoms` grows the region chunk by chunk: inside a chunk the compiled scanline fill
(:mod:`voxwidget.tools.fill_kernel`) adds the voxels it reaches and marks where the region leaves the
chunk; those marks become seeds of the neighbouring chunks, which are read only when the region
enters them. A chunk that was never written is all zero: when the region is the background it takes
the whole chunk (or its part of the plane) at once, without a pass over its voxels, and hands whole
faces to its neighbours; so does a chunk whose box holds only the value (one compiled counting pass).
So a fill reads and computes only the chunks its region touches.

:func:`value_atoms` takes every voxel of a value (``contiguous=False``, ``LabelMap.replace``): for a
non-zero value only the chunks that may hold non-zero voxels are read, and the scan stops once the
label's known voxel count is reached.

A region's voxels in one chunk become one :class:`~voxwidget.labelmap.rowmask.RowMask` atom (one bit
per voxel; whole chunks share one bitmap) with one old and one new value.
"""

from __future__ import annotations

from collections import deque
from itertools import product
from typing import Any

import numpy as np

from ..labelmap.atoms import Atom
from ..labelmap.rowmask import RowMask, row_words
from ..labelmap.types import ChunkReader, RegionTooLarge
from ..labelmap.validate import check_labels
from .brush import check_centres

__all__ = ["check_fill", "check_limit", "fill_atoms", "flood_atoms", "value_atoms"]

Key = tuple[int, int, int]


def check_fill(
    seed: Any,
    label: Any,
    dims: Any,
    axis: Any,
    connectivity: Any,
    max_voxels: Any,
    shape: tuple[int, int, int],
    dtype: np.dtype,
) -> tuple[tuple[int, int, int], np.ndarray, int | None]:
    """Validate fill arguments: ``(seed, label as a 0-d array, max_voxels)``; errors name the value."""
    lab = check_labels(label, dtype, "label")
    if lab.ndim != 0:
        raise ValueError(f"label must be a scalar, got shape {lab.shape}")
    if type(dims) is bool or dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    if type(axis) is bool or axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    if type(connectivity) is bool or connectivity not in (1, 2, 3):
        raise ValueError(f"connectivity must be 1, 2 or 3, got {connectivity!r}")
    limit = check_limit(max_voxels)
    cs = check_centres(seed, shape)
    if cs.shape[0] != 1:
        raise ValueError(f"seed {seed!r} must be one voxel (z, y, x), got {cs.shape[0]} points")
    z, y, x = (int(v) for v in cs[0])
    return (z, y, x), lab, limit


def check_limit(max_voxels: Any) -> int | None:
    """Validate a ``max_voxels`` limit: a positive integer or None."""
    if max_voxels is None:
        return None
    if isinstance(max_voxels, bool) or not isinstance(max_voxels, (int, np.integer)) or max_voxels < 1:
        raise ValueError(f"max_voxels must be a positive integer or None, got {max_voxels!r}")
    return int(max_voxels)


class _Geometry:
    """Chunk extents, the plane (or None), the directions a region may cross chunk edges in, and the
    row masks of whole boxes (shared by the atoms of one operation)."""

    def __init__(self, reader: ChunkReader, plane: tuple[int, int] | None, connectivity: int) -> None:
        self.shape = np.asarray(reader.shape, np.int64)
        self.c = np.asarray(reader.chunk_shape, np.int64)
        self.chunk = reader.chunk_shape
        self.grid = reader.grid_shape
        self.plane = plane
        self.dirs = [
            d
            for d in product((-1, 0, 1), repeat=3)
            if any(d) and sum(map(abs, d)) <= connectivity and (plane is None or d[plane[0]] == 0)
        ]
        self._masks: dict[tuple, RowMask] = {}

    def extent(self, key: Key) -> np.ndarray:
        return np.minimum(self.c, self.shape - np.multiply(key, self.c))

    def box(self, key: Key) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The chunk's voxels in the region's reach (its extent, or its part of the plane)."""
        hi = self.extent(key)
        lo = np.zeros(3, np.int64)
        if self.plane is not None:
            a, i = self.plane
            lo[a] = i % self.c[a]
            hi = hi.copy()
            hi[a] = lo[a] + 1
        return tuple(int(v) for v in lo), tuple(int(v) for v in hi)

    def in_grid(self, key: Key) -> bool:
        return all(0 <= k < g for k, g in zip(key, self.grid, strict=True))

    def box_mask(self, lo: tuple[int, ...], hi: tuple[int, ...]) -> RowMask:
        m = self._masks.get((lo, hi))
        if m is None:
            full = np.zeros(self.chunk, np.uint8)
            full[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = 1
            m = self._masks[(lo, hi)] = pack(full, int(np.prod(np.subtract(hi, lo))))
        return m


def pack(mask: np.ndarray, count: int) -> RowMask:
    """A chunk's voxel mask (nominal shape, non-zero = in) as a RowMask of ``count`` voxels."""
    cx = mask.shape[2]
    rows = mask.reshape(-1, cx).view(np.uint8)
    used = np.flatnonzero(rows.any(axis=1))
    r0, r1 = int(used[0]), int(used[-1])
    packed = np.packbits(rows[r0 : r1 + 1], axis=1, bitorder="little")
    nbytes = 8 * row_words(cx)
    if packed.shape[1] != nbytes:
        padded = np.zeros((packed.shape[0], nbytes), np.uint8)
        padded[:, : packed.shape[1]] = packed
        packed = padded
    return RowMask(r0, np.ascontiguousarray(packed).view("<u8").astype(np.uint64, copy=False), cx, count)


def _limit(count: int, max_voxels: int | None, what: str) -> None:
    if max_voxels is not None and count > max_voxels:
        raise RegionTooLarge(
            f"{what} reaches more than max_voxels={max_voxels:,} voxels (stopped after {count:,}); "
            f"nothing was changed. Allowed: regions of at most {max_voxels:,} voxels (raise "
            f"max_voxels, or pass None for no limit)"
        )


def flood_atoms(
    reader: ChunkReader,
    seed: tuple[int, int, int],
    value: Any,
    label: np.ndarray,
    connectivity: int,
    plane: tuple[int, int] | None,
    max_voxels: int | None,
) -> list[Atom]:
    """The atoms that set ``label`` on the voxels holding ``value`` connected to ``seed`` (which holds
    it) within ``connectivity`` steps, in 3D or (``plane = (axis, index)``) in that plane.

    Raises :class:`RegionTooLarge` as soon as the region passes ``max_voxels``.
    """
    from .fill_kernel import flood_chunk, mark_value, pack_region, row_neighbours

    g = _Geometry(reader, plane, connectivity)
    c = g.c
    value = reader.dtype.type(value)
    if plane is None:
        perm, moves = [0, 1, 2], (True, True)
    elif plane[0] == 2:  # runs along y in an x-plane
        perm, moves = [2, 0, 1], (False, True)
    else:
        perm, moves = [0, 1, 2], (plane[0] != 0, plane[0] != 1)
    nbrs = row_neighbours(connectivity, moves)
    st = np.array([c[1] * c[2], c[2], 1], np.int64)[perm]  # element strides, in the fill's order
    halo = np.zeros(tuple(int(v) + 2 for v in c), np.uint8)
    hst = np.array([halo.shape[1] * halo.shape[2], halo.shape[2], 1], np.int64)[perm]
    avail: dict[Key, np.ndarray] = {}  # per chunk entered: 2 = may join, 1 = joined, 0 = other
    whole: set[Key] = set()  # chunks whose whole box is in the region
    dead: set[Key] = set()  # chunks with no voxel of the value in their box
    counts: dict[Key, int] = {}
    pending: dict[Key, list[np.ndarray]] = {}
    queue: deque[Key] = deque()
    what = f"fill from seed {seed}"

    def push(key: Key, seeds: np.ndarray) -> None:
        if key in whole or key in dead:
            return
        if key not in pending:
            pending[key] = []
            queue.append(key)
        pending[key].append(seeds)

    k0 = tuple(int(s // cc) for s, cc in zip(seed, c, strict=True))
    push(k0, np.array([[s - k * cc for s, k, cc in zip(seed, k0, c, strict=True)]], np.int64))  # type: ignore[arg-type]
    total = 0
    while queue:
        key = queue.popleft()
        seeds = np.concatenate(pending.pop(key))
        a = avail.get(key)
        if a is None:  # first entry: which voxels of the box hold the value
            lo, hi = g.box(key)
            full = int(np.prod(np.subtract(hi, lo)))
            data = reader.read(key)
            a = None
            if data is None:  # never written: all background
                n = full if value == 0 else 0
            else:
                a = np.zeros(g.chunk, np.uint8)
                n = mark_value(data, np.asarray(lo), np.asarray(hi), value, a)
            if n == 0:
                dead.add(key)
                continue
            if n == full:  # the whole box holds the value: in the region at once, no voxel pass
                whole.add(key)
                counts[key] = n
                total += n
                _limit(total, max_voxels, what)
                for d in g.dirs:
                    nk = tuple(k + dd for k, dd in zip(key, d, strict=True))
                    if g.in_grid(nk) and nk not in whole and nk not in dead:  # type: ignore[arg-type]
                        push(nk, _layer(g, nk, d, lo, hi, reader.read(nk) is None))  # type: ignore[arg-type]
                continue
            avail[key] = a  # type: ignore[assignment]
        ext = g.extent(key)
        added = flood_chunk(a.reshape(-1), st, halo.reshape(-1), hst, ext[perm], seeds[:, perm], nbrs)
        if not added:
            _clear(halo, ext)
            continue
        counts[key] = counts.get(key, 0) + added
        total += added
        _limit(total, max_voxels, what)
        for d in g.dirs:
            region = tuple(
                slice(1, e + 1) if dd == 0 else (0 if dd < 0 else int(e) + 1)
                for dd, e in zip(d, ext, strict=True)
            )
            sub = halo[region]
            if not sub.any():
                continue
            nk = tuple(k + dd for k, dd in zip(key, d, strict=True))
            if not g.in_grid(nk):  # type: ignore[arg-type]
                continue
            free = np.nonzero(sub) if sub.ndim else ()  # (a corner is one voxel)
            coords = np.empty((free[0].size if free else 1, 3), np.int64)
            j = 0
            for ax, dd in enumerate(d):
                if dd == 0:
                    coords[:, ax] = free[j]
                    j += 1
                else:
                    coords[:, ax] = c[ax] - 1 if dd < 0 else 0
            push(nk, coords)  # type: ignore[arg-type]
        _clear(halo, ext)
    old = np.array([value], reader.dtype)
    new = label.reshape(1)
    atoms = []
    for key in sorted(counts):
        if key in whole:
            mask = g.box_mask(*g.box(key))
        else:
            bits, r0, r1 = pack_region(avail[key].reshape(-1, g.chunk[2]), row_words(g.chunk[2]))
            mask = RowMask(r0, bits[r0 : r1 + 1].copy(), g.chunk[2], counts[key])
        atoms.append(Atom(key, mask, old, new))
    return atoms


def _layer(g: _Geometry, nk: Key, d: tuple[int, ...], lo: tuple, hi: tuple, absent: bool) -> np.ndarray:
    """Seeds in chunk ``nk`` that the whole box ``lo:hi`` of its neighbour (in direction ``d`` from
    it) reaches: the layer of ``nk`` facing it, or one voxel of it when ``nk`` is all background
    too (any seed takes it whole)."""
    ranges = []
    for a, dd in enumerate(d):
        if dd < 0:
            ranges.append(np.array([g.c[a] - 1]))
        elif dd > 0:
            ranges.append(np.array([0]))
        else:
            ranges.append(np.arange(lo[a], hi[a]))
    if absent:
        return np.array([[r[0] for r in ranges]], np.int64)
    mesh = np.meshgrid(*ranges, indexing="ij")
    return np.stack([m.reshape(-1) for m in mesh], axis=1).astype(np.int64)


def _clear(halo: np.ndarray, ext: np.ndarray) -> None:
    for a in range(3):
        for i in (0, int(ext[a]) + 1):
            halo[(slice(None),) * a + (i,)] = 0


def value_atoms(
    reader: ChunkReader,
    value: Any,
    label: np.ndarray,
    plane: tuple[int, int] | None,
    max_voxels: int | None,
    expected: int | None = None,
    what: str = "fill",
) -> list[Atom]:
    """The atoms that set ``label`` on every voxel holding ``value``, in the volume or in ``plane =
    (axis, index)``. ``expected``: how many voxels hold ``value`` (when known, the scan stops there).

    Raises :class:`RegionTooLarge` as soon as the region passes ``max_voxels``.
    """
    g = _Geometry(reader, plane, 1)
    value = reader.dtype.type(value)
    ranges = [range(n) for n in g.grid]
    if plane is not None:
        k = plane[1] // int(g.c[plane[0]])
        ranges[plane[0]] = range(k, k + 1)
    if value == 0:
        keys: Any = product(*ranges)  # the background: every chunk, unwritten ones whole
    else:
        keys = sorted(k for k in reader.nonzero_keys() if all(i in r for i, r in zip(k, ranges, strict=True)))
    old = np.array([value], reader.dtype)
    new = label.reshape(1)
    atoms: list[Atom] = []
    total = 0
    for key in keys:
        if expected is not None and total >= expected:
            break
        lo, hi = g.box(key)
        full = int(np.prod(np.subtract(hi, lo)))
        data = reader.read(key)
        if data is None:
            if value != 0:
                continue
            n, mask = full, g.box_mask(lo, hi)
        else:
            box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
            hit = data[box] == value
            n = int(np.count_nonzero(hit))
            if n == 0:
                continue
            if n == full:
                mask = g.box_mask(lo, hi)
            else:
                m = np.zeros(g.chunk, np.uint8)
                m[box] = hit
                mask = pack(m, n)
        total += n
        _limit(total, max_voxels, what)
        atoms.append(Atom(tuple(int(k) for k in key), mask, old, new))  # type: ignore[arg-type]
    return atoms


def fill_atoms(
    reader: ChunkReader,
    seed: tuple[int, int, int],
    label: np.ndarray,
    *,
    dims: int,
    axis: int,
    connectivity: int,
    contiguous: bool,
    preserve_labels: bool,
    max_voxels: int | None,
) -> list[Atom] | None:
    """``LabelMap.fill``'s atoms (arguments validated by :func:`check_fill`); None when nothing
    changes (the seed holds ``label`` already, or ``preserve_labels`` and it is not background)."""
    c = reader.chunk_shape
    key = tuple(s // cc for s, cc in zip(seed, c, strict=True))
    data = reader.read(key)  # type: ignore[arg-type]
    value = 0 if data is None else data[tuple(s % cc for s, cc in zip(seed, c, strict=True))]
    if value == label[()] or (preserve_labels and value != 0):
        return None
    plane = None if dims == 3 else (axis, seed[axis])
    if contiguous:
        return flood_atoms(reader, seed, value, label, connectivity, plane, max_voxels)
    return value_atoms(reader, value, label, plane, max_voxels, what=f"fill of value {int(value)}")
