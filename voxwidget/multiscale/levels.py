"""One resolution level of a multiscale image: :class:`ImageLevel` (the interface every level has) and
:class:`StoredLevel` (read straight from an array-like). Computed levels are in
:mod:`voxwidget.multiscale.computed`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ome import chunks_of

__all__ = ["DEFAULT_BLOCK", "MAX_BLOCK", "ImageLevel", "Region", "Shape3", "StoredLevel", "normalize_region"]

Region = tuple[slice, slice, slice]
Shape3 = tuple[int, int, int]
DEFAULT_BLOCK = 64
MAX_BLOCK = 256


def normalize_region(region: Sequence[slice], shape: Shape3) -> list[tuple[int, int, int]]:
    if len(region) != 3 or not all(isinstance(r, slice) for r in region):
        raise ValueError(f"region must be three slices (z, y, x), got {region!r}")
    return [r.indices(n) for r, n in zip(region, shape, strict=True)]


class ImageLevel:
    """One resolution level of a :class:`~voxwidget.multiscale.image.MultiscaleImage`.

    Attributes
    ----------
    shape : tuple of int
        (z, y, x) size in voxels.
    dtype : numpy.dtype
    scale : tuple of float
        Physical size of one voxel of this level (z, y, x).
    translation : tuple of float
        Physical position of voxel (0, 0, 0)'s centre.
    downsample : tuple of int
        Integer factors versus level 0, per axis.
    chunks : tuple of int or None
        The source's storage chunking (None for numpy and computed levels).
    block_shape : tuple of int
        The read granularity the level works in (chunks, capped; the cache grid for computed levels).
    computed : bool
        Whether the level is computed on demand rather than stored.
    """

    computed = False

    def __init__(
        self,
        shape: Shape3,
        dtype: np.dtype,
        scale: Sequence[float],
        translation: Sequence[float],
        downsample: Sequence[int],
        chunks: Shape3 | None,
        block_shape: Shape3,
    ) -> None:
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.scale = tuple(float(s) for s in scale)
        self.translation = tuple(float(t) for t in translation)
        self.downsample = tuple(int(d) for d in downsample)
        self.chunks = chunks
        self.block_shape = block_shape

    def read(self, region: Region) -> np.ndarray:
        """The voxels in ``region`` (three slices, clipped like numpy slicing) as a numpy array."""
        raise NotImplementedError

    def __repr__(self) -> str:
        kind = "computed" if self.computed else "stored"
        return f"<ImageLevel {kind} shape={self.shape} downsample={self.downsample} scale={self.scale}>"


class StoredLevel(ImageLevel):
    """A level read straight from an array-like (numpy, zarr, dask, or a 3D view of an n-D one)."""

    def __init__(self, data: Any, scale: Sequence[float], translation: Sequence[float], downsample) -> None:
        chunks = chunks_of(data)
        block = tuple(min(c, MAX_BLOCK) for c in chunks) if chunks else (DEFAULT_BLOCK,) * 3
        dtype = np.dtype(data.dtype).newbyteorder("=")
        super().__init__(data.shape, dtype, scale, translation, downsample, chunks, block)
        self.data = data

    def read(self, region: Region) -> np.ndarray:
        """The voxels in ``region``; dask results are computed for that region only."""
        normalize_region(region, self.shape)
        out = self.data[tuple(region)]
        if hasattr(out, "compute"):
            out = out.compute()
        out = np.asarray(out)
        return out if out.dtype == self.dtype else out.astype(self.dtype)
