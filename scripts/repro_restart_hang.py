"""Reproduce "a tab does not reach the restarted kernel" (docs/sync.md) in a real JupyterLab.

Two tabs on one notebook, traffic from the tabs while the kernel is SIGKILLed (the server restarts
it on the same ports), then each tab is asked to run ``1``. Prints, per kill and tab, whether the
request was answered; for an unanswered one: whether a second request is answered without any help
(the widget's shellwatch reconnected the tab), else whether ``kernel.reconnect()`` cures it, plus
the kernel-side receive queue of the server's shell connections (``ss -tn``: a stuck connection's
Recv-Q grows) and whether an independent client gets answers.

    PYTHONPATH=. .venv/bin/python scripts/repro_restart_hang.py [--no-widget] [--kills 3] [--tabs 2]

``--no-widget``: the notebook has no widget and the traffic is plain ``execute_request``s (every
100 ms from each tab): the hang is not the widget's. Default: the soak's notebook (two widgets on one
stored map) and a stroke painted in tab 1 just before each kill.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from tests.browser.jupyter import HarnessTimeout, JupyterServer, LabPage, wait_until, write_notebook
from tests.browser.soak import CELLS, LAB_SETTINGS, NOTEBOOK, SERVER_ARGS, kernel_pid

KERNEL = (
    "(() => { for (const w of window.jupyterapp.shell.widgets('main'))"
    " if (w.sessionContext) return w.sessionContext.session.kernel; })()"
)
SPAM_ON = (
    f"() => {{ const k = {KERNEL}; window.__spam = setInterval(() => {{ try {{"
    " k.requestExecute({code: 'pass', silent: true, store_history: false}); } catch (e) {} }, 100); }"
)


def probe(server: JupyterServer, kid: str) -> str:
    """An independent client's answer and the Recv-Q of every connection to the shell port."""
    from jupyter_client import BlockingKernelClient

    cf = Path(server.home) / "runtime" / f"kernel-{kid}.json"
    port = json.loads(cf.read_text())["shell_port"]
    c = BlockingKernelClient(connection_file=str(cf))
    c.load_connection_file()
    c.start_channels()
    try:
        c.execute("1")
        other = c.get_shell_msg(timeout=10)["content"]["status"]
    except Exception as e:
        other = f"no reply ({type(e).__name__})"
    finally:
        c.stop_channels()
    ss = subprocess.run(["ss", "-tn"], capture_output=True, text=True).stdout.splitlines()
    recvq = [int(x.split()[1]) for x in ss if f"127.0.0.1:{port} " in x and x.split()[3].endswith(f":{port}")]
    return f"independent client: {other}; kernel-side Recv-Q of shell connections: {recvq}"


def answers(lab: LabPage, timeout: float) -> bool:
    try:
        lab._kernel_exec("1", timeout, False)  # no interrupt on timeout
        return True
    except HarnessTimeout:
        return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-widget", action="store_true")
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--tabs", type=int, default=2)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="vw-restart-hang-"))
    write_notebook(root / NOTEBOOK, ["x = 1"] if args.no_widget else CELLS)
    stuck = cured = 0
    with (
        JupyterServer(root, extra_args=SERVER_ARGS, lab_settings=LAB_SETTINGS) as server,
        sync_playwright() as p,
    ):
        ctx = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS).new_context(
            viewport=VIEWPORT
        )
        labs = [LabPage(ctx.new_page(), server, base_dir=root) for _ in range(args.tabs)]
        for i, lab in enumerate(labs):
            lab.open_notebook(NOTEBOOK, prestart_kernel=i == 0)
        for lab in labs:
            lab.page.bring_to_front()
            lab.run_all_cells(timeout=90)
        kid = labs[0].kernel_id()
        for it in range(args.kills):
            if args.no_widget:
                for lab in labs:
                    lab.page.evaluate(SPAM_ON)
                time.sleep(0.5)
            else:
                labs[0].page.bring_to_front()
                labs[0].drag(".voxwidget-canvas", [(0.2, 0.3 + 0.05 * it), (0.8, 0.5)])
            pid = kernel_pid(kid)
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: (kernel_pid(kid) or pid) != pid, 60, interval=0.2, what="restart")  # noqa: B023
            if args.no_widget:
                time.sleep(0.3)
                for lab in labs:
                    lab.page.evaluate("() => clearInterval(window.__spam)")
            for j, lab in enumerate(labs):
                lab.page.bring_to_front()
                lab.wait_idle(30)
                if answers(lab, 20):
                    print(f"kill {it} tab {j}: answered", flush=True)
                    continue
                stuck += 1
                print(f"kill {it} tab {j}: STUCK; {probe(server, kid)}", flush=True)
                if answers(lab, 10):
                    cured += 1
                    print("   answered on the next request without help (the widget reconnected the tab)")
                    continue
                lab.page.evaluate(f"async () => {{ await {KERNEL}.reconnect(); }}")
                print(f"   after kernel.reconnect(): {'answered' if answers(lab, 20) else 'STILL STUCK'}")
            if not args.no_widget:
                for lab in labs:
                    lab.run_all_cells(timeout=90)
        log = server.read_log()
        tabs_reconnected = sum(
            "no replies from the restarted kernel" in m for lab in labs for m in lab.console
        )
        ctx.close()
    print(
        f"{stuck} of {args.kills * args.tabs} tab-restarts stuck, {cured} cured by the widget "
        f"(its console notes: {tabs_reconnected}); 'Unknown subshell_id' in the kernel log: "
        f"{log.count('Unknown subshell_id')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
