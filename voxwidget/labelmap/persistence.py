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

Record contents (entries, undo-history operations, format versions): :mod:`voxwidget.labelmap.records`.
Segments holding records of undo steps still in the history are kept past the checkpoint (the
history is rebuilt from them on reopen), so the journal holds at most about ``undo_bytes`` more.

A failed journal write: every record not yet durable is handed back (:meth:`Persistence.take_failed`)
for the map to roll back, and :meth:`Persistence.status` names the error; a failed checkpoint keeps
the journal (nothing is discarded), leaves the chunks dirty, retries later and names the error too.
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
from .chunkstore import ChunkStore, fault
from .chunktable import ChunkTable
from .counts import LabelCounts
from .history import History
from .journal import Journal, encode_record, read_journal
from .records import RECORD_VERSION, check_version, encode_entries, record_atoms, replay_values
from .validate import check_labels

__all__ = ["Persistence", "is_array", "new_meta", "write_array"]

Key = tuple[int, int, int]
_OPEN: weakref.WeakSet[Persistence] = weakref.WeakSet()


class Inflight:
    """A journal record not yet known durable, with what rolling it back needs: its atoms, the
    its batch id and the history before it."""

    __slots__ = ("atoms", "batch_id", "memento", "seq")

    def __init__(self, seq: int, atoms: Sequence[Atom], batch_id: str | None, memento: Any):
        self.seq, self.atoms, self.batch_id, self.memento = seq, atoms, batch_id, memento


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
    history : History, optional
        The map's undo history: rebuilt from the journal, its steps' records kept past checkpoints.
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
        history: History | None = None,
    ) -> None:
        self.store = store
        self.history = history if history is not None else History(0)
        self.inflight: list[Inflight] = []
        self.journal_error: str | None = None
        self.checkpoint_error: str | None = None
        self._err_seq = 0
        #: versions given to rolled-back content, not yet durable: carried by every record (``"f"``)
        #: until a checkpoint holds them, so a version is never handed out twice across a crash
        self.floors: dict[Key, int] = {}
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
        last: dict[Path, int] = {}
        for rec in records:
            check_version(rec)
            last[rec.segment] = rec.seq  # type: ignore[index]
            if rec.seq > self._ckpt_seq:
                replay_values(rec, table)
                for z, y, x, v in rec.header.get("f", ()):
                    table.versions[(z, y, x)] = max(table.versions.get((z, y, x), 0), v)
                if rec.header.get("b") is not None:
                    self.ids[rec.header["b"]] = None
                self.seq = max(self.seq, rec.seq)
                replayed += 1
            self._rebuild(rec)
        self.history.end_stroke()
        for b in bad:
            b.rename(b.with_name(b.name + f".corrupt-{int(time.time())}"))
        self.journal = Journal(jdir)
        self.journal.last_seq.update(last)
        self.journal.durable_seq = self.seq
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
    def log(
        self,
        atoms: Sequence[Atom],
        versions: dict[Key, int],
        batch_id: str | None,
        hist: list | None = None,
        memento: Any = None,
    ) -> Future[None]:
        """Append one record of ``atoms`` (already applied to the table, whose chunks now hold
        ``versions``), the batch id and the history operation ``hist`` (see
        :mod:`~voxwidget.labelmap.records`); the future resolves once it is durable. Call with the
        lock held. Marks the map as having unsaved edits, so a checkpoint follows. Until it is
        durable the record is kept in :attr:`inflight` (with the history ``memento`` from before it)."""
        self.seq += 1
        head, arrays = encode_entries(atoms, versions, self.table, bool(hist) and hist[0] == "e")
        header: dict[str, Any] = {"v": RECORD_VERSION, "b": batch_id, "e": head}
        if hist:
            header["h"] = hist
        if self.floors:
            header["f"] = [[*k, v] for k, v in self.floors.items()]
        durable = self.journal.durable_seq
        if self.inflight and self.inflight[0].seq <= durable:
            self.inflight = [f for f in self.inflight if f.seq > durable]
        self.inflight.append(Inflight(self.seq, atoms, batch_id, memento))
        fut = self.journal.append(encode_record(self.seq, header, arrays), self.seq)
        if atoms and self._first_dirty is None:
            self._first_dirty = time.monotonic()
            self._kick.set()
        return fut

    def take_failed(self, exc: BaseException) -> list[Inflight]:
        """The records appended but not durable (all fail after a failed write), oldest first;
        notes the error for :meth:`status`. Call with the lock held."""
        durable = self.journal.durable_seq
        failed = [f for f in self.inflight if f.seq > durable]
        self.inflight = []
        self.journal_error = f"journal write failed: {exc}"
        self._err_seq = self.seq
        warnings.warn(
            f"voxwidget: journal write of {self.path} failed ({exc}); "
            f"{len(failed)} unsaved edit(s) were rolled back",
            stacklevel=1,
        )
        return failed

    def status(self) -> dict[str, Any]:
        """``{"state": "ok" | "error", "journal_error": str | None, "checkpoint_error": str |
        None}``; a journal error clears once a later record is durable, a checkpoint error once a
        checkpoint succeeds."""
        if self.journal_error is not None and self.journal.durable_seq > self._err_seq:
            self.journal_error = None
        bad = self.journal_error or self.checkpoint_error
        return {
            "state": "error" if bad else "ok",
            "journal_error": self.journal_error,
            "checkpoint_error": self.checkpoint_error,
        }

    def _rebuild(self, rec: Any) -> None:
        """Apply a record's history operation to the rebuilt undo history."""
        h, hist = rec.header.get("h"), self.history
        if not h:
            if rec.header["e"]:  # a version-1 record (or undo disabled): the history is unknown
                hist.clear()
            return
        if h[0] == "e":
            step = hist.record(record_atoms(rec, self.table.chunk_shape), h[2], sid=h[1])
            if step is not None and step.seq0 is None:
                step.seq0 = rec.seq
            return
        top = hist.top(redo=h[0] == "x")
        if top is None or top.id != h[1]:
            hist.clear()  # the step it names is gone (a smaller history budget): never undo wrong
        elif h[0] == "u":
            hist.pop_undo()
        else:
            hist.pop_redo()

    def kick(self) -> None:
        """Ask the background thread to look at the map now (dirty chunks exceed the budget)."""
        self._kick.set()

    # -- checkpoints -------------------------------------------------------------------------------
    def meta(self, map_id: str | None = None) -> dict[str, Any]:
        """The sidecar metadata now (call with the lock held)."""
        return _meta(map_id or self.map_id, self.seq, self.table, self.ids)

    def checkpoint(self, force: bool = False) -> None:
        """Write all dirty chunks to the store now (atomically), then truncate the journal (keeping
        the segments the undo history still needs). On failure (e.g. the disk is full) the journal
        is kept whole, the chunks stay dirty, :meth:`status` names the error, the background thread
        retries later, and the error is raised."""
        with self._ckpt_lock:
            with self.lock:
                if (self._closed and not force) or (not force and self.seq == self._ckpt_seq):
                    return
                dirty = self.table.dirty_for_checkpoint()
                meta = self.meta()
                floors = dict(self.floors)
                seq = self.seq
                rot = self.journal.rotate()
                first, self._first_dirty = self._first_dirty, None
            try:
                # The journal must hold every record behind these chunks before any chunk file
                # changes: a crash mid-write then leaves a partly written batch that replay completes.
                covered = rot.result()
                if dirty:  # chunk files newer than meta.json's label counts until it is written
                    self.store.mark_writing()
                self.store.write_chunks((k, d) for k, d, _ in dirty)
                self.store.write_meta(meta)
                self.store.clear_writing()
            except Exception as e:
                with self.lock:
                    self.checkpoint_error = f"checkpoint failed: {e}"
                    if self._first_dirty is None:
                        self._first_dirty = first if first is not None else time.monotonic()
                raise
            with self.lock:
                keep = self.history.oldest_seq()
                last = self.journal.last_seq
                drop = [c for c in covered if keep is None or last.get(c, 0) < keep]
                self.checkpoint_error = None
                for k, v in floors.items():  # the checkpoint's versions hold them now
                    if self.floors.get(k) == v:
                        del self.floors[k]
            self.journal.discard(drop)
            for c in drop:
                last.pop(c, None)
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
            meta = self.meta(uuid.uuid4().hex)

        def fill(target: ChunkStore) -> dict[str, Any]:
            for key in np.ndindex(*table.grid_shape):
                with self.lock:
                    data = table.read(key)
                    data = None if data is None else data.copy()
                    table.evict()
                if data is not None:
                    target.write_chunks([(key, data)])
            return {**meta, "seq": 0, "batch_ids": []}

        ChunkStore.create(path, table.shape, table.chunk_shape, table.dtype, fill=fill).close()

    @classmethod
    def adopt(
        cls,
        path: str | Path,
        table: ChunkTable,
        lock: threading.RLock,
        ids: OrderedDict[str, None],
        map_id: str,
        checkpoint_delay: float,
        history: History | None = None,
    ) -> Persistence:
        """Give an in-memory map a new store at ``path``: write its chunks there (atomically: the
        store appears complete or not at all), then persist it. Its undo history so far is not
        journalled: it is held in memory only (lost with the kernel)."""

        def fill(store: ChunkStore) -> dict[str, Any]:
            store.write_chunks((k, e.data) for k, e in table.entries.items())
            return _meta(map_id, 0, table, ids)

        with lock:
            store = ChunkStore.create(path, table.shape, table.chunk_shape, table.dtype, fill=fill)
            for e in table.entries.values():
                e.dirty = False
            return cls(store, table, lock, ids, map_id, checkpoint_delay, False, history)

    # -- shutdown --------------------------------------------------------------------------------------
    def close(self) -> None:
        """Checkpoint, then release the journal, the store and the background thread (idempotent).
        A failed checkpoint (disk full) still releases everything, keeping the journal on disk (the
        next open replays it), and then raises."""
        if self._closed:
            return
        _OPEN.discard(self)
        self._stop.set()
        self._kick.set()
        try:
            self.checkpoint()
        finally:
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


def new_meta(map_id: str) -> dict[str, Any]:
    """The metadata of a new, empty store (all background: the label counts are known, none)."""
    return {"format": 1, "id": map_id, "seq": 0, "versions": [], "batch_ids": [], "counts": []}


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
            before = p.checkpoint_error
            try:
                p.checkpoint()
            except Exception as e:  # keep the thread alive; retried after checkpoint_delay
                if p.checkpoint_error != before:  # (once per distinct error, not every retry)
                    warnings.warn(f"voxwidget: background checkpoint of {p.path} failed: {e}", stacklevel=1)
        del p


def write_array(store: ChunkStore, array: Any, map_id: str) -> dict[str, Any]:
    """Copy ``array`` into a store being created, chunk by chunk (all-zero chunks are not stored);
    returns its metadata (every stored chunk at version 1)."""
    shape, c, dt = store.shape, store.chunk_shape, store.dtype
    versions: dict[Key, int] = {}
    counts = LabelCounts(int(np.prod(shape, dtype=np.int64)))
    batch: list[tuple[Key, np.ndarray]] = []
    for key in np.ndindex(*(-(-s // cc) for s, cc in zip(shape, c, strict=True))):
        sl = tuple(slice(k * cc, min((k + 1) * cc, s)) for k, cc, s in zip(key, c, shape, strict=True))
        part = check_labels(np.asarray(array[sl]), dt, "array value")
        if not np.count_nonzero(part):
            continue
        counts.add_array(part)
        data = np.zeros(c, dt)
        data[tuple(slice(0, s.stop - s.start) for s in sl)] = part
        versions[key] = 1  # type: ignore[index]
        batch.append((key, data))  # type: ignore[arg-type]
        if len(batch) >= 32:
            store.write_chunks(batch)
            batch = []
            fault("create:chunks")
    store.write_chunks(batch)
    meta = {**new_meta(map_id), "versions": [[*k, v] for k, v in versions.items()]}
    return {**meta, "counts": counts.to_meta()}
