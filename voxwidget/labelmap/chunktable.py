"""The label map's chunks in memory: which are resident, their versions, and which are dirty.

Only touched chunks are held (a chunk never written reads as zeros and costs nothing); with a store,
clean chunks are evicted least recently used first once the resident bytes pass ``memory_budget``
and are read back on demand. Every method expects the caller to hold the map's lock
(:class:`voxwidget.labelmap.labelmap.LabelMap` owns it); the table itself has no lock.

It is the :class:`~voxwidget.labelmap.types.ChunkReader` that edit operations read through:
:meth:`read` never creates or modifies a chunk. Only the map's commit path calls :meth:`write`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np

from ..grid import read_box
from .chunkstore import ChunkStore
from .counts import LabelCounts

__all__ = ["ChunkTable", "Entry"]

Key = tuple[int, int, int]


class Entry:
    """A resident chunk. ``shared``: a checkpoint in progress holds ``data`` (no copy was taken); the
    next write replaces it with a copy first (copy-on-write). ``mods`` counts writes, so a checkpoint
    knows whether the chunk changed again while it was being written."""

    __slots__ = ("data", "dirty", "mods", "shared")

    def __init__(self, data: np.ndarray, dirty: bool = False):
        self.data = data
        self.dirty = dirty
        self.mods = 0
        self.shared = False


class ChunkTable:
    """Resident chunks, per-chunk versions and the set of chunks known to be absent from the store.

    Parameters
    ----------
    shape, chunk_shape : 3 ints
        Array and chunk shape (z, y, x).
    dtype : np.dtype
        Label dtype.
    memory_budget : int
        Bytes of resident chunks above which clean chunks are evicted (only with a store).
    """

    def __init__(
        self,
        shape: tuple[int, int, int],
        chunk_shape: tuple[int, int, int],
        dtype: np.dtype,
        memory_budget: int,
    ) -> None:
        self.shape = shape
        self.chunk_shape = chunk_shape
        self.grid_shape: tuple[int, int, int] = tuple(  # type: ignore[assignment]
            -(-s // c) for s, c in zip(shape, chunk_shape, strict=True)
        )
        self.dtype = dtype
        self.memory_budget = int(memory_budget)
        self.chunk_nbytes = int(np.prod(chunk_shape)) * dtype.itemsize
        self.store: ChunkStore | None = None
        self.entries: OrderedDict[Key, Entry] = OrderedDict()
        self.versions: dict[Key, int] = {}
        self._absent: set[Key] = set()
        self._offsets = np.arange(int(np.prod(chunk_shape)), dtype=np.uint32).reshape(chunk_shape)
        self._offsets.setflags(write=False)
        self._zeros = np.zeros(chunk_shape, dtype)
        self._zeros.setflags(write=False)
        self._stored: set[Key] | None = None  # chunk files present, listed once when first needed
        #: voxels per label, kept by the commit path and journal replay (:mod:`.counts`)
        self.counts = LabelCounts(int(np.prod(shape, dtype=np.int64)))

    # -- ChunkReader ----------------------------------------------------------------------------
    @property
    def offsets(self) -> np.ndarray:
        """``offsets[z, y, x]``: each voxel's C-order index in the nominal chunk (uint32, read-only)."""
        return self._offsets

    @property
    def zeros(self) -> np.ndarray:
        """A read-only all-zero chunk."""
        return self._zeros

    def read(self, key: Key) -> np.ndarray | None:
        """The chunk's data (do not modify), loading it from the store; None when it is all zero."""
        e = self.entries.get(key)
        if e is not None:
            self.entries.move_to_end(key)
            return e.data
        if self.store is None or key in self._absent:
            return None
        data = self.store.read_chunk(key)
        if data is None:
            self._absent.add(key)
            return None
        self.entries[key] = Entry(data)
        return data

    def nonzero_keys(self) -> set[Key]:
        """Every chunk that may hold a non-zero voxel (resident, or with a file in the store); all
        other chunks are zero. The store is listed once; chunks created later join the set."""
        if self.store is None:
            return set(self.entries)
        if self._stored is None:
            listed = self.store.stored_keys()
            if listed is None:  # a codec chain read through zarr: any chunk may be stored
                listed = {tuple(int(i) for i in k) for k in np.ndindex(*self.grid_shape)}
            self._stored = listed - self._absent  # type: ignore[operator]
        return self._stored | set(self.entries)

    # -- writes (the map's commit path and journal replay) ---------------------------------------
    def write(self, key: Key) -> np.ndarray:
        """The chunk's data to modify in place: loaded, or created as zeros; a copy when a
        checkpoint still holds it. Call :meth:`bump` once the chunk has been changed."""
        data = self.read(key)
        if data is None:
            data = np.zeros(self.chunk_shape, self.dtype)
            self._absent.discard(key)
            if self._stored is not None:
                self._stored.add(key)
            self.entries[key] = Entry(data)
            return data
        e = self.entries[key]
        if e.shared:
            e.data, e.shared = e.data.copy(), False
        return e.data

    def bump(self, key: Key, version: int | None = None) -> int:
        """Mark ``key`` dirty and set its version (default: one more); returns the version."""
        e = self.entries[key]
        e.dirty = True
        e.mods += 1
        v = self.versions.get(key, 0) + 1 if version is None else max(self.versions.get(key, 0), version)
        self.versions[key] = v
        return v

    def hold(self, key: Key, data: np.ndarray) -> None:
        """Hold ``data`` as chunk ``key`` (an in-memory map's bulk load: dirty, version 1)."""
        self.entries[key] = Entry(data, dirty=True)
        self.versions[key] = 1

    # -- memory ------------------------------------------------------------------------------------
    def over_budget(self) -> bool:
        """Whether the resident chunks exceed the memory budget."""
        return len(self.entries) * self.chunk_nbytes > self.memory_budget

    def evict(self) -> bool:
        """Evict clean chunks (oldest use first) down to the budget; True when dirty chunks alone
        still exceed it (a checkpoint should run soon). Only a map with a store evicts."""
        if self.store is None or not self.over_budget():
            return False
        n = len(self.entries)
        limit = self.memory_budget // self.chunk_nbytes
        for key in list(self.entries):
            if n <= limit:
                break
            if not self.entries[key].dirty:
                del self.entries[key]
                n -= 1
        return n > limit

    def forget_absent(self) -> None:
        """After a bulk write into the store: no chunk is known to be absent any more."""
        self._absent.clear()
        self._stored = None

    def info(self) -> dict[str, int]:
        """Resident chunk counts: ``resident``, ``dirty``, ``clean``, ``budget_chunks``."""
        dirty = sum(e.dirty for e in self.entries.values())
        return {
            "resident": len(self.entries),
            "dirty": dirty,
            "clean": len(self.entries) - dirty,
            "budget_chunks": self.memory_budget // self.chunk_nbytes,
        }

    # -- checkpoints ---------------------------------------------------------------------------------
    def dirty_for_checkpoint(self) -> list[tuple[Key, np.ndarray, int]]:
        """``(key, data, mods)`` of every dirty chunk, now shared with the checkpoint (an edit
        meanwhile copies the chunk first)."""
        dirty = [(k, e.data, e.mods) for k, e in self.entries.items() if e.dirty]
        for k, _, _ in dirty:
            self.entries[k].shared = True
        return dirty

    def checkpointed(self, dirty: Sequence[tuple[Key, np.ndarray, int]]) -> None:
        """The checkpoint wrote ``dirty``: chunks not changed since are clean again."""
        for k, d, mods in dirty:
            e = self.entries.get(k)
            if e is not None and e.data is d:
                e.shared = False
            if e is not None and e.mods == mods:
                e.dirty = False

    # -- geometry and bulk reads -------------------------------------------------------------------
    def slices(self, key: Key) -> tuple[slice, slice, slice]:
        """The array region of chunk ``key``, clipped to the array."""
        return tuple(  # type: ignore[return-value]
            slice(k * c, min((k + 1) * c, s))
            for k, c, s in zip(key, self.chunk_shape, self.shape, strict=True)
        )

    def keys_in(self, lo: Sequence[int], hi: Sequence[int]) -> Iterator[Key]:
        """The chunk keys that the box ``lo:hi`` (non-empty) overlaps, in C order."""
        c = self.chunk_shape
        first = [low // cc for low, cc in zip(lo, c, strict=True)]
        counts = [(h - 1) // cc - f + 1 for h, cc, f in zip(hi, c, first, strict=True)]
        for idx in np.ndindex(*counts):
            yield tuple(int(i + f) for i, f in zip(idx, first, strict=True))  # type: ignore[misc]

    def read_box(self, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
        """The voxels of the box ``lo:hi`` as a new array."""
        return read_box(self, lo, hi)
