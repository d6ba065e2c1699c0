"""Compiled walks over a :class:`~voxwidget.labelmap.rowmask.RowMask`'s runs of set bits.

:func:`scan_rows` narrows a mask to the voxels whose value differs from a label (recording their
old values): how an edit operation turns "these voxels get label L" into an atom of only the
voxels that change. :func:`fill_rows` writes one value over a mask's voxels: how the commit path
applies such an atom (and undo, redo and journal replay re-apply it). Both walk runs of set bits
(trailing-zero counts by a de Bruijn table), so their cost follows the mask's voxels, not its
rows' width. Compiled with numba (``cache=True``); imported at the first row-mask edit, so a map
that only ever takes the browser's per-voxel batches never loads numba.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["fill_rows", "scan_rows"]

_DEBRUIJN = 0x03F79D71B4CB0A89
_CTZ = np.zeros(64, np.int64)  # de Bruijn table: trailing zeros of a one-bit word
for _i in range(64):
    _CTZ[((_DEBRUIJN << _i) & 0xFFFFFFFFFFFFFFFF) >> 58] = _i


@numba.njit(cache=True, nogil=True, inline="always")
def _runs(m):  # pragma: no cover
    """The first run of set bits of ``m`` (non-zero): ``(start, stop inclusive, m without it)``."""
    zero = np.uint64(0)
    one = np.uint64(1)
    debruijn = np.uint64(0x03F79D71B4CB0A89)
    low = m & (~m + one)  # lowest set bit
    s = _CTZ[(low * debruijn) >> np.uint64(58)]
    gaps = ~m & ~(low - one)  # zero bits at or above s
    if gaps == zero:
        return s, 63, zero
    glow = gaps & (~gaps + one)
    e = _CTZ[(glow * debruijn) >> np.uint64(58)] - 1
    return s, e, m & ~(glow - one)


@numba.njit(cache=True, nogil=True)
def scan_rows(flat, cx, bits, row0, value, old, only, restrict):  # pragma: no cover
    """Clear the bits of voxels that already hold ``value`` in the chunk data ``flat`` (the nominal
    chunk shape, flattened; rows ``cx`` wide, ``bits`` from row ``row0``) — and, with ``restrict``,
    of voxels that do not hold ``only`` (preserve labels: paint only background, erase only one
    label) — and write the old values of the others, in offset order, to ``old`` (as long as the
    mask's voxel count). ``flat`` is only read. Returns ``(changed, uniform)``: ``uniform`` when
    every changed voxel had the same value.
    """
    zero = np.uint64(0)
    one = np.uint64(1)
    n = 0
    same = True
    for i in range(bits.shape[0]):
        base = (row0 + i) * cx
        for w in range(bits.shape[1]):
            m = bits[i, w]
            keep = m
            while m != zero:
                s, e, m = _runs(m)
                o0 = base + 64 * w
                for x in range(s, e + 1):
                    v = flat[o0 + x]
                    if v == value or (restrict and v != only):
                        keep &= ~(one << np.uint64(x))
                        continue
                    old[n] = v
                    same &= v == old[0]
                    n += 1
            bits[i, w] = keep
    return n, same


@numba.njit(cache=True, nogil=True)
def fill_rows(flat, cx, bits, row0, value):  # pragma: no cover
    """Write ``value`` on the voxels of ``bits`` (rows ``row0 …``, ``cx`` wide) in ``flat``."""
    zero = np.uint64(0)
    for i in range(bits.shape[0]):
        base = (row0 + i) * cx
        for w in range(bits.shape[1]):
            m = bits[i, w]
            while m != zero:
                s, e, m = _runs(m)
                o0 = base + 64 * w
                flat[o0 + s : o0 + e + 1] = value
