"""Calling the widget's browser test hooks (``canvas.voxwidget``, documented in js/src/widget/hooks.js)."""

from __future__ import annotations

from typing import Any

CANVAS = ".voxwidget-canvas"


def hook(lab, call: str, *args: Any) -> Any:
    """Call ``canvas.voxwidget.<call>(*args)`` on the first widget canvas in the page."""
    return lab.output_locator(CANVAS).evaluate(f"(c, args) => c.voxwidget.{call}(...args)", list(args))


def wait_view_idle(lab, timeout: float = 30) -> None:
    """Wait until the view has no pending batches, outstanding requests or queued redraws."""
    lab.wait_for_js(
        "() => { const c = document.querySelector('.voxwidget-canvas');"
        " return !!(c && c.voxwidget && c.voxwidget.state().idle); }",
        timeout=timeout,
        what="widget idle (no pending batches, requests or redraws)",
    )
