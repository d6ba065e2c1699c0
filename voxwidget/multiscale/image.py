"""Multiscale images: stored OME-Zarr pyramids, or pyramids computed lazily from one scale.

``open_image`` turns numpy, zarr (v2/v3, or a path/fsspec URL), OME-Zarr (NGFF 0.4 and 0.5) and dask
input into a :class:`MultiscaleImage`: a list of :class:`~voxwidget.multiscale.levels.ImageLevel`,
finest first, each read per region.

Pyramid rule for computed levels
--------------------------------
Level k+1 halves level k along every axis of size > 1, except an axis whose voxel is already at least
twice as large as the smallest voxel size among those axes: it waits until the others catch up (so
(4, 1, 1) µm voxels go (4, 2, 2), (4, 4, 4), (8, 8, 8)…). Levels are added until the largest dimension
is ≤ 64 or ``max_levels`` is reached. A stored pyramid whose coarsest level is still larger is extended
the same way. Computed levels average (``method="mean"``) or take the mode (``"mode"``, for labels);
how they are read and cached: :mod:`voxwidget.multiscale.computed`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import chunkcache
from .blockcache import Cache
from .computed import ComputedLevel
from .downsample import next_factors
from .levels import ImageLevel, Region, Shape3, StoredLevel
from .ome import array_axes, is_zarr_group, ome_levels, open_zarr
from .sampling import fingerprint, robust_limits, sample_level
from .volume import pick_volume

__all__ = ["IMAGE_DTYPES", "MultiscaleImage", "extend_pyramid", "open_image"]

IMAGE_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
MIN_COARSE_SIZE = 64
PYRAMID_CACHE_BYTES = 256 * 2**20
"""Default bound of one image's computed pyramid blocks (within the kernel-wide chunk budget)."""


class MultiscaleImage:
    """A read-only 3D (z, y, x) image at several resolutions, finest first.

    Attributes
    ----------
    levels : list of ImageLevel
        Finest (level 0) first.
    voxel_size : tuple of float
        Physical size of a level-0 voxel; (1, 1, 1) when unknown.
    unit : str or None
        The spatial unit when all three axes agree on one, else None.
    axes : tuple of str
        Names of the spatial axes.
    cache : BlockCache or CacheView
        The LRU holding computed blocks (by default a new namespace of the kernel-wide chunk cache,
        bounded by ``PYRAMID_CACHE_BYTES`` too).
    """

    def __init__(
        self,
        levels: list[ImageLevel],
        *,
        unit: str | None = None,
        axes: Sequence[str] = ("z", "y", "x"),
        cache: Cache | None = None,
    ) -> None:
        if not levels:
            raise ValueError("a multiscale image needs at least one level")
        self.levels = levels
        self.unit = unit
        self.axes = tuple(axes)
        self.cache = cache if cache is not None else chunkcache.view(PYRAMID_CACHE_BYTES)

    @property
    def shape(self) -> Shape3:
        """Level 0's (z, y, x) shape."""
        return self.levels[0].shape  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        """The voxel dtype (every level has it)."""
        return self.levels[0].dtype

    @property
    def voxel_size(self) -> tuple[float, float, float]:
        """Physical size of a level-0 voxel (z, y, x)."""
        return self.levels[0].scale  # type: ignore[return-value]

    @property
    def downsamples(self) -> list[tuple[int, int, int]]:
        """Each level's integer downsampling factors versus level 0."""
        return [lv.downsample for lv in self.levels]  # type: ignore[misc]

    def read(self, region: Region, level: int = 0) -> np.ndarray:
        """The voxels of ``region`` at ``level`` as a numpy array."""
        if not 0 <= level < len(self.levels):
            raise ValueError(f"level {level} does not exist; levels are 0…{len(self.levels) - 1}")
        return self.levels[level].read(region)

    def sample(self, max_voxels: int = 2_000_000, max_chunks: int = 64) -> np.ndarray:
        """An evenly spread subsample of about ``max_voxels`` voxels from the coarsest stored level that
        still has that many, touching at most about ``max_chunks`` chunks (values only; shape unspecified).
        """
        stored = [lv for lv in self.levels if not lv.computed]
        big = [lv for lv in stored if np.prod(lv.shape) >= max_voxels]
        return sample_level(big[-1] if big else stored[0], max_voxels, max_chunks)

    def robust_limits(self, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
        """Contrast limits from percentiles of :meth:`sample`; never an empty range."""
        return robust_limits(self.sample(), low, high)

    def fingerprint(self) -> str:
        """A stable short id: shape, dtype, level shapes and a small strided sample of values."""
        head = (self.shape, self.dtype.str, [lv.shape for lv in self.levels])
        return fingerprint(repr(head), self.sample(65_536, max_chunks=8))

    def __repr__(self) -> str:
        lv = "\n".join(f"  {i}: {level!r}" for i, level in enumerate(self.levels))
        return f"<MultiscaleImage {self.dtype.name} voxel_size={self.voxel_size} unit={self.unit}\n{lv}>"


def extend_pyramid(
    levels: list[ImageLevel], cache: Cache, max_levels: int | None = None, method: str = "mean"
) -> list[ImageLevel]:
    """Append computed levels to ``levels`` until the largest dimension is ≤ 64 or ``max_levels``."""
    if method not in ("mean", "mode"):
        raise ValueError(f"method must be 'mean' or 'mode', got {method!r}")
    if max_levels is not None and max_levels < 1:
        raise ValueError(f"max_levels must be ≥ 1, got {max_levels}")
    while (max_levels is None or len(levels) < max_levels) and max(levels[-1].shape) > MIN_COARSE_SIZE:
        factors = next_factors(levels[-1].shape, levels[-1].scale)
        levels.append(ComputedLevel(levels[-1], factors, cache, method))
    return levels


def open_image(
    data: Any,
    *,
    channel: int | None = None,
    timepoint: int | None = None,
    voxel_size: Sequence[float] | None = None,
    max_levels: int | None = None,
    cache_bytes: int = PYRAMID_CACHE_BYTES,
    method: str = "mean",
    storage_options: dict[str, Any] | None = None,
) -> MultiscaleImage:
    """Open an image source as a :class:`MultiscaleImage`, reading nothing but metadata.

    Parameters
    ----------
    data
        A numpy array; a zarr array or group (zarr v2 or v3); a path or fsspec URL (``"s3://…"``) of
        either; an OME-Zarr multiscale group (NGFF 0.4 or 0.5); a dask array (computed per region only);
        or any array-like with ``shape``, ``dtype`` and numpy slicing.
    channel, timepoint
        Which 3D volume to show of a 4D/5D source. Required when that axis is longer than 1. Without
        axis metadata a 4D array is (c, z, y, x) — or (t, z, y, x) when only ``timepoint`` is given —
        and a 5D one (t, c, z, y, x).
    voxel_size
        Physical (z, y, x) voxel size of level 0; overrides metadata. Default: metadata or (1, 1, 1).
    max_levels
        At most this many levels in all (stored ones included). Default: until ≤ 64 voxels across.
    cache_bytes
        Bound of this image's computed pyramid blocks and plane tiles. They live in the kernel-wide
        chunk cache (:func:`voxwidget.set_chunk_cache_budget`), in the image's own namespace, so the
        kernel-wide budget bounds them too (with every widget's decoded chunks).
    method
        ``"mean"`` for images, ``"mode"`` for label volumes.
    storage_options
        Passed to fsspec when ``data`` is a URL.

    A :class:`MultiscaleImage` is returned as it is.

    Raises
    ------
    ValueError
        For 2D input, an ambiguous 4D/5D one without ``channel``/``timepoint``, an index out of range, an
        unsupported dtype, or a group that is not an OME-Zarr multiscale image.
    """
    if isinstance(data, MultiscaleImage):
        return data
    if isinstance(data, (str, os.PathLike)):
        data = open_zarr(data, storage_options)
    if is_zarr_group(data):
        specs, unit, names = ome_levels(data)
    else:
        if not all(hasattr(data, a) for a in ("shape", "dtype", "__getitem__")):
            data = np.asarray(data)
        specs, unit, names = [(data, array_axes(data), None, None)], None, None
    picked = []
    for arr, axes, scale, translation in specs:
        volume, spatial = pick_volume(arr, axes, channel=channel, timepoint=timepoint)
        sel = lambda v, spatial=spatial: None if v is None else [float(v[i]) for i in spatial]  # noqa: E731
        picked.append((volume, sel(scale), sel(translation)))
    picked.sort(key=lambda p: -int(np.prod(p[0].shape)))  # finest first, whatever the metadata order
    dtype = np.dtype(picked[0][0].dtype)
    if dtype.name not in IMAGE_DTYPES:
        raise ValueError(f"image dtype {dtype.name!r} is not supported; supported: {list(IMAGE_DTYPES)}")
    shape0 = tuple(int(s) for s in picked[0][0].shape)
    if min(shape0) < 1:
        raise ValueError(f"the image must not be empty, got shape {shape0}")
    base = [float(v) for v in voxel_size] if voxel_size is not None else picked[0][1] or [1.0] * 3
    if len(base) != 3 or min(base) <= 0:
        raise ValueError(f"voxel_size must be three positive numbers (z, y, x), got {voxel_size!r}")
    meta0 = picked[0][1] or [1.0] * 3
    levels: list[ImageLevel] = []
    for volume, scale, translation in picked:
        if scale is not None:
            ratio = [s / s0 for s, s0 in zip(scale, meta0, strict=True)]
        else:
            ratio = [n0 / n for n0, n in zip(shape0, volume.shape, strict=True)]
        down = [max(1, round(r)) for r in ratio]
        level_scale = [b * r for b, r in zip(base, ratio, strict=True)]
        levels.append(StoredLevel(volume, level_scale, translation or [0.0] * 3, down))
    cache = chunkcache.view(cache_bytes)
    if max_levels is not None:
        levels = levels[: max(1, max_levels)]
    extend_pyramid(levels, cache, max_levels, method)
    return MultiscaleImage(levels, unit=unit, axes=names or ("z", "y", "x"), cache=cache)
