"""Undo/redo history of the label map: steps of atoms (:mod:`voxwidget.labelmap.atoms`).

Only voxels that actually changed are stored. A step is one undo unit (a stroke, one ``paint``, one
``lm[...] = ...``); memory is bounded by a maximum number of steps (``depth``) and a byte budget
(``max_bytes``); the oldest steps are dropped first.

For a stored map each step has an id and the sequence number of its first journal record: the
journal keeps the records of every step still held, so the history is rebuilt when the store is
reopened (:mod:`voxwidget.labelmap.records`). A :meth:`History.memento` taken before a change puts the
stacks back exactly when that change is rolled back (its journal write failed).
"""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .atoms import Atom

__all__ = ["History", "Step"]

Key = tuple[int, int, int]


@dataclass
class Step:
    """One undo unit: atoms in the order they were applied."""

    stroke: str | None
    atoms: list[Atom] = field(default_factory=list)
    nbytes: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    seq0: int | None = None  # sequence number of its first journal record (stored maps)

    def add(self, atom: Atom) -> None:
        self.atoms.append(atom)
        self.nbytes += atom.nbytes


class History:
    """Bounded undo and redo stacks.

    Parameters
    ----------
    depth : int
        Maximum number of undo steps kept (0 disables undo).
    max_bytes : int
        Byte budget over all undo steps; the oldest steps are dropped past it (the newest step is
        always kept whole so that the last edit can be undone).
    """

    def __init__(self, depth: int = 64, max_bytes: int = 256 * 2**20):
        if depth < 0:
            raise ValueError(f"undo depth must be >= 0, got {depth!r}")
        self.depth = depth
        self.max_bytes = max_bytes
        self._undo: deque[Step] = deque()
        self._redo: list[Step] = []
        self._bytes = 0
        self._open: Step | None = None  # the step new atoms go into, None = start a new one

    @property
    def nbytes(self) -> int:
        """Bytes held by the undo stack."""
        return self._bytes

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    def record(self, atoms: list[Atom], stroke: str | None = None, sid: str | None = None) -> Step | None:
        """Add the atoms of one operation; contiguous operations with the same non-None
        ``stroke`` id join one step (when rebuilding from the journal: the same step id ``sid``).
        Clears the redo stack when something changed. Returns the step (None: undo disabled)."""
        if not atoms or self.depth == 0:
            if atoms:
                self._redo.clear()
            return None
        self._redo.clear()
        step = self._open
        top = self._undo[-1] if self._undo else None
        if sid is not None:
            step = top if top is not None and top.id == sid else None
        elif step is None or stroke is None or step.stroke != stroke or top is not step:
            step = None
        if step is None:
            step = Step(stroke) if sid is None else Step(stroke, id=sid)
            self._undo.append(step)
        for a in atoms:
            step.add(a)
            self._bytes += a.nbytes
        self._open = step if stroke is not None else None
        self._trim()
        return step

    def end_stroke(self) -> None:
        """Make the next operation start a new step even if it has the same stroke id."""
        self._open = None

    def _trim(self) -> None:
        while len(self._undo) > self.depth or (self._bytes > self.max_bytes and len(self._undo) > 1):
            old = self._undo.popleft()
            self._bytes -= old.nbytes
            if old is self._open:
                self._open = None

    def pop_undo(self) -> Step | None:
        """Take the newest step off the undo stack and push it on the redo stack. Either call, even
        with nothing to undo, ends the open stroke: later edits start a new step."""
        self._open = None
        if not self._undo:
            return None
        step = self._undo.pop()
        self._bytes -= step.nbytes
        self._redo.append(step)
        self._open = None
        return step

    def pop_redo(self) -> Step | None:
        """Take the newest undone step off the redo stack and push it back on the undo stack."""
        self._open = None
        if not self._redo:
            return None
        step = self._redo.pop()
        self._undo.append(step)
        self._bytes += step.nbytes
        self._open = None
        self._trim()
        return step

    def top(self, redo: bool = False) -> Step | None:
        """The step :meth:`pop_undo` (or :meth:`pop_redo`) would take, or None."""
        stack = self._redo if redo else self._undo
        return stack[-1] if stack else None

    def oldest_seq(self) -> int | None:
        """The smallest first-record sequence number of any held step (None: none held)."""
        seqs = [s.seq0 for s in (*self._undo, *self._redo) if s.seq0 is not None]
        return min(seqs) if seqs else None

    def memento(self) -> Any:
        """The stacks now, for :meth:`restore` (steps are shared, not copied)."""
        op = self._open
        return (list(self._undo), list(self._redo), self._bytes, op, op and (len(op.atoms), op.nbytes))

    def restore(self, memento: Any) -> None:
        """Put the stacks back as they were when ``memento`` was taken (atoms added to a step since
        are dropped)."""
        undo, redo, nbytes, op, sizes = memento
        self._undo, self._redo, self._bytes, self._open = deque(undo), list(redo), nbytes, op
        if op is not None:
            del op.atoms[sizes[0] :]
            op.nbytes = sizes[1]

    def clear(self) -> None:
        """Forget all history."""
        self._undo.clear()
        self._redo.clear()
        self._bytes = 0
        self._open = None
