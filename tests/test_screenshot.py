"""``VoxWidget.screenshot`` on the kernel side: the request goes out, a view's ``screenshot.data``
settles it, and every way it can fail gets a clear error. The browser half is
tests/browser/test_screenshot.py (a real JupyterLab, a real canvas, a cell that awaits)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from voxwidget.comm import protocol
from voxwidget.comm.endpoint import Endpoint
from voxwidget.comm.screenshot import PNG_SIGNATURE
from voxwidget.labelmap import LabelMap
from voxwidget.multiscale.sources import ImageSource

PNG = PNG_SIGNATURE + b"\x00\x00\x00\rIHDR rest of a png"


@pytest.fixture
def endpoint():
    sent: list[tuple[dict, list]] = []
    shape = (32, 32, 32)
    ep = Endpoint(
        lambda msg, bufs: sent.append((msg, bufs)),
        ImageSource(np.zeros(shape, np.uint8)),
        LabelMap(shape, dtype="uint8", chunks=(16, 16, 16)),
        "fp",
    )
    ep.sent = sent
    yield ep
    ep.close()


def hello(ep):
    ep.handle({"kind": "hello", "id": "h", "protocol": protocol.PROTOCOL_VERSION})


def requests(ep) -> list[dict]:
    return [m for m, _ in ep.sent if m["kind"] == "screenshot"]


async def answer_later(ep, make_reply, delay=0.01):
    """Play the browser: answer the first request once it was sent (on the loop, as the comm does)."""
    for _ in range(200):
        if requests(ep):
            break
        await asyncio.sleep(delay)
    msg, buffers = make_reply(requests(ep)[0])
    ep.handle(msg, buffers)


def test_no_view_displayed_is_an_error_at_once(endpoint):
    with pytest.raises(RuntimeError, match="no view of this widget is displayed"):
        asyncio.run(endpoint.screenshots.take())
    assert requests(endpoint) == []


def test_png_of_the_first_answer(endpoint):
    hello(endpoint)

    async def main():
        task = asyncio.ensure_future(endpoint.screenshots.take("2d", timeout=5))
        await answer_later(
            endpoint,
            lambda req: (
                {"kind": "screenshot.data", "reply_to": req["id"], "png": 0, "width": 4, "height": 3},
                [memoryview(PNG)],
            ),
        )
        png = await task
        # a second view answering the same request later changes nothing
        endpoint.handle({"kind": "screenshot.data", "reply_to": requests(endpoint)[0]["id"], "error": "late"})
        return png

    assert asyncio.run(main()) == PNG
    assert requests(endpoint)[0]["panel"] == "2d"
    assert not endpoint.screenshots._pending


@pytest.mark.parametrize(
    "reply, match",
    [
        ({"error": 'this view has no panel "3d"; it has ["2d"]'}, 'could not take the screenshot: .*"3d"'),
        ({}, "sent no image"),
        ({"png": 0}, "not a PNG"),
    ],
)
def test_a_view_that_cannot_answer_names_why(endpoint, reply, match):
    hello(endpoint)

    async def main():
        task = asyncio.ensure_future(endpoint.screenshots.take("3d", timeout=5))
        bufs = [b"GIF89a......"] if "png" in reply else []
        await answer_later(
            endpoint, lambda req: ({"kind": "screenshot.data", "reply_to": req["id"], **reply}, bufs)
        )
        return await task

    with pytest.raises(RuntimeError, match=match):
        asyncio.run(main())


def test_timeout_says_how_to_call_it(endpoint):
    hello(endpoint)
    with pytest.raises(TimeoutError, match=r"within 0.2 s.*await w.screenshot\(\)"):
        asyncio.run(endpoint.screenshots.take(timeout=0.2))
    assert not endpoint.screenshots._pending  # the request is forgotten: a late answer is dropped
    endpoint.handle({"kind": "screenshot.data", "reply_to": requests(endpoint)[0]["id"], "error": "late"})
    assert [m for m, _ in endpoint.sent if m["kind"] == "error"] == []


@pytest.mark.parametrize("panel, timeout", [(3, 1.0), ("2d", 0), ("2d", float("nan")), ("2d", True)])
def test_bad_arguments(endpoint, panel, timeout):
    hello(endpoint)
    with pytest.raises((TypeError, ValueError), match=r"panel|timeout"):
        asyncio.run(endpoint.screenshots.take(panel, timeout))
    assert requests(endpoint) == []


def test_close_fails_a_waiting_request(endpoint):
    hello(endpoint)

    async def main():
        task = asyncio.ensure_future(endpoint.screenshots.take(timeout=5))
        while not requests(endpoint):
            await asyncio.sleep(0.01)
        endpoint.screenshots.close()
        return await task

    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(main())


def test_malformed_answer_gets_an_error_reply(endpoint):
    endpoint.handle({"kind": "screenshot.data", "reply_to": "x", "png": 2}, [PNG])
    errors = [m for m, _ in endpoint.sent if m["kind"] == "error"]
    assert len(errors) == 1 and "screenshot.data.png" in errors[0]["error"]
