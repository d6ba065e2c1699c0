"""Coarse label levels: the label tiles of levels ``L > 0`` (:class:`CoarseLabels`).

Label tiles at level ``L > 0`` are computed on demand by
:func:`~voxwidget.multiscale.downsample.downsample_mode` from the level-0 label voxels under them,
kept in a byte-bounded LRU keyed by version. Their
**version is the sum of the versions of the level-0 chunks under the whole level-``L`` chunk**: every
edit bumps one level-0 chunk's version by at least one, so the sum strictly grows and any edit
under a coarse chunk gives it a new version (undo/redo too: they also bump versions). With each
level-0 change notice the kernel also announces the new coarse versions (``chunks.changed`` with
``level = L``, no origin; :mod:`voxwidget.comm.changes`), so browsers refetch coarse label tiles
they show. A coarse tile whose level-0 chunks all have version 0 (never written) is all zero and
costs no read.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..grid import chunk_box
from ..multiscale import chunkcache
from ..multiscale.downsample import downsample_mode

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap
    from ..multiscale.levels import ImageLevel

__all__ = ["CoarseLabels"]

Key = tuple[int, int, int]


class CoarseLabels:
    """The versions and voxels of one endpoint's label tiles at every level of its image.

    Parameters
    ----------
    labels
        The authoritative label map (level 0).
    levels
        The image's levels, finest first: their shapes and integer downsample factors.
    cache_bytes
        Optional bound of the computed coarse label blocks, within the kernel-wide budget.

    Attributes
    ----------
    downsamples : list of tuple of int
        Each level's integer factors versus level 0.
    cache : CacheView
        This endpoint's namespace of the kernel-wide chunk cache for coarse label blocks, keyed by
        ``(level, key, region, version)``.
    """

    def __init__(
        self, labels: LabelMap, levels: Sequence[ImageLevel], cache_bytes: int | None = None
    ) -> None:
        self.labels = labels
        self.levels = levels
        self.downsamples = [tuple(int(d) for d in lv.downsample) for lv in levels]
        self.cache = chunkcache.view(cache_bytes)
        self._versions: dict[tuple[int, Key], int] = {}
        self._lock = threading.Lock()  # guards _versions

    def level_shape(self, level: int) -> tuple[int, int, int]:
        """The (z, y, x) shape of ``level``."""
        return tuple(self.levels[level].shape)  # type: ignore[return-value]

    def _level0_keys(self, level: int, region: Sequence[slice]) -> list[Key]:
        """The level-0 chunk keys under a level-``level`` region."""
        d, c, n0 = self.downsamples[level], self.labels.chunk_shape, self.labels.shape
        ranges = []
        for r, f, cc, n in zip(region, d, c, n0, strict=True):
            lo, hi = r.start * f, min(r.stop * f, n)
            ranges.append(range(lo // cc, max(lo // cc, (hi - 1) // cc) + 1))
        return [(z, y, x) for z in ranges[0] for y in ranges[1] for x in ranges[2]]

    def coarse_keys(self, level: int, keys0: Iterable[Key]) -> set[Key]:
        """The level-``level`` chunk keys over the level-0 chunks ``keys0``."""
        d = self.downsamples[level]
        return {tuple(k // f for k, f in zip(key, d, strict=True)) for key in keys0}  # type: ignore[misc]

    def forget(self, keys0: Sequence[Key]) -> None:
        """Drop the remembered versions of the coarse tiles over the level-0 chunks ``keys0`` (they
        changed): :meth:`version` sums them again."""
        stale = [(level, ck) for level in range(1, len(self.levels)) for ck in self.coarse_keys(level, keys0)]
        with self._lock:
            for lk in stale:
                self._versions.pop(lk, None)

    def version(self, level: int, key: Key) -> int:
        """The version of label tile ``key`` at ``level``: the sum of the level-0 chunk versions under
        the whole level-``level`` chunk (see the module docstring)."""
        if level == 0:
            return self.labels.version(key)
        with self._lock:
            v = self._versions.get((level, key))
        if v is not None:
            return v
        box = chunk_box(key, self.level_shape(level), self.labels.chunk_shape)
        v = sum(self.labels.version(k) for k in self._level0_keys(level, box))
        with self._lock:
            if len(self._versions) > 200_000:
                self._versions.clear()
            self._versions[(level, key)] = v
        return v

    def tile(self, level: int, key: Key, region: Sequence[slice], version: int) -> np.ndarray | None:
        """Mode-downsampled labels of a level-``level`` region (None when all zero), cached by version."""
        if version == 0 or not any(self.labels.version(k) for k in self._level0_keys(level, region)):
            return None
        d, n0 = self.downsamples[level], self.labels.shape
        region0 = tuple(slice(r.start * f, min(r.stop * f, n)) for r, f, n in zip(region, d, n0, strict=True))
        ck = (level, key, tuple((r.start, r.stop) for r in region), version)

        def compute() -> np.ndarray:
            return downsample_mode(self.labels.to_numpy(region0), d)

        out = self.cache.get_or_compute(ck, compute)
        want = tuple(r.stop - r.start for r in region)
        return out[tuple(slice(0, w) for w in want)]
