"""Edit atoms: the voxels one operation changes in one chunk, with their old and new values.

Edit operations (:mod:`voxwidget.tools`) compute atoms from a read of the current values; the label
map's commit path applies them (:meth:`Atom.write`), journals them and keeps them as undo history,
and undo applies their inverse. An atom's voxels are flat C-order offsets into the nominal chunk
shape, or a :class:`~voxwidget.labelmap.rowmask.RowMask` (a brush stroke's compact form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .rowmask import RowMask

__all__ = ["Atom", "Key"]

Key = tuple[int, int, int]


@dataclass
class Atom:
    """Voxels of one chunk changed by one operation.

    ``offsets`` are C-order indices into the nominal chunk shape (uint32), or a
    :class:`~voxwidget.labelmap.rowmask.RowMask` of the voxels (a brush stroke's compact form); ``old`` and
    ``new`` hold one value per voxel, or one value for all of them.
    """

    key: Key
    offsets: np.ndarray | RowMask
    old: np.ndarray
    new: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.offsets.nbytes + self.old.nbytes + self.new.nbytes + 64

    @property
    def count(self) -> int:
        """Number of voxels."""
        return self.offsets.count if isinstance(self.offsets, RowMask) else self.offsets.size

    def flat_offsets(self) -> np.ndarray:
        """The voxels as flat offsets (uint32), whatever form they are kept in."""
        return self.offsets.offsets() if isinstance(self.offsets, RowMask) else self.offsets

    def write(self, flat: np.ndarray) -> None:
        """Set the new values in ``flat`` (the chunk's data in the nominal shape, flattened)."""
        if isinstance(self.offsets, RowMask):
            if self.new.size == 1:
                self.offsets.fill(flat, self.new[0])
                return
            flat[self.offsets.offsets()] = self.new
            return
        flat[self.offsets] = self.new

    def inverse(self) -> Atom:
        """The atom that undoes this one (old and new swapped)."""
        return Atom(self.key, self.offsets, self.new, self.old)
