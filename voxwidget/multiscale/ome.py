"""Opening image stores and reading what their metadata say: zarr arrays and groups (also by path or
fsspec URL), OME-Zarr multiscale groups (NGFF 0.4 ``multiscales`` and 0.5 ``ome.multiscales``), the axis
names of xarray-like and zarr v3 arrays, and an array's storage chunking.

Nothing here reads voxels. :mod:`voxwidget.multiscale.volume` picks the 3D volume out of what this finds,
:func:`voxwidget.multiscale.image.open_image` builds the levels.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["ROLE_BY_NAME", "Axis", "array_axes", "chunks_of", "is_zarr_group", "ome_levels", "open_zarr"]

Axis = tuple[str, str | None, str | None]  # name, type ("space" | "channel" | "time" | other), unit
ROLE_BY_NAME = {"z": "space", "y": "space", "x": "space", "c": "channel", "channel": "channel"}
ROLE_BY_NAME |= {"t": "time", "time": "time"}


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
    if dims is not None and not all(str(d).lower() in ROLE_BY_NAME for d in dims):
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
        spatial = [a for a in axes if (a[1] or ROLE_BY_NAME.get(a[0].lower())) == "space"]
        names = tuple(a[0] for a in spatial)
        units = {a[2] for a in spatial}
        unit = units.pop() if len(units) == 1 else None
    return specs, unit, names
