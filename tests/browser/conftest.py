"""Fixtures for tests that drive a real JupyterLab (or Jupyter Notebook 7) in headless Chromium.

Fixtures:
    jupyter_server   (session)  JupyterServer rooted at a session temp dir
    notebook_server  (session)  the same for Jupyter Notebook 7 (``app="notebook"``), started
                                only when a test asks for it
    browser          (session)  Playwright Chromium (Debian's /usr/bin/chromium, headless)
    lab_root         (function) a fresh directory inside the server root for this test's files
    lab_page         (function) LabPage in a new browser context; closed (and its kernels shut
                                down) after the test; relative notebook paths are in lab_root
    app_page         (function, params "lab" and "notebook")
                                LabPage in a fresh context on jupyter_server or notebook_server;
                                relative notebook paths are in its ``base_dir`` (a fresh dir)
    persistent_lab_page_factory (function)
                                factory(user_data_dir=None) -> LabPage on a persistent context,
                                so IndexedDB/OPFS survive reloads and reopening the profile

All tests under tests/browser get the ``browser`` marker (deselect with ``-m "not browser"``).
Set VW_CHROMIUM to use another Chromium binary, VW_HEADFUL=1 to watch, VW_ARTIFACTS=dir to keep
screenshots/console/server log of failing tests (default: the test's tmp_path).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from .jupyter import JupyterServer, LabPage

HERE = Path(__file__).resolve().parent

CHROMIUM = os.environ.get("VW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
HARD_TIMEOUT = int(os.environ.get("VW_BROWSER_TEST_TIMEOUT", "600"))  # s, needs pytest-timeout


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browser: drives a real JupyterLab (or Notebook 7) in headless Chromium (slow, ~10 s/test)"
    )


def pytest_collection_modifyitems(config, items):
    # A page stuck in a JS loop blocks page.evaluate beyond any in-page timer: with pytest-timeout
    # installed, give each browser test a hard ceiling unless it sets its own.
    has_timeout = config.pluginmanager.hasplugin("timeout")
    for item in items:
        try:
            item.path.resolve().relative_to(HERE)
        except ValueError:
            continue
        item.add_marker(pytest.mark.browser)
        if has_timeout and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(HARD_TIMEOUT))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


def _failed(request) -> bool:
    return any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))


@pytest.fixture(scope="session")
def jupyter_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-root")
    with JupyterServer(root) as server:
        yield server


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or VW_CHROMIUM)")
    with sync_playwright() as p:
        yield p


def _launch_kwargs() -> dict:
    return {
        "executable_path": CHROMIUM,
        "headless": not os.environ.get("VW_HEADFUL"),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser(_playwright):
    b = _playwright.chromium.launch(**_launch_kwargs())
    yield b
    b.close()


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("nb7-root")
    with JupyterServer(root, app="notebook") as server:
        yield server


def _test_dir(server: JupyterServer, request) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    d = server.root_dir / name
    i = 1
    while d.exists():
        i += 1
        d = server.root_dir / f"{name}-{i}"
    d.mkdir(parents=True)
    return d


@pytest.fixture
def lab_root(jupyter_server, request) -> Path:
    """A fresh directory inside the server root for this test. Notebooks with the same name in
    different tests then get different kernel sessions (sessions are keyed by path)."""
    return _test_dir(jupyter_server, request)


def _artifact_dir(request, tmp_path_factory) -> Path:
    base = os.environ.get("VW_ARTIFACTS")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)[:80]
    if base:
        d = Path(base) / name
    else:
        d = tmp_path_factory.mktemp(f"artifacts-{name[:40]}")
    d.mkdir(parents=True, exist_ok=True)
    return d


def _finish(lab: LabPage, server: JupyterServer, request, tmp_path_factory, idx: int = 0):
    if _failed(request):
        d = _artifact_dir(request, tmp_path_factory)
        try:
            lab.screenshot(d / f"page{idx}.png")
        except Exception:
            pass
        (d / f"console{idx}.txt").write_text("\n".join(lab.console))
        (d / "server.log").write_text(server.read_log())
        print(f"\n[browser harness] artifacts of failed test in {d}")
    lab.close()
    if lab.opened_paths and server.running:
        try:
            server.shutdown_sessions(lab.opened_paths)
        except Exception:
            pass


@pytest.fixture
def lab_page(browser, jupyter_server, lab_root, request, tmp_path_factory):
    """LabPage in a fresh context; relative notebook paths are relative to ``lab_root``."""
    context = browser.new_context(viewport=VIEWPORT)
    lab = LabPage(context.new_page(), jupyter_server, owns_context=True, base_dir=lab_root)
    yield lab
    _finish(lab, jupyter_server, request, tmp_path_factory)


@pytest.fixture(params=["lab", "notebook"])
def app_page(browser, request, tmp_path_factory):
    """LabPage in a fresh context, in JupyterLab and (second parameter) in Jupyter Notebook 7;
    relative notebook paths are relative to ``app_page.base_dir``, a fresh dir for this test."""
    server = request.getfixturevalue("jupyter_server" if request.param == "lab" else "notebook_server")
    context = browser.new_context(viewport=VIEWPORT)
    lab = LabPage(context.new_page(), server, owns_context=True, base_dir=_test_dir(server, request))
    yield lab
    _finish(lab, server, request, tmp_path_factory)


@pytest.fixture
def persistent_lab_page_factory(_playwright, jupyter_server, lab_root, request, tmp_path, tmp_path_factory):
    """``factory(user_data_dir=None) -> LabPage`` on ``launch_persistent_context``.

    The default profile dir is per test (``tmp_path/"profile"``). Close a page (``lab.close()``)
    before opening another one on the same profile: Chromium locks a profile dir.
    """
    pages: list[LabPage] = []

    def factory(user_data_dir: str | os.PathLike | None = None) -> LabPage:
        udd = Path(user_data_dir) if user_data_dir is not None else tmp_path / "profile"
        udd.mkdir(parents=True, exist_ok=True)
        ctx = _playwright.chromium.launch_persistent_context(str(udd), viewport=VIEWPORT, **_launch_kwargs())
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        lab = LabPage(page, jupyter_server, owns_context=True, base_dir=lab_root)
        pages.append(lab)
        return lab

    yield factory
    for i, lab in enumerate(pages):
        _finish(lab, jupyter_server, request, tmp_path_factory, i)
