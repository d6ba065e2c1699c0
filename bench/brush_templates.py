"""Brush geometry shared by the kernel and the browser.

The contract (``docs/labelmap-contract.md``): integer centre ``c``; a 2D disk in the plane
orthogonal to ``axis`` holds the voxels with ``du**2 + dv**2 <= radius**2`` at ``c[axis]``; a 3D
sphere holds ``dz**2 + dy**2 + dx**2 <= radius**2``; both are clipped to the array.

Templates are boolean masks over the brush's bounding box, cached per radius, so a stroke of many
points computes each shape once and afterwards only slices it. :func:`union_tiles` stamps the
templates of a whole stroke (many centres) into boolean tiles covering the union of the stamps.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache

import numpy as np

__all__ = ["brush_box", "brush_template", "disk_template", "sphere_template", "union_tiles"]

MAX_TILE_VOXELS = 1 << 24  # a stroke's union is stamped into boolean tiles of at most this many voxels


def _check_radius(radius: int) -> int:
    r = int(radius)
    if r != radius or r < 0:
        raise ValueError(f"brush radius must be a non-negative integer, got {radius!r}")
    return r


@lru_cache(maxsize=128)
def disk_template(radius: int) -> np.ndarray:
    """Boolean ``(2r+1, 2r+1)`` mask of the disk ``du**2 + dv**2 <= r**2`` (read-only, cached).

    Parameters
    ----------
    radius : int
        Non-negative integer radius in voxels; 0 is a single voxel.
    """
    r = _check_radius(radius)
    d = np.arange(-r, r + 1, dtype=np.int64)
    m = (d[:, None] ** 2 + d[None, :] ** 2) <= r * r
    m.setflags(write=False)
    return m


@lru_cache(maxsize=128)
def sphere_template(radius: int) -> np.ndarray:
    """Boolean ``(2r+1,)*3`` mask of the ball ``dz**2 + dy**2 + dx**2 <= r**2`` (read-only, cached).

    Parameters
    ----------
    radius : int
        Non-negative integer radius in voxels; 0 is a single voxel.
    """
    r = _check_radius(radius)
    d = np.arange(-r, r + 1, dtype=np.int64) ** 2
    m = (d[:, None, None] + d[None, :, None] + d[None, None, :]) <= r * r
    m.setflags(write=False)
    return m


@lru_cache(maxsize=256)
def brush_template(radius: int, dims: int, axis: int) -> np.ndarray:
    """The brush as a 3D boolean mask over its bounding box (z, y, x order, read-only, cached).

    For ``dims=2`` the box is one voxel thick along ``axis``.
    """
    if dims == 3:
        return sphere_template(radius)
    if dims != 2:
        raise ValueError(f"brush dims must be 2 or 3, got {dims!r}")
    if axis not in (0, 1, 2):
        raise ValueError(f"brush axis must be 0, 1 or 2, got {axis!r}")
    m = np.expand_dims(disk_template(radius), axis)
    m.setflags(write=False)
    return m


def brush_box(
    center: tuple[int, int, int], radius: int, dims: int, axis: int, shape: tuple[int, ...]
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[slice, ...]] | None:
    """Clip the brush's bounding box to ``shape``.

    Returns
    -------
    (lo, hi, template_slices) or None
        ``lo``/``hi`` are the clipped box in array coordinates (hi exclusive) and
        ``template_slices`` selects the matching part of :func:`brush_template`; ``None`` when
        the brush misses the array entirely.
    """
    r = _check_radius(radius)
    lo: list[int] = []
    hi: list[int] = []
    tsl: list[slice] = []
    for d in range(3):
        c = int(center[d])
        half = 0 if (dims == 2 and d == axis) else r
        a, b = c - half, c + half + 1
        ca, cb = max(a, 0), min(b, shape[d])
        if ca >= cb:
            return None
        lo.append(ca)
        hi.append(cb)
        tsl.append(slice(ca - a, cb - a))
    return tuple(lo), tuple(hi), tuple(tsl)


def union_tiles(
    centres: np.ndarray,
    radius: int,
    dims: int,
    axis: int,
    shape: Sequence[int],
    chunks: Sequence[int],
    max_voxels: int = MAX_TILE_VOXELS,
) -> Iterator[tuple[tuple[int, ...], tuple[int, ...], np.ndarray]]:
    """Cover the union of the brush stamps at ``centres`` with boolean tiles.

    The stroke's bounding box is split at chunk boundaries (recursively, along its longest axis)
    until a tile holds at most ``max_voxels`` voxels or lies inside one chunk along every axis,
    so every chunk lies in at most one tile; each tile is shrunk to the stamps that touch it, and
    those stamps are OR-ed into it by slicing :func:`brush_template` (no per-voxel work).

    Parameters
    ----------
    centres : np.ndarray
        ``(N, 3)`` integer centres inside ``shape`` (validated by the caller).
    radius, dims, axis
        The brush (see :func:`brush_template`).
    shape, chunks : 3 ints
        Array and chunk shape.
    max_voxels : int
        Voxel budget of one tile.

    Yields
    ------
    (lo, hi, mask)
        Tile box in array coordinates (``hi`` exclusive) and a boolean mask of its shape (read-only
        when it is a view of the cached template).
    """
    r = _check_radius(radius)
    tmpl = brush_template(r, dims, axis)
    cs = np.asarray(centres, np.intp).reshape(-1, 3)
    if cs.shape[0] <= 1:  # one stamp: a view of the template, no copy (pure Python: cheapest)
        box = brush_box(tuple(cs[0].tolist()), r, dims, axis, shape) if cs.shape[0] else None
        if box is not None:
            yield box[0], box[1], tmpl[box[2]]
        return
    half = np.full(3, r, np.intp)
    if dims == 2:
        half[axis] = 0
    shp = np.asarray(shape, np.intp)
    start = cs - half  # unclipped stamp origin (template index 0)
    lo = np.maximum(start, 0)
    hi = np.minimum(cs + half + 1, shp)
    stack = [(np.arange(cs.shape[0]), lo.min(0), hi.max(0))]
    while stack:
        idx, tlo, thi = stack.pop()
        blo = np.maximum(lo[idx].min(0), tlo)
        bhi = np.minimum(hi[idx].max(0), thi)
        ext = bhi - blo
        if int(np.prod(ext)) > max_voxels and idx.size > 1:
            cut = _split(blo, bhi, ext, chunks)
            if cut is not None:
                d, m = cut
                left, right = idx[lo[idx, d] < m], idx[hi[idx, d] > m]
                rlo, lhi = blo.copy(), bhi.copy()
                rlo[d], lhi[d] = m, m
                if right.size:
                    stack.append((right, rlo, bhi))
                if left.size:
                    stack.append((left, blo, lhi))
                continue
        b0, b1 = tuple(blo.tolist()), tuple(bhi.tolist())
        if idx.size == 1:  # one stamp: a view of the template, no copy
            o = (blo - start[int(idx[0])]).tolist()
            e = ext.tolist()
            yield b0, b1, tmpl[o[0] : o[0] + e[0], o[1] : o[1] + e[1], o[2] : o[2] + e[2]]
            continue
        mask = np.zeros(tuple(ext.tolist()), bool)
        a = np.maximum(lo[idx], blo)
        b = np.minimum(hi[idx], bhi)
        rows = np.concatenate([a - blo, b - blo, a - start[idx]], axis=1).tolist()
        for z0, y0, x0, z1, y1, x1, tz, ty, tx in rows:
            v = mask[z0:z1, y0:y1, x0:x1]
            np.logical_or(v, tmpl[tz : tz + z1 - z0, ty : ty + y1 - y0, tx : tx + x1 - x0], out=v)
        yield b0, b1, mask


def _split(
    blo: np.ndarray, bhi: np.ndarray, ext: np.ndarray, chunks: Sequence[int]
) -> tuple[int, int] | None:
    """A chunk boundary strictly inside the box, near the middle of its longest splittable axis."""
    for d in np.argsort(-ext, kind="stable").tolist():
        c = chunks[d]
        m = (int(blo[d] + bhi[d]) // 2) // c * c
        if m <= blo[d]:
            m += c
        if m < bhi[d]:
            return d, m
    return None
