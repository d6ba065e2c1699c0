"""Brushes: a disk or ball at one centre, or a whole stroke of them, as atoms.

A stroke (an ``(N, 3)`` array of centres) is the union of its stamps. Each chunk the stamps reach
is marked by a compiled kernel (:mod:`voxwidget.tools.stroke_kernel`) in one sweep over the union's
runs, then narrowed to the voxels that change (:func:`voxwidget.labelmap.rowmask_kernel.scan_rows`):
one :class:`~voxwidget.labelmap.rowmask.RowMask` atom per changed chunk.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..labelmap.atoms import Atom
from ..labelmap.rowmask import RowMask, row_words
from ..labelmap.types import ChunkReader, OutOfBoundsError
from ..labelmap.validate import check_labels

__all__ = ["check_brush", "check_centres", "stroke_atoms"]


def check_brush(radius: Any, label: Any, dims: Any, axis: Any, dtype: np.dtype) -> tuple[int, np.ndarray]:
    """Validate a brush: ``(radius, label as a 0-d array of dtype)``; ValueError names the bad value."""
    lab = check_labels(label, dtype, "label")
    if lab.ndim != 0:
        raise ValueError(f"label must be a scalar, got shape {lab.shape}")
    if type(dims) is bool or dims not in (2, 3):
        raise ValueError(f"dims must be 2 or 3, got {dims!r}")
    if type(axis) is bool or axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    r = int(radius) if not isinstance(radius, bool) else -1
    if r != radius or r < 0:
        raise ValueError(f"brush radius must be a non-negative integer, got {radius!r}")
    return r, lab


def check_centres(center: Any, shape: tuple[int, int, int]) -> np.ndarray:
    """Validate one centre or an (N, 3) stroke; returns an (N, 3) intp array inside ``shape``."""
    if type(center) is tuple and len(center) == 3 and all(type(v) is int for v in center):
        z, y, x = center
        sz, sy, sx = shape
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
    outside = (arr < 0) | (arr >= np.asarray(shape))
    if outside.any():
        i, d = (int(v[0]) for v in np.nonzero(outside))
        c = tuple(int(v) for v in arr[i])
        where = "" if one else f" (stroke point {i})"
        raise OutOfBoundsError(
            f"center {c}{where} is outside the array: axis {d} coordinate {c[d]}, allowed 0..{shape[d] - 1}"
        )
    return arr.astype(np.intp)


def stroke_atoms(
    reader: ChunkReader,
    cs: np.ndarray,
    r: int,
    dims: int,
    axis: int,
    value: np.ndarray,
    only: np.ndarray | None = None,
) -> list[Atom]:
    """The atoms that set ``value`` (a 0-d array of the map dtype) on the union of the stamps of
    radius ``r`` at the centres ``cs`` ((N, 3), validated); one per changed chunk, as a RowMask.
    With ``only`` (a 0-d array), just the voxels holding that value change (preserve labels)."""
    from ..labelmap.rowmask_kernel import scan_rows
    from .stroke_kernel import half_widths, plan_chunks, stroke_mask

    half = np.full(3, r, np.int64)
    normal = -1
    if dims == 2:
        half[axis], normal = 0, axis
    shape = np.asarray(reader.shape, np.int64)
    chunks = np.asarray(reader.chunk_shape, np.int64)
    cz, cy, cx = reader.chunk_shape
    hw = half_widths(r)
    newv = value.reshape(1)  # the label as a 1-element array (Atom.new, journal values)
    val = value[()]
    restrict = only is not None
    keep = val if only is None else only[()]  # (any value of the dtype when not restricted)
    bits = np.zeros((cz * cy, row_words(cx)), np.uint64)  # scratch
    old = np.empty(cz * cy * cx, reader.dtype)  # scratch: old values of one chunk
    atoms: list[Atom] = []
    for key, centres in plan_chunks(cs.astype(np.int64, copy=False), half, shape, chunks):
        origin = np.multiply(key, chunks)
        extent = np.minimum(chunks, shape - origin)
        count, r0, r1 = stroke_mask(chunks, origin, extent, centres, half, hw, normal, bits)
        if count == 0:  # the stamps' boxes reach this chunk, their voxels do not
            continue
        rows = bits[r0 : r1 + 1]
        data = reader.read(key)
        if data is None and (not val or (restrict and keep)):  # all zero: nothing to change
            rows[:] = 0
            continue
        flat = (reader.zeros if data is None else data).reshape(-1)
        n, uniform = scan_rows(flat, cx, rows, r0, val, old, keep, restrict)
        if n:
            mask = RowMask(int(r0), rows.copy(), cx, int(n))
            atoms.append(Atom(key, mask, old[:1].copy() if uniform else old[:n].copy(), newv))
        rows[:] = 0
    return atoms
