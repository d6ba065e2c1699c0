"""A byte-bounded, thread-safe LRU of numpy arrays (:class:`BlockCache`), shareable through namespaced
views (:class:`CacheView`): the store under the kernel-wide chunk cache
(:mod:`voxwidget.multiscale.chunkcache`) and a computed pyramid's blocks.
"""

from __future__ import annotations

import itertools
import numbers
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

__all__ = ["BlockCache", "Cache", "CacheView", "check_bytes"]


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
        self._max_bytes = check_bytes("max_bytes", max_bytes)
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
        value = check_bytes("max_bytes", value)
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
        self.cap = None if max_bytes is None else check_bytes("max_bytes", max_bytes)
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


def check_bytes(name: str, value: Any) -> int:
    """``value`` as a byte count ≥ 0; a TypeError or ValueError naming it otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int (bytes), got {value!r} of type {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be ≥ 0 bytes, got {value}")
    return int(value)
