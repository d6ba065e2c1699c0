"""Quiet liveness (issue 15 item 5) in a real JupyterLab + headless Chromium.

1. A view sitting idle makes the kernel publish no busy status at all (the old heartbeat pinged
   every 2 s, and each comm message from the browser makes the kernel go busy + idle).
2. With JupyterLab's default (widget comms over a kernel subshell, ipykernel 7) a long cell does
   not hold the widget's messages: a stroke painted while it runs is saved before it ends.
3. With comms on the main shell (``commsOverSubshells`` off, as in front ends without subshells) a
   cell running longer than the offline timeout shows as "kernel busy (N pending)", never
   "offline"; a stroke painted meanwhile is kept and goes through once the cell ends.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from .jupyter import write_notebook
from .test_annotate import stroke
from .widget_hooks import CANVAS, hook, wait_view_idle

pytestmark = pytest.mark.browser

Z = 24
CELLS = [
    "import numpy as np\nfrom voxwidget import VoxWidget\n"
    "img = (np.arange(48 * 96 * 128).reshape(48, 96, 128) % 97).astype(np.uint8)\n"
    "w = VoxWidget(img, chunks=(16, 32, 32), opacity=1.0, brush_radius=2, label=6)\nw",
]
KERNEL = "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"


def sync(lab) -> dict:
    return hook(lab, "state")["sync"]


def long_cell(lab, seconds: int) -> None:
    """Run ``time.sleep(seconds)`` in the kernel, not waiting; ``window.__vwLong`` turns true at its end."""
    lab.page.evaluate(
        f"""() => {{
          const f = {KERNEL}.requestExecute({{code: 'import time; time.sleep({seconds})'}});
          window.__vwLong = false;
          f.done.then(() => {{ window.__vwLong = true; }});
        }}"""
    )
    lab.wait_for_js(f"() => {KERNEL}.status === 'busy'", timeout=10)


def wait_saved(lab, what: str, timeout: float = 30) -> None:
    lab.wait_for_js(
        "() => document.querySelector('.voxwidget-canvas').voxwidget.state().sync.state === 'saved'",
        timeout=timeout,
        what=what,
    )


def count(lab, label: int) -> int:
    return json.loads(
        lab.kernel_exec(f"import json; print(json.dumps(int((w.to_numpy() == {label}).sum())))")
    )


def test_idle_view_is_quiet_and_a_long_cell_is_busy_not_offline(lab_page, lab_root):
    lab = lab_page
    write_notebook(lab_root / "live.ipynb", CELLS)
    lab.open_notebook("live.ipynb")
    lab.run_all_cells(timeout=120)
    lab.wait_for_output(CANVAS, timeout=60)
    wait_view_idle(lab)
    lab.wait_for_js(
        "() => document.querySelector('.voxwidget-canvas').voxwidget.state().sync.state === 'saved'",
        timeout=30,
    )
    s = sync(lab)
    assert s["quiet"] is True, "JupyterLab's widget manager should expose the kernel's status"
    assert s["connection"] == "online"

    # -- 1. an idle view: no comm message and no busy status for 8 s (4 heartbeats' worth) -----
    # Every message between this page and the kernel is recorded (JupyterLab's `anyMessage`):
    # the view's own messages (comm_*) must stop; a busy status is the view's fault when its parent
    # request is a comm message. Anything else (a kernel_info_request after a websocket reconnect
    # on a loaded machine, say) is reported in the failure message but is not the view's doing.
    lab.page.evaluate(
        f"""() => {{
          window.__vwEvents = [];
          window.__vwAny = (_, a) => {{
            const m = a.msg, h = m.header;
            if (a.direction === 'send')
              window.__vwEvents.push({{t: Date.now(), sent: h.msg_type,
                data: JSON.stringify(m.content?.data ?? '').slice(0, 120)}});
            else if (h.msg_type === 'status')
              window.__vwEvents.push({{t: Date.now(), status: m.content.execution_state,
                parent: m.parent_header?.msg_type ?? null}});
          }};
          {KERNEL}.anyMessage.connect(window.__vwAny);
        }}"""
    )
    # first let the tail of the start-up settle (a throttled trait report, the last replies):
    # 2.5 s without any message, which a 2 s heartbeat never gives
    lab.wait_for_js(
        "() => { const e = window.__vwEvents; const last = e.length ? e[e.length - 1].t : 0;"
        " if (Date.now() - last < 2500) return false; e.length = 0; return true; }",
        timeout=30,
        what="2.5 s without a message between the page and the kernel (an idle view is quiet)",
    )
    lab.page.wait_for_timeout(8000)
    events = lab.page.evaluate(
        f"() => {{ {KERNEL}.anyMessage.disconnect(window.__vwAny); return window.__vwEvents; }}"
    )
    ours = [e for e in events if e.get("sent", "").startswith("comm_")]
    busy = [e for e in events if e.get("status") == "busy" and (e["parent"] or "").startswith("comm_")]
    assert not ours and not busy, f"the idle view talked to the kernel: {events}"
    assert sync(lab)["connection"] == "online"

    # -- 2. comms over a subshell (the default): the stroke is saved while the cell runs ----------
    long_cell(lab, 10)
    stroke(lab, [(Z, 20, 20), (Z, 20, 70)])
    wait_saved(lab, "a stroke saved during a long cell (comms over a subshell)", timeout=8)
    assert lab.page.evaluate("() => window.__vwLong") is False, "the long cell ended too early"
    assert sync(lab)["connection"] == "online"
    lab.wait_for_js("() => window.__vwLong === true", timeout=30)
    assert count(lab, 6) > 0

    # -- 3. comms on the main shell: a cell running 14 s (> the 5 s offline timeout) -------------
    lab.page.evaluate("() => { window.jupyterapp.serviceManager.kernels.commsOverSubshells = 'disabled'; }")
    lab.kernel_exec("w.label = 8")
    lab.wait_for_js("() => document.querySelector('.voxwidget-label').value === '8'", timeout=10)
    long_cell(lab, 14)
    stroke(lab, [(Z, 50, 20), (Z, 50, 70)])
    lab.page.wait_for_timeout(7000)
    s = sync(lab)
    text = lab.output_locator(".voxwidget-sync").first.inner_text()
    assert s["connection"] == "busy" and s["state"] == "busy", s
    assert s["pending"] >= 1 and text == f"kernel busy ({s['pending']} pending)", (text, s)
    assert lab.page.evaluate("() => window.__vwLong") is False, "the long cell ended too early"
    lab.wait_for_js("() => window.__vwLong === true", timeout=30)
    wait_saved(lab, "the edit made during the long cell saved")
    assert sync(lab)["connection"] == "online"
    voxels = np.array(
        json.loads(lab.kernel_exec("print(json.dumps(np.argwhere(w.to_numpy() == 8).tolist()))"))
    )
    assert len(voxels), "the stroke painted during the long cell never reached the kernel"
    assert set(voxels[:, 0]) == {Z} and voxels[:, 1].min() >= 47 and voxels[:, 1].max() <= 53
