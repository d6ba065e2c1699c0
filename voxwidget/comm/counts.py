"""Label counts for the views' label panel: ``labels.counts`` messages.

The counts come from ``LabelMap.label_counts()``, which the label map keeps up to date from each
edit's old and new values (it never scans the volume). :class:`CountNotices` sends them whole when a
view says hello and, after the coalesced change notices (:mod:`voxwidget.comm.changes`), only the ids
whose count changed since the last message (count 0: no longer in use). Background (0) is left out.

Reading and diffing the counts costs time in the number of ids in use (measured: ~35 ms for 10,000
ids, ~250 ms for 100,000), so change messages are themselves coalesced: at most one per
:data:`MIN_INTERVAL`, and at least ``COST_FACTOR`` times the last one's cost apart, which keeps the
bookkeeping under ~1/``COST_FACTOR`` of a core while a stroke goes on, whatever the id count.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap
    from .serving import Send

__all__ = ["COST_FACTOR", "MAX_IDS", "MIN_INTERVAL", "CountNotices"]

MAX_IDS = 200_000
"""Ids per ``labels.counts`` message (~20 bytes each in JSON: well under the 8 MiB limit); more are
split over several messages."""

MIN_INTERVAL = 0.1
"""Seconds between two change messages at least."""

COST_FACTOR = 20
"""Change messages are at least this many times the last one's cost apart."""


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
        self._timer_lock = threading.Lock()  # guards the timer fields (a leaf lock)
        self._timer: threading.Timer | None = None
        self._next = 0.0  # monotonic time before which no change message goes out
        self._closed = False

    def _counts(self) -> dict[int, int]:
        counts = self.labels.label_counts()
        counts.pop(0, None)
        return counts

    def full(self) -> None:
        """Send every id in use with its count (a view joined)."""
        with self._lock:
            counts = self._counts()
            self._sent = counts
            self._joined = True
            self._announce(sorted(counts.items()), full=True)

    def changed(self) -> None:
        """Send the ids whose count changed, now or (coalesced) soon; nothing before any view
        joined."""
        if not self._joined:
            return
        with self._timer_lock:
            if self._timer is not None or self._closed:
                return  # a send is due and will see this change
            wait = self._next - time.monotonic()
            if wait > 0:
                self._timer = threading.Timer(wait, self._send_changes)
                self._timer.daemon = True
                self._timer.start()
                return
        self._send_changes()

    def flush(self) -> None:
        """Send pending changes now (tests and shutdown)."""
        with self._timer_lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            self._send_changes()

    def close(self) -> None:
        """Stop sending (a pending change message is dropped)."""
        with self._timer_lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _send_changes(self) -> None:
        with self._timer_lock:
            self._timer = None
        t0 = time.monotonic()
        with self._lock:
            counts = self._counts()
            sent = self._sent
            items = [(k, v) for k, v in counts.items() if sent.get(k) != v]
            items += [(k, 0) for k in sent if k not in counts]
            self._sent = counts
            if items:
                self._announce(sorted(items), full=False)
        now = time.monotonic()
        with self._timer_lock:
            self._next = now + max(MIN_INTERVAL, COST_FACTOR * (now - t0))

    def _announce(self, items: list[tuple[int, int]], *, full: bool) -> None:
        for start in range(0, max(len(items), 1), MAX_IDS):
            part = items[start : start + MAX_IDS]
            self._send(
                "labels.counts",
                labels=[str(k) for k, _ in part],
                counts=[v for _, v in part],
                full=full and start == 0,
            )
