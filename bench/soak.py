"""Soak: a real JupyterLab + headless Chromium for N minutes (issue 15 item 8).

Two tabs on one notebook, two widgets on one stored map (four views), random strokes, erases,
fills, slice scrolls, zooms, undo/redo, page reloads and a kernel SIGKILL about every 20 s; then
checks that every paint a view showed as saved reached the map and that the map equals the replay
of the kernel's logged durable edits (see ``tests/browser/soak.py`` for the oracle). Reports edits
made, saved, lost, kills survived (and how often the widget had to reconnect a tab the restarted
kernel did not answer: docs/sync.md), kernel RSS and the tab's JS heap at start and end.

    PYTHONPATH=. python bench/soak.py --minutes 10 [--seed 1] [--kill-every 20]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, VIEWPORT
from tests.browser.jupyter import JupyterServer
from tests.browser.soak import LAB_SETTINGS, SERVER_ARGS, Soak, open_tabs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kill-every", type=float, default=20.0)
    ap.add_argument("--reload-every", type=float, default=45.0)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="vw-soak-") as tmp:
        root = Path(tmp)
        with (
            JupyterServer(root, extra_args=SERVER_ARGS, lab_settings=LAB_SETTINGS) as server,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            ctx = browser.new_context(viewport=VIEWPORT)
            a, b = open_tabs(ctx, server, root)
            soak = Soak(a, b, root, seed=args.seed)
            r = soak.run(args.minutes * 60, kill_every=args.kill_every, reload_every=args.reload_every)
            ctx.close()
            browser.close()
            server.shutdown_sessions()
    made = r["strokes"] + r["fills"] + r["undo"] + r["redo"]
    print(json.dumps(r, indent=1))
    print(
        f"soak {args.minutes:g} min: edits made {made} (strokes {r['strokes']}, fills {r['fills']}, "
        f"undo {r['undo']}, redo {r['redo']}); kernel applied {r['kernel_edits']}; saved strokes "
        f"{r['saved_strokes']} ({r['saved_voxels']} voxels); lost {r['lost_voxels']} voxels / "
        f"{r['lost_strokes']} strokes; unexplained {r['unexplained_voxels']}; saved strokes changing nothing "
        f"(erase over background) {r['noop_saved_strokes']}; kills survived {r['kills']} (tabs the widget "
        f"reconnected after one: {r['tab_reconnects']}, harness requests lost: {r['lost_requests']}); "
        f"reloads {r['reloads']}; kernel RSS {r['rss_start'] / 2**20:.0f} -> {r['rss_end'] / 2**20:.0f} MiB "
        f"(ratio {r['rss_end'] / r['rss_start']:.2f}); JS heap {r['heap_start'] / 2**20:.1f} -> "
        f"{r['heap_end'] / 2**20:.1f} MiB (ratio {r['heap_end'] / r['heap_start']:.2f})"
        f"; each kernel's RSS before its kill: {mib(r['rss_series'][1:-1])} MiB"
        f"; tab heap at start, each kill, end: {mib(r['heap_series'])} MiB"
    )
    return 0 if r["lost_voxels"] == 0 and r["unexplained_voxels"] == 0 else 1


def mib(values: list[int]) -> str:
    return " ".join(f"{v / 2**20:.0f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
