"""The authoritative label map (DESIGN tiers 2 and 3): :class:`LabelMap`, its edit atoms and undo
history, the write-ahead journal and the zarr chunk store. See ``docs/architecture.md``.

Public names are resolved lazily (PEP 562), so importing one module of this package (the journal,
say) does not import the others; code inside ``voxwidget`` imports the defining module instead.
"""

from ..lazy import lazy_names

__all__ = [
    "BatchRejected",
    "BatchResult",
    "Change",
    "ChunkEdit",
    "EditEvent",
    "LabelMap",
    "NotSavedError",
    "OutOfBoundsError",
    "RegionTooLarge",
]

_WHERE = {
    "LabelMap": "labelmap",
    "BatchRejected": "types",
    "BatchResult": "types",
    "Change": "types",
    "ChunkEdit": "types",
    "NotSavedError": "types",
    "OutOfBoundsError": "types",
    "RegionTooLarge": "types",
    "EditEvent": "events",
}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)
