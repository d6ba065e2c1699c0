"""A bare Chromium driven over the DevTools protocol pipe, for measurements.

Playwright subscribes to every page's network events: Chromium then copies each websocket frame,
base64-encoded, to the Playwright driver, which forwards it to the Python client. For a widget
streaming tens of MB/s over the kernel's websocket that is real work: on a 2-core machine moving
200 MiB kernel → browser cost the driver and its client ~2.8 s of CPU (about a third of the machine
while it lasted), next to ~2.8 s in the page itself. A scientist's browser pays none of it.

:class:`PipeBrowser` launches Chromium with ``--remote-debugging-pipe`` (file descriptors 3 and 4,
NUL-separated JSON, no extra dependency) and enables no protocol domain beyond ``Runtime`` (for
console messages): no network events exist. :class:`PipePage` offers the part of Playwright's sync
``Page`` that :class:`tests.browser.jupyter.LabPage` and the benchmarks use: ``goto``, ``evaluate``,
``on("console" | "pageerror")``, ``set_default_timeout``, plus :meth:`PipePage.send` for raw
protocol commands (e.g. the CPU profiler).

::

    with PipeBrowser(CHROMIUM, CHROMIUM_ARGS) as browser:
        page = browser.new_page(width=1500, height=1300)
        lab = LabPage(page, server)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from types import SimpleNamespace
from typing import Any

# What Playwright passes to a headless Chromium that changes how the page runs (timers, renderer
# priority, IPC); the rest of its switches concern profiles, updates and infobars.
HEADLESS_SWITCHES = [
    "--headless",
    "--hide-scrollbars",
    "--mute-audio",
    "--disable-background-timer-throttling",
    "--disable-backgrounding-occluded-windows",
    "--disable-renderer-backgrounding",
    "--disable-ipc-flooding-protection",
    "--disable-back-forward-cache",
    "--disable-dev-shm-usage",
    "--disable-extensions",
    "--disable-breakpad",
    "--disable-hang-monitor",
    "--disable-default-apps",
    "--no-default-browser-check",
    "--password-store=basic",
    "--force-color-profile=srgb",
]


class CdpError(RuntimeError):
    """A DevTools protocol command failed, or JS evaluated in the page threw."""


class PipeBrowser:
    """Chromium on a DevTools pipe. Use as a context manager, or call :meth:`close`."""

    def __init__(self, executable: str, args: list[str] = (), *, timeout: float = 30.0):
        self.timeout = timeout
        self._profile = tempfile.mkdtemp(prefix="vw-chromium-")
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def child_fds() -> None:  # the protocol's fixed descriptors: 3 = commands in, 4 = replies out
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)

        cmd = [executable, *HEADLESS_SWITCHES, *args, f"--user-data-dir={self._profile}"]
        cmd += ["--remote-debugging-pipe", "about:blank"]
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=child_fds,
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._lock = threading.Lock()
        self._next_id = 0
        self._pending: dict[int, Future] = {}
        self._listeners: dict[tuple[str | None, str], list[Callable[[dict], None]]] = {}
        self._closed = False
        self._reader = threading.Thread(target=self._read_loop, name="cdp-pipe", daemon=True)
        self._reader.start()
        self.send("Target.setDiscoverTargets", {"discover": True})  # fails early if Chromium did not start

    def __enter__(self) -> PipeBrowser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- protocol --------------------------------------------------------------------------------
    def send(
        self,
        method: str,
        params: dict | None = None,
        *,
        session: str | None = None,
        timeout: float | None = None,
    ) -> dict:
        """Send one command and wait for its result; raises :class:`CdpError` on a protocol error."""
        fut: Future = Future()
        with self._lock:
            if self._closed:
                raise CdpError(f"{method}: the browser is closed")
            self._next_id += 1
            msg_id = self._next_id
            self._pending[msg_id] = fut
        msg = {"id": msg_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        try:
            with self._lock:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._to_chrome, view) :]
        except OSError as e:
            code = self.proc.poll()
            raise CdpError(f"{method}: cannot write to Chromium's pipe ({e}); exit code {code}") from e
        wait = self.timeout if timeout is None else timeout
        try:
            reply = fut.result(wait)
        except FutureTimeout:
            raise CdpError(f"{method}: no reply from Chromium within {wait} s") from None
        finally:
            with self._lock:
                self._pending.pop(msg_id, None)
        if "error" in reply:
            raise CdpError(f"{method}: {reply['error'].get('message')} ({reply['error'].get('data', '')})")
        return reply.get("result", {})

    def on(self, method: str, fn: Callable[[dict], None], *, session: str | None = None) -> None:
        """Call ``fn(params)`` for each event ``method`` (of ``session``, or of the browser)."""
        self._listeners.setdefault((session, method), []).append(fn)

    def _read_loop(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_chrome, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buf += chunk
            *messages, buf = buf.split(b"\0")
            for raw in messages:
                msg = json.loads(raw)
                if "id" in msg:
                    with self._lock:
                        fut = self._pending.get(msg["id"])
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    continue
                for fn in self._listeners.get((msg.get("sessionId"), msg.get("method")), []):
                    try:
                        fn(msg.get("params", {}))
                    except Exception:  # a listener's bug must not stop the reader
                        pass
        with self._lock:
            self._closed = True
            pending = list(self._pending.values())
        for fut in pending:
            if not fut.done():
                fut.set_result({"error": {"message": f"Chromium exited (code {self.proc.poll()})"}})

    # -- pages -----------------------------------------------------------------------------------
    def new_page(self, width: int = 1280, height: int = 800) -> PipePage:
        """A new tab with a ``width`` × ``height`` CSS-pixel viewport."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = PipePage(self, target, session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.send("Runtime.enable", session=session)
        return page

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("Browser.close", timeout=5)
            except CdpError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            try:
                os.close(fd)
            except OSError:
                pass
        self._reader.join(5)
        shutil.rmtree(self._profile, ignore_errors=True)


class PipePage:
    """One tab of a :class:`PipeBrowser`, with the subset of Playwright's sync ``Page`` API that
    :class:`tests.browser.jupyter.LabPage` uses."""

    def __init__(self, browser: PipeBrowser, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session
        self.timeout = browser.timeout
        self._handlers: dict[str, list[Callable]] = {}
        self._closed = False
        browser.on("Runtime.consoleAPICalled", self._console, session=session)
        browser.on("Runtime.exceptionThrown", self._exception, session=session)

    def send(self, method: str, params: dict | None = None, timeout: float | None = None) -> dict:
        """A raw DevTools protocol command in this page's session."""
        return self.browser.send(method, params, session=self.session, timeout=timeout)

    def set_default_timeout(self, ms: float) -> None:
        self.timeout = ms / 1000

    def on(self, event: str, fn: Callable) -> None:
        """``"console"`` (``fn(msg)``, ``msg.type``/``msg.text``) and ``"pageerror"`` (``fn(text)``);
        other Playwright events never fire here."""
        self._handlers.setdefault(event, []).append(fn)

    def _emit(self, event: str, arg: Any) -> None:
        for fn in self._handlers.get(event, []):
            fn(arg)

    def _console(self, params: dict) -> None:
        args = params.get("args", [])
        text = " ".join(str(a.get("value", a.get("description", a.get("type", "")))) for a in args)
        self._emit("console", SimpleNamespace(type=params.get("type", "log"), text=text))

    def _exception(self, params: dict) -> None:
        d = params.get("exceptionDetails", {})
        self._emit("pageerror", (d.get("exception") or {}).get("description") or d.get("text", ""))

    def goto(self, url: str, wait_until: str = "domcontentloaded", timeout: float | None = None) -> None:
        """Navigate; returns once the new document committed (callers poll for readiness)."""
        res = self.send("Page.navigate", {"url": url}, timeout=None if timeout is None else timeout / 1000)
        if res.get("errorText"):
            raise CdpError(f"navigating to {url}: {res['errorText']}")

    def evaluate(self, fn: str, arg: Any = None, timeout: float | None = None) -> Any:
        """Call the JS function expression ``fn`` with ``arg`` (JSON-able) in the page and return its
        (awaited) result by value, like Playwright's ``page.evaluate``."""
        res = self.send(
            "Runtime.evaluate",
            {
                "expression": f"({fn})({json.dumps(arg)})",
                "awaitPromise": True,
                "returnByValue": True,
                "userGesture": True,
            },
            timeout=self.timeout if timeout is None else timeout,
        )
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            what = (d.get("exception") or {}).get("description") or d.get("text", "evaluation failed")
            raise CdpError(what)
        return res.get("result", {}).get("value")

    def is_closed(self) -> bool:
        return self._closed or self.browser._closed

    def close(self) -> None:
        self._closed = True
        try:
            self.browser.send("Target.closeTarget", {"targetId": self.target}, timeout=5)
        except CdpError:
            pass
