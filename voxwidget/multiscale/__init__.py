"""Image sources and multiscale reading: opening numpy, zarr, OME-Zarr and dask input
(:mod:`~voxwidget.multiscale.ome`, :mod:`~voxwidget.multiscale.volume`), its levels, stored or computed
on demand (:mod:`~voxwidget.multiscale.levels`, :mod:`~voxwidget.multiscale.computed`,
:mod:`~voxwidget.multiscale.image`), the downsampling and the byte-bounded caches under them
(:mod:`~voxwidget.multiscale.downsample`, :mod:`~voxwidget.multiscale.blockcache`,
:mod:`~voxwidget.multiscale.chunkcache`), the widget's single-scale face of an image
(:mod:`~voxwidget.multiscale.sources`) and the level-of-detail arithmetic the browser mirrors
(:mod:`~voxwidget.multiscale.lod`). See ``docs/architecture.md``.

Public names (``from voxwidget.multiscale import open_image``) are resolved lazily (PEP 562), so
importing one module of this package does not import the others; code inside ``voxwidget`` imports the
defining module instead.
"""

from ..lazy import lazy_names

__all__ = ["IMAGE_DTYPES", "ImageLevel", "MultiscaleImage", "next_factors", "open_image"]

_WHERE = {
    "IMAGE_DTYPES": "image",
    "ImageLevel": "levels",
    "MultiscaleImage": "image",
    "next_factors": "downsample",
    "open_image": "image",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)
