"""voxwidget: interactive voxel annotation of 3D volumes in Jupyter.

``VoxWidget`` (the notebook widget) and ``LabelMap`` (the authoritative, crash-safe label volume,
usable without a widget) are imported lazily, so ``voxwidget.comm.protocol`` and friends stay light.
``set_chunk_cache_budget(nbytes)`` / ``chunk_cache_budget()`` set and read the bound on the decoded
chunks all widgets of the kernel hold together (default 512 MiB; :mod:`voxwidget.multiscale.chunkcache`).
"""

from typing import Any

__all__ = ["LabelMap", "VoxWidget", "chunk_cache_budget", "set_chunk_cache_budget"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "VoxWidget":
        from .widget import VoxWidget

        return VoxWidget
    if name == "LabelMap":
        from .labelmap.labelmap import LabelMap

        return LabelMap
    if name in ("chunk_cache_budget", "set_chunk_cache_budget"):
        from .multiscale import chunkcache

        return getattr(chunkcache, name)
    raise AttributeError(f"module 'voxwidget' has no attribute {name!r}")
