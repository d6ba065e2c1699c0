"""Image sources: the read-only volume shown under the labels.

A source is anything 3D with ``shape``, ``dtype`` and numpy-style slicing (numpy arrays, zarr arrays,
dask arrays), a zarr path or URL, or an OME-Zarr multiscale group. It is read per region only, never as
a whole. :class:`ImageSource` is the single-scale face of a
:class:`~voxwidget.multiscale.image.MultiscaleImage` (its level 0), which
:func:`~voxwidget.multiscale.image.open_image` builds from any of those inputs (opening stores and
reading their metadata: :mod:`voxwidget.multiscale.ome`; picking a 3D volume out of an n-D one:
:mod:`voxwidget.multiscale.volume`; sampling: :mod:`voxwidget.multiscale.sampling`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .image import MultiscaleImage, open_image
from .levels import ImageLevel

__all__ = ["ImageSource"]


class ImageSource:
    """A read-only 3D image, cut into regions on demand (level 0 of a multiscale image).

    Parameters
    ----------
    data
        Anything :func:`voxwidget.multiscale.open_image` accepts (a 3D array-like with ``shape``,
        ``dtype`` and ``__getitem__``: numpy, zarr, dask; a zarr path or URL; an OME-Zarr group), or a
        :class:`~voxwidget.multiscale.MultiscaleImage`.
    channel, timepoint
        Which 3D volume of a 4D/5D source to show.

    Raises
    ------
    ValueError
        When ``data`` is not 3D (and no ``channel``/``timepoint`` picks a 3D volume) or has a dtype that
        cannot be displayed.
    """

    def __init__(self, data: Any, *, channel: int | None = None, timepoint: int | None = None) -> None:
        if isinstance(data, MultiscaleImage):
            self.multiscale = data
        else:
            self.multiscale = open_image(data, channel=channel, timepoint=timepoint)
        #: whether this source opened its multiscale image (so its computed-pyramid cache is this
        #: source's alone), rather than being given one that others may share
        self.owns_multiscale = not isinstance(data, MultiscaleImage)
        level0 = self.multiscale.levels[0]
        self.data = getattr(level0, "data", level0)
        self.shape: tuple[int, int, int] = self.multiscale.shape
        self.dtype = self.multiscale.dtype

    @property
    def levels(self) -> list[ImageLevel]:
        """The multiscale levels, finest first."""
        return self.multiscale.levels

    def read(self, region: tuple[slice, slice, slice]) -> np.ndarray:
        """The voxels in ``region`` (slices with explicit bounds) as a numpy array."""
        return self.multiscale.levels[0].read(region)

    def sample(self, max_voxels: int = 2_000_000) -> np.ndarray:
        """An evenly spread subsample of about ``max_voxels`` voxels."""
        return self.multiscale.sample(max_voxels)

    def robust_limits(self, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
        """Contrast limits from percentiles of a subsample; never an empty range."""
        return self.multiscale.robust_limits(low, high)

    def fingerprint(self) -> str:
        """A short id for caching: shape, dtype, level shapes and a hash of a subsample of the values."""
        return self.multiscale.fingerprint()
