"""Chunk store: atomic writes, zero chunks, corrupt chunk files, foreign zarr layouts."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

from voxwidget.labelmap import LabelMap
from voxwidget.labelmap.chunkstore import ChunkStore, CorruptChunkError


def test_write_read_delete(tmp_path):
    s = ChunkStore.create(tmp_path / "s.zarr", (20, 20, 20), (8, 8, 8), np.dtype("uint16"))
    a = np.arange(512, dtype=np.uint16).reshape(8, 8, 8)
    s.write_chunks([((0, 0, 0), a), ((2, 2, 2), a)])
    assert s.read_chunk((1, 1, 1)) is None
    np.testing.assert_array_equal(s.read_chunk((0, 0, 0)), a)
    np.testing.assert_array_equal(zarr.open_array(str(tmp_path / "s.zarr"))[16:, 16:, 16:], a[:4, :4, :4])
    s.write_chunks([((0, 0, 0), np.zeros_like(a))])
    assert not s.chunk_file((0, 0, 0)).exists()
    assert not list((tmp_path / "s.zarr").rglob("*.vwtmp"))
    s.close()


@pytest.mark.parametrize("damage", ["flip", "truncate", "garbage"])
def test_corrupt_chunk_file(tmp_path, damage):
    path = tmp_path / "x.zarr"
    with LabelMap((16, 16, 16), chunks=(8, 8, 8), path=path) as lm:
        lm[:8, :8, :8] = 3
        lm[8:, 8:, 8:] = 4
    f = path / "c" / "0" / "0" / "0"
    raw = bytearray(f.read_bytes())
    if damage == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "truncate":
        raw = raw[: len(raw) // 2]
    else:
        raw = bytearray(b"\x00" * 5)
    f.write_bytes(bytes(raw))
    with LabelMap.open(path) as lm:
        with pytest.raises(CorruptChunkError, match=rf"corrupt chunk \(0, 0, 0\) in file {f}"):
            lm[0, 0, 0]
        with pytest.raises(CorruptChunkError):
            lm.paint((1, 1, 1), 1, 9)
        assert (lm[8:, 8:, 8:] == 4).all()  # intact data still readable
    assert f.read_bytes() == bytes(raw), "the damaged file was overwritten"


def test_v2_with_compressor_and_slash_separator(tmp_path):
    path = tmp_path / "v2.zarr"
    data = np.random.default_rng(0).integers(0, 9, (12, 13, 14)).astype(np.uint32)
    z = zarr.create_array(
        str(path),
        shape=data.shape,
        chunks=(5, 5, 5),
        dtype="uint32",
        zarr_format=2,
        chunk_key_encoding={"name": "v2", "separator": "/"},
    )
    z[:] = data
    s = ChunkStore(path)
    assert s.direct and s.zarr_format == 2
    with LabelMap.open(path) as lm:
        np.testing.assert_array_equal(lm[...], data)
        lm[0] = 7
        data[0] = 7
    np.testing.assert_array_equal(zarr.open_array(str(path))[:], data)


def test_sharded_v3_falls_back_to_zarr(tmp_path):
    path = tmp_path / "sh.zarr"
    data = np.zeros((16, 16, 16), np.uint8)
    data[2:9] = 5
    z = zarr.create_array(str(path), shape=data.shape, chunks=(4, 4, 4), shards=(8, 8, 8), dtype="uint8")
    z[:] = data
    assert not ChunkStore(path).direct
    with LabelMap.open(path) as lm:
        np.testing.assert_array_equal(lm[...], data)
        lm[10:12] = 1
        data[10:12] = 1
    np.testing.assert_array_equal(zarr.open_array(str(path))[:], data)


def test_sharded_checkpoint_writes_whole_shards_durably(tmp_path, monkeypatch):
    """Through zarr, a sharded store's checkpoint replaces each shard whole (a new file renamed
    over the old one, so a crash leaves the old or the new shard) and fsyncs it before the journal
    segments are dropped (zarr's own LocalStore does not fsync)."""
    import os as _os

    path = tmp_path / "sh.zarr"
    zarr.create_array(str(path), shape=(16, 16, 16), chunks=(4, 4, 4), shards=(8, 8, 8), dtype="uint8")
    lm = LabelMap.open(path, undo_depth=0)
    lm[0:2] = 3
    lm.checkpoint()
    shard = path / "c" / "0" / "0" / "0"
    inode = shard.stat().st_ino
    synced: list[str] = []
    real = _os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(_os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(_os, "fsync", counting_fsync)
    lm[0:2, 0:2] = 4
    lm.checkpoint()
    monkeypatch.undo()
    assert shard.stat().st_ino != inode, "the shard was modified in place, not replaced whole"
    assert any(s.startswith(str(shard)) and s.endswith(".vwtmp") for s in synced), synced
    assert not list(path.rglob("*.vwtmp")) and not list(path.rglob("*.partial"))
    lm.close()
    np.testing.assert_array_equal(zarr.open_array(str(path))[0:2, 0:2], 4)
