"""Vectorized downsampling for image pyramids, and a byte-bounded LRU for computed blocks (shareable
through namespaced views: :class:`BlockCache`, :class:`CacheView`).

``downsample_mean`` is for images, ``downsample_mode`` for labels. Both take a block and integer factors
per axis; a block whose size is not a multiple of the factors gets partial windows at its far edges,
reduced over the voxels present, so the output shape is always ``ceil(block.shape / factors)``.
"""

from __future__ import annotations

import itertools
import numbers
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "BlockCache",
    "Cache",
    "CacheView",
    "downsample_mean",
    "downsample_mode",
    "next_factors",
    "output_shape",
]


def _check_factors(block: np.ndarray, factors: Sequence[int]) -> tuple[int, ...]:
    fs = tuple(int(f) for f in factors)
    if len(fs) != block.ndim:
        raise ValueError(f"factors {tuple(factors)} must have one entry per axis of a {block.ndim}D block")
    if any(f < 1 for f in fs):
        raise ValueError(f"factors must be integers ≥ 1, got {tuple(factors)}")
    return fs


def output_shape(shape: Sequence[int], factors: Sequence[int]) -> tuple[int, ...]:
    """The shape of ``shape`` downsampled by ``factors``: ``ceil(shape / factors)`` per axis."""
    return tuple(-(-int(n) // int(f)) for n, f in zip(shape, factors, strict=True))


def next_factors(shape: Sequence[int], scale: Sequence[float]) -> tuple[int, int, int]:
    """Downsampling factors (1 or 2 per axis) for the level after one of ``shape`` and ``scale``.

    An axis is halved when its size is > 1 and its voxel size is < 2× the smallest voxel size among the
    axes of size > 1; see :mod:`voxwidget.multiscale`.
    """
    live = [s for n, s in zip(shape, scale, strict=True) if n > 1]
    if not live:
        return (1, 1, 1)
    smallest = min(live)
    return tuple(  # type: ignore[return-value]
        2 if n > 1 and s < 2 * smallest * (1 - 1e-6) else 1 for n, s in zip(shape, scale, strict=True)
    )


def downsample_mean(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Average ``block`` over windows of ``factors`` voxels per axis.

    Parameters
    ----------
    block
        An N-D numeric array.
    factors
        Integer window size per axis (1 leaves the axis alone).

    Returns
    -------
    numpy.ndarray
        Shape ``ceil(block.shape / factors)``, dtype of ``block``. Windows cut by the block's far edge
        average the voxels present. Integer results are rounded half to even (``numpy.rint``); floats
        are averaged in float64 and cast back.
    """
    block = np.asarray(block)
    fs = _check_factors(block, factors)
    if all(f == 1 for f in fs):
        return block.copy()
    small_ints = block.dtype.kind in "uib" and block.dtype.itemsize <= 2 and int(np.prod(fs)) <= 64
    acc = np.float32 if small_ints else np.float64  # float32 sums of ≤64 16-bit values are exact
    if all(n % f == 0 for n, f in zip(block.shape, fs, strict=True)):
        # strided partial sums, one axis at a time (several times faster than reshape().mean())
        total: np.ndarray = block
        for axis, f in enumerate(fs):
            if f > 1:
                step = [slice(None)] * block.ndim
                step[axis] = slice(0, None, f)
                part = total[tuple(step)].astype(acc)  # a fresh accumulator the first time
                for k in range(1, f):
                    step[axis] = slice(k, None, f)
                    part += total[tuple(step)]
                total = part
        out = total
        out /= acc(np.prod(fs))
    else:
        total = block.astype(acc)
        counts = np.ones((1,) * block.ndim, acc)
        for axis, (n, f) in enumerate(zip(block.shape, fs, strict=True)):
            if f == 1:
                continue
            starts = np.arange(0, n, f)
            total = np.add.reduceat(total, starts, axis=axis)
            sizes = np.minimum(starts + f, n) - starts
            counts = counts * sizes.reshape([-1 if a == axis else 1 for a in range(block.ndim)])
        out = total / counts
    if block.dtype.kind in "uib":
        np.rint(out, out=out)
    return out.astype(block.dtype, copy=False)


def _mode_rows(windows: np.ndarray) -> np.ndarray:
    """Most frequent value of each row of a 2D array; ties go to the smallest value."""
    if windows.shape[1] == 1:
        return windows[:, 0]
    s = np.sort(windows, axis=1)
    k = s.shape[1]
    starts = np.ones(s.shape, bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    idx = np.arange(k)
    run_start = np.maximum.accumulate(np.where(starts, idx, 0), axis=1)
    run_len = idx - run_start + 1  # length of the run so far, maximal at each run's last element
    best = np.argmax(run_len, axis=1)  # first maximum: the smallest value among tied runs
    return s[np.arange(s.shape[0]), best]


def _mode_uniform(block: np.ndarray, fs: tuple[int, ...]) -> np.ndarray:
    """Mode over windows of ``fs`` for a block whose shape is a multiple of ``fs``."""
    nd = block.ndim
    out_shape = tuple(n // f for n, f in zip(block.shape, fs, strict=True))
    split = [d for n, f in zip(block.shape, fs, strict=True) for d in (n // f, f)]
    order = [*range(0, 2 * nd, 2), *range(1, 2 * nd, 2)]
    windows = block.reshape(split).transpose(order).reshape(int(np.prod(out_shape)), int(np.prod(fs)))
    return _mode_rows(windows).reshape(out_shape)


def downsample_mode(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """The most frequent value in each window of ``factors`` voxels (label downsampling).

    Parameters
    ----------
    block
        An N-D integer array (uint8 … uint64, signed ints work too).
    factors
        Integer window size per axis.

    Returns
    -------
    numpy.ndarray
        Shape ``ceil(block.shape / factors)``, dtype of ``block``. Ties go to the **smallest** value
        (so background 0 wins a tie against a label, and the result is deterministic). Windows cut by
        the block's far edge take the mode of the voxels present.

    Notes
    -----
    Vectorized: each window's values are sorted and the longest run is picked. The block is split into
    the part divisible by ``factors`` and up to ``2**ndim - 1`` edge slabs, each reduced in one go.
    """
    block = np.asarray(block)
    fs = _check_factors(block, factors)
    if all(f == 1 for f in fs):
        return block.copy()
    out = np.empty(output_shape(block.shape, fs), block.dtype)
    # per axis: (input slice, output slice, window) for the whole windows and the partial one
    parts = []
    for n, f in zip(block.shape, fs, strict=True):
        whole, rest = divmod(n, f)
        axis_parts = []
        if whole:
            axis_parts.append((slice(0, whole * f), slice(0, whole), f))
        if rest:
            axis_parts.append((slice(whole * f, n), slice(whole, whole + 1), rest))
        parts.append(axis_parts)
    for combo in itertools.product(*parts):
        src = tuple(p[0] for p in combo)
        dst = tuple(p[1] for p in combo)
        out[dst] = _mode_uniform(block[src], tuple(p[2] for p in combo))
    return out


class BlockCache:
    """A thread-safe LRU of numpy arrays bounded by their total ``nbytes``.

    Parameters
    ----------
    max_bytes
        The bound; arrays larger than it are computed and returned but never kept. Setting
        :attr:`max_bytes` later evicts down to the new bound at once.

    Notes
    -----
    ``get_or_compute`` runs ``compute`` outside the lock; when two threads ask for the same missing key,
    the second waits for the first instead of computing it again.

    Several users can share one cache and its bound through :meth:`view`: each view has its own keys
    (never mixed with another view's, nor with the cache's own), its own byte count, optionally its own
    lower bound, and clears only its own arrays; all arrays compete in one least-recently-used order.
    """

    def __init__(self, max_bytes: int = 256 * 2**20) -> None:
        self._max_bytes = _check_bytes("max_bytes", max_bytes)
        self.nbytes = 0
        self.hits = 0
        self.misses = 0
        # (space, key) -> array, least recently used first; space None is the cache's own keys
        self._items: OrderedDict[tuple[Hashable, Hashable], np.ndarray] = OrderedDict()
        self._spaces: dict[Hashable, _Space] = {}  # the spaces holding arrays
        self._pending: dict[tuple[Hashable, Hashable], threading.Event] = {}
        self._lock = threading.Lock()

    @property
    def max_bytes(self) -> int:
        """The bound on the total ``nbytes`` of the arrays kept (all views included)."""
        return self._max_bytes

    @max_bytes.setter
    def max_bytes(self, value: int) -> None:
        value = _check_bytes("max_bytes", value)
        with self._lock:
            self._max_bytes = value
            while self._items and self.nbytes > value:
                self._evict_oldest(None)

    def view(self, max_bytes: int | None = None) -> CacheView:
        """A new namespace of this cache (see :class:`CacheView`)."""
        return CacheView(self, max_bytes)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        return self._contains(None, key)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached array for ``key`` (now most recently used), or None."""
        return self._get(None, key)

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Keep ``value`` (read-only from now on), evicting least recently used arrays to fit."""
        self._put(None, key, value)

    def get_or_compute(self, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array for ``key``, computing and keeping it when missing."""
        return self._get_or_compute(None, key, compute)

    def clear(self) -> None:
        """Forget every array (those of every view too)."""
        with self._lock:
            self._items.clear()
            self._spaces.clear()
            self.nbytes = 0

    # -- one space (the cache's own, None, or a view's) ------------------------------------------
    def _contains(self, owner: CacheView | None, key: Hashable) -> bool:
        with self._lock:
            return (_space_of(owner), key) in self._items

    def _get(self, owner: CacheView | None, key: Hashable) -> np.ndarray | None:
        full = (_space_of(owner), key)
        with self._lock:
            value = self._items.get(full)
            if value is not None:
                self._touch(full)
            return value

    def _put(self, owner: CacheView | None, key: Hashable, value: np.ndarray) -> None:
        value.flags.writeable = False
        space = _space_of(owner)
        full = (space, key)
        with self._lock:
            self._remove(full)
            cap = owner.cap if owner is not None else None
            if value.nbytes > self._max_bytes or (cap is not None and value.nbytes > cap):
                return
            if cap is not None:  # the view's own bound: its own least recently used go first
                while self._spaces.get(space) is not None and self._spaces[space].nbytes + value.nbytes > cap:
                    self._evict_oldest(space)
            while self._items and self.nbytes + value.nbytes > self._max_bytes:
                self._evict_oldest(None)
            self._items[full] = value
            self.nbytes += value.nbytes
            sp = self._spaces.get(space)
            if sp is None:
                sp = self._spaces[space] = _Space()
            sp.keys[key] = None
            sp.nbytes += value.nbytes

    def _get_or_compute(
        self, owner: CacheView | None, key: Hashable, compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        full = (_space_of(owner), key)
        while True:
            with self._lock:
                value = self._items.get(full)
                if value is not None:
                    self._touch(full)
                    self.hits += 1
                    if owner is not None:
                        owner.hits += 1
                    return value
                waiter = self._pending.get(full)
                if waiter is None:
                    done = self._pending[full] = threading.Event()
                    self.misses += 1
                    if owner is not None:
                        owner.misses += 1
                    break
            waiter.wait()
            # the computing thread finished (or failed, or its result was too big to keep):
            # look again, and compute it ourselves if it is still missing
        try:
            value = compute()
            self._put(owner, key, value)
            return value
        finally:
            with self._lock:
                del self._pending[full]
            done.set()

    def _space_bytes(self, owner: CacheView) -> int:
        sp = self._spaces.get(owner.space)
        return sp.nbytes if sp is not None else 0

    def _space_len(self, owner: CacheView) -> int:
        sp = self._spaces.get(owner.space)
        return len(sp.keys) if sp is not None else 0

    def _clear_space(self, owner: CacheView) -> None:
        with self._lock:
            sp = self._spaces.pop(owner.space, None)
            if sp is None:
                return
            for key in sp.keys:
                self.nbytes -= self._items.pop((owner.space, key)).nbytes

    # -- bookkeeping (the lock held) -------------------------------------------------------------
    def _touch(self, full: tuple[Hashable, Hashable]) -> None:
        self._items.move_to_end(full)
        self._spaces[full[0]].keys.move_to_end(full[1])

    def _remove(self, full: tuple[Hashable, Hashable]) -> None:
        old = self._items.pop(full, None)
        if old is None:
            return
        self.nbytes -= old.nbytes
        sp = self._spaces[full[0]]
        del sp.keys[full[1]]
        sp.nbytes -= old.nbytes
        if not sp.keys:
            del self._spaces[full[0]]

    def _evict_oldest(self, space: Hashable) -> None:
        """Drop the least recently used array: of the whole cache (``space`` None) or of one view."""
        if space is None:
            full = next(iter(self._items))
        else:
            full = (space, next(iter(self._spaces[space].keys)))
        self._remove(full)


class _Space:
    """The keys (least recently used first) and total bytes one space holds in a :class:`BlockCache`."""

    __slots__ = ("keys", "nbytes")

    def __init__(self) -> None:
        self.keys: OrderedDict[Hashable, None] = OrderedDict()
        self.nbytes = 0


_view_ids = itertools.count(1)


def _space_of(owner: CacheView | None) -> Hashable:
    return None if owner is None else owner.space


class CacheView:
    """One namespace of a shared :class:`BlockCache`, with the same methods as a ``BlockCache``.

    Its keys never meet another view's: an entry is keyed by the view's own token (unique in the
    process) and the key given. Its arrays compete with every other array of the shared cache in one
    least-recently-used order under the shared bound; ``max_bytes`` (optional) bounds this view's own
    arrays too, evicting its own least recently used first.

    Parameters
    ----------
    cache
        The shared cache.
    max_bytes
        This view's own bound, or None (only the shared bound applies).

    Attributes
    ----------
    cache : BlockCache
        The shared cache.
    cap : int or None
        This view's own bound.
    hits, misses : int
        ``get_or_compute`` lookups of this view that found their array, or computed it.
    """

    def __init__(self, cache: BlockCache, max_bytes: int | None = None) -> None:
        self.cache = cache
        self.cap = None if max_bytes is None else _check_bytes("max_bytes", max_bytes)
        self.space = next(_view_ids)
        self.hits = 0
        self.misses = 0

    @property
    def max_bytes(self) -> int:
        """The most this view can hold now: its own bound or the shared one, whichever is lower."""
        shared = self.cache.max_bytes
        return shared if self.cap is None else min(shared, self.cap)

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays this view holds (not the other views')."""
        return self.cache._space_bytes(self)

    def __len__(self) -> int:
        return self.cache._space_len(self)

    def __contains__(self, key: Hashable) -> bool:
        return self.cache._contains(self, key)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached array for ``key`` (now most recently used), or None."""
        return self.cache._get(self, key)

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Keep ``value`` (read-only from now on), evicting least recently used arrays to fit."""
        self.cache._put(self, key, value)

    def get_or_compute(self, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The cached array for ``key``, computing and keeping it when missing; a second thread asking
        for the same missing key waits for the first."""
        return self.cache._get_or_compute(self, key, compute)

    def clear(self) -> None:
        """Forget this view's arrays (only them)."""
        self.cache._clear_space(self)


Cache = BlockCache | CacheView
"""Either kind of cache: what the pyramid and the endpoint take."""


def _check_bytes(name: str, value: Any) -> int:
    """``value`` as a byte count ≥ 0; a TypeError or ValueError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int (bytes), got {value!r} of type {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be ≥ 0 bytes, got {value}")
    return int(value)
