"""A set of voxels of one chunk as row bitmaps: the compact form of a brush stroke's edit.

``bits[i, w]`` holds voxels ``x = 64 w … 64 w + 63`` (bit ``x % 64``, least significant first) of
chunk row ``row0 + i``, where row ``z * cy + y`` is the ``(z, y)`` row of the nominal chunk shape
``(cz, cy, cx)``. One bit per voxel instead of a 4-byte offset per voxel, and only the rows between
the first and last one set (a 2D stroke in a z-plane keeps one plane's rows). Written by the
compiled stroke kernel (:mod:`voxwidget.tools.stroke_kernel`), narrowed to the voxels that change and
written by :mod:`voxwidget.labelmap.rowmask_kernel`, kept in undo history atoms and in journal records
(entry mode 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["RowMask", "row_words"]


def row_words(cx: int) -> int:
    """``uint64`` words per bitmap row for chunks ``cx`` voxels wide."""
    return (int(cx) + 63) // 64


@dataclass(frozen=True)
class RowMask:
    """Voxels of one chunk: rows ``row0 …`` of width ``cx`` as ``uint64`` bit words (see above)."""

    row0: int
    bits: np.ndarray
    cx: int
    count: int

    @property
    def nbytes(self) -> int:
        return self.bits.nbytes

    def offsets(self) -> np.ndarray:
        """Flat C-order offsets (uint32, ascending) of the voxels in the nominal chunk shape."""
        words = np.ascontiguousarray(self.bits, "<u8")
        flags = np.unpackbits(words.view(np.uint8), bitorder="little").reshape(words.shape[0], -1)
        rows, xs = np.nonzero(flags[:, : self.cx])
        return ((rows + self.row0) * self.cx + xs).astype(np.uint32)

    def fill(self, flat: np.ndarray, value: np.generic) -> None:
        """Write ``value`` on the voxels in ``flat`` (the chunk's data in the nominal shape, flattened)."""
        from .rowmask_kernel import fill_rows

        fill_rows(flat, self.cx, self.bits, self.row0, value)

    @classmethod
    def from_record(cls, row0: int, bits: np.ndarray, cx: int) -> RowMask:
        """Rebuild from a journal record's row offset, bit words and the chunk width (validated)."""
        if bits.ndim != 2 or bits.dtype != np.dtype("<u8") or bits.shape[1] != row_words(cx):
            raise ValueError(
                f"row mask of dtype {bits.dtype} and shape {bits.shape} does not fit chunks {cx} wide"
            )
        if cx % 64 and (bits[:, -1] >> np.uint64(cx % 64)).any():
            raise ValueError(f"row mask sets voxels past the chunk width {cx}")
        count = int(np.unpackbits(np.ascontiguousarray(bits).view(np.uint8)).sum())
        return cls(int(row0), bits, int(cx), count)
