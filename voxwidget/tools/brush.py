"""Brush painting of :class:`voxwidget.labelmap.LabelMap`: one centre or a whole stroke per call.

A stroke (an ``(N, 3)`` array of centres) is the union of its stamps applied as one batch: one
validation, one lock, one undo step, one journal record, one notification. Each chunk the
stamps reach is painted by a compiled kernel (:mod:`voxwidget._stroke_kernel`) in one sweep over
the union's runs, recording only the voxels that change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..labelmap.types import BatchResult, OutOfBoundsError, check_labels, done_future
from ..labelmap.history import Atom
from ..labelmap.rowmask import RowMask, row_words

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap

Key = tuple[int, int, int]


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
        held); returns one atom per changed chunk, its voxels as a :class:`RowMask`."""
        from .stroke_kernel import apply_mask, half_widths, plan_chunks, stroke_mask

        half = np.full(3, r, np.int64)
        normal = -1
        if dims == 2:
            half[axis], normal = 0, axis
        shape = np.asarray(self.shape, np.int64)
        chunks = np.asarray(self.chunk_shape, np.int64)
        cx = self.chunk_shape[2]
        hw = half_widths(r)
        newv = value.reshape(1)  # the label as a 1-element array (Atom.new, journal values)
        val = value[()]
        create = bool(val)
        bits = np.zeros((self.chunk_shape[0] * self.chunk_shape[1], row_words(cx)), np.uint64)  # scratch
        old = np.empty(self._lin.size, self.dtype)  # scratch: old values of one chunk
        atoms: list[Atom] = []
        for key, centres in plan_chunks(cs.astype(np.int64, copy=False), half, shape, chunks):
            origin = np.multiply(key, chunks)
            extent = np.minimum(chunks, shape - origin)
            count, r0, r1 = stroke_mask(chunks, origin, extent, centres, half, hw, normal, bits)
            if count == 0:  # the stamps' boxes reach this chunk, their voxels do not
                continue
            rows = bits[r0 : r1 + 1]
            fresh = key not in self._chunks
            data = self._get(key, create)
            if data is None:  # erasing in a chunk that is all zero
                rows[:] = 0
                continue
            n, uniform = apply_mask(data.reshape(-1), chunks, rows, r0, val, old)
            if n:
                mask = RowMask(int(r0), rows.copy(), cx, int(n))
                atoms.append(Atom(key, mask, old[:1].copy() if uniform else old[:n].copy(), newv))
            elif fresh:
                self._forget(key, data)
            rows[:] = 0
        return atoms
