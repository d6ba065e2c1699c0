"""Zarr v3 arrays written chunk file by chunk file (bytes + blosc/lz4), as the exporters need them:
no locks, no event loop, picklable (dask workers write their own chunks), all-zero chunks not stored.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numcodecs
import numpy as np

__all__ = ["ArrayOut", "labels_in"]


class ArrayOut:
    """One zarr v3 array being written by the exporters.

    Parameters
    ----------
    path : path-like
        The array's directory.
    shape, chunks : 3 ints
        Array and chunk shape.
    dtype : dtype
        Voxel dtype.
    shuffle : bool
        Byte-shuffle before LZ4 (images); labels compress better without it.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        shape: Sequence[int],
        chunks: Sequence[int],
        dtype: Any,
        shuffle: bool = False,
    ) -> None:
        self.path = str(path)
        self.shape = tuple(int(s) for s in shape)
        self.chunks = tuple(int(c) for c in chunks)
        self.dtype = np.dtype(dtype)
        self.shuffle = bool(shuffle)
        self.grid = tuple(-(-s // c) for s, c in zip(self.shape, self.chunks, strict=True))

    def __reduce__(self) -> tuple:
        return (ArrayOut, (self.path, self.shape, self.chunks, self.dtype.str, self.shuffle))

    @property
    def _codec(self) -> numcodecs.Blosc:
        return numcodecs.Blosc(cname="lz4", clevel=5, shuffle=1 if self.shuffle else 0)

    def create(self, dimension_names: Sequence[str] = ("z", "y", "x")) -> None:
        """Write the array's ``zarr.json`` (through zarr itself, so the metadata is what zarr writes)."""
        import zarr
        from zarr.codecs import BloscCodec

        zarr.create_array(
            store=self.path,
            shape=self.shape,
            chunks=self.chunks,
            dtype=self.dtype,
            fill_value=0,
            compressors=[
                BloscCodec(cname="lz4", clevel=5, shuffle="shuffle" if self.shuffle else "noshuffle")
            ],
            dimension_names=list(dimension_names),
            zarr_format=3,
        )

    def chunk_file(self, key: Sequence[int]) -> str:
        return os.path.join(self.path, "c", *(str(int(k)) for k in key))

    def box(self, key: Sequence[int]) -> tuple[list[int], list[int]]:
        """The array region ``lo:hi`` of chunk ``key``."""
        lo = [int(k) * c for k, c in zip(key, self.chunks, strict=True)]
        return lo, [min(a + c, s) for a, c, s in zip(lo, self.chunks, self.shape, strict=True)]

    def write(self, key: Sequence[int], data: np.ndarray) -> int:
        """Store chunk ``key`` (``data`` clipped to the array, any shape up to the chunk's); an all-zero
        chunk is not stored. Returns the bytes written."""
        if not np.count_nonzero(data):
            return 0
        full = data.astype(self.dtype, copy=False)
        if full.shape != self.chunks:
            full = np.zeros(self.chunks, self.dtype)
            full[tuple(slice(0, n) for n in data.shape)] = data
        buf = self._codec.encode(np.ascontiguousarray(full))
        f = self.chunk_file(key)
        os.makedirs(os.path.dirname(f), exist_ok=True)
        with open(f, "wb") as fh:
            fh.write(buf)
        return len(buf)

    def read_chunk(self, key: Sequence[int]) -> np.ndarray | None:
        """Chunk ``key`` in its nominal shape, or None when not stored."""
        try:
            buf = Path(self.chunk_file(key)).read_bytes()
        except FileNotFoundError:
            return None
        return np.frombuffer(self._codec.decode(buf), self.dtype).reshape(self.chunks)

    def read_box(
        self, lo: Sequence[int], hi: Sequence[int], *, none_if_empty: bool = False
    ) -> np.ndarray | None:
        """The voxels of the box ``lo:hi`` (inside the array); None when ``none_if_empty`` and no
        chunk under it is stored."""
        c = self.chunks
        first = [a // cc for a, cc in zip(lo, c, strict=True)]
        last = [(b - 1) // cc for b, cc in zip(hi, c, strict=True)]
        parts = []
        for idx in np.ndindex(*[m - f + 1 for f, m in zip(first, last, strict=True)]):
            key = [i + f for i, f in zip(idx, first, strict=True)]
            data = self.read_chunk(key)
            if data is not None:
                parts.append((key, data))
        if not parts and none_if_empty:
            return None
        out = np.zeros([b - a for a, b in zip(lo, hi, strict=True)], self.dtype)
        for key, data in parts:
            a = [max(x, k * cc) for x, k, cc in zip(lo, key, c, strict=True)]
            b = [min(y, (k + 1) * cc) for y, k, cc in zip(hi, key, c, strict=True)]
            out[tuple(slice(x - y, z - y) for x, z, y in zip(a, b, lo, strict=True))] = data[
                tuple(slice(x - k * cc, z - k * cc) for x, z, k, cc in zip(a, b, key, c, strict=True))
            ]
        return out


def labels_in(data: np.ndarray) -> np.ndarray:
    """The distinct non-zero labels of ``data`` (sorted), fast on label data: only the first voxel of
    each run along the last axis can be new."""
    flat = data.reshape(-1)
    if flat.size == 0:
        return flat[:0]
    heads = np.empty(flat.size, bool)
    heads[0] = True
    np.not_equal(flat[1:], flat[:-1], out=heads[1:])
    u = np.unique(flat[heads])
    return u[u != 0]
