"""Make docs/ortho.png: the ortho view of the demo volume, with labels painted from Python.

Runs a real JupyterLab + headless Chromium through the browser-test harness (tests/browser/),
waits until the three slice views have drawn and the 3D view is idle, and takes an element
screenshot of the widget. Usage (from the repo root):

    .venv/bin/python scripts/readme_picture.py [out.png]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.jupyter import JupyterServer, LabPage, wait_until, write_notebook  # noqa: E402

C3D = ".voxwidget-canvas3d"
SLICES = ".voxwidget-canvas"

CELLS = [
    "from voxwidget import VoxWidget\n"
    "from voxwidget.data import cells\n"
    "w = VoxWidget(cells(), view='ortho', height=640)\n"
    "w",
    # position is the centre (48, 96, 96): each label cuts at least two of the three slice planes
    "w.labels[30:66, 80:112, 40:70] = 2\n"
    "w.labels.paint([48, 140, 96], radius=12, label=3, dims=3)\n"
    "w.labels[40:56, 88:104, 120:160] = 6\n"
    "w.label = 3",
]


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vw-readme-") as root, JupyterServer(root) as server:
        write_notebook(Path(root) / "ortho.ipynb", CELLS)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            lab = LabPage(context.new_page(), server, owns_context=True)
            try:
                lab.open_notebook("ortho.ipynb")
                lab.run_all_cells(timeout=180)
                lab.wait_for_output(C3D, timeout=90)
                slices = lab.output_locator(SLICES)
                wait_until(lambda: slices.count() == 3, 60, what="three slice views")
                wait_until(
                    lambda: all(slices.nth(i).evaluate("(c) => c.voxwidget.state().shown") for i in range(3)),
                    90,
                    what="slice views drawn",
                )
                c3d = lab.output_locator(C3D).first
                wait_until(
                    lambda: c3d.evaluate("(c) => c.voxwidget3d.state().idle"), 120, what="3D view idle"
                )
                lab.page.wait_for_timeout(500)  # let the last frame reach the screen
                widget = lab.output_locator(".voxwidget").first
                widget.scroll_into_view_if_needed()
                out.parent.mkdir(parents=True, exist_ok=True)
                widget.screenshot(path=str(out), animations="disabled")
            finally:
                lab.close()
                browser.close()
        server.shutdown_sessions()
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "ortho.png")
