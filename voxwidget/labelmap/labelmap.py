"""The kernel's authoritative label map (DESIGN tier 2 + 3); see ``docs/labelmap-contract.md``.

Sparse chunks in memory (only touched chunks; clean ones evicted under a memory budget), a version
per chunk, idempotent validated edit batches, bounded undo/redo, and persistence as a zarr v3 array
with a write-ahead journal (see :mod:`voxwidget.journal`) and background atomic checkpoints.

Durability model: every change is applied in memory under one lock and appended, with the new
versions of its chunks, to the journal as a record of "set these voxels to these values" entries
(idempotent, so replaying a tail over a partly checkpointed store is exact). A checkpoint copies the
dirty chunks and the metadata under the lock and rotates the journal, writes the chunks atomically,
then the sidecar ``meta.json`` (versions, applied batch ids, the covered journal sequence number),
then deletes the rotated journal segments. Applied batch ids are remembered for the last
``max_batch_ids`` (default 100 000) batches, also across reopen.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..tools.brush import BrushMixin
from .ops import OpsMixin
from .persistence import PersistMixin, _is_array
from .types import (
    BatchRejected,
    BatchResult,
    Change,
    ChunkEdit,
    OutOfBoundsError,
    label_dtype,
)
from .chunkstore import ChunkStore
from .history import History
from .journal import Journal

__all__ = ["BatchRejected", "BatchResult", "Change", "ChunkEdit", "LabelMap", "OutOfBoundsError"]

Key = tuple[int, int, int]


class _Entry:
    """A resident chunk. ``shared``: a checkpoint in progress holds ``data`` (no copy was taken); the
    next write replaces it with a copy first (copy-on-write)."""

    __slots__ = ("data", "dirty", "mods", "shared")

    def __init__(self, data: np.ndarray, dirty: bool = False):
        self.data = data
        self.dirty = dirty
        self.mods = 0
        self.shared = False


class LabelMap(BrushMixin, OpsMixin, PersistMixin):
    """A 3D label volume, chunked, versioned, undoable and (with a ``path``) crash-safe.

    Parameters
    ----------
    shape : tuple of 3 ints
        Array shape (z, y, x).
    dtype : str or np.dtype
        Label dtype, ``uint8`` … ``uint64`` (default ``uint32``).
    chunks : tuple of 3 ints
        Chunk shape (default 64³).
    path : path-like, optional
        Zarr store directory. Existing stores are reopened (shape and dtype must agree); otherwise
        created. Without a path the map lives in memory until :meth:`save`.
    undo_depth : int
        Maximum number of undo steps.
    memory_budget : int
        Bytes of resident chunks above which clean chunks are evicted (stored maps only).
    checkpoint_delay : float
        Seconds after the first unsaved edit at which the background checkpoint runs.
    undo_bytes : int
        Byte budget of the undo history.
    max_batch_ids : int
        How many applied batch ids are remembered for idempotency.
    """

    def __init__(
        self,
        shape: Sequence[int],
        *,
        dtype: Any = "uint32",
        chunks: Sequence[int] = (64, 64, 64),
        path: str | Path | None = None,
        undo_depth: int = 64,
        memory_budget: int = 512 * 2**20,
        checkpoint_delay: float = 1.0,
        undo_bytes: int = 256 * 2**20,
        max_batch_ids: int = 100_000,
    ):
        shape = tuple(int(s) for s in shape)
        chunks = tuple(int(c) for c in chunks)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be 3 positive integers, got {shape}")
        if len(chunks) != 3 or min(chunks) < 1:
            raise ValueError(f"chunks must be 3 positive integers, got {chunks}")
        dt = label_dtype(dtype)
        store = None
        if path is not None and _is_array(path):
            store = ChunkStore(path)
            if store.shape != shape or store.dtype != dt:
                raise ValueError(
                    f"store {path} holds shape {store.shape} dtype {store.dtype}, "
                    f"but shape {shape} dtype {dt} was requested"
                )
            chunks = store.chunk_shape
        self._init(shape, dt, chunks, undo_depth, memory_budget, checkpoint_delay, undo_bytes, max_batch_ids)
        if store is not None:
            self._attach(store, created=False)
        elif path is not None:
            self._attach(ChunkStore.create(path, shape, chunks, dt), created=True)

    def _init(self, shape, dtype, chunks, undo_depth, memory_budget, delay, undo_bytes, max_ids) -> None:
        self.shape: tuple[int, int, int] = shape
        self.dtype: np.dtype = dtype
        self.chunk_shape: tuple[int, int, int] = chunks
        self.grid_shape = tuple(-(-s // c) for s, c in zip(shape, chunks, strict=True))
        self.id = uuid.uuid4().hex
        self.memory_budget = int(memory_budget)
        self.checkpoint_delay = float(delay)
        self.max_batch_ids = int(max_ids)
        self.path: Path | None = None
        self._lock = threading.RLock()
        self._chunks: OrderedDict[Key, _Entry] = OrderedDict()
        self._versions: dict[Key, int] = {}
        self._absent: set[Key] = set()
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._history = History(undo_depth, undo_bytes)
        self._subs: list[Callable[[Change], None]] = []
        self._seq = 0
        self._ckpt_seq = 0
        self._store: ChunkStore | None = None
        self._journal: Journal | None = None
        self._ckpt_lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._first_dirty: float | None = None
        self._ckpt_thread: threading.Thread | None = None
        self._closed = False
        self._fill = 0
        self._lin = np.arange(int(np.prod(chunks)), dtype=np.uint32).reshape(chunks)
        self._chunk_nbytes = int(np.prod(chunks)) * dtype.itemsize

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, **kwargs: Any) -> LabelMap:
        """Reopen an existing zarr v2 or v3 label array (replaying its journal tail).

        Parameters
        ----------
        path : path-like
            The array's directory.
        **kwargs
            ``undo_depth``, ``memory_budget``, ``checkpoint_delay``, ``undo_bytes``, ``max_batch_ids``.
        """
        store = ChunkStore(path)
        return cls(store.shape, dtype=store.dtype, chunks=store.chunk_shape, path=path, **kwargs)

    @classmethod
    def from_array(
        cls,
        array: Any,
        *,
        chunks: Sequence[int] = (64, 64, 64),
        path: str | Path | None = None,
        **kwargs: Any,
    ) -> LabelMap:
        """A label map holding a copy of ``array`` (numpy, zarr or anything sliceable, 3D integer).

        With ``path`` the copy goes straight into a new store chunk by chunk.
        """
        if path is not None and _is_array(path):
            raise ValueError(f"from_array: {path} already holds an array; use LabelMap.open")
        dt = np.dtype(getattr(array, "dtype", np.asarray(array).dtype))
        lm = cls(tuple(array.shape), dtype=dt, chunks=chunks, path=path, **kwargs)
        lm._ingest(array)
        return lm

    def _ingest(self, array: Any) -> None:
        batch: list[tuple[Key, np.ndarray]] = []
        for key in np.ndindex(*self.grid_shape):
            sl = self._chunk_slices(key)
            part = np.asarray(array[sl])
            from .types import check_labels

            part = check_labels(part, self.dtype, "array value")
            if not np.count_nonzero(part):
                continue
            data = np.zeros(self.chunk_shape, self.dtype)
            data[tuple(slice(0, s.stop - s.start) for s in sl)] = part
            self._versions[key] = 1
            if self._store is None:
                self._chunks[key] = _Entry(data, dirty=True)
            else:
                batch.append((key, data))
                if len(batch) >= 32:
                    self._store.write_chunks(batch)
                    batch = []
        if self._store is not None:
            self._store.write_chunks(batch)
            self._absent.clear()
            self._write_meta()

    # -- chunk access (call with the lock held) -------------------------------------------------
    def _chunk_slices(self, key: Key) -> tuple[slice, ...]:
        return tuple(
            slice(k * c, min((k + 1) * c, s))
            for k, c, s in zip(key, self.chunk_shape, self.shape, strict=True)
        )

    def _check_key(self, key: Any) -> Key:
        try:
            k = tuple(int(v) for v in key)
        except (TypeError, ValueError) as e:
            raise BatchRejected(f"chunk key {key!r} is not 3 integers") from e
        if len(k) != 3 or any(not 0 <= v < g for v, g in zip(k, self.grid_shape, strict=True)):
            raise BatchRejected(
                f"chunk key {key!r} is outside the chunk grid; allowed: 0..{self.grid_shape} (excl.)"
            )
        return k  # type: ignore[return-value]

    def _get(self, key: Key, create: bool, write: bool = True) -> np.ndarray | None:
        """The chunk's data (loaded, or zeros when ``create``), None when it is all zero and not
        ``create``. Pass ``write=False`` to only read: a writer gets its own copy of data that a
        checkpoint still holds."""
        e = self._chunks.get(key)
        if e is not None:
            self._chunks.move_to_end(key)
            if write and e.shared:
                e.data, e.shared = e.data.copy(), False
            return e.data
        data = None
        if self._store is not None and key not in self._absent:
            data = self._store.read_chunk(key)
            if data is None:
                self._absent.add(key)
        if data is None:
            if not create:
                return None
            data = np.zeros(self.chunk_shape, self.dtype)
        self._absent.discard(key)
        self._chunks[key] = _Entry(data)
        return data

    def _forget(self, key: Key, data: np.ndarray) -> None:
        """Drop a clean chunk just loaded by ``_get`` that an edit did not change after all."""
        del self._chunks[key]
        if self._store is not None and not data.any():
            self._absent.add(key)

    def _touch(self, key: Key) -> int:
        """Mark ``key`` dirty and bump its version; returns the new version."""
        e = self._chunks[key]
        e.dirty = True
        e.mods += 1
        v = self._versions.get(key, 0) + 1
        self._versions[key] = v
        if self._first_dirty is None:
            self._first_dirty = time.monotonic()
            self._kick.set()
        return v

    def _evict(self) -> None:
        if self._store is None:
            return
        budget = self.memory_budget
        n = len(self._chunks)
        if n * self._chunk_nbytes <= budget:
            return
        for key in list(self._chunks):
            if n * self._chunk_nbytes <= budget:
                break
            if not self._chunks[key].dirty:
                del self._chunks[key]
                n -= 1
        if n * self._chunk_nbytes > budget:
            self._kick.set()  # dirty chunks alone exceed the budget: checkpoint soon

    def cache_info(self) -> dict[str, int]:
        """Resident chunk counts: ``resident``, ``dirty``, ``clean``, ``budget_chunks``."""
        with self._lock:
            dirty = sum(e.dirty for e in self._chunks.values())
            return {
                "resident": len(self._chunks),
                "dirty": dirty,
                "clean": len(self._chunks) - dirty,
                "budget_chunks": self.memory_budget // self._chunk_nbytes,
            }

    # -- reads -----------------------------------------------------------------------------
    def version(self, key: Key) -> int:
        """Version of chunk ``key`` (0 for a chunk never written)."""
        with self._lock:
            return self._versions.get(tuple(key), 0)  # type: ignore[arg-type]

    def snapshot_chunk(self, key: Key, cut: tuple = ()) -> tuple[int, np.ndarray | None]:
        """``(version, data)`` of chunk ``key`` clipped to the array (a copy), or ``None`` data when
        that is all zero. ``cut`` indexes the clipped chunk first (e.g. ``(5, slice(None),
        slice(None))`` for one plane), so only that part is copied."""
        key = self._check_key(key)
        with self._lock:
            data = self._get(key, create=False, write=False)
            v = self._versions.get(key, 0)
            if data is not None:
                data = data[tuple(slice(0, s.stop - s.start) for s in self._chunk_slices(key))][cut]
            if data is None or not np.count_nonzero(data):
                self._evict()
                return v, None
            out = np.array(data, copy=True)
            self._evict()
            return v, out

    def _read_box(self, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
        out = np.zeros(tuple(b - a for a, b in zip(lo, hi, strict=True)), self.dtype)
        if out.size == 0:
            return out
        c = self.chunk_shape
        with self._lock:
            for key in np.ndindex(
                *(((h - 1) // cc) - (low // cc) + 1 for low, h, cc in zip(lo, hi, c, strict=True))
            ):
                key = tuple(k + low // cc for k, low, cc in zip(key, lo, c, strict=True))
                data = self._get(key, create=False, write=False)
                if data is None:
                    continue
                a = [max(low, k * cc) for low, k, cc in zip(lo, key, c, strict=True)]
                b = [min(h, (k + 1) * cc) for h, k, cc in zip(hi, key, c, strict=True)]
                out[tuple(slice(x - low, y - low) for x, y, low in zip(a, b, lo, strict=True))] = data[
                    tuple(slice(x - k * cc, y - k * cc) for x, y, k, cc in zip(a, b, key, c, strict=True))
                ]
            self._evict()
        return out

    # -- notifications ---------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns a function that unsubscribes."""
        with self._lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subs:
                    self._subs.remove(callback)

        return unsubscribe

    def _notify(self, versions: dict[Key, int], origin: str | None) -> None:
        if not versions or not self._subs:
            return
        with self._lock:
            subs = list(self._subs)
        change = Change(list(versions), list(versions.values()), origin)
        for cb in subs:
            cb(change)

    def __enter__(self) -> LabelMap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"LabelMap(shape={self.shape}, dtype={self.dtype.name}, "
            f"chunks={self.chunk_shape}, path={self.path})"
        )
