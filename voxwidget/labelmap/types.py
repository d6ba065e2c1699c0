"""Value types of the label map: errors, edits, results, change notices, and the read-only view of
the chunks that edit operations (:mod:`voxwidget.tools`) compute from."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

__all__ = [
    "BatchRejected",
    "BatchResult",
    "Change",
    "ChunkEdit",
    "ChunkReader",
    "NotSavedError",
    "OutOfBoundsError",
    "RegionTooLarge",
    "done_future",
]

Key = tuple[int, int, int]


class BatchRejected(ValueError):
    """An edit batch failed validation; nothing was applied. The message names the offending
    value and what was allowed."""


class OutOfBoundsError(IndexError, ValueError):
    """A coordinate, index or chunk key lies outside the array (names the value and the range)."""


class RegionTooLarge(ValueError):
    """An edit's region has more voxels than its ``max_voxels`` limit allows; nothing was changed.
    The message names the limit."""


@dataclass(frozen=True)
class ChunkEdit:
    """Voxels one batch sets inside one chunk.

    Parameters
    ----------
    key : tuple[int, int, int]
        Chunk grid index (z, y, x).
    offsets : np.ndarray
        C-order linear indices into the nominal chunk shape (uint32).
    values : np.ndarray
        One label per offset (castable to the map dtype without loss).
    """

    key: Key
    offsets: np.ndarray
    values: np.ndarray


@dataclass
class BatchResult:
    """Outcome of an edit: new versions of the touched chunks, duplicate flag, durability future."""

    versions: dict[Key, int]
    duplicate: bool = False
    durable: Future[None] = field(default_factory=Future)


@dataclass(frozen=True)
class Change:
    """A change notification: chunks that changed, their new versions, and the batch id (or None)."""

    keys: list[Key]
    versions: list[int]
    origin: str | None = None


_DONE: Future[None] = Future()
_DONE.set_result(None)


def done_future() -> Future[None]:
    """An already-resolved future (in-memory maps are "durable" at once); shared, never pending."""
    return _DONE


class ChunkReader(Protocol):
    """What an edit operation may see of the map: its geometry and the current chunk values.

    Edit operations (:mod:`voxwidget.tools`) read through this and return atoms; only the map's
    commit path writes. The map holds its lock while an operation reads, so the values cannot change
    between the read and the commit.
    """

    shape: tuple[int, int, int]
    chunk_shape: tuple[int, int, int]
    grid_shape: tuple[int, int, int]
    dtype: np.dtype

    def read(self, key: Key) -> np.ndarray | None:
        """The chunk's values in the nominal chunk shape (do not modify), or None when it is all
        zero (never written, or absent from the store)."""

    def nonzero_keys(self) -> set[Key]:
        """Every chunk that may hold a non-zero voxel; all others are zero."""

    @property
    def zeros(self) -> np.ndarray:
        """A read-only all-zero chunk of the nominal chunk shape."""

    @property
    def offsets(self) -> np.ndarray:
        """``offsets[z, y, x]``: the C-order linear index of each voxel of the nominal chunk (uint32)."""


class NotSavedError(OSError):
    """An edit made from Python could not be written to the journal (disk full, I/O error, file too
    large, permission) and was rolled back; raised by the next Python-side edit of the map (and
    the edit's ``durable`` future fails with the original ``OSError``). Carries its ``errno``."""

    def __init__(self, cause: BaseException):
        errno = getattr(cause, "errno", None)
        super().__init__(errno, f"an edit was not saved and has been rolled back (nothing changed): {cause}")
        self.__cause__ = cause
