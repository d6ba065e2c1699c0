"""Stroke painting: ``LabelMap.paint``/``erase`` with an (N, 3) array of centres as one batch."""

from __future__ import annotations

import numpy as np
import pytest

from voxwidget.labelmap import LabelMap, OutOfBoundsError
from voxwidget.tools.stroke_kernel import half_widths, plan_chunks

SHAPE = (21, 30, 26)
CHUNKS = (8, 8, 8)


def ref_stamp(ref: np.ndarray, c, radius: int, dims: int, axis: int, value: int) -> None:
    """Independent brush geometry (the contract): squared distance <= radius**2, clipped."""
    zz, yy, xx = np.ogrid[: ref.shape[0], : ref.shape[1], : ref.shape[2]]
    d = [zz - c[0], yy - c[1], xx - c[2]]
    if dims == 3:
        m = d[0] ** 2 + d[1] ** 2 + d[2] ** 2 <= radius**2
    else:
        o = [d[i] for i in range(3) if i != axis]
        m = (d[axis] == 0) & (o[0] ** 2 + o[1] ** 2 <= radius**2)
    ref[m] = value


def stroke_points(seed: int, n: int = 12) -> np.ndarray:
    """A random walk crossing chunk borders, touching the array edges (first/last point on faces)."""
    rng = np.random.default_rng(seed)
    pts = [rng.integers(0, SHAPE)]
    for _ in range(n - 1):
        pts.append(np.clip(pts[-1] + rng.integers(-5, 6, 3), 0, np.array(SHAPE) - 1))
    pts[0][0] = 0
    pts[-1][2] = SHAPE[2] - 1
    return np.array(pts)


@pytest.mark.parametrize(("dims", "axis"), [(2, 0), (2, 1), (2, 2), (3, 0)])
@pytest.mark.parametrize("radius", [0, 1, 5])
def test_stroke_equals_union_of_single_paints(dims, radius, axis):
    pts = stroke_points(100 * dims + 10 * radius + axis)
    base = np.random.default_rng(1).integers(0, 3, SHAPE).astype(np.uint16)  # some voxels already 2
    single = LabelMap.from_array(base, chunks=CHUNKS)
    stroke = LabelMap.from_array(base, chunks=CHUNKS)
    ref = base.copy()
    for c in pts:
        single.paint(tuple(int(v) for v in c), radius, 2, dims=dims, axis=axis)
        ref_stamp(ref, c, radius, dims, axis, 2)
    before = {k: stroke.version(k) for k in np.ndindex(*stroke.grid_shape)}
    seen = []
    stroke.subscribe(seen.append)
    res = stroke.paint(pts, radius, 2, dims=dims, axis=axis)
    np.testing.assert_array_equal(stroke[...], ref)
    np.testing.assert_array_equal(single[...], ref)
    # versions: bumped once, only for the chunks whose data changed
    changed = set()
    for k in np.ndindex(*stroke.grid_shape):
        sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(k, CHUNKS, strict=True))
        if not np.array_equal(base[sl], ref[sl]):
            changed.add(k)
        assert stroke.version(k) == before[k] + (k in changed), k
    assert set(res.versions) == changed
    assert len(seen) == (1 if changed else 0)  # one notification for the whole stroke
    if changed:
        assert set(seen[0].keys) == changed
    # one undo step restores the base, redo the stroke
    assert stroke.undo()
    np.testing.assert_array_equal(stroke[...], base)
    assert not stroke.undo()
    assert stroke.redo()
    np.testing.assert_array_equal(stroke[...], ref)
    # the undo step stores only the changed voxels
    step = stroke._core.history._undo[-1]
    assert sum(a.count for a in step.atoms) == int((ref != base).sum())
    # erase along the same stroke, one step again
    stroke.erase(pts, radius, dims=dims, axis=axis)
    ref_e = ref.copy()
    for c in pts:
        ref_stamp(ref_e, c, radius, dims, axis, 0)
    np.testing.assert_array_equal(stroke[...], ref_e)
    assert stroke.undo()
    np.testing.assert_array_equal(stroke[...], ref)


def test_half_widths_are_exact_integer_square_roots():
    for r in (0, 1, 2, 7, 30, 181, 4096):
        hw = half_widths(r)
        d2 = np.arange(r * r + 1)
        assert ((hw * hw <= r * r - d2) & ((hw + 1) ** 2 > r * r - d2)).all(), r


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "uint32", "uint64"])
def test_stroke_kernel_big_brush_many_chunks(dtype):
    """A radius much larger than a chunk: every chunk of the ball is reached; runs are clipped to each
    chunk and merged across overlapping stamps; labels at the top of the dtype's range."""
    top = np.iinfo(dtype).max
    pts = np.array([[10, 3, 4], [10, 9, 7], [11, 25, 22], [10, 9, 7]])
    lm = LabelMap(SHAPE, chunks=(4, 8, 4), dtype=dtype)
    lm[5:9, 2:20, 3:6] = 1
    ref = lm[...]
    lm.paint(pts, 9, top, dims=3)
    for c in pts:
        ref_stamp(ref, c, 9, 3, 0, top)
    np.testing.assert_array_equal(lm[...], ref)
    assert lm.undo()
    expect = np.zeros(SHAPE, dtype)
    expect[5:9, 2:20, 3:6] = 1
    np.testing.assert_array_equal(lm[...], expect)


def test_plan_chunks_lists_each_reached_chunk_once():
    half = np.array([3, 3, 0])
    pts = np.array([[0, 0, 0], [9, 9, 9], [9, 10, 9], [20, 29, 25]])
    shape, chunks = np.array(SHAPE), np.array(CHUNKS)
    expect: dict[tuple, set] = {}
    for p in pts:
        lo = np.maximum(p - half, 0) // chunks
        hi = np.minimum(p + half, shape - 1) // chunks
        for o in np.ndindex(*(hi - lo + 1)):
            expect.setdefault(tuple(int(v) for v in lo + o), set()).add(tuple(p.tolist()))
    plan = plan_chunks(pts, half, shape, chunks)
    assert [k for k, _ in plan] == sorted(expect)  # each once, in C order
    assert {k: {tuple(c) for c in cs.tolist()} for k, cs in plan} == expect


def test_stroke_reaching_a_chunk_without_painting_it_leaves_it_absent(tmp_path):
    """A ball's box corner pokes into a chunk the ball itself misses: no chunk is created there."""
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=tmp_path / "c.zarr")
    lm.paint(np.array([[6, 6, 6], [6, 6, 6]]), 3, 4, dims=3)  # box 3..9 reaches chunk (1,1,1) at 8..9
    assert lm.version((1, 1, 1)) == 0 and lm.version((0, 0, 0)) == 1
    assert (1, 1, 1) not in lm._core.table.entries
    erased = lm.erase(np.array([[6, 6, 6]]), 3, dims=3).versions
    assert (0, 0, 0) in erased and (1, 1, 1) not in erased
    lm.close()


@pytest.mark.parametrize(
    ("centres", "label", "exc", "msg"),
    [
        (
            [[1, 1, 1], [2, 30, 2]],
            1,
            OutOfBoundsError,
            r"\(2, 30, 2\) \(stroke point 1\).*axis 1 coordinate 30",
        ),
        ([[1, 1, 1], [-1, 2, 2]], 1, OutOfBoundsError, r"axis 0 coordinate -1, allowed 0\.\.20"),
        ([[1, 1, 1], [2, 2.5, 2]], 1, ValueError, "must be 3 integers"),
        ([[1, 1], [2, 2]], 1, ValueError, "must be 3 integers"),
        ([[1, 1, 1], [2, 2, 2]], 70000, ValueError, r"70000 is out of range for uint16; allowed: 0\.\.65535"),
        ([[1, 1, 1], [2, 2, 2]], -3, ValueError, "-3 is out of range"),
    ],
)
def test_stroke_rejected_whole(centres, label, exc, msg):
    lm = LabelMap(SHAPE, chunks=CHUNKS, dtype="uint16")
    lm.paint((5, 5, 5), 2, 7, dims=3)
    before = lm[...].copy()
    versions = {k: lm.version(k) for k in np.ndindex(*lm.grid_shape)}
    seen = []
    lm.subscribe(seen.append)
    with pytest.raises(exc, match=msg):
        lm.paint(np.array(centres), 3, label, dims=3)
    np.testing.assert_array_equal(lm[...], before)
    assert versions == {k: lm.version(k) for k in np.ndindex(*lm.grid_shape)}
    assert not seen
    assert lm.undo() and not lm[...].any() and not lm.undo()  # only the first paint was recorded


def test_stroke_edge_cases(tmp_path):
    lm = LabelMap(SHAPE, chunks=CHUNKS, path=tmp_path / "s.zarr")
    r = lm.paint(np.zeros((0, 3), int), 3, 1)  # empty stroke: nothing, no undo step
    assert r.versions == {} and r.durable.done() and not lm.undo()
    assert lm.erase(np.array([[0, 0, 0], [20, 29, 25]]), 4, dims=3).versions == {}  # erase on zeros
    lm.paint([(3, 4, 5), (3, 4, 5)], 2, 9, dims=2, axis=1, stroke="a")  # duplicate centres, a list
    res = lm.paint(np.array([[3.0, 10.0, 5.0]]), 2, 9, dims=2, axis=1, stroke="a")  # integral floats
    res.durable.result(timeout=10)
    ref = np.zeros(SHAPE, np.uint32)
    for c in [(3, 4, 5), (3, 10, 5)]:
        ref_stamp(ref, c, 2, 2, 1, 9)
    np.testing.assert_array_equal(lm[...], ref)
    lm._abandon()  # crash: the journal record of each stroke is replayed
    with LabelMap.open(tmp_path / "s.zarr") as again:
        np.testing.assert_array_equal(again[...], ref)
    with LabelMap.open(tmp_path / "s.zarr") as again:
        assert again.paint(np.array([[1, 1, 1]]), 1, 9, dims=2, axis=1).versions  # still writable
    for bad in ["abc", [[1, 2, 3, 4]], np.ones((2, 2, 3))]:
        with pytest.raises(ValueError, match="must be 3 integers"):
            LabelMap(SHAPE).paint(bad, 1, 1)
    with pytest.raises(ValueError, match="radius"):
        LabelMap(SHAPE).paint([(1, 1, 1)], -1, 1)


@pytest.mark.parametrize(
    ("chunks", "dims", "axis"), [((5, 7, 100), 3, 0), ((4, 6, 70), 2, 2), ((3, 8, 64), 2, 0)]
)
def test_stroke_row_masks_wide_chunks_replay_and_undo(tmp_path, chunks, dims, axis):
    """Chunks wider than one 64-bit word (and not a multiple of it): painted, journaled as row masks,
    replayed after a crash, undone — always equal to the per-stamp reference."""
    shape = (12, 15, 130)
    pts = np.array([[1, 2, 3], [6, 7, 60], [6, 8, 66], [11, 14, 129], [3, 3, 127]])
    path = tmp_path / "w.zarr"
    lm = LabelMap(shape, chunks=chunks, dtype="uint16", path=path)
    lm[:, 5:9, 20:90] = 3  # old values that differ from 0: the undo step keeps them per voxel
    ref = lm[...]
    lm.paint(pts, 6, 9, dims=dims, axis=axis).durable.result(timeout=10)
    for c in pts:
        ref_stamp(ref, c, 6, dims, axis, 9)
    np.testing.assert_array_equal(lm[...], ref)
    lm._abandon()
    with LabelMap.open(path) as again:
        np.testing.assert_array_equal(again[...], ref)
    lm = LabelMap.open(path)
    lm[:, 5:9, 20:90] = 3
    ref2 = lm[...]
    lm.paint(pts, 6, 9, dims=dims, axis=axis)
    assert lm.undo()
    np.testing.assert_array_equal(lm[...], ref2)
    assert lm.redo()
    lm.undo()
    lm.close()  # the undo went through the journal and the checkpoint too
    with LabelMap.open(path) as again:
        np.testing.assert_array_equal(again[...], ref2)
