"""A failed durable write changes nothing: disk full (a real, small tmpfs that fills up), file too
large (RLIMIT_FSIZE in a child process); checkpoint failures keep the journal."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
from smallfs import CannotMount, fill, tmpfs_at

from voxwidget.labelmap import ChunkEdit, LabelMap, NotSavedError

ROOT = Path(__file__).resolve().parents[1]
SHAPE, CHUNKS = (64, 64, 64), (32, 32, 32)


@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs mounted for the test (needs root and mount(2)); skipped when impossible."""
    try:
        with tmpfs_at(tmp_path / "fs") as mnt:
            yield mnt
    except CannotMount as e:
        pytest.skip(f"cannot mount a tmpfs here ({e}); the RLIMIT_FSIZE test covers EFBIG")


def _edits(label: int, z: int, n: int = 3000) -> list[ChunkEdit]:
    """~n voxels in chunk (z, 0, 0) (records of tens of KiB: more than a page)."""
    offs = np.arange(n, dtype=np.uint32) * 7 % (32**3)
    offs = np.unique(offs)
    return [ChunkEdit((z, 0, 0), offs, np.full(offs.size, label, np.uint32))]


def _versions(lm: LabelMap) -> dict:
    return {k: lm.version(k) for k in np.ndindex(*lm.grid_shape)}


def test_disk_full_rolls_back_and_recovers(small_fs):
    path = small_fs / "m.zarr"
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=path, checkpoint_delay=3600)
    lm.apply_batch("a", _edits(1, 0)).durable.result(timeout=10)
    lm.paint((40, 40, 40), 5, 2, dims=3).durable.result(timeout=10)
    before, vers = lm[...], _versions(lm)
    notices = []
    lm.subscribe(notices.append)

    filler = fill(small_fs)
    # pipelined batches, each on top of the previous one (the same voxels, then more)
    results = [lm.apply_batch(f"b{i}", _edits(10 + i, i % 2)) for i in range(4)]
    py = lm.set((slice(0, 8), slice(0, 8), slice(0, 8)), 9)  # a Python-side edit in the same window
    for r in [*results, py]:
        with pytest.raises(OSError) as ei:
            r.durable.result(timeout=10)
        assert ei.value.errno == errno.ENOSPC
    # the futures fail only after the rollback: the map is exactly as before; versions move on
    # (browsers cache tiles by version), and every notice's version is one handed out once
    np.testing.assert_array_equal(lm[...], before)
    # label counts (kept from each commit's atoms) follow the rollback's inverse atoms
    vals, ns = np.unique(before, return_counts=True)
    assert lm.label_counts() == {int(v): int(n) for v, n in zip(vals, ns, strict=True)}
    now = _versions(lm)
    assert now[(0, 0, 0)] > vers[(0, 0, 0)] and now[(1, 1, 1)] == vers[(1, 1, 1)]
    seen = [(k, v) for n in notices for k, v in zip(n.keys, n.versions, strict=True)]
    assert len(seen) == len(set(seen)), "a version was announced twice"
    assert max(v for k, v in seen if k == (0, 0, 0)) == now[(0, 0, 0)]
    status = lm.storage_status
    assert status["state"] == "error" and "No space left" in status["journal_error"]
    # the Python side hears about its rolled-back edit at its next edit, which changes nothing
    with pytest.raises(NotSavedError) as ei:
        lm.paint((10, 10, 10), 3, 4)
    assert ei.value.errno == errno.ENOSPC and "rolled back" in str(ei.value)
    np.testing.assert_array_equal(lm[...], before)

    filler.unlink()
    # the history is as before the failure: undo undoes the last *durable* step (the ball)
    assert lm.undo()
    assert lm[40, 40, 40] == 0
    assert lm.redo()
    assert lm[40, 40, 40] == 2  # space is back: the same batch ids are applied (they were forgotten)
    res = lm.apply_batch("b0", _edits(10, 0))
    assert not res.duplicate
    res.durable.result(timeout=10)
    assert lm.storage_status["state"] == "ok"
    after = lm[...]
    assert res.versions[(0, 0, 0)] == now[(0, 0, 0)] + 1
    lm._abandon()  # as a crash: the journal (truncated after the failure) is replayed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no torn record was left behind
        lm2 = LabelMap.open(path)
    np.testing.assert_array_equal(lm2[...], after)
    assert lm2.version((0, 0, 0)) == res.versions[(0, 0, 0)]
    assert lm2.undo()  # the persisted history: b0 undone
    np.testing.assert_array_equal(lm2[...], before)
    lm2.close()


def test_checkpoint_failure_keeps_journal_and_reports(small_fs):
    path = small_fs / "c.zarr"
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=path, checkpoint_delay=3600)
    for i in range(6):
        lm.apply_batch(f"a{i}", _edits(i + 1, i % 2, 5000)).durable.result(timeout=10)
    expect = lm[...]
    segs = sorted((path / ".voxwidget" / "journal").glob("seg-*"))
    filler = fill(small_fs)
    with pytest.raises(OSError) as ei:
        lm.checkpoint()
    assert ei.value.errno == errno.ENOSPC
    st = lm.storage_status
    assert st["state"] == "error" and "checkpoint failed" in st["checkpoint_error"]
    assert sorted((path / ".voxwidget" / "journal").glob("seg-*")) == segs, "journal not kept"
    assert not list(path.rglob("*.vwtmp")), "temp files of the failed checkpoint left behind"
    np.testing.assert_array_equal(lm[...], expect)
    filler.unlink()
    lm.checkpoint()
    assert lm.storage_status == {"state": "ok", "journal_error": None, "checkpoint_error": None}
    lm._abandon()
    lm2 = LabelMap.open(path)
    np.testing.assert_array_equal(lm2[...], expect)
    lm2.close()


def test_close_on_a_full_disk_releases_and_keeps_the_journal(small_fs):
    path = small_fs / "x.zarr"
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=path, checkpoint_delay=3600)
    lm.apply_batch("a", _edits(3, 1, 5000)).durable.result(timeout=10)
    expect = lm[...]
    filler = fill(small_fs)
    with pytest.raises(OSError) as ei:
        lm.close()
    assert ei.value.errno == errno.ENOSPC
    persist = lm._core.persist
    assert not persist.journal._thread.is_alive(), "the journal thread outlived close()"
    lm.close()  # idempotent
    filler.unlink()
    lm2 = LabelMap.open(path)  # the journal was kept: replayed
    np.testing.assert_array_equal(lm2[...], expect)
    lm2.close()


_EFBIG_CHILD = textwrap.dedent(
    """
    import errno, os, resource, signal, sys
    import numpy as np
    sys.path.insert(0, sys.argv[2])
    from test_diskfull import _edits, _versions, SHAPE, CHUNKS
    from voxwidget.labelmap import LabelMap
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG instead of being killed
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=sys.argv[1], checkpoint_delay=3600)
    lm.apply_batch("a", _edits(1, 0)).durable.result()
    before, vers = lm[...], _versions(lm)
    seg = max((lm.path / ".voxwidget" / "journal").glob("seg-*"))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (seg.stat().st_size + 1000, hard))
    rs = [lm.apply_batch(f"b{i}", _edits(5 + i, 0)) for i in range(3)]
    for r in rs:
        try:
            r.durable.result()
            raise SystemExit("a batch past RLIMIT_FSIZE was acknowledged")
        except OSError as e:
            assert e.errno == errno.EFBIG, e
    assert (lm[...] == before).all()
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    r = lm.apply_batch("b0", _edits(5, 0))
    assert not r.duplicate
    r.durable.result()
    lm.close()
    print("ok", flush=True)
    """
)


def test_file_too_large_rolls_back(tmp_path):
    """EFBIG from RLIMIT_FSIZE (works without root): rolled back, then fine with the limit raised."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(
        [sys.executable, "-c", _EFBIG_CHILD, str(tmp_path / "f.zarr"), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
    lm = LabelMap.open(tmp_path / "f.zarr")
    assert lm[0, 0, 0] == 5 and lm.undo() and lm[0, 0, 0] == 1
    lm.close()


def test_endpoint_rejects_unsaved_batch_for_retry_and_accepts_it_later(small_fs):
    """Through the comm entry point: a batch the journal cannot write is answered with
    ``edits.reject {retry: true}`` naming the OS error, after the map was rolled back; the same
    batch sent again once space is back is applied and acknowledged."""
    from test_server import Wire, edits_msg

    from voxwidget.comm.endpoint import Endpoint
    from voxwidget.multiscale.sources import ImageSource

    labels = LabelMap(SHAPE, dtype="uint8", chunks=CHUNKS, path=small_fs / "e.zarr", checkpoint_delay=3600)
    wire = Wire()
    ep = Endpoint(wire, ImageSource(np.zeros(SHAPE, np.uint8)), labels, "fp")
    try:
        offs = list(range(0, 32**3, 3))
        msg, bufs = edits_msg("big", [([0, 0, 0], offs, [7] * len(offs))])
        filler = fill(small_fs)
        ep.handle(msg, bufs)
        reject = wire.reply("edits.reject", "big")
        assert reject.get("retry") is True and "No space left on device" in reject["error"]
        assert labels.to_numpy().sum() == 0, "the unsaved batch stayed applied"
        filler.unlink()
        ep.handle(msg, bufs)  # the browser's retry
        ack = wire.reply("edits.ack", "big")
        assert not ack["duplicate"] and labels[0, 0, 0] == 7
    finally:
        ep.close()
        labels.close()
