"""Explicit voxel edits: per-chunk offsets and values (the browser's edit batches) as atoms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..labelmap.atoms import Atom
from ..labelmap.types import ChunkReader
from ..labelmap.validate import last_wins

__all__ = ["voxel_atoms"]

Key = tuple[int, int, int]


def voxel_atoms(reader: ChunkReader, edits: Sequence[tuple[Key, np.ndarray, np.ndarray]]) -> list[Atom]:
    """The atoms that set ``values`` at ``offsets`` in each chunk, keeping only voxels that change.

    Parameters
    ----------
    reader : ChunkReader
        Current values.
    edits : sequence of (key, offsets, values)
        Validated edits (:func:`voxwidget.labelmap.validate.check_edit`): flat offsets (intp) into the
        nominal chunk shape and one value each, of the map's dtype. Edits of the same chunk apply in
        order (a later value of a voxel wins).
    """
    by_key: dict[Key, list[tuple[np.ndarray, np.ndarray]]] = {}
    for key, offs, vals in edits:
        by_key.setdefault(key, []).append((offs, vals))
    n = reader.offsets.size
    atoms: list[Atom] = []
    for key, parts in by_key.items():
        if len(parts) == 1:
            offs, vals = parts[0]
        else:
            offs, vals = last_wins(
                np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), n
            )
        data = reader.read(key)
        if data is None:
            if not vals.any():
                continue  # zeros into a chunk that is all zero
            data = reader.zeros
        old = data.reshape(-1)[offs]
        ch = old != vals
        if not ch.all():
            offs, old, vals = offs[ch], old[ch], vals[ch]
        if offs.size:
            atoms.append(Atom(key, offs.astype(np.uint32), old, vals))
    return atoms
