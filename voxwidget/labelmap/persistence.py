"""A stored label map's persistence: the zarr chunk store, the write-ahead journal and checkpoints.

:class:`Persistence` is owned by :class:`voxwidget.labelmap.labelmap.LabelMap` (one per stored map)
and shares the map's lock and :class:`~voxwidget.labelmap.chunktable.ChunkTable`; it never calls
back into the map.

Durability model: the map applies every change in memory under its lock and hands its atoms to
:meth:`Persistence.log`, which appends them, with the new versions of their chunks, to the journal
as one record of idempotent "set these voxels to these values" entries (so replaying a tail over a
partly checkpointed store is exact); the record's future resolves once it is fsync'd. A checkpoint
copies the dirty chunks and the metadata under the lock and rotates the journal, writes the chunks
atomically, then the sidecar ``meta.json`` (versions, applied batch ids, the covered journal
sequence number), then deletes the rotated journal segments. A background thread checkpoints
``checkpoint_delay`` seconds after the first unsaved edit (at once when dirty chunks alone exceed
the memory budget).

Journal entry modes: ``[z, y, x, version, 0]`` offsets + values; ``[…, 1]`` the whole chunk (when
smaller); ``[…, 2, row0]`` a :class:`~voxwidget.labelmap.rowmask.RowMask`'s bit rows + one value.
"""

from __future__ import annotations

import atexit
import threading
import time
import uuid
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from .atoms import Atom
from .chunkstore import ChunkStore
from .chunktable import ChunkTable
from .journal import Journal, Record, encode_record, read_journal
from .rowmask import RowMask

__all__ = ["Persistence", "is_array"]

Key = tuple[int, int, int]
_OPEN: weakref.WeakSet[Persistence] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # pragma: no cover - exercised by the crash tests' subprocess
    for p in list(_OPEN):
        try:
            p.close()
        except Exception:
            pass


def is_array(path: str | Path) -> bool:
    """Whether ``path`` holds a zarr array (v3 ``zarr.json`` or v2 ``.zarray``)."""
    p = Path(path)
    return (p / "zarr.json").is_file() or (p / ".zarray").is_file()


class Persistence:
    """Store, journal and checkpoints of one label map (see the module docstring).

    Parameters
    ----------
    store : ChunkStore
        The map's zarr array.
    table : ChunkTable
        The map's resident chunks and versions (the table reads missing chunks from ``store``).
    lock : threading.RLock
        The map's lock; held while the table, ``ids`` or the sequence number change.
    ids : OrderedDict
        The map's applied batch ids (oldest first), written into every checkpoint.
    map_id : str
        The map's id, unless the store's metadata holds one (see :attr:`map_id`).
    checkpoint_delay : float
        Seconds after the first unsaved edit at which the background checkpoint runs.
    created : bool
        The store was just created: checkpoint at once so its metadata exists.
    """

    def __init__(
        self,
        store: ChunkStore,
        table: ChunkTable,
        lock: threading.RLock,
        ids: OrderedDict[str, None],
        map_id: str,
        checkpoint_delay: float,
        created: bool,
    ) -> None:
        self.store = store
        self.table = table
        self.lock = lock
        self.ids = ids
        self.checkpoint_delay = float(checkpoint_delay)
        self.seq = 0
        self._ckpt_seq = 0
        self._ckpt_lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._first_dirty: float | None = None
        self._closed = False
        table.store = store
        meta = store.read_meta()
        #: the map's id: the store's own when it has one (a reopened map keeps its id)
        self.map_id: str = meta["id"] if meta is not None else map_id
        if meta is not None:
            self._ckpt_seq = self.seq = int(meta.get("seq", 0))
            table.versions.update({(z, y, x): v for z, y, x, v in meta.get("versions", [])})
            for b in meta.get("batch_ids", []):
                ids[b] = None
        if not created:  # counts of the checkpoint, unless it was interrupted (then counted anew)
            table.counts.load(None if meta is None or store.was_writing() else meta.get("counts"))
        jdir = store.side / "journal"
        records, bad = read_journal(jdir)
        replayed = 0
        for rec in records:
            if rec.seq > self._ckpt_seq:
                self._replay(rec)
                replayed += 1
        for b in bad:
            b.rename(b.with_name(b.name + f".corrupt-{int(time.time())}"))
        self.journal = Journal(jdir)
        _OPEN.add(self)
        self._thread = threading.Thread(
            target=_checkpointer, args=(weakref.ref(self),), name="voxwidget-checkpoint", daemon=True
        )
        self._thread.start()
        if created or meta is None or replayed or bad:
            self.checkpoint(force=True)

    @property
    def path(self) -> Path:
        """The store's directory."""
        return self.store.path

    # -- the journal ---------------------------------------------------------------------------------
    def log(self, atoms: Sequence[Atom], versions: dict[Key, int], batch_id: str | None) -> Future[None]:
        """Append one record of ``atoms`` (already applied to the table, whose chunks now hold
        ``versions``) and the batch id; the future resolves once it is durable. Call with the lock
        held. Marks the map as having unsaved edits, so a checkpoint follows."""
        self.seq += 1
        itemsize = self.table.dtype.itemsize
        head: list[list[int]] = []
        arrays: list[np.ndarray] = []
        whole: set[Key] = set()  # chunks already journaled whole (their final state)
        for a in atoms:
            key, offs, vals = a.key, a.offsets, a.new
            if key in whole:
                continue
            if isinstance(offs, RowMask):
                if vals.size == 1:
                    head.append([*key, versions[key], 2, offs.row0])
                    arrays += [offs.bits, vals]
                    continue
                offs = offs.offsets()
            if offs.size * (4 + itemsize) >= self.table.chunk_nbytes:
                head.append([*key, versions[key], 1])
                arrays.append(self.table.entries[key].data.reshape(-1))
                whole.add(key)
            else:
                head.append([*key, versions[key], 0])
                arrays += [offs.astype(np.uint32, copy=False), vals]
        fut = self.journal.append(encode_record(self.seq, {"b": batch_id, "e": head}, arrays))
        if atoms and self._first_dirty is None:
            self._first_dirty = time.monotonic()
            self._kick.set()
        return fut

    def _replay(self, rec: Record) -> None:
        """Re-apply one journal record (idempotent "set" entries) while opening the store."""
        arrays = iter(rec.arrays)
        table = self.table
        for z, y, x, ver, mode, *extra in rec.header["e"]:
            key = (z, y, x)
            flat = table.write(key).reshape(-1)
            if mode == 1:
                new = next(arrays)
                table.counts.change(flat, new)
                flat[:] = new
            else:  # mode 2 by offsets: reopening a store need not load the compiled row kernels
                offs = next(arrays)
                if mode == 2:
                    offs = RowMask.from_record(extra[0], offs, table.chunk_shape[2]).offsets()
                new = next(arrays)
                table.counts.change(flat[offs], new)
                flat[offs] = new
            table.bump(key, ver)
        if rec.header.get("b") is not None:
            self.ids[rec.header["b"]] = None
        self.seq = max(self.seq, rec.seq)

    def kick(self) -> None:
        """Ask the background thread to look at the map now (dirty chunks exceed the budget)."""
        self._kick.set()

    # -- checkpoints -------------------------------------------------------------------------------
    def meta(self, map_id: str | None = None) -> dict[str, Any]:
        """The sidecar metadata now (call with the lock held)."""
        return _meta(map_id or self.map_id, self.seq, self.table, self.ids)

    def checkpoint(self, force: bool = False) -> None:
        """Write all dirty chunks to the store now (atomically), then truncate the journal."""
        with self._ckpt_lock:
            with self.lock:
                if (self._closed and not force) or (not force and self.seq == self._ckpt_seq):
                    return
                dirty = self.table.dirty_for_checkpoint()
                meta = self.meta()
                seq = self.seq
                rot = self.journal.rotate()
                self._first_dirty = None
            # The journal must hold every record behind these chunks before any chunk file changes:
            # a crash mid-write then leaves a partly written batch that replay on reopen completes.
            covered = rot.result()
            if dirty:  # chunk files newer than meta.json's label counts until the meta is written
                self.store.mark_writing()
            self.store.write_chunks((k, d) for k, d, _ in dirty)
            self.store.write_meta(meta)
            self.store.clear_writing()
            self.journal.discard(covered)
            with self.lock:
                self._ckpt_seq = seq
                self.table.checkpointed(dirty)
                self.table.evict()

    def copy_to(self, path: str | Path) -> None:
        """Write a copy of the map into a new store at ``path`` (with a new id; this map stays
        bound to its own store)."""
        self.checkpoint()
        table = self.table
        with self.lock:
            target = ChunkStore.create(path, table.shape, table.chunk_shape, table.dtype)
            meta = self.meta(uuid.uuid4().hex)
        for key in np.ndindex(*table.grid_shape):
            with self.lock:
                data = table.read(key)
                data = None if data is None else data.copy()
                table.evict()
            if data is not None:
                target.write_chunks([(key, data)])
        meta["seq"] = 0
        meta["batch_ids"] = []
        target.write_meta(meta)
        target.close()

    @classmethod
    def adopt(
        cls,
        path: str | Path,
        table: ChunkTable,
        lock: threading.RLock,
        ids: OrderedDict[str, None],
        map_id: str,
        checkpoint_delay: float,
    ) -> Persistence:
        """Give an in-memory map a new store at ``path``: write its chunks there, then persist it."""
        with lock:
            store = ChunkStore.create(path, table.shape, table.chunk_shape, table.dtype)
            store.write_chunks((k, e.data) for k, e in table.entries.items())
            for e in table.entries.values():
                e.dirty = False
            store.write_meta(_meta(map_id, 0, table, ids))
            return cls(store, table, lock, ids, map_id, checkpoint_delay, created=False)

    # -- shutdown --------------------------------------------------------------------------------------
    def close(self) -> None:
        """Checkpoint, then release the journal, the store and the background thread (idempotent)."""
        if self._closed:
            return
        _OPEN.discard(self)
        self._stop.set()
        self._kick.set()
        self.checkpoint()
        self._closed = True
        self.journal.close()
        self.store.close()

    def abandon(self) -> None:
        """Drop everything without checkpointing, as a crash would (for tests); the journal is
        flushed first."""
        self._closed = True
        _OPEN.discard(self)
        self._stop.set()
        self._kick.set()
        self.journal.close()
        with self._ckpt_lock:
            self.store.close()


def _meta(map_id: str, seq: int, table: ChunkTable, ids: OrderedDict[str, None]) -> dict[str, Any]:
    return {
        "format": 1,
        "id": map_id,
        "seq": seq,
        "versions": [[*k, v] for k, v in table.versions.items()],
        "batch_ids": list(ids),
        "counts": table.counts.to_meta(),
    }


def _checkpointer(ref: weakref.ref[Persistence]) -> None:
    """Background thread: checkpoint ``checkpoint_delay`` after the first unsaved edit."""
    while True:
        p = ref()
        if p is None or p._stop.is_set():
            return
        kick, stop = p._kick, p._stop
        del p
        kick.wait(timeout=1.0)
        kick.clear()
        p = ref()
        if p is None or stop.is_set():
            return
        first = p._first_dirty
        if first is not None:
            wait = 0.0 if p.table.over_budget() else first + p.checkpoint_delay - time.monotonic()
            if wait > 0:
                del p
                stop.wait(wait)
                p = ref()
                if p is None or stop.is_set():
                    return
            try:
                p.checkpoint()
            except Exception as e:  # keep the thread alive; the next edit retries
                warnings.warn(f"voxwidget: background checkpoint of {p.path} failed: {e}", stacklevel=1)
        del p
