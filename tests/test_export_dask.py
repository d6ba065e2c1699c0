"""LabelMap.to_dask over a consistent snapshot, and exports run as dask graphs, on a real
distributed.LocalCluster with 2 worker processes (against a map stored on disk)."""

import gc

import numpy as np
import pytest

from voxwidget import LabelMap

da = pytest.importorskip("dask.array")


def _painted(path=None, dtype="uint32"):
    lm = LabelMap((30, 41, 37), dtype=dtype, chunks=(16, 16, 16), path=path)
    lm[2:20, 3:30, 1:25] = 3
    lm[10:30, 0:17, 20:37] = 70000 if dtype == "uint32" else 200
    lm.paint((15, 20, 18), 6, 7, dims=3)
    return lm


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("stored", [False, True])
def test_to_dask_is_a_snapshot_that_later_edits_do_not_tear(tmp_path, stored):
    lm = _painted(tmp_path / "m.zarr" if stored else None)
    before, before1 = lm.to_numpy(), lm.to_numpy(level=1)
    x, x1 = lm.to_dask(), lm.to_dask(level=1)
    assert x.chunks == ((16, 14), (16, 16, 9), (16, 16, 5)) and x.dtype == np.uint32
    assert x.npartitions == 2 * 3 * 3  # one task per chunk
    lm[...] = 9  # after the call: not in the arrays
    lm.undo()
    lm[0:5] = 11
    if stored:
        lm.checkpoint()
    np.testing.assert_array_equal(x.compute(scheduler="threads"), before)
    np.testing.assert_array_equal(x1.compute(scheduler="sync"), before1)
    np.testing.assert_array_equal(x[3:9, 20, ::2].compute(), before[3:9, 20, ::2])
    if stored:
        snapshots = tmp_path / "m.zarr" / ".voxwidget" / "snapshots"
        assert len(list(snapshots.iterdir())) == 2
        del x, x1
        gc.collect()
        assert list(snapshots.iterdir()) == []  # removed with the arrays
    lm.close()


def test_in_memory_to_dask_refuses_other_processes():
    lm = _painted()
    with pytest.raises(TypeError, match=r"in-memory label map runs only in this process .* save\(path\)"):
        import pickle

        pickle.dumps(lm.to_dask().dask)


def test_distributed_cluster_runs_to_dask_and_the_export(tmp_path):
    distributed = pytest.importorskip("distributed")
    lm = _painted(tmp_path / "m.zarr")
    image = (np.arange(30 * 41 * 37) % 200).astype(np.uint8).reshape(30, 41, 37)
    local = lm.to_ome_zarr(tmp_path / "local.zarr", image=image, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        before, before1 = lm.to_numpy(), lm.to_numpy(level=1)
        x, x1 = lm.to_dask(), lm.to_dask(level=1)
        lm[...] = 5
        lm.checkpoint()  # the store's chunk files change; the snapshot the workers read does not
        np.testing.assert_array_equal(client.compute(x).result(), before)
        np.testing.assert_array_equal(client.compute(x1).result(), before1)
        lm.undo()
        remote = lm.to_ome_zarr(tmp_path / "remote.zarr", image=image, progress=False, scheduler=client)
        assert len(client.scheduler_info()["workers"]) == 2
    assert _files(remote) == _files(local)  # same chunks, same bytes, same metadata


def test_in_memory_map_exports_on_a_threaded_dask_scheduler(tmp_path):
    lm = _painted(dtype="uint8")
    local = lm.to_ome_zarr(tmp_path / "local.zarr", progress=False)
    threaded = lm.to_ome_zarr(tmp_path / "threads.zarr", progress=False, scheduler="threads")
    assert _files(threaded) == _files(local)
    with pytest.raises(TypeError, match=r"in-memory label map is readable only in this process"):
        lm.to_ome_zarr(tmp_path / "procs.zarr", progress=False, scheduler="processes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["local.zarr", "threads.zarr"]


def test_sharded_store_snapshot_is_a_copy_that_leaves_the_store_alone(tmp_path):
    import zarr

    z = zarr.create_array(
        tmp_path / "sh.zarr", shape=(32, 32, 32), chunks=(8, 8, 8), shards=(16, 16, 16), dtype="uint16"
    )
    z[0:20, 0:20, 0:20] = 4
    lm = LabelMap.open(tmp_path / "sh.zarr")
    before = lm.to_numpy()
    x = lm.to_dask()
    lm[...] = 9  # edits after the snapshot: its kept chunks are written into the snapshot's copy
    lm.checkpoint()
    y = lm.to_dask()  # a second snapshot while the first is alive
    lm.undo()
    lm.checkpoint()
    np.testing.assert_array_equal(x.compute(), before)
    assert (y.compute() == 9).all()
    np.testing.assert_array_equal(zarr.open_array(tmp_path / "sh.zarr", mode="r")[:], before)
    lm.close()


def test_snapshots_of_dead_processes_are_removed(tmp_path):
    import subprocess
    import sys

    lm = _painted(tmp_path / "m.zarr")
    snapshots = tmp_path / "m.zarr" / ".voxwidget" / "snapshots"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    orphan = snapshots / f"{int(dead.stdout)}-0123abcd"  # a snapshot left by a killed kernel
    orphan.mkdir(parents=True)
    (orphan / "zarr.json").write_text("{}")
    x = lm.to_dask()
    assert not orphan.exists()
    assert [d.name.split("-")[0] for d in snapshots.iterdir()] == [str(__import__("os").getpid())]
    np.testing.assert_array_equal(x.compute(), lm.to_numpy())
    lm.close()
