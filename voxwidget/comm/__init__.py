"""The kernel side of the wire protocol: the one protocol definition on the Python side
(:mod:`~voxwidget.comm.protocol`), tile encoding and reply packing (:mod:`~voxwidget.comm.tiles`), and
the endpoint that answers a widget's views (:mod:`~voxwidget.comm.endpoint`), with its tile server
(:mod:`~voxwidget.comm.serving`), coarse label levels (:mod:`~voxwidget.comm.coarse`) and change
notices (:mod:`~voxwidget.comm.changes`). See ``docs/architecture.md``.

Public names are resolved lazily (PEP 562), so importing one module of this package (the protocol,
say) does not import the others; code inside ``voxwidget`` imports the defining module instead.
"""

from ..lazy import lazy_names

__all__ = ["Endpoint"]

_WHERE = {"Endpoint": "endpoint"}
__getattr__, __dir__ = lazy_names(__name__, _WHERE)
