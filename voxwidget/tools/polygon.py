"""Polygons: the voxels of one plane inside a polygon, as atoms.

The rasterization is that of ``skimage.draw.polygon`` (without depending on scikit-image), the
crossing test of O'Rourke's *Computational Geometry in C* (ch. 7): pixel ``(r, c)`` of the polygon's
bounding box (clipped to the plane) is taken when it is inside (an odd number of edges cross the
ray to its right), on an edge (the crossings left and right differ in parity) or on a vertex
(within 1e-12), with the same floating-point expressions, so both give the same pixels for the same
vertices. Per row only the edges that straddle it are evaluated, so the cost follows the bounding
box times the edges crossing a row, not all edges × pixels.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..labelmap.atoms import Atom
from ..labelmap.types import ChunkReader, OutOfBoundsError
from .region import box_atoms, read_box

__all__ = ["check_polygon", "polygon_atoms", "polygon_mask"]

_EPS = 1e-12  # vertex tolerance, as skimage


def check_polygon(points: Any, axis: Any, index: Any, shape: tuple[int, int, int]) -> tuple[np.ndarray, int]:
    """Validate a polygon: ``(points as (N, 2) float64, index)``; errors name the bad value."""
    if type(axis) is bool or axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    try:
        pts = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"points {points!r} must be an (N, 2) array of (row, column) numbers") from e
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 3:
        raise ValueError(
            f"points must be an (N, 2) array of (row, column) with N >= 3, got shape {pts.shape}"
        )
    if not np.isfinite(pts).all():
        i = int(np.nonzero(~np.isfinite(pts).all(axis=1))[0][0])
        raise ValueError(f"point {i} {tuple(pts[i].tolist())} is not finite")
    n = shape[axis]
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise ValueError(f"index must be an integer plane index along axis {axis}, got {index!r}")
    if not 0 <= index < n:
        raise OutOfBoundsError(f"index {index} is outside axis {axis}; allowed 0..{n - 1}")
    return pts, int(index)


def polygon_mask(pts: np.ndarray, plane: tuple[int, int]) -> tuple[int, int, np.ndarray]:
    """``(r0, c0, mask)``: the pixels inside the polygon ``pts`` ((N, 2) row, column) in a plane of
    shape ``plane``, as a boolean mask of its clipped bounding box starting at ``(r0, c0)``."""
    yp, xp = pts[:, 0], pts[:, 1]
    minr, maxr = int(max(0.0, yp.min())), min(plane[0] - 1, math.ceil(yp.max()))
    minc, maxc = int(max(0.0, xp.min())), min(plane[1] - 1, math.ceil(xp.max()))
    if maxr < minr or maxc < minc:
        return 0, 0, np.zeros((0, 0), bool)
    cols = np.arange(minc, maxc + 1, dtype=np.float64)
    xj_all, yj_all = np.roll(xp, 1), np.roll(yp, 1)  # edge (i - 1, i)
    mask = np.zeros((maxr - minr + 1, cols.size), bool)
    for r in range(minr, maxr + 1):
        y = float(r)
        y0, y1 = yp - y, yj_all - y
        right, left = (y0 > 0) != (y1 > 0), (y0 < 0) != (y1 < 0)
        row = mask[r - minr]
        both = right | left
        if both.any():
            x0 = xp[both, None] - cols[None, :]
            x1 = xj_all[both, None] - cols[None, :]
            a, b = y0[both, None], y1[both, None]
            v = (x0 * b - x1 * a) / (b - a)  # the crossing, as skimage computes it
            r_odd = ((v > 0) & right[both, None]).sum(axis=0) & 1
            l_odd = ((v < 0) & left[both, None]).sum(axis=0) & 1
            row |= (r_odd | l_odd).astype(bool)  # inside, or on an edge
        near = np.abs(y0) < _EPS
        if near.any():  # on a vertex
            for xv in xp[near]:
                row |= np.abs(xv - cols) < _EPS
    return minr, minc, mask


def polygon_atoms(
    reader: ChunkReader, pts: np.ndarray, label: np.ndarray, axis: int, index: int, preserve_labels: bool
) -> list[Atom]:
    """The atoms that set ``label`` inside the polygon ``pts`` on plane ``index`` along ``axis``
    (only on background voxels with ``preserve_labels``)."""
    free = [a for a in range(3) if a != axis]
    r0, c0, mask = polygon_mask(pts, (reader.shape[free[0]], reader.shape[free[1]]))
    if not mask.any():
        return []
    rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
    mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    lo = [0, 0, 0]
    lo[axis], lo[free[0]], lo[free[1]] = index, r0 + int(rows[0]), c0 + int(cols[0])
    hi = [lo[0] + 1, lo[1] + 1, lo[2] + 1]
    hi[free[0]], hi[free[1]] = lo[free[0]] + mask.shape[0], lo[free[1]] + mask.shape[1]
    mask3 = np.expand_dims(mask, axis)
    if preserve_labels:
        mask3 = mask3 & (read_box(reader, lo, hi) == 0)
    return box_atoms(reader, tuple(lo), tuple(hi), label[()], mask3)
