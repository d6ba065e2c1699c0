"""``LabelMap.to_dask``: the label map (or a level of its pyramid) as a lazy dask array over a
consistent snapshot, one task per chunk.

A stored map is read through a :class:`~voxwidget.export.snapshot.FileSnapshot` (checkpoint, then
hard links), so the graph pickles to any scheduler, distributed ones too; an in-memory map through a
:class:`~voxwidget.export.snapshot.PinnedSnapshot`, for in-process (threaded, synchronous)
schedulers. The snapshot lives as long as the graph references it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from .pyramid import check_level, level_shapes, read_level
from .snapshot import ChunkSource, FileSnapshot, PinnedSnapshot

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap

__all__ = ["to_dask"]


class _Source(ChunkSource):
    """The snapshot a graph reads; pickles to its file reader (a stored map) or refuses to (memory)."""

    def __init__(self, lm: LabelMap) -> None:
        self.shape, self.chunk_shape, self.dtype = lm.shape, lm.chunk_shape, lm.dtype
        self.snap: FileSnapshot | PinnedSnapshot = (
            FileSnapshot(lm) if lm.path is not None else PinnedSnapshot(lm)
        )
        self._reader = self.snap.reader() if isinstance(self.snap, FileSnapshot) else self.snap
        self.token = uuid.uuid4().hex

    def __dask_tokenize__(self) -> str:
        return self.token

    def read(self, key: Any) -> np.ndarray | None:
        return self._reader.read(key)

    def __reduce__(self) -> tuple:
        if isinstance(self.snap, FileSnapshot):
            return self._reader.__reduce__()  # type: ignore[union-attr]
        raise TypeError(
            "to_dask() of an in-memory label map runs only in this process (threaded or synchronous "
            "schedulers); save(path) the map first to compute it in other processes"
        )

    def __del__(self) -> None:
        snap = getattr(self, "snap", None)
        if snap is not None:
            snap.close()


def _block(src: ChunkSource, level: int, lo: tuple[int, ...], hi: tuple[int, ...]) -> np.ndarray:
    """One chunk of the dask array: a level-0 chunk or a pyramid chunk computed from level 0."""
    if level == 0:
        key = tuple(a // c for a, c in zip(lo, src.chunk_shape, strict=True))
        data = src.read(key)
        if data is None:
            return np.zeros([b - a for a, b in zip(lo, hi, strict=True)], src.dtype)
        return np.array(data[tuple(slice(0, b - a) for a, b in zip(lo, hi, strict=True))])
    return read_level(src, level, lo, hi)


def to_dask(lm: LabelMap, level: int = 0) -> Any:
    """See :meth:`voxwidget.labelmap.labelmap.LabelMap.to_dask`."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    level = check_level(level, lm.shape)
    shape = level_shapes(lm.shape, (1, 1, 1), level + 1)[level]
    chunks = lm.chunk_shape
    src = _Source(lm)
    name = f"voxwidget-labels-{level}-{src.token}"
    grid = [-(-n // c) for n, c in zip(shape, chunks, strict=True)]
    dsk = {}
    for idx in np.ndindex(*grid):
        lo = tuple(i * c for i, c in zip(idx, chunks, strict=True))
        hi = tuple(min(a + c, n) for a, c, n in zip(lo, chunks, shape, strict=True))
        dsk[(name, *idx)] = (_block, src, level, lo, hi)
    dims = tuple(
        tuple(min(c, n - i * c) for i in range(g)) for n, c, g in zip(shape, chunks, grid, strict=True)
    )
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, dims, dtype=lm.dtype)
