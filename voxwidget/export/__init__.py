"""Exports of the label map: OME-Zarr (NGFF 0.5) label and image pyramids, NanoVDB grids, dask arrays
and pyramid levels as numpy.

Every export reads the map through a snapshot (:mod:`voxwidget.export.snapshot`), so edits made while
it runs do not tear it, and streams chunk by chunk. The public faces are :class:`LabelMap` methods
(``to_ome_zarr``, ``to_nanovdb``, ``to_dask``, ``to_numpy(level=)``); public names here resolve lazily
(PEP 562).
"""

from ..lazy import lazy_names

__all__ = ["level_shapes", "to_dask", "to_nanovdb", "to_ome_zarr"]

_WHERE = {
    "level_shapes": "pyramid",
    "to_dask": "dask_array",
    "to_nanovdb": "nanovdb",
    "to_ome_zarr": "ome",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)
