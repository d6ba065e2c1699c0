"""Tests of the browser harness itself (tests/browser/jupyter.py + conftest.py)."""

from __future__ import annotations

import sys
import time

import pytest

from .jupyter import HarnessTimeout, JupyterServer, KernelError, wait_until, write_notebook

# A trivial anywidget: a 50x50 canvas filled with the synced `color`; a pointer drag on it sends
# the visited canvas coordinates back to the kernel as `points`.
PROBE_WIDGET = r'''
import anywidget, traitlets

class W(anywidget.AnyWidget):
    _esm = """
    export default {
      render({ model, el }) {
        el.innerHTML = '<canvas class="probe" width="50" height="50"></canvas>';
        const c = el.querySelector('canvas');
        const ctx = c.getContext('2d');
        const paint = () => { ctx.fillStyle = model.get('color'); ctx.fillRect(0, 0, 50, 50); };
        paint();
        model.on('change:color', paint);
        let pts = null;
        c.addEventListener('pointerdown', (e) => { pts = [[e.offsetX, e.offsetY]]; });
        c.addEventListener('pointermove', (e) => { if (pts) pts.push([e.offsetX, e.offsetY]); });
        c.addEventListener('pointerup', (e) => {
          if (!pts) return;
          pts.push([e.offsetX, e.offsetY]);
          model.set('points', pts); model.save_changes(); pts = null;
        });
      }
    };
    """
    color = traitlets.Unicode("#ff8000").tag(sync=True)
    points = traitlets.List().tag(sync=True)
'''


def test_notebook_runs_top_to_bottom_and_kernel_exec_reads_state(lab_page, lab_root):
    nb = write_notebook(
        lab_root / "plain.ipynb",
        [
            "x = 6 * 7",
            "#md Some *markdown* in between.",
            "import os\ncwd = os.getcwd()",
            "y = x + 1\nprint('hello from a cell')",
        ],
    )
    lab_page.open_notebook(nb)
    lab_page.run_all_cells()

    counts = [c["execution_count"] for c in lab_page.cells_info() if c["type"] == "code"]
    assert counts == sorted(counts) and None not in counts, counts
    assert lab_page.kernel_eval_json("x") == 42
    assert lab_page.kernel_exec("print(y)") == "43\n"
    assert lab_page.kernel_exec("y * 2") == "86\n"  # execute_result text/plain
    assert lab_page.kernel_exec("print('a'); 'b'") == "a\n'b'\n"
    # the kernel runs next to the notebook, so tests can share files with it through lab_root
    assert lab_page.kernel_eval_json("cwd") == str(lab_root)
    # ... and on the test's interpreter, so it imports the same (pip -e installed) packages
    assert lab_page.kernel_eval_json("__import__('sys').executable") == sys.executable
    # kernel_exec does not add history entries / execution counts to the notebook's cells
    assert [c["execution_count"] for c in lab_page.cells_info() if c["type"] == "code"] == counts


def test_kernel_errors_surface_as_python_exceptions(lab_page, lab_root):
    nb = write_notebook(lab_root / "errors.ipynb", ["a = 1", "1 / 0", "b = 2"])
    lab_page.open_notebook(nb)

    with pytest.raises(KernelError) as cell_err:
        lab_page.run_all_cells()
    assert cell_err.value.ename == "ZeroDivisionError"
    assert "cell 1" in str(cell_err.value)
    assert lab_page.kernel_eval_json("a") == 1
    # Whether cell 2 ran is not the harness's to say: JupyterLab sends run-all's requests with
    # stop_on_error, but ipykernel 7 aborts only those already queued when the error happened (a
    # later one runs; seen once in CI). Either way the first error is the one raised, above.

    code = "def explode():\n    raise ValueError('boom-1234')\nexplode()"
    with pytest.raises(KernelError) as exec_err:
        lab_page.kernel_exec(code)
    e = exec_err.value
    assert e.ename == "ValueError" and e.evalue == "boom-1234"
    assert "explode()" in e.traceback and "raise ValueError" in e.traceback
    assert "\x1b[" not in e.traceback  # ANSI colours stripped
    assert "boom-1234" in str(e) and "raise ValueError" in str(e)
    # a hung kernel call times out with diagnostics, and the kernel is interrupted
    t0 = time.monotonic()
    with pytest.raises(HarnessTimeout) as hang:
        lab_page.kernel_exec("import time; time.sleep(60)", timeout=1.5)
    assert time.monotonic() - t0 < 10
    assert "kernel_exec" in str(hang.value) and "--- server log" in str(hang.value)
    # the kernel is still usable
    assert lab_page.kernel_exec("print(a + 1)", timeout=10) == "2\n"


def test_anywidget_canvas_renders_is_located_and_readable(lab_page, lab_root):
    nb = write_notebook(lab_root / "widget.ipynb", [PROBE_WIDGET, "w = W()\nw"])
    lab_page.open_notebook(nb)
    lab_page.run_all_cells()

    box = lab_page.output_box("canvas.probe", timeout=20, cell=1)
    assert round(box["width"]) == 50 and round(box["height"]) == 50

    width, height, rgba = lab_page.canvas_pixels("canvas.probe")
    assert (width, height, len(rgba)) == (50, 50, 50 * 50 * 4)
    assert set(zip(rgba[0::4], rgba[1::4], rgba[2::4], rgba[3::4], strict=True)) == {(255, 128, 0, 255)}

    # kernel -> browser: a trait change repaints
    lab_page.kernel_exec("w.color = '#00ff00'")
    wait_until(
        lambda: lab_page.canvas_pixel("canvas.probe", 25, 25) == (0, 255, 0, 255),
        10,
        what="canvas repainted green",
    )

    # browser -> kernel: a mouse drag across the canvas reaches the kernel
    lab_page.drag("canvas.probe", [(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)], steps=4)
    points = lab_page.wait_kernel("w.points", timeout=10)
    assert len(points) >= 3
    (x0, y0), (x1, y1) = points[0], points[-1]
    assert abs(x0 - 5) <= 1 and abs(y0 - 5) <= 1, points
    assert abs(x1 - 45) <= 1 and abs(y1 - 45) <= 1, points


def test_kernel_restart_is_detected_and_kernel_answers_after(lab_page, lab_root):
    nb = write_notebook(lab_root / "restart.ipynb", ["x = 'before restart'"])
    lab_page.open_notebook(nb)
    lab_page.run_all_cells()
    assert lab_page.kernel_eval_json("x") == "before restart"
    pid_before = lab_page.kernel_eval_json("__import__('os').getpid()")

    lab_page.restart_kernel()

    statuses = [e.get("status") for e in lab_page.kernel_events()]
    assert "restarting" in statuses, statuses
    lab_page.wait_idle(timeout=30)  # raises unless idle; a fresh kernel may be busy with start-up requests
    assert lab_page.kernel_eval_json("__import__('os').getpid()") != pid_before
    with pytest.raises(KernelError, match="NameError"):
        lab_page.kernel_exec("x")
    assert lab_page.kernel_exec("print(1 + 1)") == "2\n"


def test_shutdown_start_and_persistent_storage_across_reload(persistent_lab_page_factory, lab_root):
    nb = write_notebook(lab_root / "persist.ipynb", ["z = 5"])
    lab = persistent_lab_page_factory()
    lab.open_notebook(nb)
    lab.run_all_cells()

    lab.shutdown_kernel()
    assert lab.kernel_status() in (None, "dead")
    lab.start_kernel()
    with pytest.raises(KernelError, match="NameError"):
        lab.kernel_exec("z")

    put = """async (v) => {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open('vw-harness', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('kv');
        r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error);
      });
      await new Promise((res, rej) => {
        const tx = db.transaction('kv', 'readwrite');
        tx.objectStore('kv').put(v, 'k'); tx.oncomplete = res; tx.onerror = () => rej(tx.error);
      });
      db.close(); return true;
    }"""
    get = """async () => {
      const db = await new Promise((res, rej) => {
        const r = indexedDB.open('vw-harness', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('kv');
        r.onsuccess = () => res(r.result); r.onerror = () => rej(r.error);
      });
      const v = await new Promise((res, rej) => {
        const q = db.transaction('kv').objectStore('kv').get('k');
        q.onsuccess = () => res(q.result); q.onerror = () => rej(q.error);
      });
      db.close(); return v === undefined ? null : v;
    }"""
    lab.page.evaluate(put, "kept")
    lab.reload()
    assert lab.page.evaluate(get) == "kept"
    assert lab.kernel_exec("print('alive')") == "alive\n"

    # the same profile reopened in a new browser process still has it
    lab.close()
    lab2 = persistent_lab_page_factory()
    lab2.open_notebook(nb)
    assert lab2.page.evaluate(get) == "kept"


def test_pipe_browser_drives_lab_without_network_events(jupyter_server, lab_root):
    """The bare DevTools-pipe Chromium (used by bench/bench_streaming.py) runs a notebook through
    LabPage, reports page errors and console messages, and delivers no network events: the copies
    of websocket frames that make Playwright's browser a poor place to measure throughput."""
    from .cdp import CdpError, PipeBrowser
    from .conftest import CHROMIUM, CHROMIUM_ARGS
    from .jupyter import LabPage

    nb = write_notebook(lab_root / "pipe.ipynb", ["x = 6 * 7"])
    with PipeBrowser(CHROMIUM, CHROMIUM_ARGS) as browser:
        events: list[str] = []
        page = browser.new_page(900, 700)
        network = ("Network.webSocketFrameReceived", "Network.webSocketCreated", "Network.requestWillBeSent")
        for name in network:
            browser.on(name, lambda params, name=name: events.append(name), session=page.session)
        lab = LabPage(page, jupyter_server, base_dir=lab_root)
        lab.open_notebook(nb)
        lab.run_all_cells()
        assert lab.kernel_eval_json("x") == 42
        assert lab.kernel_exec("print('a' * 3)") == "aaa\n"
        assert page.evaluate("(a) => [innerWidth, innerHeight, a.k]", {"k": [1]}) == [900, 700, [1]]
        with pytest.raises(CdpError, match="boom"):
            page.evaluate("() => { throw new Error('boom') }")
        page.evaluate("() => { console.warn('pipe', 7); setTimeout(() => { throw new Error('late') }, 0); }")
        wait_until(lambda: any("late" in m for m in lab.console), 5, what="the page error")
        assert any(m == "[warning] pipe 7" for m in lab.console), list(lab.console)
        assert events == []  # the page really talked to the kernel over its websocket meanwhile


def test_unknown_app_is_refused_naming_the_choices():
    with pytest.raises(ValueError, match=r"app must be one of \['lab', 'notebook'\], got 'voila'"):
        JupyterServer(app="voila")
