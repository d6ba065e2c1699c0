"""What the label panel's counts cost the kernel: ``labels.counts`` notices vs the edits they follow.

For maps with 100, 10,000 and 100,000 label ids in use, a Python loop of small edits (50 voxels each)
runs for a few seconds in the same process (alternating, best of runs): with an endpoint's
:class:`~voxwidget.comm.counts.CountNotices` told after every edit (as the change notices tell it,
at most every 20 ms; here after every edit, the worst case) and without. Reported: ms per edit each
way (wall time: the notices' thread competes for the GIL), their ratio, the messages sent, and the
time of one whole ``labels.counts`` (what a view gets when it joins), and ``busy``: the share of the
notifying loops' time spent reading, diffing and sending the change notices (the exact cost; the
per-edit times are wall clock on a shared machine and noisy). The notices read and diff the
counts on their own clock (at most every 100 ms and 20x their last cost apart), so the ratio stays
near 1 whatever the id count; their thread's time is included (the loop waits for the last one).

Run: ``python bench/bench_counts.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from voxwidget.comm.counts import CountNotices
from voxwidget.labelmap import LabelMap

SHAPE = (64, 512, 512)


def run(n_ids: int, seconds: float) -> dict:
    lm = LabelMap(SHAPE, dtype="uint32", chunks=(64, 64, 64))
    arr = np.zeros(SHAPE, np.uint32)
    arr.reshape(-1)[:n_ids] = np.arange(1, n_ids + 1, dtype=np.uint32)
    lm[:, :, :] = arr
    sent: list[dict] = []
    notices = CountNotices(lm, lambda kind, **fields: sent.append(fields))
    busy = [0.0]  # seconds spent reading, diffing and sending change notices
    send_changes = notices._send_changes

    def timed() -> None:
        t = time.perf_counter()
        send_changes()
        busy[0] += time.perf_counter() - t

    notices._send_changes = timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    notices.full()
    full_ms = (time.perf_counter() - t0) * 1e3

    spent = [0.0]  # seconds in the loops that notify

    def loop(notify: bool) -> float:
        t = time.perf_counter()
        i = 0
        while time.perf_counter() - t < seconds:
            lm[1 + i % 60, 0, 0:50] = (i + i // 60) % 3 + 1  # counts keep changing
            if notify:
                notices.changed()
            i += 1
        if notify:
            notices.flush()  # the last notice is part of the cost
            spent[0] += time.perf_counter() - t
        return (time.perf_counter() - t) * 1e3 / i

    base = min(loop(False), loop(False))  # alternated, best of two: the machine is shared
    with_counts = min(loop(True), loop(True))
    base = min(base, loop(False))
    notices.close()
    share = busy[0] / spent[0]
    out = {"ids": n_ids, "full": full_ms, "base": base, "counts": with_counts, "share": share}
    return out | {"messages": len(sent) - 1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="per loop")
    args = ap.parse_args()
    print(f"{'ids':>8} {'full ms':>8} {'edit ms':>8} {'+counts':>8} {'ratio':>6} {'busy':>6} {'messages':>8}")
    for n in (100, 10_000, 100_000):
        r = run(n, args.seconds)
        ratio = r["counts"] / r["base"]
        cols = f"{r['ids']:>8} {r['full']:>8.1f} {r['base']:>8.3f} {r['counts']:>8.3f}"
        print(f"{cols} {ratio:>6.2f} {r['share']:>6.1%} {r['messages']:>8}")


if __name__ == "__main__":
    main()
