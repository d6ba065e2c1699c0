"""Compiled flood fill inside one chunk: a scanline fill that also reports where the region leaves it.

:func:`flood_chunk` grows the region of voxels equal to ``value`` from seed voxels inside one chunk,
run by run along the last axis of the arrays it is given (the caller passes transposed views to fill
a plane orthogonal to the last axis along another axis). Each voxel of the region is visited once
(``vis`` marks it), each run is scanned once per neighbouring row, so the cost follows the region's
voxels, never the chunk's. Where the region touches the chunk's edge, the neighbouring voxels
outside the chunk are marked in ``halo`` (the chunk grown by one voxel on every side): the caller
(:mod:`voxwidget.tools.fill`) turns those marks into seeds of the neighbouring chunks.

Compiled with numba (``cache=True``); imported at the first fill.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["flood_chunk", "row_neighbours"]


@numba.njit(cache=True, nogil=True)
def flood_chunk(data, vis, halo, ext, value, seeds, nbrs):  # pragma: no cover
    """Flood ``value`` from ``seeds`` in one chunk; returns the number of voxels added to ``vis``.

    ``data``: the chunk's values (3D view, runs along the last axis); ``vis``: uint8 of the same
    shape, 1 for voxels already in the region (updated); ``halo``: uint8, ``data.shape + 2``,
    ``halo[a + 1, b + 1, x + 1]`` is set for every voxel ``(a, b, x)`` outside the chunk's extent
    ``ext`` (3 ints) that neighbours an added voxel; ``seeds``: (M, 3) int64 voxels (skipped unless
    inside ``ext``, equal to ``value`` and not yet in ``vis``); ``nbrs``: (K, 3) int64 rows
    ``(da, db, spread)``: the neighbouring rows of a row and how far past a run's ends its
    neighbours reach there (0 or 1).
    """
    e0, e1, e2 = ext[0], ext[1], ext[2]
    cap = max(1024, 2 * seeds.shape[0])
    stack = np.empty((cap, 3), np.int64)
    sp = 0
    for i in range(seeds.shape[0]):
        a, b, x = seeds[i, 0], seeds[i, 1], seeds[i, 2]
        if 0 <= a < e0 and 0 <= b < e1 and 0 <= x < e2:
            stack[sp, 0], stack[sp, 1], stack[sp, 2] = a, b, x
            sp += 1
    added = 0
    while sp > 0:
        sp -= 1
        a, b, x = stack[sp, 0], stack[sp, 1], stack[sp, 2]
        if vis[a, b, x] or data[a, b, x] != value:
            continue
        x0 = x
        while x0 > 0 and not vis[a, b, x0 - 1] and data[a, b, x0 - 1] == value:
            x0 -= 1
        x1 = x
        while x1 < e2 - 1 and not vis[a, b, x1 + 1] and data[a, b, x1 + 1] == value:
            x1 += 1
        for xx in range(x0, x1 + 1):
            vis[a, b, xx] = 1
        added += x1 - x0 + 1
        if x0 == 0:
            halo[a + 1, b + 1, 0] = 1
        if x1 == e2 - 1:
            halo[a + 1, b + 1, e2 + 1] = 1
        for k in range(nbrs.shape[0]):
            na, nb, s = a + nbrs[k, 0], b + nbrs[k, 1], nbrs[k, 2]
            lo, hi = x0 - s, x1 + s
            if na < 0 or na >= e0 or nb < 0 or nb >= e1:  # a row outside the chunk: mark the halo
                for xx in range(max(lo, -1), min(hi, e2) + 1):
                    halo[na + 1, nb + 1, xx + 1] = 1
                continue
            if lo < 0:
                halo[na + 1, nb + 1, 0] = 1
                lo = 0
            if hi >= e2:
                halo[na + 1, nb + 1, e2 + 1] = 1
                hi = e2 - 1
            xx = lo
            while xx <= hi:  # one seed per run of matching voxels not yet in the region
                if not vis[na, nb, xx] and data[na, nb, xx] == value:
                    if sp == stack.shape[0]:
                        grown = np.empty((2 * stack.shape[0], 3), np.int64)
                        grown[:sp] = stack[:sp]
                        stack = grown
                    stack[sp, 0], stack[sp, 1], stack[sp, 2] = na, nb, xx
                    sp += 1
                    xx += 1
                    while xx <= hi and not vis[na, nb, xx] and data[na, nb, xx] == value:
                        xx += 1
                else:
                    xx += 1
    return added


def row_neighbours(connectivity: int, moves: tuple[bool, bool]) -> np.ndarray:
    """The ``nbrs`` table of :func:`flood_chunk`: neighbouring rows ``(da, db)`` within
    ``connectivity`` steps and their run spread; ``moves`` says whether the region may move along
    the first and second axis at all (a plane fill holds one of them fixed)."""
    out = []
    for da in (-1, 0, 1):
        for db in (-1, 0, 1):
            if (da, db) == (0, 0) or (da and not moves[0]) or (db and not moves[1]):
                continue
            steps = abs(da) + abs(db)
            if steps > connectivity:
                continue
            out.append((da, db, 1 if steps < connectivity else 0))
    return np.array(out, np.int64).reshape(-1, 3)
