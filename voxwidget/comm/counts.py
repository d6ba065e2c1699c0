"""Label counts for the views' label panel: ``labels.counts`` messages.

The counts come from ``LabelMap.label_counts()``, which the label map keeps up to date from each
edit's old and new values (it never scans the volume). :class:`CountNotices` sends them whole when a
view says hello and, after the coalesced change notices (:mod:`voxwidget.comm.changes`), only the ids
whose count changed since the last message (count 0: no longer in use). Background (0) is left out.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap
    from .serving import Send

__all__ = ["MAX_IDS", "CountNotices"]

MAX_IDS = 200_000
"""Ids per ``labels.counts`` message (~20 bytes each in JSON: well under the 8 MiB limit); more are
split over several messages."""


class CountNotices:
    """Announces one label map's label counts to one endpoint's views.

    Parameters
    ----------
    labels
        The label map (``label_counts()``).
    send
        ``send(kind, buffers=(), **fields)``: builds and delivers a message.
    """

    def __init__(self, labels: LabelMap, send: Send) -> None:
        self.labels = labels
        self._send = send
        self._sent: dict[int, int] = {}
        self._joined = False  # no view said hello yet: nothing to tell
        self._lock = threading.Lock()  # one message at a time, so deltas apply in order

    def _counts(self) -> dict[int, int]:
        return {int(k): int(v) for k, v in self.labels.label_counts().items() if int(k) != 0 and v}

    def full(self) -> None:
        """Send every id in use with its count (a view joined)."""
        with self._lock:
            counts = self._counts()
            self._sent = counts
            self._joined = True
            self._announce(sorted(counts.items()), full=True)

    def changed(self) -> None:
        """Send the ids whose count changed since the last message (nothing when none did, or
        before any view joined)."""
        with self._lock:
            if not self._joined:
                return
            counts = self._counts()
            items = [(k, v) for k, v in counts.items() if self._sent.get(k) != v]
            items += [(k, 0) for k in self._sent if k not in counts]
            self._sent = counts
            if items:
                self._announce(sorted(items), full=False)

    def _announce(self, items: list[tuple[int, int]], *, full: bool) -> None:
        for start in range(0, max(len(items), 1), MAX_IDS):
            part = items[start : start + MAX_IDS]
            self._send(
                "labels.counts",
                labels=[str(k) for k, _ in part],
                counts=[v for _, v in part],
                full=full and start == 0,
            )
