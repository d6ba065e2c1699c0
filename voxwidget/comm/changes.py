"""Change notices: the label map's changes, coalesced into ``chunks.changed`` messages.

Every change of the label map (a browser batch, a Python-side edit, undo, redo) reaches
:class:`ChangeNotices` through ``LabelMap.subscribe``, on the thread that made it. Changes are
collected per chunk and announced at most every :data:`CHANGE_FLUSH_SECONDS` from a timer thread: the
level-0 keys with their new versions (one notice per origin: the batch id of a browser edit, none for
Python; a chunk changed from two origins in one window is announced without origin, so every view
refreshes it), then for each coarse level the new versions of the label tiles over them (no origin;
see :mod:`voxwidget.comm.coarse`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..grid import grid_shape

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap
    from .coarse import CoarseLabels
    from .serving import Send

__all__ = ["CHANGE_FLUSH_SECONDS", "ChangeNotices"]

Key = tuple[int, int, int]

CHANGE_FLUSH_SECONDS = 0.02
"""Python-side edits are announced at most this often, so a loop of small edits cannot push the
server past its 1000 messages/s limit."""


class ChangeNotices:
    """Announces one label map's changes to one endpoint's views, coalesced.

    Parameters
    ----------
    labels
        The label map; subscribed to at once, until :meth:`close`.
    coarse
        The endpoint's coarse label levels: their shapes, and the versions they remember (dropped for
        the changed chunks, then summed again for the notices).
    send
        ``send(kind, buffers=(), **fields)``: builds and delivers a message.
    after_flush
        Called after each flush's notices went out (the endpoint sends the changed label counts).
    """

    def __init__(
        self,
        labels: LabelMap,
        coarse: CoarseLabels,
        send: Send,
        after_flush: Callable[[], None] | None = None,
    ) -> None:
        self.labels = labels
        self._coarse = coarse
        self._send = send
        self._after_flush = after_flush
        self._changes: dict[Key, tuple[int, str | None]] = {}
        self._flush_timer: threading.Timer | None = None
        self._lock = threading.Lock()  # guards _changes and _flush_timer
        self._unsubscribe = labels.subscribe(self._on_change)

    def close(self) -> None:
        """Stop listening to the label map and drop the pending flush."""
        self._unsubscribe()
        with self._lock:
            if self._flush_timer is not None:
                self._flush_timer.cancel()

    def flush(self) -> None:
        """Send pending change notices now (tests and shutdown)."""
        with self._lock:
            timer = self._flush_timer
        if timer is not None:
            timer.cancel()
            self._flush_changes()

    def _on_change(self, change: Any) -> None:
        keys = [tuple(k) for k in change.keys]
        self._coarse.forget(keys)  # type: ignore[arg-type]
        with self._lock:
            for key, version in zip(keys, change.versions, strict=True):
                origin = change.origin
                if key in self._changes and self._changes[key][1] != origin:
                    origin = None  # mixed sources in one window: every view must refresh this chunk
                self._changes[key] = (version, origin)  # type: ignore[index]
            if self._flush_timer is None:
                self._flush_timer = threading.Timer(CHANGE_FLUSH_SECONDS, self._flush_changes)
                self._flush_timer.daemon = True
                self._flush_timer.start()

    def _flush_changes(self) -> None:
        with self._lock:
            changes, self._changes, self._flush_timer = self._changes, {}, None
        by_origin: dict[str | None, list[tuple[Key, int]]] = {}
        for key, (version, origin) in sorted(changes.items()):
            by_origin.setdefault(origin, []).append((key, version))
        for origin, items in by_origin.items():
            self._announce(0, items, origin)
        levels, c = self._coarse, self.labels.chunk_shape
        levels.forget(list(changes))
        for level in range(1, len(levels.levels)):
            grid = grid_shape(levels.level_shape(level), c)
            coarse = sorted(levels.coarse_keys(level, changes))
            coarse = [k for k in coarse if all(a < g for a, g in zip(k, grid, strict=True))]
            self._announce(level, [(k, levels.version(level, k)) for k in coarse], None)
        if self._after_flush is not None:
            self._after_flush()

    def _announce(self, level: int, items: list, origin: str | None) -> None:
        for start in range(0, len(items), 4096):
            part = items[start : start + 4096]
            self._send(
                "chunks.changed",
                layer="labels",
                level=level,
                keys=[list(k) for k, _ in part],
                versions=[v for _, v in part],
                origin=origin,
            )
