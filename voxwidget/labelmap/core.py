"""The label map's state and its one commit path.

:class:`MapCore` holds what a :class:`~voxwidget.labelmap.labelmap.LabelMap` is made of: the lock,
the :class:`~voxwidget.labelmap.chunktable.ChunkTable` (resident chunks, versions), the
:class:`~voxwidget.labelmap.history.History`, the applied batch ids, the subscribers and, for a
stored map, its :class:`~voxwidget.labelmap.persistence.Persistence`. Every change goes through
:meth:`MapCore.edit`: under the lock an edit operation (:mod:`voxwidget.tools`) computes atoms from
the current values, then the atoms are applied, the versions of their chunks bumped, the undo step
and the batch id recorded and the atoms journalled; outside the lock the subscribers are told.

Rollback (a journal write failed): the journal thread calls :meth:`MapCore._rollback` before it
fails any future; under the lock, every record not yet durable is undone newest first by applying
its inverse atoms through :meth:`MapCore.edit` (``rollback=True``: the same apply loop, so
everything derived from atoms stays right), its batch id forgotten and the history put back; only
then may new records be written. Versions move forward (the restored content gets a new version):
browsers cache tiles by version and keep a per-chunk high-water mark. See
``docs/labelmap-contract.md`` ("A failed durable write changes nothing").
"""

from __future__ import annotations

import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .atoms import Atom
from .chunkstore import ChunkStore
from .chunktable import ChunkTable
from .events import EditEvents
from .history import History
from .persistence import Persistence, is_array
from .types import BatchResult, Change, ChunkReader, NotSavedError, done_future
from .validate import check_labels

__all__ = ["Compute", "MapCore"]

Key = tuple[int, int, int]
Compute = Callable[[ChunkReader], list[Atom] | None]
"""An edit operation: the atoms of the edit from the current values, or None for nothing to do."""


class MapCore:
    """State and commit path of one label map (see the module docstring); parameters as
    :class:`~voxwidget.labelmap.labelmap.LabelMap`'s, already validated."""

    def __init__(
        self,
        shape: tuple[int, int, int],
        chunks: tuple[int, int, int],
        dtype: np.dtype,
        *,
        undo_depth: int,
        undo_bytes: int,
        memory_budget: int,
        checkpoint_delay: float,
        max_batch_ids: int,
    ) -> None:
        self.table = ChunkTable(shape, chunks, dtype, memory_budget)
        self.history = History(undo_depth, undo_bytes)
        self.lock = threading.RLock()
        self.ids: OrderedDict[str, None] = OrderedDict()
        self.id = uuid.uuid4().hex
        self.checkpoint_delay = float(checkpoint_delay)
        self.max_batch_ids = int(max_batch_ids)
        self.persist: Persistence | None = None
        self.closed = False
        self._subs: list[Callable[[Change], None]] = []
        self._op: list | None = None  # the history operation of an undo/redo (for the journal)
        self._error: BaseException | None = None  # a Python-side edit was rolled back: raise once
        self.events = EditEvents(chunks)  # on_edit: told once an edit is durable (events.py)
        #: called under the lock with an edit's atoms before they are applied (export snapshots keep
        #: the chunks' current data: voxwidget/export/snapshot.py)
        self.pins: list[Callable[[list[Atom]], None]] = []

    def attach(self, store: ChunkStore, created: bool) -> None:
        """Persist into ``store``: load its metadata, replay its journal tail, rebuild the undo
        history (the map takes the store's id)."""
        self.persist = Persistence(
            store, self.table, self.lock, self.ids, self.id, self.checkpoint_delay, created, self.history
        )
        self.persist.journal.on_error = self._rollback
        self.id = self.persist.map_id

    # -- the commit path --------------------------------------------------------------------------
    def edit(
        self,
        compute: Compute,
        *,
        batch_id: str | None = None,
        stroke: str | None = None,
        record: bool = True,
        report: Sequence[Key] = (),
        kind: str = "set",
        rollback: bool = False,
    ) -> BatchResult | None:
        """Apply one edit: ``compute(reader)`` gives its atoms (None: nothing to do, returns None);
        they are applied, counted (label counts), versioned, recorded as one undo step (unless
        ``record`` is False: undo and redo), journalled with ``batch_id`` (a batch id already
        applied is a no-op) and announced (``kind`` names it to ``on_edit`` callbacks, see
        :mod:`.events`). The result holds the new versions of the changed chunks and the current
        ones of ``report``. ``rollback`` (lock held): apply inverse atoms of records that failed to
        be journalled; no history, batch id, journal record, notice or event (the caller announces)."""
        table, persist = self.table, self.persist
        with self.lock:
            if not rollback:  # (a rollback may run while the map closes: its last flush failed)
                self.check_open()
            if not rollback and batch_id is None and self._error is not None:
                err, self._error = self._error, None
                raise err
            if batch_id is not None and batch_id in self.ids:
                return BatchResult({k: table.versions.get(k, 0) for k in report}, True, done_future())
            memento = self.history.memento() if persist is not None and not rollback else None
            atoms = compute(table)
            if atoms is None:
                return None
            for pin in self.pins:
                pin(atoms)
            for a in atoms:
                a.write(table.write(a.key).reshape(-1))
            table.counts.apply(atoms)
            versions: dict[Key, int] = {}
            for a in atoms:
                if a.key not in versions:
                    versions[a.key] = table.bump(a.key)
            if rollback:
                return BatchResult(versions, False, done_future())
            op, self._op = self._op, None
            if record:
                step = self.history.record(atoms, stroke)
                op = None if step is None else ["e", step.id, stroke]
            if batch_id is not None:
                self.ids[batch_id] = None
                while len(self.ids) > self.max_batch_ids:
                    self.ids.popitem(last=False)
            fut = done_future()
            if persist is not None and (atoms or batch_id is not None):
                fut = persist.log(atoms, versions, batch_id, op, memento)
                if record and step is not None and step.seq0 is None:
                    step.seq0 = persist.seq
            result = {**{k: table.versions.get(k, 0) for k in report}, **versions}
            if table.evict() and self.persist is not None:
                self.persist.kick()  # dirty chunks alone exceed the budget: checkpoint soon
        self._notify(versions, batch_id)
        self.events.emit(kind, batch_id, atoms, versions, fut)
        return BatchResult(result, False, fut)

    def step(self, undo: bool) -> bool:
        """Undo (or redo) the newest step through :meth:`edit`; False when there is none."""

        def compute(_: ChunkReader) -> list[Atom] | None:
            step = self.history.pop_undo() if undo else self.history.pop_redo()
            if step is None:
                return None
            self._op = ["u" if undo else "x", step.id]
            return [a.inverse() for a in reversed(step.atoms)] if undo else list(step.atoms)

        return self.edit(compute, record=False, kind="undo" if undo else "redo") is not None

    def _rollback(self, exc: BaseException) -> None:
        """The journal failed to write: undo every record not yet durable (see the module
        docstring); called on the journal thread before any failed future is resolved."""
        persist = self.persist
        assert persist is not None
        changed: dict[Key, int] = {}
        with self.lock:
            failed = persist.take_failed(exc)
            for f in reversed(failed):
                inv = [a.inverse() for a in reversed(f.atoms)]
                changed.update(self.edit(lambda _, inv=inv: inv, rollback=True).versions)  # type: ignore[union-attr]
                if f.batch_id is not None:
                    self.ids.pop(f.batch_id, None)
            if failed:
                self.history.restore(failed[0].memento)
            if any(f.batch_id is None for f in failed):
                self._error = NotSavedError(exc)
            persist.floors.update(changed)
            persist.journal.resume()
        self._notify(changed, None)

    def check_open(self) -> None:
        """Raise ValueError when the map is closed."""
        if self.closed:
            raise ValueError(f"label map {self.path} is closed")

    # -- reads -------------------------------------------------------------------------------------
    def read_box(self, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
        """The voxels of the box ``lo:hi`` (a copy)."""
        with self.lock:
            out = self.table.read_box(lo, hi)
            self.table.evict()
        return out

    def snapshot(self, key: Key, cut: tuple) -> tuple[int, np.ndarray | None]:
        """``(version, copy of the clipped chunk[cut])``, None data when all zero."""
        table = self.table
        with self.lock:
            data = table.read(key)
            v = table.versions.get(key, 0)
            if data is not None:
                data = data[tuple(slice(0, s.stop - s.start) for s in table.slices(key))][cut]
            out = None if data is None or not np.count_nonzero(data) else np.array(data, copy=True)
            table.evict()
            return v, out

    # -- notifications -------------------------------------------------------------------------------
    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns a function that unsubscribes."""
        with self.lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self.lock:
                if callback in self._subs:
                    self._subs.remove(callback)

        return unsubscribe

    def _notify(self, versions: dict[Key, int], origin: str | None) -> None:
        if not versions or not self._subs:
            return
        with self.lock:
            subs = list(self._subs)
        change = Change(list(versions), list(versions.values()), origin)
        for cb in subs:
            cb(change)

    # -- persistence ---------------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        """The store's directory, or None in memory."""
        return None if self.persist is None else self.persist.path

    def ingest(self, array: Any) -> None:
        """Bulk-load a new in-memory map's content (no history): held as dirty chunks. (A stored
        map is filled while its store is created: :func:`~voxwidget.labelmap.persistence.write_array`.)"""
        table = self.table
        for key in np.ndindex(*table.grid_shape):
            sl = table.slices(key)
            part = check_labels(np.asarray(array[sl]), table.dtype, "array value")
            if not np.count_nonzero(part):
                continue
            table.counts.add_array(part)
            data = np.zeros(table.chunk_shape, table.dtype)
            data[tuple(slice(0, s.stop - s.start) for s in sl)] = part
            table.hold(key, data)

    def save(self, path: str | Path | None) -> None:
        """See :meth:`voxwidget.labelmap.labelmap.LabelMap.save`."""
        persist = self.persist
        if path is None:
            if persist is None:
                raise ValueError("save() needs a path for an in-memory label map")
            persist.checkpoint()
            return
        if persist is not None and Path(path).resolve() == persist.path.resolve():
            persist.checkpoint()
            return
        if is_array(path):
            raise ValueError(f"save: {path} already holds a zarr array; choose a new path")
        if persist is not None:
            persist.copy_to(path)
            return
        self.persist = Persistence.adopt(
            path, self.table, self.lock, self.ids, self.id, self.checkpoint_delay, self.history
        )
        self.persist.journal.on_error = self._rollback

    def close(self, checkpoint: bool = True) -> None:
        """Release the store and the background threads, checkpointing first unless told not to
        (as a crash would; the journal is flushed either way). Idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.persist is not None:
            if checkpoint:
                self.persist.close()
            else:
                self.persist.abandon()
