"""Fault injection: SIGKILL a writer subprocess at random moments, reopen, check durability."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import zarr

from voxwidget.labelmap import LabelMap
from voxwidget.labelmap.journal import JournalCorruptionWarning

WRITER = Path(__file__).with_name("crash_writer.py")
ROOT = Path(__file__).resolve().parents[1]


def _run_and_kill(path: Path, delay: float, *extra: str) -> tuple[set[int], bool]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, str(WRITER), str(path), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    lines = out.decode().split("\n")[:-1]  # a line without its newline was never fully printed
    acked = {int(line.split()[1]) for line in lines if line.startswith("ack ")}
    return acked, "done" in lines


def _check_store(path: Path, acked: set[int]) -> int:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", JournalCorruptionWarning)  # a torn tail is allowed
        lm = LabelMap.open(path)
    try:
        slots = []
        for key in np.ndindex(2, 2, 2):
            _, data = lm.snapshot_chunk(key)
            slots.append(np.zeros(16**3, np.uint32) if data is None else data.reshape(-1))
        slots = np.stack(slots)  # (8 chunks, 4096 slots)
        expected = np.arange(1, 4097, dtype=np.uint32)
        present = slots == expected
        partial = present.any(axis=0) & ~present.all(axis=0)
        assert not partial.any(), f"half-applied batches {np.flatnonzero(partial)[:10]}"
        stray = (slots != 0) & ~present
        assert not stray.any(), "voxels hold values no batch wrote there"
        applied = np.flatnonzero(present.all(axis=0))
        n = len(applied)
        assert (applied == np.arange(n)).all(), "applied batches are not a prefix of the sent ones"
        missing = sorted(i for i in acked if i >= n)
        assert not missing, f"acknowledged batches lost: {missing[:10]}"
        # re-sending an applied batch id after the crash is a no-op
        if n:
            assert lm.apply_batch(f"batch-{n - 1}", []).duplicate
    finally:
        lm.close()
    z = zarr.open_array(str(path), mode="r")
    assert (z[:16, :16, :16].reshape(-1)[: len(applied)] == expected[: len(applied)]).all()
    return n


def test_sigkill_keeps_acknowledged_batches(tmp_path):
    trials = int(os.environ.get("VOXWIDGET_CRASH_TRIALS", "50"))
    rng = random.Random(int(os.environ.get("VOXWIDGET_CRASH_SEED", "1234")))
    t0 = time.monotonic()
    total_acked = 0
    for t in range(trials):
        path = tmp_path / f"trial{t}.zarr"
        acked, finished = _run_and_kill(path, rng.uniform(0.0, 0.3))
        n = _check_store(path, acked)
        assert n >= len(acked)
        total_acked += len(acked)
        if finished:
            assert n == 4000
    assert total_acked > 0, "no batch was ever acknowledged: the test exercised nothing"
    assert time.monotonic() - t0 < 600


def test_sigkill_sharded_store_has_no_torn_shard(tmp_path):
    """A sharded zarr store (written through zarr, whole shards atomically): after SIGKILL every
    shard decodes (zarr itself reads the whole array), nothing acknowledged is lost, no batch is
    half-applied."""
    from voxwidget.labelmap.chunkstore import ChunkStore

    trials = int(os.environ.get("VOXWIDGET_CRASH_TRIALS_SHARDED", "8"))
    rng = random.Random(99)
    total = 0
    for t in range(trials):
        path = tmp_path / f"shard{t}.zarr"
        acked, _ = _run_and_kill(path, rng.uniform(0.05, 0.5), "sharded")
        assert not ChunkStore(path).direct, "not the zarr (sharded) write path"
        n = _check_store(path, acked)  # (reads every shard through zarr too)
        zarr.open_array(str(path), mode="r")[...]
        assert n >= len(acked)
        total += len(acked)
    assert total > 0
