"""Brush painting of :class:`voxwidget.labelmap.LabelMap`: one centre or a whole stroke per call.

A stroke (an ``(N, 3)`` array of centres) is the union of its stamps applied as one batch: one
validation, one lock, one undo step, one journal record, one notification. The union is stamped
into boolean tiles by slicing cached templates (:func:`voxwidget.brush.union_tiles`); each chunk a
tile touches then takes one pass: the chunk-local offsets under the mask, the old values there,
the changed subset, and one scatter of the label.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from ._labelmap_types import BatchResult, OutOfBoundsError, check_labels, done_future
from .brush import union_tiles
from .history import Atom

if TYPE_CHECKING:
    from .labelmap import LabelMap

Key = tuple[int, int, int]


def box_pieces(
    lo: tuple[int, ...], hi: tuple[int, ...], chunks: tuple[int, ...]
) -> Iterator[tuple[Key, tuple[slice, ...], tuple[slice, ...]]]:
    """Split the box ``lo:hi`` at chunk borders: ``(key, slices in the box, slices in the chunk)``."""
    key = tuple(a // c for a, c in zip(lo, chunks, strict=True))
    if all((b - 1) // c == k for b, c, k in zip(hi, chunks, key, strict=True)):  # inside one chunk
        yield (
            key,  # type: ignore[misc]
            tuple(slice(0, b - a) for a, b in zip(lo, hi, strict=True)),
            tuple(slice(a - k * c, b - k * c) for a, b, k, c in zip(lo, hi, key, chunks, strict=True)),
        )
        return
    segs = []
    for d in range(3):
        c, a0, b0 = chunks[d], lo[d], hi[d]
        segs.append(
            [
                (
                    k,
                    slice(max(a0, k * c) - a0, min(b0, k * c + c) - a0),
                    slice(max(a0, k * c) - k * c, min(b0, k * c + c) - k * c),
                )
                for k in range(a0 // c, (b0 - 1) // c + 1)
            ]
        )
    for kz, bz, sz in segs[0]:
        for ky, by, sy in segs[1]:
            for kx, bx, sx in segs[2]:
                yield (kz, ky, kx), (bz, by, bx), (sz, sy, sx)


class BrushMixin:
    """Mixed into LabelMap; relies on its private state (``_lock``, ``_get``, ``_commit`` …)."""

    def paint(
        self: LabelMap,
        center: Any,
        radius: int,
        label: int,
        dims: int = 2,
        axis: int = 0,
        *,
        stroke: str | None = None,
    ) -> BatchResult:
        """Paint a disk (``dims=2``, in the plane orthogonal to ``axis``) or a ball (``dims=3``) at one
        centre, or a whole stroke: the union of the brushes at many centres, as one batch.

        Parameters
        ----------
        center : 3 ints, or array-like of shape (N, 3)
            Brush centre (z, y, x) inside the array (negative values are not wrapped), or the N
            centres of a stroke. A stroke is applied as one batch: validated whole first (nothing
            changes if any centre is outside), one undo step, one journal record, one change
            notification. For ``dims=2`` each centre paints in its own plane ``c[axis]``.
        radius : int
            Voxels with squared distance ``<= radius**2`` are painted; clipped to the array.
        label : int
            Label value within the dtype's range.
        dims : int
            2 (disk) or 3 (ball).
        axis : int
            Axis orthogonal to the disk's plane (``dims=2``).
        stroke : str, optional
            Contiguous calls with the same stroke id form one undo step (default: one step each).

        Returns
        -------
        BatchResult
            New versions of the chunks that changed (only those are bumped).

        Raises
        ------
        OutOfBoundsError
            A centre is outside the array (names the centre, axis and allowed range).
        ValueError
            Bad label, radius, dims, axis or centre format; nothing changed.
        """
        lab = check_labels(label, self.dtype, "label")
        if lab.ndim != 0:
            raise ValueError(f"label must be a scalar, got shape {lab.shape}")
        if type(dims) is bool or dims not in (2, 3):
            raise ValueError(f"dims must be 2 or 3, got {dims!r}")
        if type(axis) is bool or axis not in (0, 1, 2):
            raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
        r = int(radius) if not isinstance(radius, bool) else -1
        if r != radius or r < 0:
            raise ValueError(f"brush radius must be a non-negative integer, got {radius!r}")
        cs = self._check_centres(center)
        if cs.shape[0] == 0:
            return BatchResult({}, False, done_future())
        with self._lock:
            self._check_open()
            atoms = self._paint_union(cs, r, int(dims), int(axis), lab)
            entries = [(a.key, a.offsets, a.new) for a in atoms]
            versions, fut = self._commit(entries, atoms, None, stroke)
            self._evict()
        return self._finish(versions, fut, None)

    def erase(
        self: LabelMap, center: Any, radius: int, dims: int = 2, axis: int = 0, *, stroke: str | None = None
    ) -> BatchResult:
        """Set a disk or ball to 0 at one centre or along a stroke of centres (see :meth:`paint`)."""
        return self.paint(center, radius, 0, dims, axis, stroke=stroke)

    def _check_centres(self: LabelMap, center: Any) -> np.ndarray:
        """Validate one centre or an (N, 3) stroke; returns an (N, 3) intp array inside the array."""
        if type(center) is tuple and len(center) == 3 and all(type(v) is int for v in center):
            z, y, x = center
            sz, sy, sx = self.shape
            if 0 <= z < sz and 0 <= y < sy and 0 <= x < sx:
                return np.array([center], np.intp)
        try:
            arr = np.asarray(center)
        except (TypeError, ValueError):
            arr = np.empty(0, object)
        if arr.dtype.kind not in "uif" or arr.ndim not in (1, 2) or arr.shape[-1] != 3:
            raise ValueError(f"center {center!r} must be 3 integers (z, y, x) or an (N, 3) array of them")
        one = arr.ndim == 1
        arr = arr.reshape(-1, 3)
        if arr.dtype.kind == "f":
            bad = ~np.isfinite(arr) | (arr != np.round(arr))
            if bad.any():
                i = int(np.nonzero(bad.any(axis=1))[0][0])
                where = "" if one else f" (stroke point {i})"
                raise ValueError(f"center {tuple(arr[i].tolist())}{where} must be 3 integers (z, y, x)")
        outside = (arr < 0) | (arr >= np.asarray(self.shape))
        if outside.any():
            i, d = (int(v[0]) for v in np.nonzero(outside))
            c = tuple(int(v) for v in arr[i])
            where = "" if one else f" (stroke point {i})"
            raise OutOfBoundsError(
                f"center {c}{where} is outside the array: axis {d} coordinate {c[d]}, "
                f"allowed 0..{self.shape[d] - 1}"
            )
        return arr.astype(np.intp)

    def _paint_union(
        self: LabelMap, cs: np.ndarray, r: int, dims: int, axis: int, value: np.ndarray
    ) -> list[Atom]:
        """Set ``value`` (a 0-d array of the map dtype) on the union of the stamps (call with the lock
        held); returns the atoms of the changed voxels, one per changed chunk."""
        lin = self._lin64
        if lin is None:
            lin = self._lin64 = np.arange(self._lin.size, dtype=np.intp).reshape(self.chunk_shape)
        newv = value.reshape(1)  # the label as a 1-element array (Atom.new, journal values)
        value = value[()]
        create = bool(value)
        atoms: list[Atom] = []
        for lo, hi, mask in union_tiles(cs, r, dims, axis, self.shape, self.chunk_shape):
            for key, bsl, csl in box_pieces(lo, hi, self.chunk_shape):
                offs = lin[csl][mask[bsl]]
                if offs.size == 0:
                    continue
                data = self._get(key, create)
                if data is None:  # erasing in a chunk that is all zero
                    continue
                flat = data.reshape(-1)
                old = flat[offs]
                ch = old != value
                if not ch.all():
                    offs, old = offs[ch], old[ch]
                    if offs.size == 0:
                        continue
                flat[offs] = value
                atoms.append(Atom(key, offs.astype(np.uint32), old, newv))
        return atoms
