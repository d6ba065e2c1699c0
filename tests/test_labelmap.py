"""LabelMap API: reads/writes, brush, validation errors, notifications, persistence, memory budget."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from voxwidget.labelmap import BatchRejected, ChunkEdit, LabelMap, OutOfBoundsError


def test_numpy_style_reads_and_writes():
    lm = LabelMap((10, 12, 14), chunks=(4, 5, 6), dtype="uint8")
    ref = np.zeros((10, 12, 14), np.uint8)
    for idx, val in [
        ((slice(2, 7), 3, slice(None)), 5),
        ((-1, slice(-4, None), Ellipsis), 9),
        ((Ellipsis, 0), np.arange(120).reshape(10, 12) % 200),
        ((slice(1, 3), slice(0, 12), slice(5, 6)), np.ones((2, 12, 1), np.uint8) * 7),
    ]:
        lm[idx] = val
        ref[idx] = val
    np.testing.assert_array_equal(lm[...], ref)
    for idx in [
        (slice(None, None, 2), -3, slice(10, 2, -3)),
        (4,),
        (Ellipsis, -1),
        (1, 2, 3),
        (slice(5, 5),),
    ]:
        np.testing.assert_array_equal(lm[idx], ref[idx])
    np.testing.assert_array_equal(lm.to_numpy((slice(0, 3), 4)), ref[0:3, 4])
    np.testing.assert_array_equal(lm.mask([5, 9]), np.isin(ref, [5, 9]))
    np.testing.assert_array_equal(lm.mask(7), ref == 7)
    with pytest.raises(NotImplementedError, match="step 2"):
        lm[::2] = 1
    with pytest.raises(OutOfBoundsError, match="index 10 is out of bounds for axis 0"):
        lm[10, 0, 0]
    with pytest.raises(IndexError, match="-13"):
        lm[0, -13] = 1
    with pytest.raises(ValueError, match=r"shape \(3,\) cannot be broadcast"):
        lm[0, 0, :] = np.ones(3)
    with pytest.raises(TypeError):
        lm[np.array([1, 2])]
    np.testing.assert_array_equal(lm[...], ref)


@pytest.mark.parametrize(
    ("dtype", "bad", "allowed"),
    [
        ("uint8", 300, "0..255"),
        ("uint8", -1, "0..255"),
        ("uint16", 70000, "0..65535"),
        ("uint32", 1.5, "integers"),
    ],
)
def test_out_of_range_labels_change_nothing(dtype, bad, allowed):
    lm = LabelMap((8, 8, 8), chunks=(4, 4, 4), dtype=dtype)
    lm[0] = 1
    before = lm[...].copy()
    with pytest.raises(ValueError, match=str(bad)) as e:
        lm.paint((1, 1, 1), 2, bad)
    assert allowed in str(e.value)
    with pytest.raises(ValueError, match=allowed):
        lm[:, 0] = np.full((8, 8), bad)
    with pytest.raises(BatchRejected, match=allowed):
        lm.apply_batch("b", [ChunkEdit((0, 0, 0), np.array([0, 1], np.uint32), np.array([1, bad]))])
    np.testing.assert_array_equal(lm[...], before)
    assert not lm.undo() or np.array_equal(lm[...], np.zeros((8, 8, 8)))


def test_batch_validation_is_all_or_nothing():
    lm = LabelMap((10, 10, 10), chunks=(4, 4, 4), dtype="uint16")
    good = ChunkEdit((0, 0, 0), np.array([0, 1, 2], np.uint32), np.array([1, 2, 3], np.uint16))
    cases = [
        (ChunkEdit((3, 0, 0), np.array([0], np.uint32), np.array([1])), "chunk key"),
        (
            ChunkEdit((0, 0, 0), np.array([64], np.uint32), np.array([1])),
            "offset 64 is out of range; allowed: 0..63",
        ),
        (
            ChunkEdit((2, 0, 0), np.array([40], np.uint32), np.array([1])),
            "offset 40 addresses a voxel outside",
        ),
        (ChunkEdit((0, 0, 0), np.array([1, 2], np.uint32), np.array([1])), "2 offsets but 1 values"),
        (ChunkEdit((0, 0, 0), np.array([1], np.uint32), np.array([65536])), "65536"),
    ]
    for bad, msg in cases:
        with pytest.raises(BatchRejected, match=msg):
            lm.apply_batch("x", [good, bad])
        assert not lm[...].any()
        assert lm.version((0, 0, 0)) == 0
    r = lm.apply_batch("x", [good])  # the rejected id was not consumed
    assert r.versions == {(0, 0, 0): 1} and not r.duplicate and r.durable.done()
    # duplicate offsets: last one wins, like numpy
    lm.apply_batch("y", [ChunkEdit((0, 0, 0), np.array([5, 5], np.uint32), np.array([7, 8]))])
    assert lm[0, 1, 1] == 8
    lm.undo()
    assert lm[0, 1, 1] == 0


def test_brush_geometry_and_clipping():
    lm = LabelMap((9, 40, 40), chunks=(4, 16, 16))
    lm.paint((4, 20, 20), 3, 1, dims=2, axis=0)
    d = np.arange(-3, 4)
    disk = d[:, None] ** 2 + d[None, :] ** 2 <= 9
    np.testing.assert_array_equal(lm[4, 17:24, 17:24] == 1, disk)
    assert lm[...].sum() == disk.sum()
    lm.paint((0, 0, 0), 5, 2, dims=3)  # clipped at the corner
    zz, yy, xx = np.ogrid[:9, :40, :40]
    np.testing.assert_array_equal(lm[...] == 2, zz**2 + yy**2 + xx**2 <= 25)
    lm.erase((0, 0, 0), 5, dims=3)
    assert not (lm[...] == 2).any()
    lm.paint((2, 10, 39), 2, 3, dims=2, axis=2)  # plane x = 39, disk in z/y
    assert lm[:, :, 39].sum() == 3 * 13 and lm[:, :, 38].max() == 0
    with pytest.raises(OutOfBoundsError, match=r"axis 1 coordinate 40, allowed 0\.\.39"):
        lm.paint((0, 40, 0), 1, 1)
    with pytest.raises(ValueError, match="dims must be 2 or 3"):
        lm.paint((0, 0, 0), 1, 1, dims=4)


def test_undo_redo_and_strokes():
    lm = LabelMap((8, 8, 8), chunks=(4, 4, 4), undo_depth=2)
    assert not lm.undo() and not lm.redo()
    for i in range(3):
        lm.paint((i, 4, 4), 1, 5, stroke="s")
    lm[7] = 3
    lm[6] = 4
    lm[5] = 6
    assert lm.undo() and lm.undo()
    assert not lm.undo()  # depth 2
    assert (lm[7] == 3).all() and not lm[6].any()
    assert lm.redo() and (lm[6] == 4).all()
    lm.paint((0, 0, 0), 1, 9)  # clears redo
    assert not lm.redo()


def test_notifications_outside_lock():
    lm = LabelMap((8, 8, 8), chunks=(4, 4, 4))
    seen = []

    def cb(change):
        assert lm._core.lock.acquire(blocking=False)  # the lock is not held by anybody
        lm._core.lock.release()
        seen.append((change.keys, change.versions, change.origin))

    unsub = lm.subscribe(cb)
    lm.apply_batch("b1", [ChunkEdit((1, 0, 0), np.array([0], np.uint32), np.array([2]))])
    lm[0, 0, 0] = 1
    lm.undo()
    assert seen == [([(1, 0, 0)], [1], "b1"), ([(0, 0, 0)], [1], None), ([(0, 0, 0)], [2], None)]
    unsub()
    lm[0, 0, 0] = 1
    assert len(seen) == 3


def test_store_roundtrip_readable_by_zarr(tmp_path):
    path = tmp_path / "labels.zarr"
    rng = np.random.default_rng(0)
    with LabelMap((30, 40, 50), chunks=(16, 16, 16), dtype="uint64", path=path) as lm:
        lm[3:20, 5:30, 10:45] = rng.integers(0, 2**63, (17, 25, 35), dtype=np.uint64)
        lm.paint((25, 20, 25), 6, 2**64 - 1, dims=3)
        ref = lm[...]
        lm_id = lm.id
        v = lm.version((1, 1, 1))
    z = zarr.open_array(str(path), mode="r")
    assert z.metadata.zarr_format == 3 and z.dtype == np.uint64
    np.testing.assert_array_equal(z[:], ref)
    codecs = [c["name"] for c in z.metadata.to_dict()["codecs"]]
    assert codecs == ["bytes", "blosc", "crc32c"]
    assert z.metadata.to_dict()["codecs"][1]["configuration"]["cname"] == "lz4"
    # all-zero chunks are not stored
    assert not (path / "c" / "1" / "2" / "0").exists() and (path / "c" / "1" / "1" / "1").exists()
    lm2 = LabelMap((30, 40, 50), dtype="uint64", path=path)
    assert lm2.id == lm_id and lm2.version((1, 1, 1)) == v
    np.testing.assert_array_equal(lm2[...], ref)
    lm2.close()
    with pytest.raises(ValueError, match=r"shape \(30, 40, 50\) dtype uint64.*shape \(30, 40, 51\)"):
        LabelMap((30, 40, 51), dtype="uint64", path=path)


def test_in_memory_then_save(tmp_path):
    lm = LabelMap((10, 10, 10), chunks=(4, 4, 4))
    lm[2:5] = 3
    assert lm.path is None
    with pytest.raises(ValueError, match="needs a path"):
        lm.save()
    lm.save(tmp_path / "a.zarr")
    assert lm.path == tmp_path / "a.zarr"
    lm[0] = 1  # journaled now
    r = lm.apply_batch("q", [ChunkEdit((2, 2, 2), np.array([0], np.uint32), np.array([4]))])
    r.durable.result(timeout=5)
    ref = lm[...]
    lm._abandon()
    with LabelMap.open(tmp_path / "a.zarr") as again:
        np.testing.assert_array_equal(again[...], ref)
        assert again.apply_batch("q", []).duplicate
        again.save(tmp_path / "copy.zarr")
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "copy.zarr"))[:], ref)


@pytest.mark.parametrize("fmt", [2, 3])
def test_open_existing_zarr_arrays(tmp_path, fmt):
    path = tmp_path / f"v{fmt}.zarr"
    data = np.zeros((20, 21, 22), np.uint16)
    data[3:9, 4:15, 5:20] = np.arange(6 * 11 * 15).reshape(6, 11, 15) % 1000
    kw = {"compressors": None} if fmt == 3 else {}
    z = zarr.create_array(
        str(path), shape=data.shape, chunks=(8, 8, 8), dtype="uint16", zarr_format=fmt, **kw
    )
    z[:] = data
    with LabelMap.open(path) as lm:
        assert lm.chunk_shape == (8, 8, 8) and lm.dtype == np.uint16
        np.testing.assert_array_equal(lm[...], data)
        lm.paint((10, 10, 10), 3, 999, dims=3)
        data = lm[...]
    np.testing.assert_array_equal(zarr.open_array(str(path))[:], data)
    with LabelMap.open(path) as lm:
        np.testing.assert_array_equal(lm[...], data)


def test_from_array(tmp_path):
    arr = np.zeros((17, 18, 19), np.uint8)
    arr[5:9, 2:16, 0:3] = 4
    np.testing.assert_array_equal(LabelMap.from_array(arr, chunks=(8, 8, 8))[...], arr)
    with LabelMap.from_array(arr, chunks=(8, 8, 8), path=tmp_path / "f.zarr") as lm:
        np.testing.assert_array_equal(lm[...], arr)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "f.zarr"))[:], arr)
    with pytest.raises(ValueError, match="-1 is out of range"):
        LabelMap.from_array(np.full((4, 4, 4), -1, np.int32))


def test_memory_budget_bounds_clean_chunks(tmp_path):
    path = tmp_path / "big.zarr"
    rng = np.random.default_rng(1)
    with LabelMap((64, 64, 64), chunks=(8, 8, 8), dtype="uint8", path=path) as lm:
        lm[...] = rng.integers(1, 255, (64, 64, 64), dtype=np.uint8)  # 512 chunks
        ref = lm[...]
    budget_chunks = 20
    with LabelMap.open(path, memory_budget=budget_chunks * 512) as lm:
        peak = 0
        for key in np.ndindex(*lm.grid_shape):
            _, data = lm.snapshot_chunk(key)
            sl = tuple(slice(k * 8, k * 8 + 8) for k in key)
            np.testing.assert_array_equal(data, ref[sl])
            peak = max(peak, lm.cache_info()["clean"])
        assert peak <= budget_chunks
        np.testing.assert_array_equal(lm[...], ref)
        assert lm.cache_info()["resident"] <= budget_chunks
        # dirty chunks are never evicted before they are checkpointed
        lm[:, :, :16] = 3
        info = lm.cache_info()
        assert info["dirty"] == 0 or info["resident"] >= info["dirty"]
        lm.checkpoint()
        assert lm.cache_info()["resident"] <= budget_chunks
        np.testing.assert_array_equal(lm[:, :, :16], 3)


def test_background_checkpoint(tmp_path):
    import time

    path = tmp_path / "bg.zarr"
    # undo_depth=0: no undo history keeps journal segments past the checkpoint
    lm = LabelMap((16, 16, 16), chunks=(8, 8, 8), path=path, checkpoint_delay=0.2, undo_depth=0)
    lm[0] = 5
    deadline = time.monotonic() + 5
    journal = path / ".voxwidget" / "journal"
    while time.monotonic() < deadline:
        if (path / "c" / "0" / "0" / "0").exists() and not list(journal.glob("seg-*.log")):
            break
        time.sleep(0.02)
    assert (zarr.open_array(str(path))[0] == 5).all()
    assert not list((path / ".voxwidget" / "journal").glob("seg-*.log")), "journal not truncated"
    lm.close()


def test_interpreter_exit_checkpoints_into_the_store(tmp_path):
    """A script that never closes its map: exiting the interpreter checkpoints the edits into the
    zarr chunks (read back by plain zarr, the journal truncated), long before the background delay."""
    import subprocess
    import sys

    path = tmp_path / "exit.zarr"
    script = (
        "import numpy as np, sys\n"
        "from voxwidget.labelmap import LabelMap\n"
        "lm = LabelMap((32, 32, 32), chunks=(8, 8, 8), path=sys.argv[1], checkpoint_delay=600,\n"
        "              undo_depth=0)\n"  # (an undo history keeps its journal records)
        "lm.paint(np.array([[4, 4, 4], [20, 12, 9]]), 5, 3, dims=3).durable.result()\n"
        "lm[30] = 7\n"
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=120)
    ref = LabelMap((32, 32, 32), chunks=(8, 8, 8))
    ref.paint(np.array([[4, 4, 4], [20, 12, 9]]), 5, 3, dims=3)
    ref[30] = 7
    np.testing.assert_array_equal(zarr.open_array(str(path))[...], ref[...])
    assert not list((path / ".voxwidget" / "journal").glob("seg-*.log")), "journal not truncated"


def test_checkpoint_writes_a_snapshot_while_edits_continue(tmp_path):
    """The checkpoint holds the dirty chunks without copying them; an edit made while it writes gets
    its own copy (copy-on-write), so the files hold exactly the state at the checkpoint's start."""
    import threading

    path = tmp_path / "cow.zarr"
    lm = LabelMap((16, 16, 16), chunks=(8, 8, 8), path=path, checkpoint_delay=600)
    lm[:8, :8, :8] = 1
    store = lm._core.persist.store
    writing, release = threading.Event(), threading.Event()
    real = store.write_chunks

    def slow_write(items):
        items = list(items)
        writing.set()
        assert release.wait(10)
        return real(items)

    store.write_chunks = slow_write
    t = threading.Thread(target=lm.checkpoint)
    t.start()
    assert writing.wait(10)
    lm[2:4, :8, :8] = 2  # while the checkpoint holds chunk (0, 0, 0)
    lm.paint(np.array([[5, 5, 5]]), 1, 3, dims=3)
    release.set()
    t.join(10)
    store.write_chunks = real
    on_disk = zarr.open_array(str(path))[:8, :8, :8]
    assert (on_disk == 1).all(), "the checkpoint wrote data edited after it started"
    assert lm[2, 0, 0] == 2 and lm[5, 5, 5] == 3
    assert lm.cache_info()["dirty"] == 1  # the edited chunk is still dirty
    lm.checkpoint()
    np.testing.assert_array_equal(zarr.open_array(str(path))[...], lm[...])
    lm.close()


def test_an_undo_or_redo_call_ends_the_open_stroke_even_when_it_does_nothing():
    """Found by the state machine: edits with one stroke id, a redo with nothing to redo, more edits
    with that id: the redo call ended the stroke, so the last edits are their own undo step."""
    lm = LabelMap((4, 8, 8), chunks=(4, 4, 4))
    lm.paint((0, 0, 0), 1, 1)
    lm.paint((0, 0, 0), 0, 0, stroke="s")
    assert not lm.redo()
    lm.paint((0, 0, 0), 1, 0, stroke="s")
    assert lm.undo()
    assert lm[0, 0, 0] == 0 and lm[0, 0, 1] == 1 and lm[0, 1, 0] == 1
