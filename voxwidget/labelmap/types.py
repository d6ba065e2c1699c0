"""Public value types of the label map and its validation helpers (indices, label ranges)."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "BatchRejected",
    "BatchResult",
    "Change",
    "ChunkEdit",
    "OutOfBoundsError",
    "check_labels",
    "label_range",
    "normalize_index",
]

Key = tuple[int, int, int]
LABEL_DTYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64")


class BatchRejected(ValueError):
    """An edit batch failed validation; nothing was applied. The message names the offending
    value and what was allowed."""


class OutOfBoundsError(IndexError, ValueError):
    """A coordinate, index or chunk key lies outside the array (names the value and the range)."""


@dataclass(frozen=True)
class ChunkEdit:
    """Voxels one batch sets inside one chunk.

    Parameters
    ----------
    key : tuple[int, int, int]
        Chunk grid index (z, y, x).
    offsets : np.ndarray
        C-order linear indices into the nominal chunk shape (uint32).
    values : np.ndarray
        One label per offset (castable to the map dtype without loss).
    """

    key: Key
    offsets: np.ndarray
    values: np.ndarray


@dataclass
class BatchResult:
    """Outcome of an edit: new versions of the touched chunks, duplicate flag, durability future."""

    versions: dict[Key, int]
    duplicate: bool = False
    durable: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class Change:
    """A change notification: chunks that changed, their new versions, and the batch id (or None)."""

    keys: list[Key]
    versions: list[int]
    origin: str | None = None


_DONE: Future[None] = Future()
_DONE.set_result(None)


def done_future() -> Future[None]:
    """An already-resolved future (in-memory maps are "durable" at once); shared, never pending."""
    return _DONE


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
