"""Edit events: what an edit changed, told to ``LabelMap.on_edit`` callbacks once it is durable.

Two ways to hear about changes, for two purposes:

- ``LabelMap.subscribe(cb)`` gets a :class:`~voxwidget.labelmap.types.Change` (chunk keys, new
  versions, batch id) at once after every change, on the editing thread, before the journal write is
  durable: what a view needs to refetch tiles without delay (``comm/changes.py`` uses it).
- ``LabelMap.on_edit(cb)`` (here) gets an :class:`EditEvent` with what the edit was (its kind, the
  labels written, the bounding box, the voxel count, chunk keys and versions) only once the edit is
  durable: at once for an in-memory map, else when its journal record is fsync'd (on the journal
  thread); an edit whose journal write failed is never announced. Callbacks run outside the map's
  lock, in edit order; an exception in one is logged (logger ``voxwidget``) and changes nothing else.
  Keep them short: for a stored map they delay the next acknowledgements.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from functools import cached_property

import numpy as np

from .atoms import Atom
from .rowmask import RowMask

__all__ = ["KINDS", "EditEvent", "EditEvents"]

Key = tuple[int, int, int]
log = logging.getLogger("voxwidget")

KINDS = (
    "paint",
    "erase",
    "set",
    "fill",
    "polygon",
    "interpolate",
    "replace",
    "undo",
    "redo",
    "replay",
    "browser",
)
"""Edit kinds: ``paint``/``erase`` (brush), ``set`` (``lm[...] = v``), ``fill``, ``polygon``,
``interpolate``, ``replace``, ``undo``, ``redo``, ``browser`` (a batch from a view); ``replay`` is
reserved for journal records re-applied while a store opens (before any callback can exist, so it is
never delivered today)."""


class EditEvent:
    """One durable edit (see the module docstring). ``labels``, ``lo`` and ``hi`` are computed
    from the edit's atoms when first read, so callbacks that do not use them cost nothing.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    origin : str or None
        The batch id of a browser batch, else None.
    keys : list of (z, y, x)
        Chunks that changed.
    versions : list of int
        Their new versions (same order).
    voxels : int
        Voxels changed.
    """

    def __init__(
        self, kind: str, origin: str | None, atoms: Sequence[Atom], versions: dict[Key, int], chunk: tuple
    ) -> None:
        self.kind = kind
        self.origin = origin
        self.keys: list[Key] = list(versions)
        self.versions: list[int] = list(versions.values())
        self.voxels: int = sum(a.count for a in atoms)
        self._atoms = atoms
        self._chunk = chunk

    @cached_property
    def labels(self) -> list[int]:
        """The label values written (ascending; 0 for erased voxels)."""
        vals = set()
        for a in self._atoms:
            vals.update(np.unique(a.new).tolist())
        return sorted(int(v) for v in vals)

    @cached_property
    def _box(self) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
        lo = np.full(3, np.iinfo(np.int64).max, np.int64)
        hi = np.full(3, -1, np.int64)
        cy = self._chunk[1]
        for a in self._atoms:
            if a.count == 0:
                continue
            if isinstance(a.offsets, RowMask):
                m = a.offsets
                rows = np.flatnonzero(m.bits.any(axis=1)) + m.row0
                words = np.bitwise_or.reduce(m.bits, axis=0)
                xs = np.flatnonzero(np.unpackbits(words.astype("<u8").view(np.uint8), bitorder="little"))
                zy = np.stack(np.divmod(rows, cy))
                a_lo = [zy[0].min(), zy[1].min(), xs[0]]
                a_hi = [zy[0].max(), zy[1].max(), xs[-1]]
            else:
                z, y, x = np.unravel_index(a.offsets, self._chunk)
                a_lo = [z.min(), y.min(), x.min()]
                a_hi = [z.max(), y.max(), x.max()]
            base = np.multiply(a.key, self._chunk)
            lo = np.minimum(lo, base + a_lo)
            hi = np.maximum(hi, base + np.asarray(a_hi) + 1)
        if hi[0] < 0:
            return (0, 0, 0), (0, 0, 0)
        return tuple(int(v) for v in lo), tuple(int(v) for v in hi)  # type: ignore[return-value]

    @property
    def lo(self) -> tuple[int, int, int]:
        """First corner (z, y, x) of the changed voxels' bounding box."""
        return self._box[0]

    @property
    def hi(self) -> tuple[int, int, int]:
        """One past the last corner of the changed voxels' bounding box (``lo:hi`` covers them)."""
        return self._box[1]

    def __repr__(self) -> str:
        return (
            f"EditEvent(kind={self.kind!r}, origin={self.origin!r}, voxels={self.voxels}, "
            f"chunks={len(self.keys)})"
        )


class EditEvents:
    """The ``on_edit`` callbacks of one map and their delivery."""

    def __init__(self, chunk: tuple[int, int, int]) -> None:
        self._chunk = chunk
        self._subs: list[Callable[[EditEvent], None]] = []
        self._lock = threading.Lock()

    def add(self, callback: Callable[[EditEvent], None]) -> Callable[[], None]:
        """Register ``callback``; returns the function that removes it."""
        if not callable(callback):
            raise TypeError(f"on_edit callback {callback!r} is not callable")
        with self._lock:
            self._subs.append(callback)

        def unsubscribe() -> None:
            with self._lock:
                if callback in self._subs:
                    self._subs.remove(callback)

        return unsubscribe

    def emit(
        self,
        kind: str,
        origin: str | None,
        atoms: Sequence[Atom],
        versions: dict[Key, int],
        durable: Future[None],
    ) -> None:
        """Announce an applied edit once ``durable`` resolves without error (call outside the lock)."""
        if not versions or not self._subs:
            return
        event = EditEvent(kind, origin, atoms, versions, self._chunk)
        durable.add_done_callback(lambda fut: self._deliver(event, fut))

    def _deliver(self, event: EditEvent, fut: Future[None]) -> None:
        if fut.cancelled() or fut.exception() is not None:
            return  # not durable: the edit is not announced
        with self._lock:
            subs = list(self._subs)
        for cb in subs:
            try:
                cb(event)
            except Exception:
                log.exception("voxwidget: on_edit callback %r failed for %r", cb, event)
