"""OME-Zarr export (LabelMap.to_ome_zarr, VoxWidget.to_ome_zarr) read back by independent readers:
ome-zarr-models validates the metadata, ome-zarr's reader returns every level, which must equal
``to_numpy(level=)`` and an iterated mode downsampling of the map."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import ome_zarr_models
import pytest
from ome_zarr.io import parse_url
from ome_zarr.reader import Reader

from voxwidget import LabelMap, VoxWidget
from voxwidget.colors import label_rgb
from voxwidget.export import publish
from voxwidget.multiscale.downsample import downsample_mode


def _painted(shape, dtype, chunks, path=None, big=None):
    lm = LabelMap(shape, dtype=dtype, chunks=chunks, path=path)
    hi = int(np.iinfo(dtype).max) if big is None else big
    lm[2:20, 3:30, 1:25] = 3
    lm[10 : shape[0], 0:17, 20 : shape[2]] = hi
    lm.paint((shape[0] // 2, shape[1] // 2, shape[2] // 2), 6, 7, dims=3)
    lm[0, 0, 0] = 1  # a label seen at level 0 only
    return lm


def _pyramid(a, n):
    out = [a]
    for _ in range(1, n):
        f = tuple(2 if s > 1 else 1 for s in out[-1].shape)
        out.append(downsample_mode(out[-1], f))
    return out


def _reader_levels(path):
    nodes = list(Reader(parse_url(str(path)))())
    return nodes, [np.asarray(d) for d in nodes[0].data]


@pytest.mark.parametrize(
    ("dtype", "shape", "chunks", "vs"),
    [
        ("uint8", (37, 50, 45), (16, 16, 16), (1.0, 1.0, 1.0)),
        ("uint32", (40, 33, 52), (16, 8, 16), (2.5, 0.5, 0.5)),  # anisotropic, 8-wide chunks
        ("uint64", (24, 40, 36), (10, 16, 12), (3.0, 1.0, 1.0)),  # chunks not multiples of 8
    ],
)
def test_label_pyramid_round_trips_through_independent_readers(tmp_path, dtype, shape, chunks, vs):
    big = 2**64 - 5 if dtype == "uint64" else None
    lm = _painted(shape, dtype, chunks, big=big)
    a = lm.to_numpy()
    out = lm.to_ome_zarr(tmp_path / "labels.zarr", voxel_size=vs, progress=False)
    assert out == tmp_path / "labels.zarr"
    model = ome_zarr_models.open_ome_zarr(out, version="0.5")
    assert type(model).__name__ == "ImageLabel"
    _, levels = _reader_levels(out)
    ref = _pyramid(a, len(levels))
    assert len(levels) >= 2  # 2× per level until one chunk holds the level
    assert all(s <= c for s, c in zip(levels[-1].shape, chunks, strict=True))
    assert any(s > c for s, c in zip(levels[-2].shape, chunks, strict=True))
    for k, lv in enumerate(levels):
        assert lv.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(lv, ref[k])
        np.testing.assert_array_equal(lv, lm.to_numpy(level=k))
    meta = json.loads((out / "zarr.json").read_text())["attributes"]["ome"]
    ds = meta["multiscales"][0]["datasets"]
    assert ds[0]["coordinateTransformations"][0]["scale"] == list(vs)
    assert ds[1]["coordinateTransformations"][0]["scale"] == [v * 2 for v in vs]
    assert ds[1]["coordinateTransformations"][1]["translation"] == [v / 2 for v in vs]
    colors = {c["label-value"]: c["rgba"] for c in meta["image-label"]["colors"]}
    present = sorted(int(v) for v in np.unique(a) if v)
    assert sorted(colors) == present
    assert all(colors[v] == [*label_rgb(v), 255] for v in present)


def test_levels_argument_and_to_numpy_regions(tmp_path):
    lm = _painted((40, 40, 40), "uint16", (8, 8, 8))
    out = lm.to_ome_zarr(tmp_path / "l.zarr", levels=2, progress=False)
    _, levels = _reader_levels(out)
    assert len(levels) == 2 and levels[1].shape == (20, 20, 20)
    np.testing.assert_array_equal(
        lm.to_numpy((slice(3, 11), 5, slice(None, None, 3)), level=1), levels[1][3:11, 5, ::3]
    )
    with pytest.raises(ValueError, match="level 7 does not exist"):
        lm.to_numpy(level=7)
    with pytest.raises(ValueError, match="levels must be an integer"):
        lm.to_ome_zarr(tmp_path / "x.zarr", levels=0)
    assert not (tmp_path / "x.zarr").exists()


def test_image_and_labels_layout_validates_and_reads_back(tmp_path):
    img = (np.arange(30 * 44 * 35) % 251).astype(np.uint16).reshape(30, 44, 35)
    w = VoxWidget(img, chunks=(16, 16, 16))
    w.labels[5:25, 10:30, 3:20] = 4
    w.labels.paint((15, 22, 17), 5, 9, dims=3)
    out = w.to_ome_zarr(tmp_path / "both.zarr", name="cells", progress=False)
    assert type(ome_zarr_models.open_ome_zarr(out, version="0.5")).__name__ == "Image"
    assert type(ome_zarr_models.open_ome_zarr(out / "labels", version="0.5")).__name__ == "Labels"
    assert (
        type(ome_zarr_models.open_ome_zarr(out / "labels" / "cells", version="0.5")).__name__ == "ImageLabel"
    )
    labels_meta = json.loads((out / "labels" / "zarr.json").read_text())["attributes"]["ome"]
    assert labels_meta == {"version": "0.5", "labels": ["cells"]}
    label_meta = json.loads((out / "labels" / "cells" / "zarr.json").read_text())["attributes"]["ome"]
    assert label_meta["image-label"]["source"] == {"image": "../../"}
    nodes = list(Reader(parse_url(str(out)))())
    image_levels = [np.asarray(d) for d in nodes[0].data]
    np.testing.assert_array_equal(image_levels[0], img)
    assert image_levels[1].shape == (15, 22, 18)
    label_node = next(n for n in nodes if "image-label" in n.metadata or n.zarr.path.endswith("cells"))
    for k, lv in enumerate(label_node.data):
        np.testing.assert_array_equal(np.asarray(lv), w.labels.to_numpy(level=k))


def test_existing_path_is_refused_and_overwrite_replaces_it(tmp_path):
    lm = _painted((20, 20, 20), "uint8", (8, 8, 8))
    target = tmp_path / "t.zarr"
    target.mkdir()
    (target / "keep.txt").write_text("old")
    with pytest.raises(FileExistsError, match=r"t\.zarr already exists; pass overwrite=True"):
        lm.to_ome_zarr(target, progress=False)
    assert (target / "keep.txt").read_text() == "old"
    lm.to_ome_zarr(target, overwrite=True, progress=False)
    assert not (target / "keep.txt").exists()
    _, levels = _reader_levels(target)
    np.testing.assert_array_equal(levels[0], lm.to_numpy())
    assert [p.name for p in tmp_path.iterdir()] == ["t.zarr"]  # nothing left beside it


def test_bad_arguments_change_nothing(tmp_path):
    lm = _painted((20, 20, 20), "uint8", (8, 8, 8))
    with pytest.raises(ValueError, match=r"voxel_size must be 3 positive numbers .* got \(1, -1, 1\)"):
        lm.to_ome_zarr(tmp_path / "a.zarr", voxel_size=(1, -1, 1))
    with pytest.raises(ValueError, match=r"image shape \(20, 20, 19\) differs from the label shape"):
        lm.to_ome_zarr(tmp_path / "a.zarr", image=np.zeros((20, 20, 19)))
    with pytest.raises(ValueError, match="name must be a non-empty string"):
        lm.to_ome_zarr(tmp_path / "a.zarr", name="a/b")
    assert list(tmp_path.iterdir()) == []


class _FailingImage:
    """An image whose reads fail after a few chunks (a disk error halfway through an export)."""

    def __init__(self, shape):
        self.shape, self.dtype, self.reads = shape, np.dtype(np.uint8), 0

    def __getitem__(self, region):
        self.reads += 1
        if self.reads > 3:
            raise OSError("simulated read error")
        return np.ones([s.stop - s.start for s in region], np.uint8)


def test_failed_export_leaves_the_old_path_and_no_temporary(tmp_path):
    lm = _painted((32, 32, 32), "uint8", (8, 8, 8))
    target = tmp_path / "t.zarr"
    lm.to_ome_zarr(target, progress=False)
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    lm[...] = 2
    with pytest.raises(OSError, match="simulated read error"):
        lm.to_ome_zarr(target, image=_FailingImage(lm.shape), overwrite=True, progress=False)
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.zarr"]


KILLED = """
import sys, time
import numpy as np
from voxwidget import LabelMap

class SlowImage:
    shape, dtype = (48, 48, 48), np.dtype(np.uint8)
    def __getitem__(self, region):
        time.sleep(0.05)
        return np.full([s.stop - s.start for s in region], 5, np.uint8)

lm = LabelMap((48, 48, 48), dtype="uint8", chunks=(8, 8, 8))
lm[...] = 9
print("start", flush=True)
lm.to_ome_zarr(sys.argv[1], image=SlowImage(), overwrite=True, progress=False)
print("done", flush=True)
"""


def test_killed_export_leaves_the_old_path_untouched(tmp_path):
    lm = _painted((48, 48, 48), "uint8", (8, 8, 8))
    target = tmp_path / "t.zarr"
    lm.to_ome_zarr(target, progress=False)
    before = {p: p.read_bytes() for p in target.rglob("*") if p.is_file()}
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    proc = subprocess.Popen([sys.executable, str(script), str(target)], stdout=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        tmp = None
        while time.monotonic() < deadline:  # wait for the export to be half written beside the target
            tmps = [p for p in tmp_path.iterdir() if p.name.startswith(".t.zarr.vwtmp-")]
            if tmps and list((tmps[0] / "0").glob("c/*/*/*")):  # image chunks being written
                tmp = tmps[0]
                break
            time.sleep(0.02)
        assert tmp is not None, "the export never started writing"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "done" not in proc.stdout.read()
    assert {p: p.read_bytes() for p in target.rglob("*") if p.is_file()} == before
    _, levels = _reader_levels(target)
    np.testing.assert_array_equal(levels[0], lm.to_numpy())
    assert tmp.exists()  # the killed export's leftovers, until the next export to the path
    lm.to_ome_zarr(target, overwrite=True, progress=False)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".t.zarr")] == []


def test_progress_bar_shows_only_when_asked(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(publish, "PROGRESS_DELAY", 0.0)
    lm = _painted((20, 20, 20), "uint8", (8, 8, 8))
    lm.to_ome_zarr(tmp_path / "a.zarr", progress=False)
    assert "OME-Zarr export" not in capsys.readouterr().err
    lm.to_ome_zarr(tmp_path / "b.zarr")
    assert "OME-Zarr export" in capsys.readouterr().err
    lm.to_nanovdb(tmp_path / "c.nvdb")
    assert "NanoVDB export" in capsys.readouterr().err


def test_edits_during_an_export_do_not_tear_it(tmp_path, monkeypatch):
    from voxwidget.export import ome

    lm = _painted((32, 32, 32), "uint32", (8, 8, 8), path=tmp_path / "m.zarr")
    before = lm.to_numpy()
    real, edited = ome._labels0, []

    def labels0_then_edit(src, out, keys):  # the first batch of level-0 chunks, then an edit of all
        result = real(src, out, keys)
        if not edited:
            edited.append(1)
            lm[...] = 77
            lm.checkpoint()
        return result

    monkeypatch.setattr(ome, "_labels0", labels0_then_edit)
    out = lm.to_ome_zarr(tmp_path / "e.zarr", progress=False)
    assert edited
    _, levels = _reader_levels(out)
    np.testing.assert_array_equal(levels[0], before)
    np.testing.assert_array_equal(levels[1], _pyramid(before, 2)[1])
    assert (lm.to_numpy() == 77).all()
    lm.close()


def test_export_is_flushed_to_disk_before_it_is_published(tmp_path, monkeypatch):
    """A power loss cannot be staged in a test; what makes an export survive one can be checked:
    every file and directory of the result is fsynced *before* the rename that publishes it (a
    rename may reach the disk before the data it names), and the parent directory after it (or the
    rename itself may be lost). The real fsync runs; each call is recorded with the path of its fd."""
    lm = _painted((30, 40, 50), "uint16", (16, 16, 16))
    target = tmp_path / "out.zarr"
    target.mkdir()  # an old export, replaced (the exchange path)
    (target / "old").write_bytes(b"x")
    events: list[tuple[str, str]] = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(a, b):
        events.append(("rename", str(b)))
        real_rename(a, b)

    monkeypatch.setattr(publish.os, "fsync", fsync)
    monkeypatch.setattr(publish.os, "rename", rename)
    monkeypatch.setattr(publish, "_exchange", lambda a, b: False)  # the two-rename path: visible
    lm.to_ome_zarr(target, progress=False, overwrite=True)

    published = next(i for i, e in enumerate(events) if e == ("rename", str(target)))
    synced_before = {p for kind, p in events[:published] if kind == "fsync"}
    roots = [p for p in synced_before if os.path.basename(p).startswith(".out.zarr.vwtmp-")]
    assert roots, f"the export's temporary directory was not flushed before it was published: {events}"
    tmp_root = roots[0]
    expected = {tmp_root}
    for dirpath, _, filenames in os.walk(target):
        rel = os.path.relpath(dirpath, target)
        base = tmp_root if rel == "." else os.path.join(tmp_root, rel)
        expected.add(base)
        expected.update(os.path.join(base, f) for f in filenames)
    assert len(expected) > 20  # zarr.json files, chunk files, their directories
    missing = expected - synced_before
    assert not missing, f"not flushed before the rename that published them: {sorted(missing)[:5]}"
    assert ("fsync", str(tmp_path)) in events[published:], "the parent directory is not flushed after"
    assert not (target / "old").exists()
    np.testing.assert_array_equal(_reader_levels(target)[1][0], lm.to_numpy())
