"""Subprocess for tests/test_crash.py: writes edit batches and prints each acknowledgement.

Usage: ``python tests/crash_writer.py STORE_PATH [sharded]``; ``sharded``: the store is first created
by zarr as a sharded array (8³ inner chunks in 16³ shards: each label chunk is one whole shard,
rewritten through zarr at every checkpoint). Batch ``i`` writes the value ``i + 1`` into slot
``i`` (the chunk-local offset ``i``) of every one of the 8 chunks, so after a crash a batch that is
present in some chunks but not all is a half-applied batch. Every 7th batch also re-sends the previous
batch id (must be a no-op). After ``result.durable.result()`` the writer prints ``ack <i>`` and
flushes, so every printed batch must survive a SIGKILL.
"""

from __future__ import annotations

import sys

import numpy as np

from voxwidget.labelmap import ChunkEdit, LabelMap

SHAPE = (32, 32, 32)
CHUNKS = (16, 16, 16)
KEYS = list(np.ndindex(2, 2, 2))
N_BATCHES = 4000


def edits(i: int) -> list[ChunkEdit]:
    off = np.array([i], np.uint32)
    val = np.array([i + 1], np.uint32)
    return [ChunkEdit(k, off, val) for k in KEYS]


def main() -> None:
    if sys.argv[2:] == ["sharded"]:
        import zarr

        zarr.create_array(sys.argv[1], shape=SHAPE, chunks=(8, 8, 8), shards=CHUNKS, dtype="uint32")
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=sys.argv[1], checkpoint_delay=0.02)
    print("ready", flush=True)
    pending = []
    for i in range(N_BATCHES):
        pending.append((i, lm.apply_batch(f"batch-{i}", edits(i), stroke=f"s{i // 10}")))
        if i % 7 == 6:
            assert lm.apply_batch(f"batch-{i - 1}", edits(i - 1)).duplicate
        if i % 3 == 2:  # browser-like: several batches in flight, acked as they become durable
            for j, res in pending:
                res.durable.result()
                sys.stdout.write(f"ack {j}\n")
            sys.stdout.flush()
            pending.clear()
    lm.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
