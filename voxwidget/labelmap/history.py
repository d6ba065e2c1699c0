"""Undo/redo history of the label map: steps of atoms (:mod:`voxwidget.labelmap.atoms`).

Only voxels that actually changed are stored. A step is one undo unit (a stroke, one ``paint``, one
``lm[...] = ...``); memory is bounded by a maximum number of steps (``depth``) and a byte budget
(``max_bytes``); the oldest steps are dropped first.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from .atoms import Atom

__all__ = ["History", "Step"]

Key = tuple[int, int, int]


@dataclass
class Step:
    """One undo unit: atoms in the order they were applied."""

    stroke: str | None
    atoms: list[Atom] = field(default_factory=list)
    nbytes: int = 0

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

    def record(self, atoms: list[Atom], stroke: str | None = None) -> None:
        """Add the atoms of one operation; contiguous operations with the same non-None
        ``stroke`` id join one step. Clears the redo stack when something changed."""
        if not atoms or self.depth == 0:
            if atoms:
                self._redo.clear()
            return
        self._redo.clear()
        step = self._open
        if (
            step is None
            or stroke is None
            or step.stroke != stroke
            or not self._undo
            or self._undo[-1] is not step
        ):
            step = Step(stroke)
            self._undo.append(step)
        for a in atoms:
            step.add(a)
            self._bytes += a.nbytes
        self._open = step if stroke is not None else None
        self._trim()

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

    def clear(self) -> None:
        """Forget all history."""
        self._undo.clear()
        self._redo.clear()
        self._bytes = 0
        self._open = None
