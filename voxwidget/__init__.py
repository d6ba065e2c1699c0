"""voxwidget: interactive voxel annotation of 3D volumes in Jupyter.

``VoxWidget`` (the notebook widget) and ``LabelMap`` (the authoritative, crash-safe label volume,
usable without a widget) are imported lazily, so ``voxwidget.protocol`` and friends stay light.
"""

from typing import Any

__all__ = ["LabelMap", "VoxWidget"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "VoxWidget":
        from .widget import VoxWidget

        return VoxWidget
    if name == "LabelMap":
        from .labelmap import LabelMap

        return LabelMap
    raise AttributeError(f"module 'voxwidget' has no attribute {name!r}")
