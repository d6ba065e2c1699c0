"""The exported label pyramid: its level shapes and factors, and level voxels computed from level 0.

Level ``k + 1`` is level ``k`` reduced by :func:`~voxwidget.multiscale.downsample.downsample_mode`
(the most frequent label of each window, ties to the smallest), with factor 2 on every axis longer than
1 voxel; levels are added until one chunk holds the whole level (or as many as asked). The same rule
gives :meth:`LabelMap.to_numpy(level=) <voxwidget.labelmap.labelmap.LabelMap.to_numpy>`, the OME-Zarr
pyramid and the dask levels, so they agree voxel for voxel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..multiscale.downsample import downsample_mode, output_shape
from .snapshot import ChunkSource, read_box

__all__ = ["check_level", "level_factors", "level_shapes", "mode_reduce", "read_level"]

Shape3 = tuple[int, int, int]
#: voxels of level 0 read at once when a level is computed in pieces
PIECE_VOXELS = 32 * 2**20


def level_factors(shape: Sequence[int]) -> Shape3:
    """The factors from a level of ``shape`` to the next: 2 on every axis longer than 1."""
    return tuple(2 if int(n) > 1 else 1 for n in shape)  # type: ignore[return-value]


def level_shapes(shape: Sequence[int], chunks: Sequence[int], levels: int | None = None) -> list[Shape3]:
    """The shapes of the pyramid's levels, finest first.

    Parameters
    ----------
    shape, chunks : 3 ints
        Level 0's shape and the chunk shape.
    levels : int, optional
        How many levels (≥ 1); by default levels are added until one chunk holds the whole level.
    """
    shapes: list[Shape3] = [tuple(int(n) for n in shape)]  # type: ignore[list-item]
    while True:
        last = shapes[-1]
        if levels is not None and len(shapes) >= levels:
            return shapes
        if levels is None and all(n <= c for n, c in zip(last, chunks, strict=True)):
            return shapes
        if all(n == 1 for n in last):
            if levels is not None:
                raise ValueError(
                    f"levels={levels}: the pyramid of shape {tuple(shape)} ends after {len(shapes)}"
                )
            return shapes
        shapes.append(output_shape(last, level_factors(last)))  # type: ignore[arg-type]


def check_level(level: Any, shape: Sequence[int]) -> int:
    """``level`` as an int ≥ 0 whose shape exists (a level of 1³ is the last)."""
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or level < 0:
        raise ValueError(f"level must be an integer ≥ 0, got {level!r}")
    n = len(level_shapes(shape, (1, 1, 1)))
    if level >= n:
        raise ValueError(f"level {level} does not exist for shape {tuple(shape)}: levels are 0…{n - 1}")
    return int(level)


def mode_reduce(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """:func:`downsample_mode` of ``block``, fast for label data: windows holding one label take it
    directly and only the mixed windows are reduced (the result is identical)."""
    fs = tuple(int(f) for f in factors)
    if all(f == 1 for f in fs):
        return block.copy()
    if any(n % f for n, f in zip(block.shape, fs, strict=True)) or block.size == 0:
        return downsample_mode(block, fs)
    views = [
        block[i :: fs[0], j :: fs[1], k :: fs[2]]
        for i in range(fs[0])
        for j in range(fs[1])
        for k in range(fs[2])
    ]
    out = views[0].copy()
    mixed = np.zeros(out.shape, bool)
    for v in views[1:]:
        mixed |= v != out
    idx = np.flatnonzero(mixed)
    if idx.size:
        rows = np.stack([v.reshape(-1)[idx] for v in views], axis=1)
        out.reshape(-1)[idx] = downsample_mode(rows, (1, rows.shape[1]))[:, 0]
    return out


def read_level(src: ChunkSource, level: int, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
    """The voxels of the box ``lo:hi`` of pyramid ``level`` (clipped to the level's shape)."""
    shapes = level_shapes(src.shape, (1, 1, 1), level + 1)
    hi = [min(int(h), n) for h, n in zip(hi, shapes[level], strict=True)]
    lo = [min(int(v), h) for v, h in zip(lo, hi, strict=True)]
    return _read(lambda a, b: read_box(src, a, b), shapes, level, lo, hi)  # type: ignore[arg-type,return-value]


def _read(
    base: Callable[[list[int], list[int]], np.ndarray],
    shapes: list[Shape3],
    level: int,
    lo: list[int],
    hi: list[int],
) -> np.ndarray:
    if level == 0:
        return base(lo, hi)
    fs = level_factors(shapes[level - 1])
    plo = [a * f for a, f in zip(lo, fs, strict=True)]
    phi = [min(b * f, n) for b, f, n in zip(hi, fs, shapes[level - 1], strict=True)]
    return mode_reduce(_read(base, shapes, level - 1, plo, phi), fs)


def level_pieces(shape: Sequence[int], level: int) -> list[tuple[list[int], list[int]]]:
    """Boxes tiling level ``level`` (of ``shape``) whose level-0 footprint is about
    :data:`PIECE_VOXELS` at most, so a whole level is computed with bounded memory."""
    scale = 2**level
    side = max(8, round((PIECE_VOXELS / scale**3) ** (1 / 3)))
    side = 1 << (side.bit_length() - 1)
    steps = [min(side, int(n)) for n in shape]
    boxes = []
    for idx in np.ndindex(*[-(-int(n) // s) for n, s in zip(shape, steps, strict=True)]):
        lo = [i * s for i, s in zip(idx, steps, strict=True)]
        boxes.append((lo, [min(a + s, int(n)) for a, s, n in zip(lo, steps, shape, strict=True)]))
    return boxes


def numpy_level(lm: Any, region: Any, level: int) -> np.ndarray:
    """``lm.to_numpy(region, level=level)``: the region (any index ``lm[...]`` accepts, in the level's
    voxels) of a pyramid level, computed from a snapshot of level 0 piece by piece."""
    from ..labelmap.validate import normalize_index
    from .snapshot import PinnedSnapshot

    level = check_level(level, lm.shape)
    shape = level_shapes(lm.shape, (1, 1, 1), level + 1)[level]
    ranges, squeeze = normalize_index(slice(None) if region is None else region, shape)
    lo = [min(r) if len(r) else 0 for r in ranges]
    hi = [max(r) + 1 if len(r) else 0 for r in ranges]
    out = np.zeros([b - a for a, b in zip(lo, hi, strict=True)], lm.dtype)
    if out.size:
        with PinnedSnapshot(lm) as snap:
            for plo, phi in level_pieces([b - a for a, b in zip(lo, hi, strict=True)], level):
                a = [x + y for x, y in zip(plo, lo, strict=True)]
                b = [x + y for x, y in zip(phi, lo, strict=True)]
                out[tuple(slice(x, y) for x, y in zip(plo, phi, strict=True))] = read_level(snap, level, a, b)
    for d, r in enumerate(ranges):
        if len(r) and r.step != 1:
            out = np.take(out, np.asarray(r) - lo[d], axis=d)
    sq = tuple(d for d in range(3) if squeeze[d])
    return out.squeeze(axis=sq) if sq else out
