"""The soak's checker (see ``tests/browser/soak.py`` for why it is sound): replays each epoch's
logged durable edits on its store snapshot, chains the epochs, and checks every paint a view showed
as saved against the voxel's logged history."""

from __future__ import annotations

import json
from bisect import bisect_left
from pathlib import Path

import numpy as np

SHAPE = (32, 128, 128)
CHUNKS = (16, 64, 64)


def check(
    logs: Path,
    epochs: int,
    saved: dict[str, set[tuple[int, int, int, int]]],
    final: np.ndarray,
    disk: np.ndarray,
    rss: list[int],
    heap: list[int],
) -> dict:
    """``logs`` holds ``snap_K.npy`` and ``log_K.jsonl`` for epochs 0..``epochs``; ``saved`` maps
    stroke id -> the (z, y, x, value) paints a view showed as saved; ``final`` is the kernel's map at
    the end, ``disk`` the store reopened from disk. Returns the figures (lost_* must be 0)."""
    writes: dict[int, list[tuple[int, int]]] = {}  # flat voxel -> [(event index, value)]
    stroke_events: dict[str, list[int]] = {}
    stroke_edited: set[str] = set()  # strokes with a logged durable edit (not only arrivals)
    inflight_batches: set[str] = set()
    unexplained = 0
    inflight_diff = 0
    g = 0
    for k in range(epochs + 1):
        snap = np.load(logs / f"snap_{k}.npy")
        nxt = np.load(logs / f"snap_{k + 1}.npy") if k < epochs else final
        lines = [json.loads(x) for x in (logs / f"log_{k}.jsonl").read_text().splitlines() if x.strip()]
        stroke_of = {d["o"]: d["s"] for d in lines if d["t"] == "arr"}
        posted = {(d["o"], json.dumps(sorted(d["kv"]))) for d in lines if d["t"] == "ev"}
        inflight_keys = set()
        for d in lines:
            if d["t"] == "pre" and (d["o"], json.dumps(sorted(d["kv"]))) not in posted:
                inflight_keys.update(tuple(kv[0]) for kv in d["kv"])
                if d["o"]:
                    inflight_batches.add(stroke_of.get(d["o"], d["o"]))
        vol = snap.copy()
        for d in lines:
            if d["t"] == "arr":  # a batch arrived (logged before it is applied)
                g += 1
                stroke_events.setdefault(d["s"], []).append(g)
            if d["t"] != "ev":
                continue
            g += 1
            if d["zyx"][0]:
                z, y, x = (np.asarray(c) for c in d["zyx"])
                vol[z, y, x] = d["v"]
                for f, v in zip(np.ravel_multi_index((z, y, x), SHAPE).tolist(), d["v"], strict=True):
                    writes.setdefault(f, []).append((g, v))
            if d["o"] in stroke_of:
                stroke_events.setdefault(stroke_of[d["o"]], []).append(g)
                stroke_edited.add(stroke_of[d["o"]])
        for p in np.argwhere(vol != nxt):
            key = tuple(int(c) // s for c, s in zip(p, CHUNKS, strict=True))
            if key in inflight_keys:
                inflight_diff += 1
                g += 1
                writes.setdefault(int(np.ravel_multi_index(tuple(p), SHAPE)), []).append(
                    (g, int(nxt[tuple(p)]))
                )
            else:
                unexplained += 1
        if k == epochs:
            unexplained += int((disk != final).sum())
    lost_voxels, lost_strokes, unverified, examples = 0, set(), 0, []
    saved_voxels = 0
    for stroke, paints in saved.items():
        ev = stroke_events.get(stroke)
        if not ev:
            if stroke in inflight_batches:
                unverified += len(paints)
            else:
                lost_voxels += len(paints)
                lost_strokes.add(stroke)
                examples.append((stroke, "no logged batch", len(paints)))
            continue
        i0, i1 = min(ev), max(ev)
        for z, y, x, v in paints:
            saved_voxels += 1
            w = writes.get(int(np.ravel_multi_index((z, y, x), SHAPE)), [])
            j = bisect_left(w, (i0, -(2**62)))
            before = w[j - 1][1] if j else 0
            if before != v and not any(wv == v for gi, wv in w[j:] if gi <= i1):
                lost_voxels += 1
                if stroke not in lost_strokes and len(examples) < 5:
                    examples.append((stroke, (z, y, x, v), (i0, i1), w[max(0, j - 2) : j + 3]))
                lost_strokes.add(stroke)
    (logs / "saved.json").write_text(json.dumps({k: sorted(v) for k, v in saved.items()}))
    kinds: dict[str, int] = {}
    for k in range(epochs + 1):
        for x in (logs / f"log_{k}.jsonl").read_text().splitlines():
            d = json.loads(x)
            if d["t"] == "ev":
                kinds[d["k"]] = kinds.get(d["k"], 0) + 1
    return {
        "kernel_edits": kinds,
        "saved_strokes": len(saved),
        "saved_voxels": saved_voxels,
        "lost_voxels": lost_voxels,
        "lost_strokes": len(lost_strokes),
        "lost_examples": examples,
        "unexplained_voxels": unexplained,
        "inflight_voxels": inflight_diff,
        "unverified_voxels": unverified,
        "labelled_voxels": int((final != 0).sum()),
        # saved strokes whose batches arrived but changed nothing (an erase over background):
        # judged by their arrivals, not counted lost
        "noop_saved_strokes": sum(1 for s in saved if s in stroke_events and s not in stroke_edited),
        "rss_start": rss[0],
        "rss_end": rss[-1],
        "heap_start": heap[0],
        "heap_end": heap[-1],
        "rss_series": list(rss),  # at the start, before each kill (a kernel's last RSS), at the end
        "heap_series": list(heap),
    }
