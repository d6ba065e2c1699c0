"""The soak's CI slice (issue 15 item 8): ``tests/browser/soak.py`` for ``VOXWIDGET_SOAK_SECONDS``
(default 60) with two tabs, four views, two widgets on one stored map, kernel SIGKILLs every
~15 s and a reload; no saved paint lost, the map equal to the replay of the logged edits, both tabs
reach every restarted kernel without a reload (the widget reconnects a stuck tab:
widget/shellwatch.js), and something happened (strokes saved, kills). ``bench/soak.py`` runs it
for 10 minutes."""

from __future__ import annotations

import os

import pytest

from .conftest import VIEWPORT
from .jupyter import JupyterServer
from .soak import LAB_SETTINGS, SERVER_ARGS, Soak, open_tabs

pytestmark = pytest.mark.browser
SECONDS = float(os.environ.get("VOXWIDGET_SOAK_SECONDS", "60"))


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    """A kernel restarter that notices a killed kernel at once and never gives up."""
    root = tmp_path_factory.mktemp("lab-root-soak")
    with JupyterServer(root, extra_args=SERVER_ARGS, lab_settings=LAB_SETTINGS) as server:
        yield server


@pytest.mark.timeout(int(SECONDS) + 600)
def test_soak_loses_no_saved_edit(browser, jupyter_server, lab_root):
    ctx = browser.new_context(viewport=VIEWPORT)
    a, b = open_tabs(ctx, jupyter_server, lab_root)
    try:
        r = Soak(a, b, lab_root, seed=int(os.environ.get("VOXWIDGET_SOAK_SEED", "1"))).run(
            SECONDS, kill_every=15, reload_every=30
        )
    except Exception:
        print("\n".join(list(a.console)[-20:] + list(b.console)[-20:]))
        raise
    finally:
        ctx.close()
        jupyter_server.shutdown_sessions()
    print(f"\nsoak: {r}")
    assert r["lost_voxels"] == 0 and r["lost_strokes"] == 0, r
    assert r["unexplained_voxels"] == 0, r
    assert r["kills"] >= 2, r
    assert r["saved_strokes"] >= 3 and r["saved_voxels"] > 100, r
    assert r["kernel_edits"].get("browser", 0) >= 3, r
