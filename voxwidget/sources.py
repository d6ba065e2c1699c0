"""Image sources: the read-only volume shown under the labels.

A source is anything 3D with ``shape``, ``dtype`` and numpy-style slicing (numpy arrays, zarr arrays,
dask arrays), a zarr path or URL, or an OME-Zarr multiscale group. It is read per region only, never as
a whole. This module holds the input side (opening stores, OME-Zarr metadata, picking a 3D volume out of
an n-D one, sampling); :mod:`voxwidget.multiscale` builds the levels. :class:`ImageSource` is the
single-scale face of a :class:`~voxwidget.multiscale.MultiscaleImage` (its level 0).
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .multiscale import ImageLevel

IMAGE_DTYPES = ("uint8", "uint16", "int16", "uint32", "int32", "float32", "float64")
Axis = tuple[str, str | None, str | None]  # name, type ("space" | "channel" | "time" | other), unit
_ROLE_BY_NAME = {"z": "space", "y": "space", "x": "space", "c": "channel", "channel": "channel"}
_ROLE_BY_NAME |= {"t": "time", "time": "time"}


# ---- opening -------------------------------------------------------------------------------------


def open_zarr(path: str | os.PathLike, storage_options: dict[str, Any] | None = None) -> Any:
    """``zarr.open`` in read mode: a zarr array or group. URLs (``s3://…``) go through fsspec."""
    import zarr

    kwargs: dict[str, Any] = {"mode": "r"}
    if storage_options:
        kwargs["storage_options"] = storage_options
    try:
        return zarr.open(store=os.fspath(path), **kwargs)
    except FileNotFoundError as e:
        raise ValueError(f"no zarr array or group at {os.fspath(path)!r}") from e


def is_zarr_group(obj: Any) -> bool:
    """Whether ``obj`` is a ``zarr.Group``."""
    import zarr

    return isinstance(obj, zarr.Group)


def chunks_of(arr: Any) -> tuple[int, ...] | None:
    """Storage chunk shape of ``arr`` (zarr ``chunks``, dask ``chunksize``), or None for numpy."""
    cs = getattr(arr, "chunksize", None)
    if cs is None:
        cs = getattr(arr, "chunks", None)
    if cs is None:
        return None
    if any(isinstance(c, tuple) for c in cs):  # dask/xarray block sizes per axis
        cs = tuple(max(c) if c else 1 for c in cs)
    return tuple(int(c) for c in cs)


def array_axes(arr: Any) -> list[Axis] | None:
    """Axes from an xarray-like ``dims`` or a zarr v3 array's ``dimension_names``, else None."""
    dims = getattr(arr, "dims", None)
    if dims is None:
        dims = getattr(getattr(arr, "metadata", None), "dimension_names", None)
    if dims is not None and not all(str(d).lower() in _ROLE_BY_NAME for d in dims):
        return None  # unknown names say nothing: fall back to positional rules
    if dims is None or len(dims) != len(arr.shape):
        return None
    return [(str(d), None, None) for d in dims]


def _parse_axes(raw: Any) -> list[Axis] | None:
    if raw is None:
        return None
    axes = []
    for a in raw:
        if isinstance(a, str):  # NGFF 0.3
            axes.append((a, None, None))
        else:
            axes.append((str(a["name"]), a.get("type"), a.get("unit")))
    return axes


def _transforms(raw: Any, where: str) -> tuple[list[float] | None, list[float] | None]:
    scale = translation = None
    for t in raw or []:
        if t.get("type") == "scale":
            if "scale" not in t:
                raise ValueError(f"{where}: scale transformations by 'path' are not supported: {t}")
            scale = [float(v) for v in t["scale"]]
        elif t.get("type") == "translation":
            if "translation" not in t:
                raise ValueError(f"{where}: translations by 'path' are not supported: {t}")
            translation = [float(v) for v in t["translation"]]
    return scale, translation


def ome_levels(group: Any) -> tuple[list[tuple[Any, Any, Any, Any]], str | None, tuple[str, ...] | None]:
    """Datasets of an OME-Zarr multiscale group (NGFF 0.4 ``multiscales`` or 0.5 ``ome.multiscales``).

    Returns
    -------
    specs
        ``(array, axes, scale, translation)`` per dataset; scale/translation are full-length (all axes),
        the multiscale's own transformations already applied, None when absent.
    unit
        The unit shared by the spatial axes, or None.
    names
        Names of the spatial axes, or None.
    """
    attrs = group.attrs.asdict()
    meta = attrs["ome"] if isinstance(attrs.get("ome"), dict) else attrs
    ms = meta.get("multiscales")
    if not ms:
        if "bioformats2raw.layout" in meta and "0" in group:
            return ome_levels(group["0"])
        raise ValueError(
            f"the zarr group at {group.store_path} has no OME-Zarr 'multiscales' metadata "
            f"(members: {sorted(group.keys())}); open one of its arrays instead"
        )
    m = ms[0]
    axes = _parse_axes(m.get("axes"))
    g_scale, g_trans = _transforms(m.get("coordinateTransformations"), "multiscales")
    specs = []
    for ds in m["datasets"]:
        path = ds["path"]
        if path not in group:
            raise ValueError(f"OME-Zarr dataset path {path!r} is missing from {group.store_path}")
        scale, trans = _transforms(ds.get("coordinateTransformations"), f"dataset {path!r}")
        if g_scale is not None:
            base = scale or [1.0] * len(g_scale)
            trans = [gs * t for gs, t in zip(g_scale, trans, strict=True)] if trans else None
            scale = [gs * s for gs, s in zip(g_scale, base, strict=True)]
        if g_trans is not None:
            trans = [gt + t for gt, t in zip(g_trans, trans or [0.0] * len(g_trans), strict=True)]
        specs.append((group[path], axes, scale, trans))
    unit = names = None
    if axes:
        spatial = [a for a in axes if (a[1] or _ROLE_BY_NAME.get(a[0].lower())) == "space"]
        names = tuple(a[0] for a in spatial)
        units = {a[2] for a in spatial}
        unit = units.pop() if len(units) == 1 else None
    return specs, unit, names


# ---- picking a 3D volume -------------------------------------------------------------------------


class Volume3D:
    """A lazy (z, y, x) view of an n-D array with its other axes fixed; read per region only."""

    def __init__(self, data: Any, index: Sequence[int | None], spatial: Sequence[int]) -> None:
        self.data, self._index, self._spatial = data, list(index), list(spatial)
        self.shape = tuple(int(data.shape[i]) for i in spatial)
        self.dtype = np.dtype(data.dtype)
        full = chunks_of(data)
        self.chunks = tuple(full[i] for i in spatial) if full else None

    def __getitem__(self, region: tuple[slice, slice, slice]) -> Any:
        full: list[Any] = list(self._index)
        for pos, r in zip(self._spatial, region, strict=True):
            full[pos] = r
        return self.data[tuple(full)]


def pick_volume(
    arr: Any, axes: list[Axis] | None, *, channel: int | None, timepoint: int | None
) -> tuple[Any, list[int]]:
    """The 3D (z, y, x) volume of ``arr`` chosen by ``channel``/``timepoint`` and its spatial axes.

    Axes of size 1 are picked without asking. See :func:`voxwidget.multiscale.open_image`.
    """
    shape = tuple(int(s) for s in arr.shape)
    nd = len(shape)
    if axes is None:
        if nd < 3:
            raise ValueError(f"the image must be 3D (z, y, x), got {nd}D shape {shape}")
        if nd > 5:
            raise ValueError(f"the image must be 3D (z, y, x), got {nd}D shape {shape}; slice it first")
        first = "time" if (timepoint is not None and channel is None) else "channel"
        roles = {3: [], 4: [first], 5: ["time", "channel"]}[nd] + ["space"] * 3
        names = [{"time": "t", "channel": "c"}.get(r, "zyx"[i - nd + 3]) for i, r in enumerate(roles)]
    else:
        if len(axes) != nd:
            raise ValueError(f"the image's axes {[a[0] for a in axes]} do not match its shape {shape}")
        roles = [a[1] or _ROLE_BY_NAME.get(a[0].lower(), "custom") for a in axes]
        names = [a[0] for a in axes]
    desc = ", ".join(names)
    spatial = [i for i, r in enumerate(roles) if r == "space"]
    if len(spatial) != 3:
        raise ValueError(
            f"the image must have 3 spatial axes (z, y, x), got shape {shape} with axes ({desc}), "
            f"{len(spatial)} of them spatial"
        )
    index: list[int | None] = []
    used = set()
    for i, role in enumerate(roles):
        if role == "space":
            index.append(None)
            continue
        arg = {"channel": "channel", "time": "timepoint"}.get(role)
        want = {"channel": channel, "timepoint": timepoint}.get(arg) if arg else None
        if want is None:
            if shape[i] == 1:
                index.append(0)
                continue
            if arg is None:
                raise ValueError(
                    f"axis {names[i]!r} ({role}, size {shape[i]}) of the image with shape {shape} and "
                    f"axes ({desc}) cannot be chosen here; slice the array to 3D first"
                )
            raise ValueError(
                f"the image has shape {shape} with axes ({desc}); pass {arg}= (0…{shape[i] - 1}) "
                f"to pick one 3D volume"
            )
        if not 0 <= int(want) < shape[i]:
            raise ValueError(f"{arg}={want} is out of range for axis {names[i]!r} of size {shape[i]}")
        used.add(arg)
        index.append(int(want))
    for arg, val in (("channel", channel), ("timepoint", timepoint)):
        if val is not None and arg not in used:
            raise ValueError(
                f"{arg}={val} was given but the image (shape {shape}, axes ({desc})) has no such axis"
            )
    if nd == 3:
        return arr, spatial
    return Volume3D(arr, index, spatial), spatial


# ---- sampling ------------------------------------------------------------------------------------


def sample_level(level: ImageLevel, max_voxels: int, max_chunks: int) -> np.ndarray:
    """About ``max_voxels`` voxels of ``level``, evenly strided, touching about ``max_chunks`` chunks.

    Unchunked levels (numpy) get one strided read. A chunked level whose strided read would touch more
    than ``max_chunks`` chunks is sampled in an evenly spread subset of its chunks instead (1D result).
    """
    shape = level.shape
    step = max(1, round((float(np.prod(shape)) / max_voxels) ** (1 / 3)))
    strided = tuple(slice(0, n, step) for n in shape)
    chunks = level.chunks
    if chunks is None:
        return level.read(strided)  # type: ignore[arg-type]
    touched = np.prod(
        [len(np.unique(np.arange(0, n, step) // c)) for n, c in zip(shape, chunks, strict=True)]
    )
    if touched <= max_chunks:
        return level.read(strided)  # type: ignore[arg-type]
    per_axis = max(1, round(max_chunks ** (1 / 3)))
    grid = [-(-n // c) for n, c in zip(shape, chunks, strict=True)]
    picks = [np.unique(np.linspace(0, g - 1, min(g, per_axis)).round().astype(int)) for g in grid]
    chosen = list(itertools.product(*picks))
    budget = max_voxels / len(chosen)
    parts = []
    for key in chosen:
        bounds = [(k * c, min((k + 1) * c, n)) for k, c, n in zip(key, chunks, shape, strict=True)]
        s = max(1, round((np.prod([b - a for a, b in bounds]) / budget) ** (1 / 3)))
        parts.append(level.read(tuple(slice(a, b, s) for a, b in bounds)).ravel())  # type: ignore[arg-type]
    return np.concatenate(parts)


def robust_limits(sample: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Contrast limits from percentiles of ``sample``; never an empty range."""
    finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return (lo, hi)


def fingerprint(head: str, sample: np.ndarray) -> str:
    """A 16-hex-digit hash of ``head`` and ``sample``'s values."""
    h = hashlib.blake2b(digest_size=8)
    h.update(head.encode())
    h.update(np.ascontiguousarray(sample).tobytes())
    return h.hexdigest()


# ---- the single-scale face -----------------------------------------------------------------------


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
        from .multiscale import MultiscaleImage, open_image

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


__all__ = ["IMAGE_DTYPES", "ImageSource", "open_zarr", "pick_volume", "sample_level"]
