"""Compiled brush-stroke kernel: the union of many disk/ball stamps in one chunk, as a row bitmap.

A stroke of N stamps becomes, per chunk, the voxels it changes in two passes:

1. :func:`stroke_mask` (here) — every stamp that reaches a row ``(z, y)`` of the chunk covers one
   run ``[cx - h, cx + h]`` of it (``h = isqrt(r² - dz² - dy²)``, 0 when ``x`` is the disk's
   normal); the run is OR-ed into the row's bitmap (64 voxels per ``uint64`` word). Overlapping
   stamps cost one OR per (stamp, row), not one write per voxel, and need no sorting.
2. :func:`voxwidget.labelmap.rowmask_kernel.scan_rows` — the set bits are walked run by run; bits of
   voxels that already hold the label are cleared and the old values of the others recorded, so the
   bitmap ends up holding exactly the changed voxels (a :class:`voxwidget.labelmap.rowmask.RowMask`
   atom, for undo and the journal). The label map's commit then writes the label over the runs
   (:func:`~voxwidget.labelmap.rowmask_kernel.fill_rows`).

So the work is proportional to the (stamp, row) pairs plus the voxels of the union, never to the
stamps' summed volume, which is what painting stamp by stamp costs (napari's ``Labels.paint``, or
numpy per point). The bitmap is also the journal's compact record of the stroke (1 bit per voxel
of the chunk instead of a 4-byte offset per changed voxel).

Bitmap layout (:mod:`voxwidget.labelmap.rowmask`): ``bits[z * cy + y, w]`` holds voxels ``x = 64 w … 64 w +
63`` of row ``(z, y)`` of the nominal chunk shape ``(cz, cy, cx)``, bit ``x % 64``; bits outside the
array are never set.

The geometry is the contract of ``docs/labelmap-contract.md``: integer centres, ``dist² <= r²``,
a 2D disk holding ``c[axis]`` fixed, clipped to the array. Compiled with numba (``cache=True``: a
new process loads the machine code instead of compiling it). Importing this module imports numba,
so :mod:`voxwidget.tools.brush` imports it at its first call (~0.5 s once per process); the
widget's own edits arrive as per-chunk batches and never need it.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np

__all__ = ["half_widths", "plan_chunks", "stroke_mask"]


@numba.njit(cache=True, nogil=True)
def stroke_mask(cshape, origin, extent, centres, half, hw, normal, bits):  # pragma: no cover
    """OR the runs of the stamps at ``centres`` (K×3, array coordinates) into ``bits``.

    ``cshape``: nominal chunk shape; ``origin``: the chunk's first voxel; ``extent``: voxels of the
    chunk inside the array; ``half``: stamp half-extent per axis (0 along a disk's normal);
    ``hw[d²] = isqrt(r² - d²)``; ``normal``: the disk's normal axis, or -1 for balls; ``bits``:
    ``(cz * cy, words)`` uint64, zeroed by the caller. Returns ``(voxels set, first row, last
    row)`` (rows that hold set bits lie between; ``(0, rows, -1)`` when none).
    """
    cy = cshape[1]
    r2 = hw.shape[0] - 1
    ez, ey, ex = extent[0], extent[1], extent[2]
    oz, oy, ox = origin[0], origin[1], origin[2]
    ones = np.uint64(0xFFFFFFFFFFFFFFFF)
    rows_lo, rows_hi = bits.shape[0], -1
    for k in range(centres.shape[0]):
        kz, ky, kx = centres[k, 0] - oz, centres[k, 1] - oy, centres[k, 2] - ox
        for z in range(max(kz - half[0], 0), min(kz + half[0], ez - 1) + 1):
            dz = z - kz
            hy = 0 if normal == 1 else hw[dz * dz]
            for y in range(max(ky - hy, 0), min(ky + hy, ey - 1) + 1):
                dy = y - ky
                d2 = dz * dz + dy * dy
                if d2 > r2:
                    continue
                hx = 0 if normal == 2 else hw[d2]
                s = max(kx - hx, 0)
                e = min(kx + hx, ex - 1)
                if s > e:
                    continue
                row = z * cy + y
                rows_lo = min(rows_lo, row)
                rows_hi = max(rows_hi, row)
                for w in range(s >> 6, (e >> 6) + 1):
                    lo = max(s - 64 * w, 0)
                    hi = min(e - 64 * w, 63)
                    bits[row, w] |= (ones >> np.uint64(63 - (hi - lo))) << np.uint64(lo)
    n = 0
    m1, m2, m4 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333), np.uint64(0x0F0F0F0F0F0F0F0F)
    h01 = np.uint64(0x0101010101010101)
    for row in range(rows_lo, rows_hi + 1):  # popcount (SWAR) of the touched rows
        for w in range(bits.shape[1]):
            x = bits[row, w]
            x -= (x >> np.uint64(1)) & m1
            x = (x & m2) + ((x >> np.uint64(2)) & m2)
            x = (x + (x >> np.uint64(4))) & m4
            n += (x * h01) >> np.uint64(56)
    return n, rows_lo, rows_hi


@lru_cache(maxsize=64)
def half_widths(radius: int) -> np.ndarray:
    """``hw[d2] = floor(sqrt(radius² - d2))`` for ``d2 = 0..radius²`` (exact integer square roots)."""
    r2 = radius * radius
    d2 = np.arange(r2 + 1, dtype=np.int64)
    h = np.floor(np.sqrt((r2 - d2).astype(np.float64))).astype(np.int64)
    h -= (h * h) > (r2 - d2)  # correct float rounding either way
    h += ((h + 1) * (h + 1)) <= (r2 - d2)
    h.setflags(write=False)
    return h


@numba.njit(cache=True, nogil=True)
def _plan(centres, half, shape, chunks):  # pragma: no cover
    n = centres.shape[0]
    klo = np.empty((n, 3), np.int64)
    khi = np.empty((n, 3), np.int64)
    total = 0
    for k in range(n):
        m = 1
        for d in range(3):
            klo[k, d] = max(centres[k, d] - half[d], 0) // chunks[d]
            khi[k, d] = min(centres[k, d] + half[d], shape[d] - 1) // chunks[d]
            m *= khi[k, d] - klo[k, d] + 1
        total += m
    g1 = (shape[1] + chunks[1] - 1) // chunks[1]
    g2 = (shape[2] + chunks[2] - 1) // chunks[2]
    codes = np.empty(total, np.int64)
    stamps = np.empty(total, np.int64)
    j = 0
    for k in range(n):
        for a in range(klo[k, 0], khi[k, 0] + 1):
            for b in range(klo[k, 1], khi[k, 1] + 1):
                for c in range(klo[k, 2], khi[k, 2] + 1):
                    codes[j] = (a * g1 + b) * g2 + c
                    stamps[j] = k
                    j += 1
    order = np.argsort(codes, kind="mergesort")  # stable: stamps stay in stroke order
    keys = np.empty((total, 3), np.int64)
    starts = np.empty(total + 1, np.int64)
    m = 0
    for i in range(total):
        c = codes[order[i]]
        if i == 0 or c != codes[order[i - 1]]:
            keys[m, 0] = c // (g1 * g2)
            keys[m, 1] = c // g2 % g1
            keys[m, 2] = c % g2
            starts[m] = i
            m += 1
    starts[m] = total
    return keys[:m], starts[: m + 1], stamps[order]


def plan_chunks(
    centres: np.ndarray, half: np.ndarray, shape: np.ndarray, chunks: np.ndarray
) -> list[tuple[tuple[int, int, int], np.ndarray]]:
    """The chunks the stamps' boxes reach (C order), each with the centres (K×3 int64, in stroke
    order) of the stamps reaching it.

    Parameters
    ----------
    centres : (N, 3) int64 array of centres inside ``shape``.
    half : (3,) int64 stamp half-extent per axis (0 along a disk's normal).
    shape, chunks : (3,) int64 array and chunk shape.
    """
    keys, starts, stamps = _plan(centres, half, shape, chunks)
    bounds = starts.tolist()
    return [
        (tuple(key), centres[stamps[a:b]])
        for key, a, b in zip(keys.tolist(), bounds[:-1], bounds[1:], strict=True)
    ]
