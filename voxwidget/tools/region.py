"""Box edits: one value, or an array of values, over a box of the volume (``lm[...] = v``), as atoms;
and box reads through a :class:`~voxwidget.labelmap.types.ChunkReader`."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..grid import read_box
from ..labelmap.atoms import Atom
from ..labelmap.types import ChunkReader

__all__ = ["box_atoms", "read_box"]

_SMALL = 16384  # box pieces up to this many voxels use boolean indexing


def box_atoms(
    reader: ChunkReader, lo: tuple[int, ...], hi: tuple[int, ...], value: Any, mask: np.ndarray | None = None
) -> list[Atom]:
    """The atoms that set ``value`` where ``mask`` (everywhere when None) inside the box ``lo:hi``,
    keeping only the voxels that change.

    Parameters
    ----------
    reader : ChunkReader
        Current values.
    lo, hi : 3 ints
        The box, inside the array.
    value : scalar or np.ndarray
        A scalar of the map's dtype, or an array of the box's shape.
    mask : np.ndarray of bool, optional
        The box's voxels to set.
    """
    c = reader.chunk_shape
    dtype = reader.dtype
    scalar = np.ndim(value) == 0
    nonzero_scalar = scalar and bool(value)
    atoms: list[Atom] = []
    segs = []  # per axis: (chunk index, box start, box stop, chunk-local start, chunk-local stop)
    for d in range(3):
        cd, lo_d, hi_d = c[d], lo[d], hi[d]
        axis_segs = []
        for k in range(lo_d // cd, (hi_d - 1) // cd + 1):
            a, b = max(lo_d, k * cd), min(hi_d, (k + 1) * cd)
            axis_segs.append((k, a - lo_d, b - lo_d, a - k * cd, b - k * cd))
        segs.append(axis_segs)
    for kz, bz0, bz1, s0, e0 in segs[0]:
        for ky, by0, by1, s1, e1 in segs[1]:
            for kx, bx0, bx1, s2, e2 in segs[2]:
                key = (kz, ky, kx)
                new = value if scalar else value[bz0:bz1, by0:by1, bx0:bx1]
                data = reader.read(key)
                if data is None:
                    if not (nonzero_scalar if scalar else new.any()):
                        continue  # zeros into a chunk that is all zero
                    data = reader.zeros
                sub = data[s0:e0, s1:e1, s2:e2]
                ch = sub != new
                if mask is not None:
                    np.logical_and(ch, mask[bz0:bz1, by0:by1, bx0:bx1], out=ch)
                if ch.size <= _SMALL:  # boolean indexing: cheapest on small boxes
                    if not ch.any():
                        continue
                    newv = np.full(1, value, dtype) if scalar else new[ch]
                    atoms.append(Atom(key, reader.offsets[s0:e0, s1:e1, s2:e2][ch], sub[ch], newv))
                    continue
                idx = np.flatnonzero(ch)  # large boxes: work on the (usually sparse) changed set
                if idx.size == 0:
                    continue
                _, n1, n2 = ch.shape
                iz, rem = np.divmod(idx, n1 * n2)
                iy, ix = np.divmod(rem, n2)
                offs = ((iz + s0) * c[1] + (iy + s1)) * c[2] + (ix + s2)
                newv = np.full(1, value, dtype) if scalar else new[iz, iy, ix]
                atoms.append(Atom(key, offs.astype(np.uint32), data.reshape(-1)[offs], newv))
    return atoms
