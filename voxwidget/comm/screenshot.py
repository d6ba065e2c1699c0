"""Screenshots of the live view: the kernel asks the views (``screenshot``), a view answers with a
PNG (``screenshot.data``).

Getting the answer while the calling cell still runs: the view's answer reaches the kernel on its
shell channel, and ipykernel routes a comm's incoming messages to the shell (or subshell) that sent
the comm's last message: the cell's, since the cell sent the request. A cell that *blocks* waiting
for it therefore waits forever (the answer is handled only after the cell ended), even where
JupyterLab sends widget messages over a kernel subshell. A cell that *awaits* lets the kernel's event
loop run, and ipykernel >= 7.4 dispatches comm messages to a cell that awaits: hence
``png = await w.screenshot()``. All of this is checked in a real JupyterLab
(tests/browser/test_screenshot.py), as is that ``jupyter-ui-poll`` (which pumps the shell queue from
a blocking cell through the kernel's ``do_one_iteration``, gone in ipykernel 7) gets nothing there.
"""

from __future__ import annotations

import asyncio
import math
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
"""The eight bytes every PNG file starts with."""


class Screenshots:
    """The screenshot requests of one endpoint that wait for a view's answer.

    Parameters
    ----------
    say
        ``say(kind, **fields)``: sends a kernel message to every view of the widget.
    """

    def __init__(self, say: Callable[..., None]) -> None:
        self._say = say
        self._lock = threading.Lock()
        self._pending: dict[str, Future] = {}
        self.views_seen = 0
        """How many views said ``hello`` (the endpoint counts them); 0: none was ever displayed."""

    def _ask(self, panel: str | None, timeout: float) -> tuple[str, Future]:
        if panel is not None and not isinstance(panel, str):
            raise TypeError(f"panel must be a str or None, got {panel!r}")
        ok = isinstance(timeout, int | float) and not isinstance(timeout, bool) and math.isfinite(timeout)
        if not ok or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if self.views_seen == 0:
            raise RuntimeError(
                "no view of this widget is displayed: show it first (the widget as the last line of "
                "a cell), then take the screenshot in a later cell"
            )
        request = uuid.uuid4().hex
        future: Future = Future()
        with self._lock:
            self._pending[request] = future
        self._say("screenshot", id=request, panel=panel)
        return request, future

    def _forget(self, request: str) -> None:
        with self._lock:
            self._pending.pop(request, None)

    async def take(self, panel: str | None = None, timeout: float = 10.0) -> bytes:
        """Ask the views for a PNG and await the first answer (see :meth:`VoxWidget.screenshot`)."""
        request, future = self._ask(panel, timeout)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no view answered the screenshot request within {timeout:g} s: is the widget "
                "displayed in an open page? Call it as `png = await w.screenshot()` in a cell (the "
                "answer reaches a cell that awaits with ipykernel >= 7.4; a blocking wait can never "
                "get it while the cell runs)"
            ) from None
        finally:
            self._forget(request)

    def reply(self, msg: dict, buffers: Sequence[Any]) -> None:
        """A view's ``screenshot.data``: resolve the request it answers (later answers of other views
        to the same request, and answers to requests that timed out, are dropped)."""
        with self._lock:
            entry = self._pending.pop(msg["reply_to"], None)
        if entry is None:
            return
        png = msg.get("png")
        outcome: bytes | Exception
        if msg.get("error") is not None or png is None:
            why = msg.get("error") or "the view sent no image"
            outcome = RuntimeError(f"the view could not take the screenshot: {why}")
        else:
            data = bytes(memoryview(buffers[png]).cast("B"))
            outcome = data
            if not data.startswith(PNG_SIGNATURE):
                outcome = RuntimeError(
                    f"the view's screenshot is not a PNG (starts with {data[:8]!r}, {len(data)} bytes)"
                )
        _settle(entry, outcome)

    def close(self) -> None:
        """Fail the waiting requests (the widget closed)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for future in pending.values():
            _settle(future, RuntimeError("the widget was closed"))


def _settle(future: Future, outcome: bytes | Exception) -> None:
    """Resolve ``future`` unless its waiter gave up at the same moment (timed out, cancelled)."""
    try:
        if isinstance(outcome, Exception):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
    except InvalidStateError:
        pass


__all__ = ["PNG_SIGNATURE", "Screenshots"]
