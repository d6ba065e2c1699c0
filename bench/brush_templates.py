"""Brush stamps as boolean templates, for the benchmarks' numpy baselines.

The contract (``docs/labelmap-contract.md``): integer centre ``c``; a 2D disk in the plane
orthogonal to ``axis`` holds the voxels with ``du**2 + dv**2 <= radius**2`` at ``c[axis]``; a 3D
sphere holds ``dz**2 + dy**2 + dx**2 <= radius**2``; both are clipped to the array.

Templates are boolean masks over the brush's bounding box, cached per radius, so a stroke of many
points computes each shape once and afterwards only slices it: what "bare numpy" painting costs.
The label map paints with the compiled kernel in :mod:`voxwidget.tools.stroke_kernel` (same geometry).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["brush_box", "brush_template", "disk_template", "sphere_template"]


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
