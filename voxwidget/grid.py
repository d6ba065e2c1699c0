"""Chunk-grid arithmetic shared by the tile server and the tests (mirrored in ``js/src/core/grid.js``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

AXES = ("z", "y", "x")

Key = tuple[int, int, int]


def grid_shape(shape: Sequence[int], chunks: Sequence[int]) -> tuple[int, int, int]:
    """Number of chunks along each axis."""
    return tuple(-(-s // c) for s, c in zip(shape, chunks, strict=True))  # type: ignore[return-value]


def chunk_box(key: Key, shape: Sequence[int], chunks: Sequence[int]) -> tuple[slice, slice, slice]:
    """The region of ``key`` clipped to the array."""
    return tuple(slice(k * c, min((k + 1) * c, s)) for k, c, s in zip(key, chunks, shape, strict=True))  # type: ignore[return-value]


def check_key(key: Sequence[int], grid: Sequence[int]) -> Key:
    """Return ``key`` as a tuple, or raise naming the key and the grid it must fit."""
    if len(key) != 3 or any(not 0 <= k < g for k, g in zip(key, grid, strict=False)):
        raise ValueError(f"chunk key {list(key)} is outside the chunk grid {list(grid)}")
    return (int(key[0]), int(key[1]), int(key[2]))


def plane_region(
    key: Key, shape: Sequence[int], chunks: Sequence[int], axis: int, index: int
) -> tuple[slice, slice, slice]:
    """The part of chunk ``key`` that the plane ``axis = index`` cuts (one voxel thick).

    Raises
    ------
    ValueError
        When the plane does not pass through the chunk.
    """
    box = list(chunk_box(key, shape, chunks))
    if not box[axis].start <= index < box[axis].stop:
        raise ValueError(
            f"plane {AXES[axis]}={index} does not cut chunk {list(key)}, "
            f"which spans {AXES[axis]} {box[axis].start}…{box[axis].stop - 1}"
        )
    box[axis] = slice(index, index + 1)
    return tuple(box)  # type: ignore[return-value]


def read_box(src: Any, lo: Any, hi: Any, *, none_if_empty: bool = False) -> np.ndarray | None:
    """The voxels of the box ``lo:hi`` (inside the array) read chunk by chunk from ``src`` (anything
    with ``chunk_shape``, ``dtype`` and ``read(key) -> chunk or None``: the label map's chunk table,
    an edit's reader, an export snapshot) as a new array (None when ``none_if_empty`` and no chunk
    under the box holds data)."""
    lo = [int(v) for v in lo]
    hi = [int(v) for v in hi]
    shape = [b - a for a, b in zip(lo, hi, strict=True)]
    c = src.chunk_shape
    first = [a // cc for a, cc in zip(lo, c, strict=True)]
    last = [(b - 1) // cc for b, cc in zip(hi, c, strict=True)]
    parts = []
    if min(shape) > 0:
        for key in np.ndindex(*[m - f + 1 for f, m in zip(first, last, strict=True)]):
            key = tuple(k + f for k, f in zip(key, first, strict=True))
            data = src.read(key)  # type: ignore[arg-type]
            if data is not None:
                parts.append((key, data))
    if not parts and none_if_empty:
        return None
    out = np.zeros(shape, src.dtype)
    for key, data in parts:
        a = [max(x, k * cc) for x, k, cc in zip(lo, key, c, strict=True)]
        b = [min(y, (k + 1) * cc) for y, k, cc in zip(hi, key, c, strict=True)]
        out[tuple(slice(x - y, z - y) for x, z, y in zip(a, b, lo, strict=True))] = data[
            tuple(slice(x - k * cc, z - k * cc) for x, z, k, cc in zip(a, b, key, c, strict=True))
        ]
    return out
