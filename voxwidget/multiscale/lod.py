"""Level-of-detail arithmetic for 2D views of a multiscale volume: pure functions, no I/O.

Conventions (mirrored by the browser's LOD code)
------------------------------------------------
* Volume axes are (z, y, x) = (0, 1, 2). A 2D view looks along one ``axis`` and shows the plane's
  ``u`` (horizontal) and ``v`` (vertical) axes: axis z → (u, v) = (x, y); y → (x, z); x → (y, z).
* ``zoom`` is screen pixels per level-0 voxel. A level with in-plane downsample factor ``d`` shows each
  of its voxels over ``d × zoom`` pixels.
* The view fetches the **finest level whose voxels cover at least one screen pixel** (``d × zoom ≥ 1``),
  so it never fetches more voxels than it has pixels; the coarsest level when even that one is finer
  (zoomed far out); level 0 when ``zoom ≥ 1``. With different factors along u and v (anisotropic
  pyramids) the geometric mean ``sqrt(d_u × d_v)`` stands for ``d``: the voxel count matches the pixels.
* Chunk keys are (kz, ky, kx) indices into a level's chunk grid. View rectangles are half-open
  ``(u0, v0, u1, v1)``, fractional values allowed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["PLANE_AXES", "axis_index", "choose_level", "coarse_to_fine", "plan_view", "visible_chunks"]

Key = tuple[int, int, int]
Rect = tuple[float, float, float, float]
#: (u, v) volume axes shown by a view along each axis
PLANE_AXES: dict[int, tuple[int, int]] = {0: (2, 1), 1: (2, 0), 2: (1, 0)}
_NAMES = {"z": 0, "y": 1, "x": 2}


def axis_index(axis: int | str) -> int:
    """0, 1 or 2 for ``axis`` given as an index or as "z", "y", "x"."""
    a = _NAMES.get(axis, axis) if isinstance(axis, str) else axis
    if a not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1, 2 or 'z', 'y', 'x', got {axis!r}")
    return int(a)


def _in_plane(factor: float | Sequence[float], axis: int) -> tuple[float, float]:
    if isinstance(factor, (int, float)):
        return float(factor), float(factor)
    if len(factor) != 3:
        raise ValueError(f"a level's downsample must be a number or (z, y, x) factors, got {factor!r}")
    u, v = PLANE_AXES[axis]
    return float(factor[u]), float(factor[v])


def choose_level(
    levels_downsample: Sequence[float | Sequence[float]],
    zoom: float | tuple[float, float],
    axis: int | str = 0,
) -> int:
    """The level a 2D view at ``zoom`` should fetch.

    Parameters
    ----------
    levels_downsample
        Per level (finest first), its downsample factor versus level 0: a number, or (z, y, x) factors.
    zoom
        Screen pixels per level-0 voxel, or a (u, v) pair when they differ.
    axis
        The axis the view looks along (selects the in-plane factors).

    Returns
    -------
    int
        The finest level with ``d × zoom ≥ 1`` (see the module docstring); the coarsest if none.
    """
    if not levels_downsample:
        raise ValueError("levels_downsample is empty")
    zu, zv = (float(zoom), float(zoom)) if isinstance(zoom, (int, float)) else map(float, zoom)
    if not (zu > 0 and zv > 0 and math.isfinite(zu * zv)):
        raise ValueError(f"zoom must be positive and finite, got {zoom!r}")
    a = axis_index(axis)
    pixels = []  # screen pixels per voxel of each level (geometric mean over u and v)
    for d in levels_downsample:
        du, dv = _in_plane(d, a)
        pixels.append(math.sqrt(du * zu * dv * zv))
    enough = [i for i, p in enumerate(pixels) if p >= 1 - 1e-9]
    if not enough:
        return max(range(len(pixels)), key=lambda i: (pixels[i], i))
    return min(enough, key=lambda i: (pixels[i], i))


def visible_chunks(
    shape: Sequence[int], chunks: Sequence[int], axis: int | str, index: int, view_rect: Rect
) -> list[Key]:
    """Keys of the chunks the plane ``index`` along ``axis`` cuts inside ``view_rect``.

    Parameters
    ----------
    shape, chunks
        The level's (z, y, x) shape and chunk shape.
    axis
        The view's axis; ``index`` is the plane's position along it, in voxels of this level.
    view_rect
        ``(u0, v0, u1, v1)`` in voxels of this level, half-open; clipped to the volume.

    Returns
    -------
    list of (kz, ky, kx)
        Row by row (v, then u); empty when the plane or the rectangle is outside the volume.
    """
    a = axis_index(axis)
    if len(shape) != 3 or len(chunks) != 3 or min(chunks) < 1:
        raise ValueError(f"shape {tuple(shape)} and chunks {tuple(chunks)} must be 3 positive sizes")
    if not 0 <= index < shape[a]:
        return []
    u, v = PLANE_AXES[a]
    u0, v0, u1, v1 = view_rect
    ranges = []
    for ax, lo, hi in ((u, u0, u1), (v, v0, v1)):
        lo_i, hi_i = max(0, math.floor(lo)), min(shape[ax], math.ceil(hi))
        if hi_i <= lo_i:
            return []
        ranges.append(range(lo_i // chunks[ax], (hi_i - 1) // chunks[ax] + 1))
    keys = []
    for kv in ranges[1]:
        for ku in ranges[0]:
            key = [0, 0, 0]
            key[a], key[u], key[v] = index // chunks[a], ku, kv
            keys.append(tuple(key))
    return keys  # type: ignore[return-value]


def coarse_to_fine(
    requests: Iterable[tuple[int, Key]],
    shapes: Sequence[Sequence[int]],
    chunks: Sequence[Sequence[int]],
    downsamples: Sequence[Sequence[float]],
    axis: int | str,
    centre: tuple[float, float],
) -> list[tuple[int, Key]]:
    """``requests`` (level, key) ordered coarsest level first, then nearest the view centre first.

    Parameters
    ----------
    requests
        (level, chunk key) pairs.
    shapes, chunks, downsamples
        Per level: (z, y, x) shape, chunk shape, downsample factors versus level 0.
    axis
        The view's axis.
    centre
        The view centre (u, v) in level-0 voxels.

    Notes
    -----
    Distance is Euclidean in level-0 voxels between ``centre`` and the in-plane centre of the chunk
    (clipped to the volume); ties keep key order, so the result is deterministic.
    """
    u, v = PLANE_AXES[axis_index(axis)]

    def rank(req: tuple[int, Key]) -> tuple[int, float, Key]:
        level, key = req
        c, n, d = chunks[level], shapes[level], downsamples[level]
        mid = [(k * c[ax] + min((k + 1) * c[ax], n[ax])) / 2 * d[ax] for ax, k in ((u, key[u]), (v, key[v]))]
        return (-level, math.hypot(mid[0] - centre[0], mid[1] - centre[1]), tuple(key))  # type: ignore[return-value]

    return sorted(requests, key=rank)


def plan_view(
    shapes: Sequence[Sequence[int]],
    chunks: Sequence[Sequence[int]],
    downsamples: Sequence[Sequence[float]],
    axis: int | str,
    index0: int,
    view_rect0: Rect,
    zoom: float | tuple[float, float],
) -> list[tuple[int, Key]]:
    """Every (level, key) a 2D view needs, in fetch order: the coarsest level's chunks (a quick
    placeholder) then those of :func:`choose_level`'s level, each nearest the view centre first.

    ``index0`` and ``view_rect0`` are in level-0 voxels; each level maps them by its factors (plane
    ``index0 // d``, rectangle scaled outward).
    """
    a = axis_index(axis)
    u, v = PLANE_AXES[a]
    target = choose_level(downsamples, zoom, a)
    coarsest = len(shapes) - 1
    requests: list[tuple[int, Key]] = []
    for level in sorted({coarsest, target}, reverse=True):
        d = downsamples[level]
        u0, v0, u1, v1 = view_rect0
        rect = (u0 / d[u], v0 / d[v], u1 / d[u], v1 / d[v])
        keys = visible_chunks(shapes[level], chunks[level], a, int(index0 // d[a]), rect)
        requests.extend((level, k) for k in keys)
    u0, v0, u1, v1 = view_rect0
    return coarse_to_fine(requests, shapes, chunks, downsamples, a, ((u0 + u1) / 2, (v0 + v1) / 2))
