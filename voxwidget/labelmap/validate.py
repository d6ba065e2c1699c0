"""Validation of what goes into the label map: label dtypes and ranges, numpy-style indices, and the
per-chunk edits of a browser batch. Every error names the offending value and what was allowed."""

from __future__ import annotations

from typing import Any

import numpy as np

from .types import BatchRejected, ChunkEdit, OutOfBoundsError

__all__ = ["LABEL_DTYPES", "check_edit", "check_labels", "label_dtype", "label_range", "normalize_index"]

Key = tuple[int, int, int]
LABEL_DTYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")


def label_dtype(dtype: Any) -> np.dtype:
    """Validate a label dtype (uint8…uint64, or a signed integer type of an opened store)."""
    try:
        dt = np.dtype(dtype)
    except TypeError as e:
        raise ValueError(f"label dtype {dtype!r} is not a numpy dtype; allowed: {LABEL_DTYPES}") from e
    if dt.name not in LABEL_DTYPES:
        raise ValueError(f"label dtype {dt.name!r} is not supported; allowed: {LABEL_DTYPES}")
    return dt


def label_range(dtype: np.dtype) -> tuple[int, int]:
    """Allowed label values for ``dtype``: 0 … max (labels are never negative)."""
    r = _RANGES.get(dtype)
    if r is None:
        r = _RANGES[dtype] = (0, int(np.iinfo(dtype).max))
    return r


_RANGES: dict[np.dtype, tuple[int, int]] = {}


def check_labels(values: Any, dtype: np.dtype, what: str = "label", exc: type = ValueError) -> np.ndarray:
    """Return ``values`` as an array of ``dtype`` or raise ``exc`` naming the first bad value.

    Accepts integer, boolean and integral float input whose values lie in :func:`label_range`.
    """
    lo, hi = label_range(dtype)
    if type(values) is int:  # fast path for the common scalar label
        if lo <= values <= hi:
            return np.asarray(values, dtype)
        raise exc(f"{what} {values} is out of range for {dtype}; allowed: {lo}..{hi}")
    arr = np.asarray(values)
    if arr.dtype.kind == "b":
        return arr.astype(dtype)
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            raise exc(
                f"{what} {arr[bad].flat[0]!r} is not an integer; allowed: integers {lo}..{hi} ({dtype})"
            )
    elif arr.dtype.kind not in "ui":
        raise exc(f"{what} dtype {arr.dtype} is not numeric; allowed: integers {lo}..{hi} ({dtype})")
    if arr.size:
        mn, mx = arr.min(), arr.max()
        if mn < lo or mx > hi:
            bad_v = mn if mn < lo else mx
            v = int(bad_v) if arr.dtype.kind != "f" else float(bad_v)
            raise exc(f"{what} {v} is out of range for {dtype}; allowed: {lo}..{hi}")
    return arr.astype(dtype, copy=False)


def _index_int(i: Any, n: int, axis: int) -> int:
    try:
        v = int(i)
    except (TypeError, ValueError) as e:
        raise TypeError(f"index {i!r} on axis {axis} is not an integer or slice") from e
    if isinstance(i, (bool, np.bool_)) or v != i:
        raise TypeError(f"index {i!r} on axis {axis} is not an integer or slice")
    if not -n <= v < n:
        raise OutOfBoundsError(
            f"index {v} is out of bounds for axis {axis} with size {n}; allowed: {-n}..{n - 1}"
        )
    return v + n if v < 0 else v


def normalize_index(index: Any, shape: tuple[int, ...]) -> tuple[list[range], list[bool]]:
    """Turn a numpy-style basic index into one ``range`` per axis and a per-axis "squeeze" flag.

    Supports integers (negative too), slices (any step) and one Ellipsis; no fancy indexing.
    """
    if not isinstance(index, tuple):
        index = (index,)
    if sum(i is Ellipsis for i in index) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in [i for i in index if i is Ellipsis]:
        k = index.index(Ellipsis)
        fill = len(shape) - (len(index) - 1)
        index = index[:k] + (slice(None),) * fill + index[k + 1 :]
    if len(index) > len(shape):
        raise IndexError(f"too many indices: {len(index)} for a {len(shape)}-dimensional label map")
    index = index + (slice(None),) * (len(shape) - len(index))
    ranges: list[range] = []
    squeeze: list[bool] = []
    for axis, (i, n) in enumerate(zip(index, shape, strict=True)):
        if isinstance(i, slice):
            ranges.append(range(*i.indices(n)))
            squeeze.append(False)
        elif i is None or isinstance(i, (list, np.ndarray)):
            raise TypeError(f"index {i!r} on axis {axis}: only integers, slices and '...' are supported")
        else:
            v = _index_int(i, n, axis)
            ranges.append(range(v, v + 1))
            squeeze.append(True)
    return ranges, squeeze


def check_chunk_key(key: object, grid_shape: tuple[int, int, int]) -> Key:
    """``key`` as 3 ints inside the chunk grid, or :class:`BatchRejected` naming it and the grid."""
    try:
        k = tuple(int(v) for v in key)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as e:
        raise BatchRejected(f"chunk key {key!r} is not 3 integers") from e
    if len(k) != 3 or any(not 0 <= v < g for v, g in zip(k, grid_shape, strict=True)):
        raise BatchRejected(f"chunk key {key!r} is outside the chunk grid; allowed: 0..{grid_shape} (excl.)")
    return k  # type: ignore[return-value]


def _has_duplicates(offs: np.ndarray, n: int) -> bool:
    """Whether ``offs`` (valid offsets ``< n``) repeats a value: O(len) with a scratch bitmap for
    big edits, a sort for small ones (the browser never sends duplicates; this only detects them)."""
    if offs.size <= 4096:
        s = np.sort(offs)
        return bool((s[1:] == s[:-1]).any())
    seen = np.zeros(n, bool)
    seen[offs] = True
    return int(np.count_nonzero(seen)) != offs.size


def last_wins(offs: np.ndarray, vals: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated offsets keeping the last value of each, as numpy assignment does."""
    if offs.size > 1 and _has_duplicates(offs, n):
        u, idx = np.unique(offs[::-1], return_index=True)
        return u, vals[::-1][idx]
    return offs, vals


def check_edit(
    i: int,
    edit: ChunkEdit,
    shape: tuple[int, int, int],
    chunk_shape: tuple[int, int, int],
    dtype: np.dtype,
) -> tuple[Key, np.ndarray, np.ndarray]:
    """Validate edit ``i`` of a batch: ``(key, offsets as intp, values as dtype)``, repeated offsets
    resolved (the last wins). Raises :class:`BatchRejected` naming the key, offset or value."""
    grid = tuple(-(-s // c) for s, c in zip(shape, chunk_shape, strict=True))
    key = check_chunk_key(edit.key, grid)  # type: ignore[arg-type]
    offs, vals = np.asarray(edit.offsets), np.asarray(edit.values)
    where = f"edit {i} (chunk {key})"
    if offs.ndim != 1 or vals.ndim != 1:
        raise BatchRejected(
            f"{where}: offsets and values must be 1-D, got shapes {offs.shape} and {vals.shape}"
        )
    if offs.shape != vals.shape:
        raise BatchRejected(f"{where}: {offs.size} offsets but {vals.size} values; they must be equal")
    if offs.size and offs.dtype.kind not in "ui":
        raise BatchRejected(f"{where}: offsets dtype {offs.dtype} is not an integer type (use uint32)")
    n = int(np.prod(chunk_shape))
    if offs.size:
        mn, mx = int(offs.min()), int(offs.max())
        if mn < 0 or mx >= n:
            raise BatchRejected(
                f"{where}: offset {mn if mn < 0 else mx} is out of range; allowed: 0..{n - 1}"
            )
        edge = [min(c, s - k * c) for k, c, s in zip(key, chunk_shape, shape, strict=True)]
        if edge != list(chunk_shape):
            coords = np.unravel_index(offs, chunk_shape)
            for d in range(3):
                bad = coords[d] >= edge[d]
                if bad.any():
                    o = int(offs[bad][0])
                    raise BatchRejected(
                        f"{where}: offset {o} addresses a voxel outside the array "
                        f"(axis {d} local index {int(coords[d][bad][0])}, allowed 0..{edge[d] - 1})"
                    )
    vals = check_labels(vals, dtype, f"{where}: value", BatchRejected)
    offs, vals = last_wins(offs.astype(np.intp, copy=False), vals, n)
    return key, offs, vals
