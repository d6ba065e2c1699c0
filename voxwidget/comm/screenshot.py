"""Screenshots of the live view: the kernel asks the views (``screenshot``), a view answers with a
PNG (``screenshot.data``).

Why the caller must ``await``: a comm message from the browser reaches the kernel on its shell
channel, behind the cell that is running. A cell that *blocks* waiting for the answer therefore
waits forever (the answer is handled only after the cell ended). A cell that *awaits* an asyncio
future lets the kernel's event loop run, and ipykernel ≥ 7.4 then dispatches comm messages to a
running async cell (older ipykernels queue them behind it too, and the request times out). Hence
``png = await w.screenshot()`` (IPython's top-level await) is the one way that works from a cell.
(``jupyter-ui-poll``, which pumps the shell queue from a blocking cell, calls the kernel's
``do_one_iteration``, which ipykernel 7 no longer has: with the installed kernel it processes
nothing.)
"""

from __future__ import annotations

import asyncio
import math
import threading
import uuid
from collections.abc import Callable, Sequence
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
        self._pending: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future]] = {}
        self.views_seen = 0
        """How many views said ``hello`` (the endpoint counts them); 0: none was ever displayed."""

    async def take(self, panel: str | None = None, timeout: float = 10.0) -> bytes:
        """Ask the views for a PNG and return the first answer (see :meth:`VoxWidget.screenshot`)."""
        if panel is not None and not isinstance(panel, str):
            raise TypeError(f"panel must be a str or None, got {panel!r}")
        ok = isinstance(timeout, int | float) and not isinstance(timeout, bool) and math.isfinite(timeout)
        if not ok or timeout <= 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if self.views_seen == 0:
            raise RuntimeError(
                "no view of this widget is displayed: show it first (the widget as the last line of "
                "a cell), then `await w.screenshot()` in a later cell"
            )
        loop = asyncio.get_running_loop()
        future: asyncio.Future = loop.create_future()
        request = uuid.uuid4().hex
        with self._lock:
            self._pending[request] = (loop, future)
        try:
            self._say("screenshot", id=request, panel=panel)
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"no view answered the screenshot request within {timeout:g} s: is the widget "
                    "displayed in an open page? Call it as `png = await w.screenshot()` in a cell (the "
                    "answer reaches a cell that awaits with ipykernel >= 7.4; a blocking wait can never "
                    "get it while the cell runs)"
                ) from None
        finally:
            with self._lock:
                self._pending.pop(request, None)

    def reply(self, msg: dict, buffers: Sequence[Any]) -> None:
        """A view's ``screenshot.data``: resolve the request it answers (later answers of other views
        to the same request, and answers to requests that timed out, are dropped)."""
        with self._lock:
            entry = self._pending.pop(msg["reply_to"], None)
        if entry is None:
            return
        loop, future = entry
        png = msg.get("png")
        if msg.get("error") is not None or png is None:
            why = msg.get("error") or "the view sent no image"
            outcome: Any = RuntimeError(f"the view could not take the screenshot: {why}")
        else:
            data = bytes(memoryview(buffers[png]).cast("B"))
            if not data.startswith(PNG_SIGNATURE):
                outcome = RuntimeError(
                    f"the view's screenshot is not a PNG (starts with {data[:8]!r}, {len(data)} bytes)"
                )
            else:
                outcome = data

        def settle() -> None:
            if future.done():
                return
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)

        loop.call_soon_threadsafe(settle)

    def close(self) -> None:
        """Fail the waiting requests (the widget closed)."""
        with self._lock:
            pending, self._pending = self._pending, {}
        for loop, future in pending.values():
            loop.call_soon_threadsafe(
                lambda f=future: f.done() or f.set_exception(RuntimeError("the widget was closed"))
            )


__all__ = ["PNG_SIGNATURE", "Screenshots"]
