"""Persistence of :class:`voxwidget.labelmap.LabelMap`: attach/replay, checkpoint, save, close.

See the durability model in :mod:`voxwidget.labelmap`.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
import warnings
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .chunkstore import ChunkStore
from .journal import Journal, read_journal

if TYPE_CHECKING:
    from .labelmap import LabelMap

_OPEN: weakref.WeakSet[Any] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # pragma: no cover - exercised by the crash tests' subprocess
    for lm in list(_OPEN):
        try:
            lm.close()
        except Exception:
            pass


class PersistMixin:
    """Mixed into LabelMap; relies on its private state."""

    def _attach(self: LabelMap, store: ChunkStore, created: bool) -> None:
        """Bind to a store: load metadata, replay the journal tail, start the background threads."""
        self._store = store
        self.path = store.path
        meta = store.read_meta()
        if meta is not None:
            self.id = meta["id"]
            self._ckpt_seq = self._seq = int(meta.get("seq", 0))
            self._versions.update({(z, y, x): v for z, y, x, v in meta.get("versions", [])})
            for b in meta.get("batch_ids", []):
                self._ids[b] = None
        jdir = store.side / "journal"
        records, bad = read_journal(jdir)
        replayed = 0
        for rec in records:
            if rec.seq <= self._ckpt_seq:
                continue
            self._replay(rec)
            replayed += 1
        for b in bad:
            b.rename(b.with_name(b.name + f".corrupt-{int(time.time())}"))
        self._journal = Journal(jdir)
        _OPEN.add(self)
        self._ckpt_thread = threading.Thread(target=_checkpointer, args=(weakref.ref(self),), daemon=True)
        self._ckpt_thread.start()
        if created or meta is None or replayed or bad:
            self.checkpoint(force=True)

    # -- persistence ------------------------------------------------------------------------------
    def _meta(self: LabelMap) -> dict[str, Any]:
        return {
            "format": 1,
            "id": self.id,
            "seq": self._seq,
            "versions": [[*k, v] for k, v in self._versions.items()],
            "batch_ids": list(self._ids),
        }

    def _write_meta(self: LabelMap) -> None:
        with self._lock:
            meta = self._meta()
        self._store.write_meta(meta)  # type: ignore[union-attr]

    def checkpoint(self: LabelMap, force: bool = False) -> None:
        """Write all dirty chunks to the store now (atomically), then truncate the journal."""
        if self._store is None:
            return
        with self._ckpt_lock:
            with self._lock:
                if self._store is None or (not force and self._seq == self._ckpt_seq):
                    return
                dirty = [(k, e.data, e.mods) for k, e in self._chunks.items() if e.dirty]
                for k, _, _ in dirty:  # copy-on-write: an edit meanwhile copies the chunk first
                    self._chunks[k].shared = True
                meta = self._meta()
                seq = self._seq
                rot = self._journal.rotate() if self._journal is not None else None
                self._first_dirty = None
            # The journal must hold every record behind these chunks before any chunk file changes:
            # a crash mid-write then leaves a partly written batch that replay on reopen completes.
            covered = rot.result() if rot is not None else None
            self._store.write_chunks((k, d) for k, d, _ in dirty)
            self._store.write_meta(meta)
            if covered is not None:
                self._journal.discard(covered)  # type: ignore[union-attr]
            with self._lock:
                self._ckpt_seq = seq
                for k, d, mods in dirty:
                    e = self._chunks.get(k)
                    if e is not None and e.data is d:
                        e.shared = False
                    if e is not None and e.mods == mods:
                        e.dirty = False
                self._evict()

    def save(self: LabelMap, path: str | Path | None = None) -> None:
        """Persist the map. Without ``path``: checkpoint the map's own store. With a new ``path`` for
        an in-memory map: create a store there and keep the map durable from then on. With a new
        ``path`` for a stored map: write a copy there (the map stays bound to its own store)."""
        if path is None:
            if self._store is None:
                raise ValueError("save() needs a path for an in-memory label map")
            self.checkpoint()
            return
        if self._store is not None and Path(path).resolve() == self._store.path.resolve():
            self.checkpoint()
            return
        if _is_array(path):
            raise ValueError(f"save: {path} already holds a zarr array; choose a new path")
        self.checkpoint()
        with self._lock:
            target = ChunkStore.create(path, self.shape, self.chunk_shape, self.dtype)
            if self._store is None:
                target.write_chunks((k, e.data) for k, e in self._chunks.items())
                for e in self._chunks.values():
                    e.dirty = False
                self._ckpt_seq = self._seq
                target.write_meta(self._meta())
                self._attach(target, created=False)
                return
            copy_id, self.id = self.id, uuid.uuid4().hex
            meta = self._meta()
            self.id = copy_id
        for key in np.ndindex(*self.grid_shape):
            with self._lock:
                data = self._get(key, create=False, write=False)
                data = None if data is None else data.copy()
                self._evict()
            if data is not None:
                target.write_chunks([(key, data)])
        meta["seq"] = 0
        meta["batch_ids"] = []
        target.write_meta(meta)
        target.close()

    def close(self: LabelMap) -> None:
        """Checkpoint and release the store and the background threads (idempotent)."""
        if self._closed:
            return
        self._closed = True
        _OPEN.discard(self)
        if self._store is not None:
            self._stop.set()
            self._kick.set()
            self.checkpoint()
            if self._journal is not None:
                self._journal.close()
            self._store.close()

    def _abandon(self: LabelMap) -> None:
        """Drop the map without checkpointing, as a crash would (for tests); the journal is flushed."""
        self._closed = True
        _OPEN.discard(self)
        self._stop.set()
        self._kick.set()
        if self._journal is not None:
            self._journal.close()
        if self._store is not None:
            with self._ckpt_lock:
                self._store.close()


def _is_array(path: str | Path) -> bool:
    p = Path(path)
    return (p / "zarr.json").is_file() or (p / ".zarray").is_file()


def _checkpointer(ref: weakref.ref[LabelMap]) -> None:
    """Background thread: checkpoint ``checkpoint_delay`` after the first unsaved edit."""
    while True:
        lm = ref()
        if lm is None or lm._stop.is_set():
            return
        kick, stop = lm._kick, lm._stop
        del lm
        kick.wait(timeout=1.0)
        kick.clear()
        lm = ref()
        if lm is None or stop.is_set():
            return
        first = lm._first_dirty
        if first is not None:
            over = len(lm._chunks) * lm._chunk_nbytes > lm.memory_budget
            wait = 0.0 if over else first + lm.checkpoint_delay - time.monotonic()
            if wait > 0:
                del lm
                stop.wait(wait)
                lm = ref()
                if lm is None or stop.is_set():
                    return
            try:
                lm.checkpoint()
            except Exception as e:  # keep the thread alive; the next edit retries
                warnings.warn(f"voxwidget: background checkpoint of {lm.path} failed: {e}", stacklevel=1)
        del lm
