"""voxwidget: interactive voxel annotation of 3D volumes in Jupyter.

``VoxWidget`` (the notebook widget) and ``LabelMap`` (the authoritative, crash-safe label volume,
usable without a widget) are imported lazily, so ``voxwidget.comm.protocol`` and friends stay light.
``set_chunk_cache_budget(nbytes)`` / ``chunk_cache_budget()`` set and read the bound on the decoded
chunks all widgets of the kernel hold together (default 512 MiB; :mod:`voxwidget.multiscale.chunkcache`).
``meshes(labels, ids)`` gives label surfaces as a ``pythreejs.Group`` (:mod:`voxwidget.surfaces`).
"""

from typing import Any

__all__ = ["LabelMap", "VoxWidget", "chunk_cache_budget", "meshes", "set_chunk_cache_budget"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "VoxWidget":
        from .widget import VoxWidget

        return VoxWidget
    if name == "LabelMap":
        from .labelmap.labelmap import LabelMap

        return LabelMap
    if name == "meshes":  # pythreejs and scikit-image load only when it is called
        from .surfaces import meshes

        return meshes
    if name in ("chunk_cache_budget", "set_chunk_cache_budget"):
        from .multiscale import chunkcache

        return getattr(chunkcache, name)
    raise AttributeError(f"module 'voxwidget' has no attribute {name!r}")
