"""Drive a real JupyterLab 4 (or Jupyter Notebook 7) in headless Chromium (see /work/shared/TESTING.md).

Two pieces:

* :class:`JupyterServer` -- a context manager that starts an isolated ``jupyter-lab`` (or, with
  ``app="notebook"``, ``jupyter-notebook`` 7) on 127.0.0.1 with a free port and a random token,
  waits for ``/api/status`` and stops it cleanly.
* :class:`LabPage` -- wraps a Playwright (sync API) page: open a notebook in a unique workspace,
  run all cells, execute code in the notebook's kernel and read the result back, restart or shut
  down the kernel, locate output elements (e.g. a widget's canvas) and read canvas pixels.

Every wait has a timeout; a timeout raises :class:`HarnessTimeout` whose message carries the tail
of the server log and the page's console messages.

With the pytest fixtures of conftest.py (``lab_page``, ``lab_root``)::

    def test_paint(lab_page, lab_root):
        shutil.copy(REPO / "notebooks" / "quickstart.ipynb", lab_root)
        lab_page.open_notebook("quickstart.ipynb")            # relative to lab_root
        lab_page.run_all_cells(timeout=120)
        lab_page.drag(".voxwidget-canvas", [(0.2, 0.5), (0.8, 0.5)])  # fractions of the box
        assert lab_page.wait_kernel("int((w.to_numpy() > 0).sum())", timeout=10) > 0

Standalone::

    with JupyterServer(root) as server:
        write_notebook(root / "nb.ipynb", ["x = 41 + 1"])
        lab = LabPage(browser.new_context().new_page(), server)
        lab.open_notebook("nb.ipynb")
        lab.run_all_cells()
        assert lab.kernel_eval_json("x") == 42

Notebook 7 is built on the same JupyterLab components: its page exposes ``window.jupyterapp``
(``--JupyterNotebookApp.expose_app_in_browser``), its shell's main area holds the one notebook
panel, and the same commands (``notebook:run-all-cells``) and session context drive it, so every
:class:`LabPage` method works on either app; only the URL differs (``/notebooks/<path>``).

The kernel runs on the server's interpreter (``sys.executable``; jupyter_client substitutes it
for the kernelspec's ``python``), with the notebook's directory as working directory.
"""

from __future__ import annotations

import base64
import collections
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "HarnessError",
    "HarnessTimeout",
    "JupyterServer",
    "KernelError",
    "LabPage",
    "wait_until",
    "write_notebook",
]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

# User settings written into the isolated settings dir. The notebook is not windowed (virtualised)
# so every cell's output is in the DOM and can be located; no news/update toasts.
DEFAULT_LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class HarnessError(RuntimeError):
    """Something in the harness went wrong (not a timeout, not a kernel error)."""


class HarnessTimeout(TimeoutError):
    """A harness wait ran out of time. The message includes server log and console tails."""


class KernelError(RuntimeError):
    """Code run through :meth:`LabPage.kernel_exec` raised in the kernel."""

    def __init__(self, ename: str, evalue: str, traceback: Sequence[str], code: str = ""):
        self.ename = ename
        self.evalue = evalue
        self.traceback = "\n".join(strip_ansi(t) for t in traceback)
        self.code = code
        super().__init__(f"{ename}: {evalue}\n--- kernel traceback ---\n{self.traceback}")


def write_notebook(
    path: str | os.PathLike,
    cells: Iterable[str],
    *,
    kernel_name: str = "python3",
    markdown_prefix: str = "#md ",
) -> Path:
    """Write an .ipynb with one code cell per string (a string starting with ``markdown_prefix``
    becomes a markdown cell). The kernelspec is set so Lab never asks which kernel to use."""
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": kernel_name,
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for src in cells:
        if markdown_prefix and src.startswith(markdown_prefix):
            nb.cells.append(v4.new_markdown_cell(src[len(markdown_prefix) :]))
        else:
            nb.cells.append(v4.new_code_cell(src))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


def wait_until(fn, timeout: float, *, interval: float = 0.05, what: str = "condition") -> Any:
    """Call ``fn()`` until it returns something truthy (returned); exceptions count as "not yet"
    and the last one is reported if time runs out."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:
            last_exc = e
        if time.monotonic() > deadline:
            detail = f"; last error: {last_exc!r}" if last_exc else ""
            raise HarnessTimeout(f"timed out after {timeout:.1f}s waiting for {what}{detail}")
        time.sleep(interval)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


#: The front ends :class:`JupyterServer` can start: the module run with ``python -m`` and the
#: flag that exposes the app as ``window.jupyterapp``.
APPS: dict[str, tuple[str, str]] = {
    "lab": ("jupyterlab", "--LabApp.expose_app_in_browser=True"),
    "notebook": ("notebook", "--JupyterNotebookApp.expose_app_in_browser=True"),
}


class JupyterServer:
    """An isolated JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) server, as a
    context manager.

    Config, runtime, lab settings, workspaces and IPython dirs live in a private temp dir; the data
    path is left alone so the installed lab extensions (anywidget, widgets manager) are found.

    Attributes: ``url`` (``http://127.0.0.1:PORT``), ``token``, ``port``, ``root_dir``, ``home``,
    ``app`` ("lab" or "notebook").
    """

    def __init__(
        self,
        root_dir: str | os.PathLike | None = None,
        *,
        startup_timeout: float = 60.0,
        lab_settings: dict[str, dict[str, Any]] | None = None,
        extra_args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        app: str = "lab",
    ):
        if app not in APPS:
            raise ValueError(f"app must be one of {sorted(APPS)}, got {app!r}")
        self.app = app
        self._own_root = root_dir is None
        self.root_dir = Path(root_dir) if root_dir is not None else None
        self.startup_timeout = startup_timeout
        self.lab_settings = dict(DEFAULT_LAB_SETTINGS)
        if lab_settings:
            self.lab_settings.update(lab_settings)
        self.extra_args = list(extra_args)
        self.extra_env = dict(env or {})
        self.token = secrets.token_hex(24)
        self.port: int | None = None
        self.url: str | None = None
        self.home: Path | None = None
        self.log_path: Path | None = None
        self._proc: subprocess.Popen | None = None
        self._log_file = None
        self._final_log = ""

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> JupyterServer:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="vw-jupyter-"))
        if self.root_dir is None:
            self.root_dir = self.home / "root"
        self.root_dir = self.root_dir.resolve()
        self.root_dir.mkdir(parents=True, exist_ok=True)
        (self.home / "data").mkdir()
        settings_dir = self.home / "lab-settings"
        for plugin, values in self.lab_settings.items():
            pkg, _, name = plugin.rpartition("/")
            target = settings_dir / pkg / f"{name}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values))
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            IPYTHONDIR=str(self.home / "ipython"),
            JUPYTER_PLATFORM_DIRS="0",
            PYTHONUNBUFFERED="1",
        )
        env.pop("JUPYTER_TOKEN", None)
        env.update(self.extra_env)
        self.log_path = self.home / "server.log"
        last_error = ""
        for _attempt in range(3):  # the free port can be taken between probe and bind
            self.port = _free_port()
            self.url = f"http://127.0.0.1:{self.port}"
            module, expose = APPS[self.app]
            cmd = [
                sys.executable,
                "-m",
                module,
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root_dir}",
                expose,
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabApp.extension_manager=readonly",
                # trust db / signing key in the temp dir, not in ~/.local/share/jupyter
                f"--NotebookNotary.data_dir={self.home / 'data'}",
                *self.extra_args,
            ]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            self._close_log()
            self._log_file = open(self.log_path, "ab")
            self._log_file.write(f"$ {' '.join(cmd)}\n".encode())
            self._log_file.flush()
            self._proc = subprocess.Popen(
                cmd,
                cwd=str(self.root_dir),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: kernels die with it in stop()
            )
            try:
                self._wait_ready()
                return
            except HarnessError as e:  # process exited early (e.g. port taken): retry
                last_error = str(e)
                self.stop(cleanup=False)
            except BaseException:
                self.stop()
                raise
        self.stop()
        raise HarnessError(f"jupyter {self.app} did not start after 3 attempts:\n{last_error}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise HarnessError(
                    f"jupyter {self.app} exited with code {self._proc.returncode}\n{self.log_tail(40)}"
                )
            try:
                self.api("GET", "/api/status", timeout=2)
                return
            except (OSError, urllib.error.URLError, HarnessError):
                time.sleep(0.1)
        raise HarnessTimeout(
            f"jupyter {self.app} did not answer /api/status within {self.startup_timeout:.0f}s at "
            f"{self.url}\n--- server log tail ---\n{self.log_tail(40)}"
        )

    def stop(self, cleanup: bool = True) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            try:  # polite: ask the server to shut down (it stops its kernels)
                self.api("POST", "/api/shutdown", timeout=3)
                proc.wait(timeout=8)
            except Exception:
                pass
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
            # kernels are in the server's process group; make sure none survive
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._close_log()
        if cleanup and self.home is not None and not os.environ.get("VW_KEEP_JUPYTER_HOME"):
            self._final_log = self.read_log()  # read_log() still works after the dir is gone
            shutil.rmtree(self.home, ignore_errors=True)
            self.home = None

    def _close_log(self) -> None:
        if self._log_file is not None:
            try:
                self._log_file.close()
            finally:
                self._log_file = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- helpers -----------------------------------------------------------------------------
    def read_log(self) -> str:
        """The whole server log so far (server + kernel stderr)."""
        if self._log_file is not None:
            self._log_file.flush()
        if self.log_path is None or not self.log_path.exists():
            return self._final_log
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 30) -> str:
        return _tail(self.read_log(), lines)

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
        """Call the server's REST API with the token; returns decoded JSON (or None)."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Authorization", f"token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise HarnessError(f"{method} {path} -> HTTP {e.code}: {e.read()[:500]!r}") from e
        return json.loads(raw) if raw else None

    def sessions(self) -> list[dict]:
        return self.api("GET", "/api/sessions")

    def ensure_session(self, path: str, kernel_name: str | None = None) -> dict:
        """The session of notebook ``path`` (relative to the root), created with its kernelspec's
        kernel (from the notebook metadata, else python3) if none exists."""
        for sess in self.sessions():
            if sess.get("path") == path and sess.get("kernel"):
                return sess
        if kernel_name is None:
            kernel_name = "python3"
            try:
                meta = json.loads((self.root_dir / path).read_text()).get("metadata", {})
                kernel_name = meta.get("kernelspec", {}).get("name") or kernel_name
            except (OSError, ValueError):
                pass
        body = {
            "path": path,
            "name": Path(path).name,
            "type": "notebook",
            "kernel": {"name": kernel_name},
        }
        return self.api("POST", "/api/sessions", body, timeout=30)

    def shutdown_sessions(self, paths: Iterable[str] | None = None) -> None:
        """Delete sessions (and their kernels) for the given notebook paths, or all sessions."""
        wanted = None if paths is None else {str(p) for p in paths}
        for s in self.sessions():
            if wanted is None or s.get("path") in wanted:
                try:
                    self.api("DELETE", f"/api/sessions/{s['id']}")
                except HarnessError:
                    pass

    def relpath(self, path: str | os.PathLike) -> str:
        """A path as the server names it: relative to root_dir, with forward slashes."""
        p = Path(path)
        if p.is_absolute():
            p = p.resolve().relative_to(self.root_dir)
        return p.as_posix()


# JS helpers: find the notebook panel for a path (not only the current widget).
_JS_FIND = """
const __findNb = (path) => {
  const app = window.jupyterapp;
  if (!app) return null;
  for (const w of app.shell.widgets('main')) {
    if (w && w.context && w.context.path === path && w.content && w.sessionContext) return w;
  }
  return null;
};
const __timer = (ms, what) => new Promise((_, rej) =>
  setTimeout(() => rej(new Error('__timeout__: ' + what + ' after ' + ms + ' ms')), ms));
"""


_FUNC_EXPR = re.compile(r"^\s*(async\s+)?(function\b|\([^)]*\)\s*=>|[A-Za-z_$][\w$]*\s*=>)")


def _js(body: str) -> str:
    """Wrap an async JS body taking ``args`` into a function for page.evaluate."""
    return f"async (args) => {{ {_JS_FIND}\n{body} }}"


class LabPage:
    """A JupyterLab (or Notebook 7) tab showing one notebook, driven through a Playwright sync
    ``Page``; the app is the server's (``server.app``).

    ``owns_context=True`` makes :meth:`close` also close the page's browser context (used for
    persistent contexts, so the profile can be reopened).
    """

    def __init__(
        self,
        page,
        server: JupyterServer,
        *,
        default_timeout: float = 30.0,
        open_timeout: float = 60.0,
        owns_context: bool = False,
        max_console: int = 500,
        base_dir: str | os.PathLike | None = None,
    ):
        self.page = page
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self.server = server
        self.default_timeout = default_timeout
        self.open_timeout = open_timeout  # page loads are CPU-bound: slow on a busy 2-core box
        self.owns_context = owns_context
        self.path: str | None = None
        self.workspace: str | None = None
        self.console: collections.deque[str] = collections.deque(maxlen=max_console)
        self.opened_paths: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda err: self.console.append(f"[pageerror] {err}"))
        page.on("crash", lambda *_: self.console.append("[crash] page crashed"))
        page.on("dialog", self._on_dialog)
        page.set_default_timeout(default_timeout * 1000)

    def _on_console(self, msg) -> None:
        try:
            self.console.append(f"[{msg.type}] {msg.text}")
        except Exception:  # the page may be gone
            pass

    def _on_dialog(self, dialog) -> None:
        # Lab asks "leave page?" on reload/close with unsaved notebooks: always leave. Other native
        # dialogs (alert/confirm/prompt) are dismissed, as Playwright does by default, and logged.
        self.console.append(f"[dialog:{dialog.type}] {dialog.message}")
        try:
            if dialog.type == "beforeunload":
                dialog.accept()
            else:
                dialog.dismiss()
        except Exception:
            pass

    # -- diagnostics -------------------------------------------------------------------------
    def console_tail(self, lines: int = 30) -> str:
        return "\n".join(list(self.console)[-lines:])

    def diagnostics(self, lines: int = 30) -> str:
        return (
            f"--- page console (last {lines}) ---\n{self.console_tail(lines)}\n"
            f"--- server log (last {lines}) ---\n{self.server.log_tail(lines)}"
        )

    def _timeout(self, what: str, seconds: float, extra: str = "") -> HarnessTimeout:
        state = ""
        try:
            state = json.dumps(self._state(), default=str)
        except Exception as e:
            state = f"(state unavailable: {e})"
        return HarnessTimeout(
            f"timed out after {seconds:.1f}s: {what}\n{extra}\n--- notebook state ---\n{state}\n"
            + self.diagnostics()
        )

    def _state(self) -> dict:
        return self.page.evaluate(
            _js(
                """
            const dialogs = Array.from(document.querySelectorAll('.jp-Dialog'))
              .map((d) => d.innerText.replace(/\\s+/g, ' ').trim());
            const nb = __findNb(args.path);
            if (!nb) return {notebook: null, url: location.href, hasApp: !!window.jupyterapp,
                             dialogs};
            const k = nb.sessionContext.session && nb.sessionContext.session.kernel;
            return {url: location.href, kernel: k ? {id: k.id, status: k.status,
                    connection: k.connectionStatus} : null,
                    cells: nb.content.widgets.length, dialogs};
            """
            ),
            {"path": self.path},
        )

    # -- evaluation primitives ---------------------------------------------------------------
    def _eval(self, body: str, args: dict | None = None, *, timeout: float, what: str) -> Any:
        """Run async JS ``body`` (with ``args``, ``__findNb``, ``__timer``); a JS-side timer
        bounds it so it can never hang the test."""
        args = dict(args or {})
        args.setdefault("path", self.path)
        args["__ms"] = int(timeout * 1000)
        wrapped = _js(
            f"return await Promise.race([(async () => {{ {body} }})(), "
            f"__timer(args.__ms, {json.dumps(what)})]);"
        )
        try:
            return self.page.evaluate(wrapped, args)
        except Exception as e:  # playwright.sync_api.Error
            msg = str(e)
            if "__timeout__" in msg:
                raise self._timeout(what, timeout) from None
            raise HarnessError(f"{what} failed in the page: {msg}\n{self.diagnostics()}") from e

    def wait_for_js(self, predicate: str, args: dict | None = None, *, timeout=None, what="") -> Any:
        """Poll ``predicate`` in the page until it returns something truthy (JSON-able); returns it.

        ``predicate`` is either a JS function expression, called as ``f(args, nb)``, e.g.
        ``"() => !!document.querySelector('canvas')"``, or a function body using ``args`` and
        ``nb`` (the notebook panel or null) with a ``return``. Exceptions count as "not yet"."""
        timeout = self.default_timeout if timeout is None else timeout
        args = dict(args or {})
        args.setdefault("path", self.path)
        if _FUNC_EXPR.match(predicate):  # a function expression: call it with (args, nb)
            predicate = f"return await ({predicate})(args, nb);"
        fn = _js(f"const nb = __findNb(args.path); {predicate}")
        deadline = time.monotonic() + timeout
        last_err = ""
        while True:
            try:
                value = self.page.evaluate(fn, args)
                if value:
                    return value
            except Exception as e:  # navigation in progress, app not ready ...
                last_err = str(e).splitlines()[0] if str(e) else repr(e)
            if time.monotonic() > deadline:
                raise self._timeout(what or predicate, timeout, f"last JS error: {last_err}")
            time.sleep(0.05)

    # -- notebook ---------------------------------------------------------------------------
    def open_notebook(
        self, path: str | os.PathLike, timeout: float | None = None, *, prestart_kernel: bool = False
    ) -> None:
        """Open a notebook (JupyterLab: in a fresh unique workspace; Notebook 7: its own
        ``/notebooks/<path>`` page) and wait until its kernel is idle.

        ``path``: absolute (inside the server root) or relative to ``base_dir`` (the ``lab_root``
        fixture's directory with the pytest fixtures; the server root when ``base_dir`` is None).
        ``prestart_kernel``: create the notebook's session through the REST API first, so the
        kernel boots while the page loads (~1.5 s saved); Lab then attaches to that session, as it
        does to any running session of the same path.
        """
        timeout = self.open_timeout if timeout is None else timeout
        p = Path(path)
        if not p.is_absolute() and self.base_dir is not None:
            p = self.base_dir / p
        self.path = self.server.relpath(p)
        try:
            info = self.server.api(
                "GET", f"/api/contents/{urllib.request.quote(self.path)}?content=0", timeout=10
            )
        except HarnessError as e:
            raise HarnessError(
                f"cannot open {self.path!r}: not found under the server root {self.server.root_dir} ({e})"
            ) from None
        if info.get("type") != "notebook":
            raise HarnessError(f"{self.path!r} is a {info.get('type')}, not a notebook")
        if prestart_kernel:
            self.server.ensure_session(self.path)
        quoted = urllib.request.quote(self.path)
        if self.server.app == "notebook":
            self.workspace = None
            url = f"{self.server.url}/notebooks/{quoted}?token={self.server.token}"
        else:
            self.workspace = uuid.uuid4().hex
            url = f"{self.server.url}/lab/workspaces/{self.workspace}/tree/{quoted}?token={self.server.token}"
        t0 = time.monotonic()
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        if self.path not in self.opened_paths:
            self.opened_paths.append(self.path)
        self._wait_notebook_ready(timeout - (time.monotonic() - t0))

    def _wait_notebook_ready(self, timeout: float) -> None:
        timeout = max(timeout, 1.0)
        self.wait_for_js(
            """
            if (!nb || !nb.context.isReady) return false;
            if (!nb.content.widgets.length) return false;
            const k = nb.sessionContext.session && nb.sessionContext.session.kernel;
            if (!k || k.status !== 'idle' || k.connectionStatus !== 'connected') return false;
            if (!window.__vwHooked) window.__vwHooked = new WeakSet();
            if (!window.__vwHooked.has(nb)) {
              window.__vwHooked.add(nb);
              nb.__vwEvents = [];
              const t0 = performance.now();
              nb.sessionContext.statusChanged.connect((_, s) =>
                nb.__vwEvents.push({t: performance.now() - t0, status: s}));
              nb.sessionContext.kernelChanged.connect((_, c) =>
                nb.__vwEvents.push({t: performance.now() - t0, kernelChanged:
                  c.newValue ? c.newValue.id : null}));
            }
            return true;
            """,
            timeout=timeout,
            what=f"notebook {self.path!r} open with an idle, connected kernel",
        )

    def wait_idle(self, timeout: float | None = None) -> None:
        """Wait until the notebook's kernel is idle and connected."""
        timeout = self.default_timeout if timeout is None else timeout
        state = self.wait_for_js(
            """
            const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
            if (k && k.status === 'dead') return 'dead';
            return !!k && k.status === 'idle' && k.connectionStatus === 'connected' && 'idle';
            """,
            timeout=timeout,
            what="kernel idle",
        )
        if state == "dead":
            raise HarnessError(f"the kernel of {self.path!r} is dead\n{self.diagnostics()}")

    def kernel_status(self) -> str | None:
        return self._eval(
            """
            const nb = __findNb(args.path);
            const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
            return k ? k.status : null;
            """,
            timeout=5,
            what="kernel status",
        )

    def kernel_id(self) -> str | None:
        return self._eval(
            """
            const nb = __findNb(args.path);
            const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
            return k ? k.id : null;
            """,
            timeout=5,
            what="kernel id",
        )

    def kernel_events(self) -> list[dict]:
        """Kernel status changes seen by the page since the notebook opened (e.g. 'restarting')."""
        return self._eval(
            "const nb = __findNb(args.path); return nb ? (nb.__vwEvents || []) : [];",
            timeout=5,
            what="kernel events",
        )

    def run_all_cells(self, timeout: float | None = None, *, raise_on_error: bool = True) -> None:
        """Run every cell (``notebook:run-all-cells``) and wait for the kernel to go idle.

        With ``raise_on_error`` a cell that errored raises :class:`KernelError`, and so does a
        code cell left without an execution count."""
        timeout = self.default_timeout if timeout is None else timeout
        t0 = time.monotonic()
        self._eval(
            """
            const nb = __findNb(args.path);
            if (!nb) throw new Error('notebook not open: ' + args.path);
            window.jupyterapp.shell.activateById(nb.id);
            await window.jupyterapp.commands.execute('notebook:run-all-cells');
            return true;
            """,
            timeout=timeout,
            what="notebook:run-all-cells",
        )
        self.wait_idle(max(1.0, timeout - (time.monotonic() - t0)))
        if raise_on_error:
            self._raise_cell_errors()

    def cells_info(self) -> list[dict]:
        """Per cell: type, execution count, output types, error (ename/evalue/traceback) if any."""
        return self._eval(
            """
            const nb = __findNb(args.path);
            return nb.content.widgets.map((cell, i) => {
              const m = cell.model;
              const info = {index: i, type: m.type, source: m.sharedModel.getSource()};
              if (m.type === 'code') {
                info.execution_count = m.executionCount;
                info.outputs = [];
                for (let j = 0; j < m.outputs.length; j++) {
                  const o = m.outputs.get(j).toJSON();
                  info.outputs.push(o.output_type);
                  if (o.output_type === 'error')
                    info.error = {ename: o.ename, evalue: o.evalue, traceback: o.traceback};
                }
              }
              return info;
            });
            """,
            timeout=10,
            what="read cells",
        )

    def _raise_cell_errors(self) -> None:
        for c in self.cells_info():
            if c["type"] != "code":
                continue
            if "error" in c:
                e = c["error"]
                raise KernelError(
                    e["ename"], f"{e['evalue']} (in cell {c['index']})", e["traceback"], c["source"]
                )
            if c["execution_count"] is None and c["source"].strip():
                raise HarnessError(f"cell {c['index']} was not executed after run-all\n{self.diagnostics()}")

    def kernel_exec(self, code: str, timeout: float | None = None, *, include_stderr: bool = False) -> str:
        """Run ``code`` in the notebook's kernel (not in a cell) and return stdout + the
        execute_result's text/plain. Raises :class:`KernelError` with the kernel traceback if the
        code raised; on timeout the kernel is interrupted and :class:`HarnessTimeout` raised."""
        timeout = self.default_timeout if timeout is None else timeout
        try:
            res = self._kernel_exec(code, timeout, include_stderr)
        except HarnessTimeout:
            try:  # leave the kernel usable for the rest of the test
                self.interrupt_kernel(timeout=5)
            except Exception:
                pass
            raise
        if res["error"]:
            e = res["error"]
            raise KernelError(e["ename"], e["evalue"], e["traceback"] or [], code)
        if res["status"] != "ok":
            raise HarnessError(f"kernel_exec reply status {res['status']!r} for {code[:80]!r}")
        return res["out"]

    def _kernel_exec(self, code: str, timeout: float, include_stderr: bool) -> dict:
        return self._eval(
            """
            const nb = __findNb(args.path);
            if (!nb) throw new Error('notebook not open: ' + args.path);
            const k = nb.sessionContext.session && nb.sessionContext.session.kernel;
            if (!k) throw new Error('notebook has no kernel');
            const out = [];
            let error = null;
            const future = k.requestExecute(
              {code: args.code, silent: false, store_history: false, stop_on_error: false});
            window.__vwFuture = future;
            future.onIOPub = (msg) => {
              const t = msg.header.msg_type, c = msg.content;
              if (t === 'stream' && (c.name === 'stdout' || args.stderr)) out.push(c.text);
              else if (t === 'execute_result' && c.data && 'text/plain' in c.data)
                out.push(c.data['text/plain'] + '\\n');
              else if (t === 'error')
                error = {ename: c.ename, evalue: c.evalue, traceback: c.traceback};
            };
            const reply = await future.done;
            window.__vwFuture = null;
            const rc = reply.content;
            if (rc.status === 'error' && !error)
              error = {ename: rc.ename, evalue: rc.evalue, traceback: rc.traceback || []};
            return {out: out.join(''), error, status: rc.status};
            """,
            {"code": code, "stderr": include_stderr},
            timeout=timeout,
            what=f"kernel_exec({code[:80]!r})",
        )

    def interrupt_kernel(self, timeout: float = 10) -> None:
        self._eval(
            """
            const nb = __findNb(args.path);
            await nb.sessionContext.session.kernel.interrupt();
            return true;
            """,
            timeout=timeout,
            what="interrupt kernel",
        )

    _JSON_MARK = "__VW_JSON__:"

    def kernel_eval_json(self, expr: str, timeout: float | None = None) -> Any:
        """Evaluate Python expression ``expr`` in the kernel and return it via JSON."""
        code = f"print({self._JSON_MARK!r} + __import__('json').dumps(({expr})))"
        out = self.kernel_exec(code, timeout)
        for line in reversed(out.splitlines()):
            if line.startswith(self._JSON_MARK):
                return json.loads(line[len(self._JSON_MARK) :])
        raise HarnessError(f"no JSON marker in kernel output for {expr!r}: {out[-500:]!r}")

    def wait_kernel(self, expr: str, timeout: float | None = None, *, interval: float = 0.1):
        """Poll Python expression ``expr`` in the kernel until it is truthy; returns its value
        (JSON-decoded). Kernel errors count as "not yet"; the last one is reported on timeout."""
        timeout = self.default_timeout if timeout is None else timeout
        try:
            return wait_until(
                lambda: self.kernel_eval_json(expr, timeout=min(10.0, timeout)),
                timeout,
                interval=interval,
                what=f"kernel expression {expr!r} to be truthy",
            )
        except HarnessTimeout as e:
            raise HarnessTimeout(f"{e}\n{self.diagnostics()}") from None

    def restart_kernel(self, timeout: float | None = None) -> None:
        """Restart the kernel (no dialog) and wait until it is idle again."""
        timeout = self.default_timeout if timeout is None else timeout
        t0 = time.monotonic()
        self._eval(
            """
            const nb = __findNb(args.path);
            await nb.sessionContext.session.kernel.restart();
            return true;
            """,
            timeout=timeout,
            what="kernel restart",
        )
        self.wait_idle(max(1.0, timeout - (time.monotonic() - t0)))

    def shutdown_kernel(self, timeout: float | None = None) -> None:
        """Shut the kernel down as 'Shut Down Kernel' does (the notebook stays open, no kernel)."""
        timeout = self.default_timeout if timeout is None else timeout
        self._eval(
            """
            const nb = __findNb(args.path);
            await nb.sessionContext.shutdown();
            return true;
            """,
            timeout=timeout,
            what="kernel shutdown",
        )
        self.wait_for_js(
            """
            const k = nb && nb.sessionContext.session && nb.sessionContext.session.kernel;
            return !k || k.status === 'dead' || k.isDisposed;
            """,
            timeout=timeout,
            what="kernel gone after shutdown",
        )

    def start_kernel(self, name: str = "python3", timeout: float | None = None) -> None:
        """Start a kernel for the open notebook (e.g. after :meth:`shutdown_kernel`)."""
        timeout = self.default_timeout if timeout is None else timeout
        t0 = time.monotonic()
        self._eval(
            """
            const nb = __findNb(args.path);
            await nb.sessionContext.changeKernel({name: args.name});
            return true;
            """,
            {"name": name},
            timeout=timeout,
            what=f"start kernel {name}",
        )
        self.wait_idle(max(1.0, timeout - (time.monotonic() - t0)))

    def save(self, timeout: float = 15) -> None:
        self._eval(
            "const nb = __findNb(args.path); await nb.context.save(); return true;",
            timeout=timeout,
            what="save notebook",
        )

    def reload(self, timeout: float | None = None) -> None:
        """Reload the tab (same workspace, so the notebook reopens) and wait for an idle kernel."""
        timeout = self.open_timeout if timeout is None else timeout
        t0 = time.monotonic()
        self.page.reload(wait_until="domcontentloaded", timeout=timeout * 1000)
        self._wait_notebook_ready(timeout - (time.monotonic() - t0))

    def screenshot(self, path: str | os.PathLike, *, full_page: bool = False) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def close(self) -> None:
        """Close the page (and its context when owned). Safe to call twice."""
        try:
            if self.owns_context:
                self.page.context.close()
            elif not self.page.is_closed():
                self.page.close()
        except Exception:
            pass

    # -- outputs ----------------------------------------------------------------------------
    def output_locator(self, selector: str, *, cell: int | None = None):
        """Playwright locator for ``selector`` inside this notebook's outputs (optionally within
        cell index ``cell``)."""
        scope = self.page.locator("#" + self._panel_id())
        if cell is not None:
            scope = scope.locator(".jp-Notebook .jp-Cell").nth(cell)
        return scope.locator(".jp-OutputArea-output").locator(selector)

    def _panel_id(self) -> str:
        pid = self._eval(
            "const nb = __findNb(args.path); return nb ? nb.id : null;",
            timeout=5,
            what="notebook panel id",
        )
        if not pid:
            raise HarnessError(f"notebook {self.path!r} is not open")
        return pid

    def wait_for_output(self, selector: str, timeout: float | None = None, *, cell: int | None = None):
        """Wait until an output element matching ``selector`` is visible; returns its locator."""
        timeout = self.default_timeout if timeout is None else timeout
        loc = self.output_locator(selector, cell=cell).first
        try:
            loc.wait_for(state="visible", timeout=timeout * 1000)
        except Exception as e:
            if "Timeout" in type(e).__name__ or "Timeout" in str(e):
                raise self._timeout(f"output {selector!r} visible", timeout) from None
            raise
        return loc

    def output_box(self, selector: str, timeout: float | None = None, *, cell: int | None = None) -> dict:
        """Bounding box (x, y, width, height in page CSS pixels, usable with page.mouse) of the
        first visible output element matching ``selector``, scrolled into view."""
        loc = self.wait_for_output(selector, timeout, cell=cell)
        loc.scroll_into_view_if_needed(timeout=(timeout or self.default_timeout) * 1000)
        box = loc.bounding_box()
        if not box or box["width"] == 0 or box["height"] == 0:
            raise HarnessError(f"output {selector!r} has no size: {box}\n{self.diagnostics()}")
        return box

    def drag(
        self,
        selector: str,
        points: Sequence[tuple[float, float]],
        *,
        steps: int = 5,
        button: str = "left",
        modifiers: Sequence[str] = (),
        cell: int | None = None,
    ) -> None:
        """Press at the first point, move through the others, release. Points are fractions of
        the element's box: (0, 0) top-left, (1, 1) bottom-right."""
        if not points:
            raise ValueError("drag needs at least one point")
        box = self.output_box(selector, cell=cell)

        def at(p):
            return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

        mouse, kb = self.page.mouse, self.page.keyboard
        for m in modifiers:
            kb.down(m)
        try:
            mouse.move(*at(points[0]))
            mouse.down(button=button)
            for p in points[1:]:
                mouse.move(*at(p), steps=steps)
            mouse.up(button=button)
        finally:
            for m in reversed(modifiers):
                kb.up(m)

    def canvas_pixels(
        self, selector: str, timeout: float | None = None, *, cell: int | None = None
    ) -> tuple[int, int, bytes]:
        """(width, height, RGBA bytes row-major) of the first output canvas matching ``selector``.

        The canvas is copied with drawImage into a scratch 2D canvas, so it works for 2D and
        WebGL canvases alike without creating a context on the source (a WebGL canvas needs
        ``preserveDrawingBuffer`` or a read in the same frame as its draw)."""
        loc = self.wait_for_output(selector, timeout, cell=cell)
        res = loc.evaluate(
            """(c) => {
              if (!(c instanceof HTMLCanvasElement)) throw new Error('not a canvas: ' + c.tagName);
              const w = c.width, h = c.height;
              const s = document.createElement('canvas');
              s.width = w; s.height = h;
              const ctx = s.getContext('2d', {willReadFrequently: true});
              if (w && h) ctx.drawImage(c, 0, 0);
              const d = w && h ? ctx.getImageData(0, 0, w, h).data : new Uint8ClampedArray(0);
              let bin = '';
              for (let i = 0; i < d.length; i += 0x8000)
                bin += String.fromCharCode.apply(null, d.subarray(i, i + 0x8000));
              return {w, h, b64: btoa(bin)};
            }"""
        )
        return res["w"], res["h"], base64.b64decode(res["b64"])

    def canvas_pixel(self, selector: str, x: int, y: int, **kw) -> tuple[int, int, int, int]:
        """RGBA of canvas pixel (x, y) (canvas pixels, not CSS pixels)."""
        w, h, data = self.canvas_pixels(selector, **kw)
        if not (0 <= x < w and 0 <= y < h):
            raise IndexError(f"pixel ({x}, {y}) outside canvas {w}x{h}")
        i = 4 * (y * w + x)
        return tuple(data[i : i + 4])  # type: ignore[return-value]
