"""Image sources: the read-only volume shown under the labels.

A source is anything 3D with ``shape``, ``dtype`` and numpy-style slicing (numpy arrays, zarr arrays,
dask arrays). It is read per region only, never as a whole.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

IMAGE_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")


class ImageSource:
    """A read-only 3D image, cut into regions on demand.

    Parameters
    ----------
    data
        A 3D array-like with ``shape``, ``dtype`` and ``__getitem__`` (numpy, zarr, dask).

    Raises
    ------
    ValueError
        When ``data`` is not 3D or has a dtype that cannot be displayed.
    """

    def __init__(self, data: Any) -> None:
        if not all(hasattr(data, a) for a in ("shape", "dtype", "__getitem__")):
            data = np.asarray(data)
        shape = tuple(int(s) for s in data.shape)
        if len(shape) != 3:
            raise ValueError(
                f"the image must be 3D (z, y, x), got shape {shape}; pick one volume first, "
                "e.g. image[channel] or image[timepoint]"
            )
        if min(shape) < 1:
            raise ValueError(f"the image must not be empty, got shape {shape}")
        dtype = np.dtype(data.dtype)
        if dtype.name not in IMAGE_DTYPES:
            raise ValueError(f"image dtype {dtype.name!r} is not supported; supported: {list(IMAGE_DTYPES)}")
        self.data = data
        self.shape: tuple[int, int, int] = shape  # type: ignore[assignment]
        self.dtype = dtype

    def read(self, region: tuple[slice, slice, slice]) -> np.ndarray:
        """The voxels in ``region`` (slices with explicit bounds) as a numpy array."""
        out = self.data[region]
        if hasattr(out, "compute"):  # dask
            out = out.compute()
        return np.asarray(out)

    def sample(self, max_voxels: int = 2_000_000) -> np.ndarray:
        """An evenly strided subsample of at most about ``max_voxels`` voxels."""
        total = int(np.prod(self.shape))
        step = max(1, round((total / max_voxels) ** (1 / 3)))
        return self.read(tuple(slice(0, s, step) for s in self.shape))  # type: ignore[arg-type]

    def robust_limits(self, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
        """Contrast limits from percentiles of a subsample; never an empty range."""
        sample = self.sample()
        finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
        if finite.size == 0:
            return (0.0, 1.0)
        lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
        if hi <= lo:
            lo, hi = float(finite.min()), float(finite.max())
        if hi <= lo:
            hi = lo + 1.0
        return (lo, hi)

    def fingerprint(self) -> str:
        """A short id for caching: shape, dtype and a hash of a subsample of the values."""
        h = hashlib.blake2b(digest_size=8)
        h.update(repr((self.shape, self.dtype.str)).encode())
        h.update(np.ascontiguousarray(self.sample(65_536)).tobytes())
        return h.hexdigest()
