"""The authoritative label map (DESIGN tiers 2 and 3): :class:`LabelMap`, its edit atoms and undo
history, the write-ahead journal and the zarr chunk store. See ``docs/architecture.md``.

Public names are resolved lazily (PEP 562), so importing one module of this package (the journal,
say) does not import the others; code inside ``voxwidget`` imports the defining module instead.
"""

from typing import Any

__all__ = ["BatchRejected", "BatchResult", "Change", "ChunkEdit", "LabelMap", "OutOfBoundsError"]

_WHERE = {
    "LabelMap": "labelmap",
    "BatchRejected": "types",
    "BatchResult": "types",
    "Change": "types",
    "ChunkEdit": "types",
    "OutOfBoundsError": "types",
}


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'voxwidget.labelmap' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{where}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
