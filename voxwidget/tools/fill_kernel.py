"""Compiled flood fill inside one chunk: a scanline fill that also reports where the region leaves it.

:func:`flood_chunk` grows a region from seed voxels inside one chunk over the voxels marked
available (those holding the seed's value), run by run along one axis (``x`` for a 3D fill; the
caller gives element strides, so a plane fill runs along any axis of the plane). Each voxel of the
region is visited once (its mark goes from 2 to 1), each run is scanned once per neighbouring row,
so the cost follows the region's voxels. Where the region touches the chunk's edge, the neighbouring voxels
outside the chunk are marked in ``halo`` (the chunk grown by one voxel on every side): the caller
(:mod:`voxwidget.tools.fill`) turns those marks into seeds of the neighbouring chunks.

Compiled with numba (``cache=True``); imported at the first fill.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["flood_chunk", "mark_value", "pack_region", "row_neighbours"]


_TWOS = np.uint64(0x0202020202020202)  # eight voxels still available
_ONES = np.uint64(0x0101010101010101)  # eight voxels in the region


@numba.njit(cache=True, nogil=True, inline="always")
def _next_avail(avail, wide, base, x, hi, w):  # pragma: no cover
    """The first ``x' >= x`` (up to ``hi``) whose voxel is available, else ``hi + 1``; whole words
    of eight voxels without one are skipped at once when ``w`` (aligned rows)."""
    while x <= hi:
        p = base + x
        if w and (p & 7) == 0 and x + 7 <= hi and (wide[p >> 3] & _TWOS) == 0:
            x += 8
            continue
        if avail[p] == 2:
            return x
        x += 1
    return hi + 1


@numba.njit(cache=True, nogil=True, inline="always")
def _run_end(avail, wide, base, x, hi, w):  # pragma: no cover
    """The first ``x' >= x`` (up to ``hi``) whose voxel is not available, else ``hi + 1``."""
    while x <= hi:
        p = base + x
        if w and (p & 7) == 0 and x + 7 <= hi and wide[p >> 3] == _TWOS:
            x += 8
            continue
        if avail[p] != 2:
            return x
        x += 1
    return hi + 1


@numba.njit(cache=True, nogil=True)
def flood_chunk(avail, st, halo, hst, ext, seeds, nbrs):  # pragma: no cover
    """Flood from ``seeds`` in one chunk; returns the number of voxels added to the region.

    ``avail``: the chunk's voxels, flat uint8: 2 = holds the value and is not in the region yet,
    1 = in the region (set here), 0 = another value or outside the chunk's extent; ``st``: element
    strides of the axes ``(a, b, x)`` the fill works in (runs along ``x``), ``ext`` their extents;
    ``halo``: flat uint8 of the chunk grown by one voxel on every side, strides ``hst``: the voxel
    ``(a, b, x)`` just outside the extent that neighbours an added voxel gets
    ``halo[(a + 1, b + 1, x + 1)] = 1``; ``seeds``: (M, 3) int64 ``(a, b, x)`` (skipped unless
    inside ``ext`` and available); ``nbrs``: (K, 3) int64 rows ``(da, db, spread)``: the
    neighbouring rows of a row and how far past a run's ends its neighbours reach there (0 or 1).
    When runs are contiguous and rows start on 8-voxel boundaries, eight voxels are tested at once.
    """
    e0, e1, e2 = ext[0], ext[1], ext[2]
    s0, s1, s2 = st[0], st[1], st[2]
    h0, h1, h2 = hst[0], hst[1], hst[2]
    w = s2 == 1 and s1 % 8 == 0 and s0 % 8 == 0 and avail.size % 8 == 0
    wide = avail.view(np.uint64) if w else np.zeros(1, np.uint64)
    cap = max(1024, 2 * seeds.shape[0])
    stack = np.empty((cap, 3), np.int64)  # (a, b, x) of run seeds
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
        base = a * s0 + b * s1
        if avail[base + x * s2] != 2:
            continue
        x0 = x
        while x0 > 0 and avail[base + (x0 - 1) * s2] == 2:
            x0 -= 1
        if w:
            x1 = _run_end(avail, wide, base, x + 1, e2 - 1, w) - 1
            xx = x0
            while xx <= x1:
                p = base + xx
                if (p & 7) == 0 and xx + 7 <= x1:
                    wide[p >> 3] = _ONES
                    xx += 8
                else:
                    avail[p] = 1
                    xx += 1
        else:
            x1 = x
            while x1 < e2 - 1 and avail[base + (x1 + 1) * s2] == 2:
                x1 += 1
            for xx in range(x0, x1 + 1):
                avail[base + xx * s2] = 1
        added += x1 - x0 + 1
        hb = (a + 1) * h0 + (b + 1) * h1
        if x0 == 0:
            halo[hb] = 1
        if x1 == e2 - 1:
            halo[hb + (e2 + 1) * h2] = 1
        for k in range(nbrs.shape[0]):
            na, nb, sprd = a + nbrs[k, 0], b + nbrs[k, 1], nbrs[k, 2]
            lo, hi = x0 - sprd, x1 + sprd
            if na < 0 or na >= e0 or nb < 0 or nb >= e1:  # a row outside the chunk: mark the halo
                hb = (na + 1) * h0 + (nb + 1) * h1
                for xx in range(max(lo, -1), min(hi, e2) + 1):
                    halo[hb + (xx + 1) * h2] = 1
                continue
            if lo < 0:
                halo[(na + 1) * h0 + (nb + 1) * h1] = 1
                lo = 0
            if hi >= e2:
                halo[(na + 1) * h0 + (nb + 1) * h1 + (e2 + 1) * h2] = 1
                hi = e2 - 1
            nbase = na * s0 + nb * s1
            xx = lo
            while xx <= hi:  # one seed per run of available voxels
                if w:
                    xx = _next_avail(avail, wide, nbase, xx, hi, w)
                    if xx > hi:
                        break
                elif avail[nbase + xx * s2] != 2:
                    xx += 1
                    continue
                if sp == stack.shape[0]:
                    grown = np.empty((2 * sp, 3), np.int64)
                    grown[:sp] = stack[:sp]
                    stack = grown
                stack[sp, 0], stack[sp, 1], stack[sp, 2] = na, nb, xx
                sp += 1
                if w:
                    xx = _run_end(avail, wide, nbase, xx + 1, hi, w)
                else:
                    xx += 1
                    while xx <= hi and avail[nbase + xx * s2] == 2:
                        xx += 1
    return added


@numba.njit(cache=True, nogil=True)
def mark_value(data, lo, hi, value, avail):  # pragma: no cover
    """Set ``avail`` (uint8, the chunk's nominal shape, zeroed) to 2 where ``data`` holds ``value``
    inside the box ``lo:hi``; returns how many voxels do."""
    n = 0
    for z in range(lo[0], hi[0]):
        for y in range(lo[1], hi[1]):
            row = data[z, y]
            out = avail[z, y]
            for x in range(lo[2], hi[2]):  # branch-free, so it vectorizes
                m = np.uint8(row[x] == value)
                out[x] = m << np.uint8(1)
                n += m
    return n


@numba.njit(cache=True, nogil=True)
def pack_region(avail, words):  # pragma: no cover
    """The voxels marked 1 in ``avail`` ((rows, cx) uint8) as row bitmaps ``(rows, words)`` uint64
    (bit ``x % 64`` of word ``x // 64``); returns ``(bits, first row, last row)``."""
    nrows, cx = avail.shape
    bits = np.zeros((nrows, words), np.uint64)
    r0, r1 = nrows, -1
    for r in range(nrows):
        any_set = np.uint64(0)
        for w in range(words):
            acc = np.uint64(0)
            for b in range(min(64, cx - 64 * w)):
                acc |= np.uint64(avail[r, 64 * w + b] == 1) << np.uint64(b)
            bits[r, w] = acc
            any_set |= acc
        if any_set:
            r0 = min(r0, r)
            r1 = r
    return bits, r0, r1


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
