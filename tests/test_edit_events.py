"""LabelMap.on_edit: one EditEvent per durable edit, matching what the edit changed; callbacks run
outside the map's lock, a failing callback is logged and harms nothing, unsubscribe stops them."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import pytest

from voxwidget.labelmap import ChunkEdit, EditEvent, LabelMap

SHAPE, CHUNKS = (24, 30, 20), (8, 10, 8)


def check_event(ev: EditEvent, before: np.ndarray, after: np.ndarray, kind: str, versions: dict) -> None:
    """The event against the arrays before and after the edit and the map's chunk versions."""
    diff = before != after
    assert ev.kind == kind
    assert ev.voxels == int(diff.sum())
    idx = np.argwhere(diff)
    assert ev.lo == tuple(idx.min(axis=0).tolist())
    assert ev.hi == tuple((idx.max(axis=0) + 1).tolist())
    assert ev.labels == sorted(np.unique(after[diff]).tolist())
    keys = {tuple(int(v) for v in k // CHUNKS) for k in idx}
    assert set(ev.keys) == keys
    assert dict(zip(ev.keys, ev.versions, strict=True)) == {k: versions[k] for k in ev.keys}


def wait_for(events: list, n: int) -> None:
    """Wait until ``n`` events arrived (a stored map's come from the journal thread once durable)."""
    deadline = time.monotonic() + 10
    while len(events) < n and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(events) == n


@pytest.mark.parametrize("stored", [False, True])
def test_events_match_every_kind_of_edit(tmp_path, stored):
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=tmp_path / "m.zarr" if stored else None)
    events: list[EditEvent] = []
    lm.on_edit(events.append)
    ops = [
        ("paint", lambda: lm.paint((10, 12, 9), 5, 3, dims=3)),
        ("erase", lambda: lm.erase((10, 12, 12), 3, dims=3)),
        ("set", lambda: lm.__setitem__((slice(0, 4), slice(5, 25), 3), 7)),
        ("fill", lambda: lm.fill((10, 12, 6), 4)),
        ("polygon", lambda: lm.fill_polygon([[2, 2], [20, 4], [12, 18]], 6, axis=0, index=20)),
        ("replace", lambda: lm.replace(7, 8)),
        ("undo", lm.undo),
        ("redo", lm.redo),
        (
            "browser",
            lambda: lm.apply_batch(
                "batch-1", [ChunkEdit((1, 1, 1), np.array([0, 5, 9], np.uint32), np.array([9, 9, 2]))]
            ),
        ),
    ]
    for kind, op in ops:
        before = lm.to_numpy()
        n = len(events)
        res = op()
        if hasattr(res, "durable"):
            res.durable.result(timeout=10)
        wait_for(events, n + 1)
        after = lm.to_numpy()
        versions = {k: lm.version(k) for k in np.ndindex(*lm.grid_shape)}
        check_event(events[-1], before, after, kind, versions)
        if kind == "browser":
            assert events[-1].origin == "batch-1"
        else:
            assert events[-1].origin is None
    # interpolate: two annotated slices of label 2 with a gap
    n = len(events)
    lm[2, 10:20, 5:15] = 2
    lm[6, 12:18, 7:13] = 2
    wait_for(events, n + 2)
    before = lm.to_numpy()
    assert lm.interpolate(2) > 0
    wait_for(events, n + 3)
    check_event(events[-1], before, lm.to_numpy(), "interpolate", {k: lm.version(k) for k in events[-1].keys})
    # no change, no event
    n = len(events)
    lm.fill((10, 12, 9), int(lm[10, 12, 9]))
    lm.apply_batch("batch-1", [])  # a duplicate batch
    time.sleep(0.05)
    assert len(events) == n
    lm.close()


def test_callbacks_run_outside_the_lock_and_failures_are_logged(caplog):
    lm = LabelMap(SHAPE, chunks=CHUNKS)
    got: list[tuple[str, bool]] = []

    def boom(ev):
        raise RuntimeError("callback bug")

    def probe(ev):
        # another thread must be able to take the map's lock while the callback runs
        ok = []

        def take():
            ok.append(lm._core.lock.acquire(timeout=2))
            if ok[0]:
                lm._core.lock.release()

        t = threading.Thread(target=take)
        t.start()
        t.join()
        got.append((ev.kind, ok[0]))
        assert lm.label_counts()[5] > 0  # reading the map from a callback works

    lm.on_edit(boom)
    unsubscribe = lm.on_edit(probe)
    with caplog.at_level(logging.ERROR, logger="voxwidget"):
        lm.paint((5, 5, 5), 2, 5)
    assert got == [("paint", True)]
    assert "callback bug" in caplog.text and "on_edit callback" in caplog.text
    assert int(lm[5, 5, 5]) == 5  # the edit stands
    unsubscribe()
    unsubscribe()  # idempotent
    lm.paint((5, 5, 5), 2, 6)
    assert got == [("paint", True)]
    with pytest.raises(TypeError, match="not callable"):
        lm.on_edit(42)


def test_subscribe_still_reports_at_once():
    """subscribe (immediate, keys and versions) and on_edit (durable, with details) both fire."""
    lm = LabelMap(SHAPE, chunks=CHUNKS)
    changes, events = [], []
    lm.subscribe(changes.append)
    lm.on_edit(events.append)
    lm.fill((0, 0, 0), 3)
    assert len(changes) == len(events) == 1
    assert changes[0].keys == events[0].keys and changes[0].versions == events[0].versions
    assert events[0].voxels == int(np.prod(SHAPE))
    assert events[0].lo == (0, 0, 0) and events[0].hi == SHAPE
