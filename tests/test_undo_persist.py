"""Persisted undo: the undo/redo history is journalled with the edits, kept past checkpoints and
rebuilt when the store is reopened (after close, after SIGKILL); old journals stay readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from voxwidget.labelmap import ChunkEdit, LabelMap
from voxwidget.labelmap.journal import Journal, encode_record

ROOT = Path(__file__).resolve().parents[1]
SHAPE, CHUNKS = (32, 32, 32), (16, 16, 16)


def _segments(path: Path) -> list[Path]:
    return sorted((path / ".voxwidget" / "journal").glob("seg-*.log"))


def test_undo_redo_survive_close_and_checkpoints(tmp_path):
    path = tmp_path / "u.zarr"
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=path)
    lm.paint((5, 5, 5), 3, 1, dims=3)  # step A
    s0 = lm[...]
    for c in ((20, 20, 20), (20, 22, 20)):  # step B: two calls, one stroke
        lm.paint(c, 2, 2, stroke="B")
    lm.apply_batch("c", [ChunkEdit((1, 1, 1), np.arange(10, dtype=np.uint32), np.full(10, 7, np.uint32))])
    s2 = lm[...]
    lm.checkpoint()  # the chunks are in the store; the history's journal records are kept
    assert _segments(path), "the history's records were dropped at the checkpoint"
    lm.close()

    lm = LabelMap.open(path)
    assert lm.undo()  # the browser batch "c"
    assert lm[16, 16, 16] == 0 and lm.undo()  # the whole stroke B, one step
    np.testing.assert_array_equal(lm[...], s0)
    lm.close()

    lm = LabelMap(SHAPE, chunks=CHUNKS, path=path)  # path= reopen; the undos were journalled too
    np.testing.assert_array_equal(lm[...], s0)
    assert lm.redo() and lm.redo()
    np.testing.assert_array_equal(lm[...], s2)
    assert not lm.redo()
    assert lm.undo() and lm.undo() and lm.undo()
    assert not lm[...].any()
    assert not lm.undo()
    lm.close()


CHILD = textwrap.dedent(
    """
    import sys, time
    from voxwidget.labelmap import LabelMap
    lm = LabelMap((32, 32, 32), chunks=(16, 16, 16), path=sys.argv[1], checkpoint_delay=0.05)
    for i in range(1, 41):
        r = lm.paint([(i % 30, 8, 8), (i % 30, 9, 12)], 3, i, stroke=f"s{i}")
        r.durable.result()
        print("ack", i, flush=True)
        time.sleep(0.01)
    time.sleep(60)
    """
)


def test_undo_after_sigkill_undoes_the_last_acknowledged_edit(tmp_path):
    path = tmp_path / "k.zarr"
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    acked = 0
    while acked < 25:  # background checkpoints run meanwhile (every 50 ms)
        acked = int(proc.stdout.readline().split()[1])
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    last = max([acked, *(int(x.split()[1]) for x in out.decode().splitlines() if x.startswith("ack"))])

    ref = LabelMap(SHAPE, chunks=CHUNKS)
    for i in range(1, last + 1):
        ref.paint([(i % 30, 8, 8), (i % 30, 9, 12)], 3, i)
    lm = LabelMap.open(path)
    np.testing.assert_array_equal(lm[...], ref[...])
    for _ in range(5):  # the last five strokes, newest first
        assert lm.undo() and ref.undo()
        np.testing.assert_array_equal(lm[...], ref[...])
    vals, ns = np.unique(ref[...], return_counts=True)
    assert lm.label_counts() == {int(v): int(n) for v, n in zip(vals, ns, strict=True)}
    assert lm.redo() and ref.redo()
    np.testing.assert_array_equal(lm[...], ref[...])
    lm.close()


def test_history_is_bounded_and_its_journal_with_it(tmp_path):
    path = tmp_path / "b.zarr"
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=path, undo_depth=3)
    for i in range(1, 13):
        lm[i] = i
        lm.checkpoint()  # each checkpoint rotates the journal: one segment per edit
    assert len(_segments(path)) <= 4, "segments of steps no longer in the history were kept"
    lm.close()
    lm = LabelMap.open(path, undo_depth=3)
    assert lm.undo() and lm.undo() and lm.undo() and not lm.undo()  # depth 3, as before the reopen
    assert lm[12].max() == 0 and lm[9].max() == 9
    lm.close()
    # a smaller budget on reopen: fewer steps, never wrong ones (the undos named steps the
    # smaller history no longer holds: it is dropped rather than guessed)
    lm = LabelMap.open(path, undo_depth=1)
    assert not lm.redo() and not lm.undo()
    assert lm[9].max() == 9 and lm[10].max() == 0
    lm.close()
    lm = LabelMap.open(path, undo_depth=3)
    assert lm.redo() and lm[10].max() == 10  # the journal still held them


def _raw_record(path: Path, seq: int, header: dict, arrays: list[np.ndarray]) -> None:
    j = Journal(path / ".voxwidget" / "journal")
    j.append(encode_record(seq, header, arrays), seq).result()
    j.close()


def test_version_1_journal_records_are_replayed_without_history(tmp_path):
    """A store written before persisted undo: its journal tail (records without a version) is
    replayed; undo then has nothing to undo (the history of those edits is unknown)."""
    path = tmp_path / "v1.zarr"
    LabelMap(SHAPE, chunks=CHUNKS, path=path).close()
    offs, vals = np.array([1, 2, 3], np.uint32), np.array([4, 5, 6], np.uint32)
    _raw_record(path, 1, {"b": "old", "e": [[0, 0, 0, 1, 0]]}, [offs, vals])
    lm = LabelMap.open(path)
    assert list(lm[0, 0, 1:4]) == [4, 5, 6] and lm.version((0, 0, 0)) == 1
    assert lm.apply_batch("old", []).duplicate
    assert not lm.undo()
    lm[0, 0, 0] = 9  # new records are version 2: undoable, also after a reopen
    lm.close()
    lm = LabelMap.open(path)
    assert lm.undo() and lm[0, 0, 0] == 0 and list(lm[0, 0, 1:4]) == [4, 5, 6]
    lm.close()


def test_newer_journal_record_version_is_a_clear_error(tmp_path):
    path = tmp_path / "v9.zarr"
    LabelMap(SHAPE, chunks=CHUNKS, path=path).close()
    _raw_record(path, 1, {"v": 9, "b": None, "e": []}, [])
    with pytest.raises(ValueError, match=r"format version 9.*reads versions up to 2.*upgrade voxwidget"):
        LabelMap.open(path)
