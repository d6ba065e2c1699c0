"""Journal: framing, group commit, torn and corrupt records (through LabelMap replay too)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from voxwidget.labelmap import ChunkEdit, LabelMap
from voxwidget.labelmap.journal import Journal, JournalCorruptionWarning, encode_record, read_journal


def test_roundtrip_and_group_commit(tmp_path):
    j = Journal(tmp_path / "j")
    futs = []
    lock = threading.Lock()

    def writer(t):
        for i in range(200):
            rec = encode_record(
                t * 1000 + i, {"t": t, "i": i}, [np.arange(i, dtype=np.uint32), np.array([t], np.uint8)]
            )
            with lock:
                futs.append(j.append(rec))

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for f in futs:
        f.result(timeout=10)
    assert j.fsyncs < len(futs), "no group commit: one fsync per record"
    j.close()
    records, bad = read_journal(tmp_path / "j")
    assert not bad and len(records) == 800
    for r in records:
        np.testing.assert_array_equal(r.arrays[0], np.arange(r.header["i"], dtype=np.uint32))
        assert r.seq == r.header["t"] * 1000 + r.header["i"]


def test_rotate_and_discard(tmp_path):
    j = Journal(tmp_path / "j")
    j.append(encode_record(1, {})).result()
    old = j.rotate().result()
    j.append(encode_record(2, {})).result()
    j.discard(old)
    j.close()
    records, _ = read_journal(tmp_path / "j")
    assert [r.seq for r in records] == [2]


def _write_batches(path, n):
    lm = LabelMap((16, 16, 16), chunks=(8, 8, 8), path=path, checkpoint_delay=60)
    for i in range(n):
        edits = [ChunkEdit(k, np.array([i], np.uint32), np.array([i + 1])) for k in [(0, 0, 0), (1, 1, 1)]]
        lm.apply_batch(f"b{i}", edits).durable.result()
    lm._abandon()  # crash: nothing checkpointed, everything is in the journal
    segs = sorted((path / ".voxwidget" / "journal").glob("seg-*.log"))
    assert len(segs) == 1
    return segs[0]


def _applied(lm):
    _, d = lm.snapshot_chunk((1, 1, 1))
    flat = np.zeros(512, np.uint32) if d is None else d.reshape(-1)
    return [i for i in range(512) if flat[i] == i + 1]


def test_truncated_record_keeps_prefix(tmp_path):
    path = tmp_path / "t.zarr"
    seg = _write_batches(path, 10)
    data = seg.read_bytes()
    seg.write_bytes(data[:-5])  # tear the last record
    with pytest.warns(
        JournalCorruptionWarning, match=rf"{seg.name} is damaged at byte offset \d+: torn record"
    ):
        lm = LabelMap.open(path)
    assert _applied(lm) == list(range(9))
    assert lm.apply_batch("b8", []).duplicate
    assert not lm.apply_batch("b9", []).duplicate  # the torn batch was never applied
    lm.close()
    assert list((path / ".voxwidget" / "journal").glob("*.corrupt-*")), "damaged segment not kept aside"
    with LabelMap.open(path) as lm:  # no warning the second time: state was checkpointed
        assert _applied(lm) == list(range(9))


def test_corrupt_record_reports_offset(tmp_path):
    path = tmp_path / "c.zarr"
    seg = _write_batches(path, 10)
    data = bytearray(seg.read_bytes())
    recs, _ = read_journal(seg.parent)
    assert len(recs) == 10
    size = (len(data) - 8) // 10  # equal-sized records after the 8-byte magic
    off = 8 + 4 * size
    data[off + 20] ^= 0xFF  # flip a byte inside record 4
    seg.write_bytes(bytes(data))
    with pytest.warns(JournalCorruptionWarning, match=rf"byte offset {off}: CRC mismatch.*kept the 4 intact"):
        lm = LabelMap.open(path)
    assert _applied(lm) == [0, 1, 2, 3]
    lm.close()


def test_bad_magic(tmp_path):
    path = tmp_path / "m.zarr"
    seg = _write_batches(path, 3)
    seg.write_bytes(b"garbage!" + seg.read_bytes()[8:])
    with pytest.warns(JournalCorruptionWarning, match="bad segment magic"):
        lm = LabelMap.open(path)
    assert _applied(lm) == []
    lm.close()
