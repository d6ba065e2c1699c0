"""Voxel counts per label, kept up to date from the edit atoms (never by scanning the volume).

:class:`LabelCounts` holds the count of every non-zero label; the background's count is the array's
voxel count minus their sum, so a chunk that was never written costs nothing. The commit path
(:meth:`voxwidget.labelmap.core.MapCore.edit`) folds in each edit's atoms — their old values leave,
their new values arrive — which also covers undo and redo (their atoms are inverses); journal
replay folds in each record's entries against the values they overwrite
(:meth:`voxwidget.labelmap.persistence.Persistence._replay`). A checkpoint stores the counts in the
store's ``meta.json``; a store without them (written by an older voxwidget, or interrupted in the
middle of a checkpoint, see :meth:`~voxwidget.labelmap.chunkstore.ChunkStore.mark_writing`) is
counted once, chunk by chunk over the chunks that exist, the first time the counts are asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .atoms import Atom

__all__ = ["LabelCounts", "histogram"]

_BINCOUNT_MAX = 1 << 20  # values below this are counted with np.bincount (O(n)), others with np.unique


def histogram(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, counts)`` of the values (any shape), both int64-safe Python-convertible arrays."""
    v = values.reshape(-1)
    if v.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    lo, hi = v.min(), v.max()
    if lo == hi:
        return np.array([lo]), np.array([v.size])
    if int(hi) < _BINCOUNT_MAX and v.dtype.kind in "ui" and int(lo) >= 0:
        c = np.bincount(v.astype(np.intp, copy=False) if v.dtype.itemsize > 4 else v, minlength=1)
        nz = np.flatnonzero(c)
        return nz, c[nz]
    return np.unique(v, return_counts=True)


class LabelCounts:
    """Voxels per non-zero label of one map, and the background's count as the rest.

    Parameters
    ----------
    total : int
        Voxels in the array.
    """

    def __init__(self, total: int) -> None:
        self.total = int(total)
        self._c: dict[int, int] = {}
        #: False while the counts are not known (a store opened without them): updates are skipped
        #: until :meth:`recount`
        self.known = True

    # -- updates ---------------------------------------------------------------------------------------
    def apply(self, atoms: Iterable[Atom]) -> None:
        """Fold in applied atoms: each voxel's old value loses one, its new value gains one."""
        if not self.known:
            return
        c = self._c
        for a in atoms:
            n = a.count
            if not n:
                continue
            old, new = a.old, a.new
            if old.size == 1 and new.size == 1:  # the common case (brush, fill): plain ints, no numpy
                o, w = old.item(), new.item()
                if o == w:
                    continue
                if o:
                    k = c.get(o, 0) - n
                    if k:
                        c[o] = k
                    else:
                        del c[o]
                if w:
                    c[w] = c.get(w, 0) + n
                continue
            self._move(old, new, n)

    def change(self, old: np.ndarray, new: Any) -> None:
        """Fold in voxels whose values ``old`` (an array) become ``new`` (an array of the same size,
        or one value): how journal replay reports what it overwrites."""
        if not self.known or old.size == 0:
            return
        new = np.asarray(new).reshape(-1)
        self._move(old.reshape(-1), new, old.size)

    def add_array(self, values: np.ndarray) -> None:
        """Count the values of newly loaded voxels that were zero (a bulk load)."""
        if self.known:
            self._add(values.reshape(-1), 1)

    def _move(self, old: np.ndarray, new: np.ndarray, n: int) -> None:
        if old.size == 1 and new.size == 1 and old[0] == new[0]:
            return
        self._add(old, -1, n)
        self._add(new, 1, n)

    def _add(self, values: np.ndarray, sign: int, n: int | None = None) -> None:
        c = self._c
        if values.size == 1 and n is not None:  # one value for all n voxels
            v = int(values[0])
            if v:
                k = c.get(v, 0) + sign * n
                if k:
                    c[v] = k
                else:
                    c.pop(v, None)
            return
        labels, counts = histogram(values)
        for v, k in zip(labels.tolist(), counts.tolist(), strict=True):
            if v:
                k = c.get(v, 0) + sign * k
                if k:
                    c[v] = k
                else:
                    c.pop(v, None)

    # -- reads -----------------------------------------------------------------------------------------
    def get(self, label: int) -> int:
        """Voxels holding ``label`` (the counts must be known)."""
        return self.total - sum(self._c.values()) if label == 0 else self._c.get(label, 0)

    def as_dict(self) -> dict[int, int]:
        """``{label: voxels}`` for every label present (0 included when any background is left),
        in ascending label order, like ``np.unique(array, return_counts=True)``."""
        rest = self.total - sum(self._c.values())
        out = {0: rest} if rest else {}
        out.update(sorted(self._c.items()))
        return out

    # -- persistence -----------------------------------------------------------------------------------
    def to_meta(self) -> list[list[int]] | None:
        """The counts for ``meta.json`` (``[[label, count], ...]``), or None while unknown."""
        return [[k, v] for k, v in sorted(self._c.items())] if self.known else None

    def load(self, meta: list[list[int]] | None) -> None:
        """Take the counts of a checkpoint; None (a store without counts) makes them unknown."""
        self._c = {} if meta is None else {int(k): int(v) for k, v in meta if int(v)}
        self.known = meta is not None

    def forget(self) -> None:
        """Make the counts unknown (a store interrupted in a checkpoint): recounted when needed."""
        self._c = {}
        self.known = False

    def recount(self, chunks: Iterable[np.ndarray]) -> None:
        """Count from scratch over the data of every chunk that may hold a non-zero voxel (their
        nominal-shape arrays; the padding past the array's edge holds zeros)."""
        self._c = {}
        self.known = True
        for data in chunks:
            if np.count_nonzero(data):
                self._add(data.reshape(-1), 1)
