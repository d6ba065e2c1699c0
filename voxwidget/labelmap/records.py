"""Journal record contents of the label map: edit entries, undo-history operations, versions.

A record's JSON header holds ``"v"`` (the record format version), ``"b"`` (the batch id or null),
``"e"`` (one entry per chunk change, see below) and, from version 2, ``"h"``: what the record did to
the undo history, so that the history can be rebuilt when the store is reopened:

- ``["e", step, stroke]``: an edit recorded in undo step ``step`` (an id; contiguous records with the
  same step id form one step); each entry then also carries the voxels' old values;
- ``["u", step]`` / ``["x", step]``: undo / redo of step ``step``;
- absent: no history change (undo disabled, or a version-1 record).

Entries: ``[z, y, x, version, 0]`` offsets + new values (+ old values); ``[…, 1]`` the whole chunk
(only without history: when smaller than offsets + values); ``[…, 2, row0]`` a
:class:`~voxwidget.labelmap.rowmask.RowMask`'s bit rows + new value(s) (+ old values).

Version 1 records (no ``"v"``) are read as before (values only, no history). A record of a newer
version than :data:`RECORD_VERSION` is refused with a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .atoms import Atom
from .chunktable import ChunkTable
from .journal import Record
from .rowmask import RowMask

__all__ = ["RECORD_VERSION", "check_version", "encode_entries", "record_atoms", "replay_values"]

Key = tuple[int, int, int]
RECORD_VERSION = 2


def check_version(rec: Record, seg: Path | None = None) -> int:
    """The record's format version; ``ValueError`` for one newer than this code reads."""
    v = int(rec.header.get("v", 1))
    if v > RECORD_VERSION:
        raise ValueError(
            f"journal record {rec.seq} in {seg or rec.segment} has format version {v}, but this "
            f"voxwidget reads versions up to {RECORD_VERSION}: upgrade voxwidget to open this store"
        )
    return v


def encode_entries(
    atoms: Sequence[Atom], versions: dict[Key, int], table: ChunkTable, with_old: bool
) -> tuple[list[list[int]], list[np.ndarray]]:
    """Header entries and arrays of ``atoms`` (already applied to ``table``); ``with_old``: keep
    each atom exactly with its old values (for the undo history) instead of the whole chunk."""
    itemsize = table.dtype.itemsize
    head: list[list[int]] = []
    arrays: list[np.ndarray] = []
    whole: set[Key] = set()  # chunks already journaled whole (their final state)
    for a in atoms:
        key, offs, vals = a.key, a.offsets, a.new
        if key in whole:
            continue
        if isinstance(offs, RowMask) and (vals.size == 1 or with_old):
            head.append([*key, versions[key], 2, offs.row0])
            arrays += [offs.bits, vals]
            if with_old:
                arrays.append(a.old)
            continue
        if isinstance(offs, RowMask):
            offs = offs.offsets()
        if not with_old and offs.size * (4 + itemsize) >= table.chunk_nbytes:
            head.append([*key, versions[key], 1])
            arrays.append(table.entries[key].data.reshape(-1))
            whole.add(key)
        else:
            head.append([*key, versions[key], 0])
            arrays += [offs.astype(np.uint32, copy=False), vals]
            if with_old:
                arrays.append(a.old)
    return head, arrays


def _has_old(rec: Record) -> bool:
    h = rec.header.get("h")
    return bool(h) and h[0] == "e"


def replay_values(rec: Record, table: ChunkTable) -> None:
    """Re-apply a record's idempotent "set" entries to ``table`` (bumping versions to theirs and
    keeping the label counts)."""
    arrays = iter(rec.arrays)
    old = _has_old(rec)
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
        if old:
            next(arrays)
        table.bump(key, ver)


def record_atoms(rec: Record, chunk_shape: tuple[int, int, int]) -> list[Atom]:
    """The atoms of an ``["e", …]`` record (copies, for the rebuilt undo history)."""
    arrays = iter(rec.arrays)
    out = []
    for z, y, x, _ver, mode, *extra in rec.header["e"]:
        offs: Any
        if mode == 2:
            offs = RowMask.from_record(extra[0], np.array(next(arrays)), chunk_shape[2])
        else:
            offs = np.array(next(arrays))
        new, old = np.array(next(arrays)), np.array(next(arrays))
        out.append(Atom((z, y, x), offs, old, new))
    return out
