"""Stateful property test: LabelMap against a plain numpy reference with an undo/redo model."""

from __future__ import annotations

import shutil
import tempfile

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from voxwidget.labelmap import ChunkEdit, LabelMap

SHAPE = (20, 33, 17)
CHUNKS = (8, 16, 8)
GRID = tuple(-(-s // c) for s, c in zip(SHAPE, CHUNKS, strict=True))
DEPTH = 6
DTYPE = np.uint16

coord = st.tuples(*(st.integers(0, s - 1) for s in SHAPE))
labels = st.integers(0, 5) | st.sampled_from([0, 65535])


def ref_brush(center, radius, dims, axis):
    """Independent brush geometry (contract): squared distance <= radius**2."""
    zz, yy, xx = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    d = [zz - center[0], yy - center[1], xx - center[2]]
    if dims == 3:
        return d[0] ** 2 + d[1] ** 2 + d[2] ** 2 <= radius**2
    others = [d[i] for i in range(3) if i != axis]
    return (d[axis] == 0) & (others[0] ** 2 + others[1] ** 2 <= radius**2)


class LabelMapMachine(RuleBasedStateMachine):
    @initialize(stored=st.booleans())
    def setup(self, stored):
        self.dir = tempfile.mkdtemp(prefix="vw-state-")
        self.path = f"{self.dir}/labels.zarr" if stored else None
        self.lm = LabelMap(
            SHAPE, dtype=DTYPE, chunks=CHUNKS, path=self.path, undo_depth=DEPTH, checkpoint_delay=30
        )
        self.ref = np.zeros(SHAPE, DTYPE)
        self.undo_stack: list[np.ndarray] = []
        self.redo_stack: list[np.ndarray] = []
        self.open_stroke: str | None = None
        self.batches: list[tuple[str, list[ChunkEdit], np.ndarray]] = []
        self.versions: dict = {}
        self.chunk_data: dict = {}
        self.n = 0

    def teardown(self):
        if hasattr(self, "lm"):
            self.lm.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- model helpers --------------------------------------------------------------------------
    def _edit(self, new: np.ndarray, stroke: str | None = None) -> None:
        if np.array_equal(new, self.ref):
            return
        if stroke is None or stroke != self.open_stroke:
            self.undo_stack.append(self.ref.copy())
            del self.undo_stack[:-DEPTH]
        self.open_stroke = stroke
        self.redo_stack.clear()
        self.ref = new

    # -- rules ------------------------------------------------------------------------------------
    @rule(
        center=coord,
        radius=st.integers(0, 6),
        label=labels,
        dims=st.sampled_from([2, 3]),
        axis=st.integers(0, 2),
    )
    def paint(self, center, radius, label, dims, axis):
        new = self.ref.copy()
        new[ref_brush(center, radius, dims, axis)] = label
        self.lm.paint(center, radius, label, dims=dims, axis=axis)
        self._edit(new)

    @rule(
        centres=st.lists(coord, min_size=0, max_size=8),
        radius=st.integers(0, 6),
        label=labels,
        dims=st.sampled_from([2, 3]),
        axis=st.integers(0, 2),
        erase=st.booleans(),
        stroke=st.sampled_from([None, "same"]),
    )
    def paint_stroke(self, centres, radius, label, dims, axis, erase, stroke):
        """A whole stroke (N centres) as one batch: the union of the stamps, one undo step."""
        new = self.ref.copy()
        for c in centres:
            new[ref_brush(c, radius, dims, axis)] = 0 if erase else label
        arr = np.array(centres, dtype=np.int64).reshape(-1, 3)
        sid = None if stroke is None else (self.open_stroke or "stroke-x")
        if erase:
            res = self.lm.erase(arr, radius, dims=dims, axis=axis, stroke=sid)
        else:
            res = self.lm.paint(arr, radius, label, dims=dims, axis=axis, stroke=sid)
        res.durable.result(timeout=10)
        changed = {
            k for k in np.ndindex(*GRID) if not np.array_equal(self._chunk(self.ref, k), self._chunk(new, k))
        }
        assert set(res.versions) == changed
        self._edit(new, sid)

    @staticmethod
    def _chunk(a: np.ndarray, key) -> np.ndarray:
        return a[tuple(slice(k * c, (k + 1) * c) for k, c in zip(key, CHUNKS, strict=True))]

    @rule(a=coord, b=coord, label=labels, use_array=st.booleans(), seed=st.integers(0, 2**16))
    def setitem(self, a, b, label, use_array, seed):
        sl = tuple(slice(min(x, y), max(x, y) + 1) for x, y in zip(a, b, strict=True))
        shape = tuple(s.stop - s.start for s in sl)
        value = np.random.default_rng(seed).integers(0, 4, shape).astype(DTYPE) if use_array else label
        new = self.ref.copy()
        new[sl] = value
        self.lm[sl] = value
        self._edit(new)

    @rule(
        key=st.tuples(*(st.integers(0, g - 1) for g in GRID)),
        seed=st.integers(0, 2**16),
        n=st.integers(0, 40),
        stroke=st.sampled_from([None, "same", "new"]),
        two=st.booleans(),
    )
    def apply_batch(self, key, seed, n, stroke, two):
        rng = np.random.default_rng(seed)
        keys = [key, tuple((k + 1) % g for k, g in zip(key, GRID, strict=True))] if two else [key]
        edits = []
        new = self.ref.copy()
        for k in keys:
            lo = [kk * c for kk, c in zip(k, CHUNKS, strict=True)]
            ext = [min(c, s - a) for c, s, a in zip(CHUNKS, SHAPE, lo, strict=True)]
            local = [rng.integers(0, e, n) for e in ext]
            offs = np.ravel_multi_index(local, CHUNKS).astype(np.uint32)
            vals = rng.integers(0, 6, n).astype(DTYPE)
            edits.append(ChunkEdit(k, offs, vals))
            for o, v in zip(offs, vals, strict=True):
                z, y, x = np.unravel_index(int(o), CHUNKS)
                new[lo[0] + z, lo[1] + y, lo[2] + x] = v
        self.n += 1
        sid = (
            None
            if stroke is None
            else (f"s{self.n}" if stroke == "new" or self.open_stroke is None else self.open_stroke)
        )
        bid = f"b{self.n}"
        res = self.lm.apply_batch(bid, edits, stroke=sid)
        assert not res.duplicate
        res.durable.result(timeout=10)
        self.batches.append((bid, edits, new))
        self._edit(new, sid)

    @precondition(lambda self: self.batches)
    @rule(i=st.integers(0, 10**6))
    def replay_batch(self, i):
        bid, edits, _ = self.batches[i % len(self.batches)]
        res = self.lm.apply_batch(bid, edits)
        assert res.duplicate

    @rule()
    def undo(self):
        ok = self.lm.undo()
        assert ok == bool(self.undo_stack)
        if ok:
            self.redo_stack.append(self.ref)
            self.ref = self.undo_stack.pop()
        self.open_stroke = None

    @rule()
    def redo(self):
        ok = self.lm.redo()
        assert ok == bool(self.redo_stack)
        if ok:
            self.undo_stack.append(self.ref)
            del self.undo_stack[:-DEPTH]
            self.ref = self.redo_stack.pop()
        self.open_stroke = None

    @precondition(lambda self: self.path is not None)
    @rule()
    def checkpoint(self):
        self.lm.checkpoint()

    @precondition(lambda self: self.path is not None)
    @rule(crash=st.booleans())
    def reopen(self, crash):
        if crash:
            self.lm._abandon()  # no checkpoint: the journal tail must be replayed
        else:
            self.lm.close()
        self.lm = LabelMap.open(self.path, undo_depth=DEPTH, checkpoint_delay=30)
        # the undo/redo history is persisted: it survives a close, a crash and checkpoints
        self.open_stroke = None

    # -- invariants --------------------------------------------------------------------------
    @invariant()
    def equals_reference(self):
        if hasattr(self, "lm"):
            np.testing.assert_array_equal(self.lm[...], self.ref)

    @invariant()
    def versions_track_changes(self):
        if not hasattr(self, "lm"):
            return
        for key in np.ndindex(*GRID):
            v = self.lm.version(key)
            data = self.ref[tuple(slice(k * c, (k + 1) * c) for k, c in zip(key, CHUNKS, strict=True))]
            old_v = self.versions.get(key, 0)
            assert v >= old_v, f"version of {key} went back from {old_v} to {v}"
            if key in self.chunk_data and not np.array_equal(self.chunk_data[key], data):
                assert v > old_v, f"chunk {key} changed but its version stayed {v}"
            self.versions[key] = v
            self.chunk_data[key] = data.copy()


LabelMapMachine.TestCase.settings = settings(
    max_examples=100, stateful_step_count=30, deadline=None, suppress_health_check=list(HealthCheck)
)
TestLabelMap = LabelMapMachine.TestCase
