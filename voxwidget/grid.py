"""Chunk-grid arithmetic shared by the tile server and the tests (mirrored in ``js/src/core/grid.js``)."""

from __future__ import annotations

from collections.abc import Sequence

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
