"""LabelMap.fill and replace against scikit-image's flood fill on random blob volumes, and what a fill
may touch: chunks never written are neither read nor created, max_voxels refuses before any change."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage.segmentation import flood

from voxwidget.labelmap import LabelMap, OutOfBoundsError, RegionTooLarge


def blobs(rng: np.random.Generator, shape, labels=3, block=6, noise=0.08) -> np.ndarray:
    """Random blobs: a coarse random label grid scaled up (blocks that span chunk borders, and
    whole zero chunks, which a map built from it never creates), plus sprinkled voxels."""
    coarse = rng.integers(0, labels, tuple(-(-s // block) + 1 for s in shape))
    off = rng.integers(0, block, 3)
    idx = np.ix_(*[(np.arange(s) + o) // block for s, o in zip(shape, off, strict=True)])
    vol = coarse[idx].astype(np.uint32)
    flip = rng.random(shape) < noise
    vol[flip] = rng.integers(0, labels, int(flip.sum()))
    return vol


def reference_fill(vol, seed, label, dims, axis, connectivity, contiguous, preserve):
    """skimage.segmentation.flood (or ``==``) plus assignment: the expected array and count."""
    v = vol[seed]
    out = vol.copy()
    if v == label or (preserve and v != 0):
        return out, 0
    if dims == 3:
        m = flood(vol, seed, connectivity=connectivity) if contiguous else vol == v
    else:
        sl = [slice(None)] * 3
        sl[axis] = seed[axis]
        plane = vol[tuple(sl)]
        seed2 = tuple(c for i, c in enumerate(seed) if i != axis)
        m = np.zeros(vol.shape, bool)
        m[tuple(sl)] = flood(plane, seed2, connectivity=min(connectivity, 2)) if contiguous else plane == v
    out[m] = label
    return out, int(m.sum())


def unique_counts(a: np.ndarray) -> dict[int, int]:
    u, c = np.unique(a, return_counts=True)
    return dict(zip(u.tolist(), c.tolist(), strict=True))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.data(),
    shape=st.tuples(st.integers(5, 30), st.integers(5, 30), st.integers(5, 30)),
    chunks=st.tuples(st.integers(3, 12), st.integers(3, 12), st.integers(3, 12)),
    dims=st.sampled_from([2, 3]),
    axis=st.integers(0, 2),
    connectivity=st.integers(1, 3),
    contiguous=st.booleans(),
    preserve=st.booleans(),
    label=st.sampled_from([0, 1, 2, 7]),
    rng_seed=st.integers(0, 2**32 - 1),
)
def test_fill_equals_skimage_flood(
    data, shape, chunks, dims, axis, connectivity, contiguous, preserve, label, rng_seed
):
    rng = np.random.default_rng(rng_seed)
    vol = blobs(rng, shape, block=int(rng.integers(2, 9)), noise=float(rng.choice([0.0, 0.05, 0.2])))
    grid = tuple(-(-s // c) for s, c in zip(shape, chunks, strict=True))
    for key in np.ndindex(*grid):  # about half the chunks all zero: never created in the map
        if rng.random() < 0.5:
            vol[tuple(slice(k * c, (k + 1) * c) for k, c in zip(key, chunks, strict=True))] = 0
    seed = data.draw(st.tuples(*(st.integers(0, s - 1) for s in shape)))
    lm = LabelMap.from_array(vol, chunks=chunks)
    assert lm.cache_info()["resident"] == sum(
        bool(vol[tuple(slice(k * c, (k + 1) * c) for k, c in zip(key, chunks, strict=True))].any())
        for key in np.ndindex(*grid)
    )
    expected, n = reference_fill(vol, seed, label, dims, axis, connectivity, contiguous, preserve)
    got = lm.fill(
        seed, label, dims=dims, axis=axis, connectivity=connectivity, contiguous=contiguous,
        preserve_labels=preserve,
    )  # fmt: skip
    assert got == n
    np.testing.assert_array_equal(lm.to_numpy(), expected)
    assert lm.label_counts() == unique_counts(expected)
    if n:
        assert lm.undo()
        np.testing.assert_array_equal(lm.to_numpy(), vol)  # undo restores exactly
        assert lm.label_counts() == unique_counts(vol)
        assert lm.redo()
        np.testing.assert_array_equal(lm.to_numpy(), expected)
    else:
        assert not lm.undo()  # nothing changed: no undo step


def test_background_region_crosses_unwritten_chunks_without_reading_them(tmp_path):
    """A ball in a stored map: filling the ball reads only the chunks it touches; filling the
    background around it takes the unwritten chunks whole; both equal skimage's flood."""
    chunks = (32, 32, 32)
    z, y, x = np.ogrid[:96, :96, :96]
    ball = ((z - 20) ** 2 + (y - 20) ** 2 + (x - 40) ** 2) <= 14**2  # spans chunk borders
    vol = np.where(ball, 5, 0).astype(np.uint32)
    LabelMap.from_array(vol, chunks=chunks, path=tmp_path / "m.zarr").close()
    lm = LabelMap.open(tmp_path / "m.zarr")
    assert lm.cache_info()["resident"] == 0
    assert lm.fill((20, 20, 40), 6) == int(ball.sum())
    touched = {(a // 32, b // 32, c // 32) for a, b, c in np.argwhere(ball)}
    assert lm.cache_info()["resident"] == len(touched)  # no other chunk was read or created
    np.testing.assert_array_equal(lm.to_numpy(), np.where(ball, 6, 0))
    lm.undo()
    n = lm.fill((90, 90, 90), 3)
    ref = flood(vol, (90, 90, 90), connectivity=1)
    assert n == int(ref.sum())
    np.testing.assert_array_equal(lm.to_numpy(), np.where(ref, 3, vol))
    lm.close()
    np.testing.assert_array_equal(LabelMap.open(tmp_path / "m.zarr").to_numpy(), np.where(ref, 3, vol))


def test_fill_journal_replay_restores_the_fill(tmp_path):
    """A fill's row-mask journal record alone (no checkpoint: a crash) restores it on reopen."""
    rng = np.random.default_rng(3)
    vol = blobs(rng, (40, 40, 40), block=7)
    lm = LabelMap.from_array(vol, chunks=(16, 16, 16), path=tmp_path / "m.zarr", checkpoint_delay=60)
    exp, n = reference_fill(vol, (5, 5, 5), 9, 3, 0, 1, True, False)
    res = lm.fill((5, 5, 5), 9)
    assert res == n > 0
    lm._abandon()
    again = LabelMap.open(tmp_path / "m.zarr")
    np.testing.assert_array_equal(again.to_numpy(), exp)
    assert again.label_counts() == unique_counts(exp)
    again.close()


def test_max_voxels_refuses_before_any_change():
    vol = blobs(np.random.default_rng(5), (30, 30, 30), block=10, noise=0)
    lm = LabelMap.from_array(vol, chunks=(8, 8, 8))
    lm.paint((3, 3, 3), 2, 4, dims=3)  # an undo step to keep
    before = lm.to_numpy()
    versions = {k: lm.version(k) for k in np.ndindex(*lm.grid_shape)}
    counts = lm.label_counts()
    seed = (15, 15, 15)
    size = int(flood(before, seed, connectivity=1).sum())
    with pytest.raises(RegionTooLarge, match=f"max_voxels={size - 1:,}"):
        lm.fill(seed, 9, max_voxels=size - 1)
    with pytest.raises(RegionTooLarge, match="max_voxels=1 "):
        lm.fill(seed, 9, contiguous=False, max_voxels=1)
    np.testing.assert_array_equal(lm.to_numpy(), before)
    assert {k: lm.version(k) for k in versions} == versions
    assert lm.label_counts() == counts
    assert lm.fill(seed, 9, max_voxels=size) == size  # the limit itself is allowed
    assert lm.undo()
    assert lm.undo()  # the paint: the refused fills left no undo step
    assert not np.any(lm.to_numpy() == 4)


def test_background_fill_of_a_huge_lazy_map_is_refused_fast_and_creates_nothing():
    lm = LabelMap((2048, 2048, 2048))
    lm.paint((1000, 1000, 1000), 20, 1, dims=3)
    t = time.perf_counter()
    with pytest.raises(RegionTooLarge, match="50,000,000"):
        lm.fill((0, 0, 0), 2, max_voxels=50_000_000)
    assert time.perf_counter() - t < 5
    assert lm.cache_info()["resident"] == 1  # only the ball's chunk, nothing created
    assert lm.label_counts() == {0: 2048**3 - 33401, 1: 33401}


def test_fill_cost_follows_the_region_not_the_volume():
    """The same small region in a 2048³ and a 128³ map: the same chunks are touched."""
    for n in (128, 2048):
        lm = LabelMap((n, n, n))
        lm.paint((60, 60, 60), 12, 1, dims=3)
        assert lm.fill((60, 60, 60), 2, dims=3) == 7153
        assert lm.cache_info()["resident"] == 8
        assert lm.label_counts()[2] == 7153


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"seed": (40, 0, 0)}, OutOfBoundsError, "axis 0 coordinate 40, allowed 0..29"),
        ({"seed": (0, 0)}, ValueError, "must be 3 integers"),
        ({"label": -1}, ValueError, "label -1 is out of range"),
        ({"dims": 1}, ValueError, "dims must be 2 or 3, got 1"),
        ({"axis": 3}, ValueError, "axis must be 0, 1 or 2, got 3"),
        ({"connectivity": 0}, ValueError, "connectivity must be 1, 2 or 3, got 0"),
        ({"connectivity": True}, ValueError, "connectivity must be 1, 2 or 3, got True"),
        ({"max_voxels": 0}, ValueError, "max_voxels must be a positive integer or None, got 0"),
        ({"max_voxels": 2.5}, ValueError, "got 2.5"),
    ],
)
def test_bad_fill_arguments_change_nothing(kwargs, error, message):
    lm = LabelMap((30, 30, 30), chunks=(8, 8, 8), dtype="uint16")
    lm[0:5] = 3
    before = lm.to_numpy()
    args = {"seed": (1, 1, 1), "label": 4, **kwargs}
    with pytest.raises(error, match=message):
        lm.fill(args.pop("seed"), args.pop("label"), **args)
    np.testing.assert_array_equal(lm.to_numpy(), before)
    assert lm.undo() and not lm.undo()  # only the box write


def test_preserve_labels_paint_and_only_erase():
    lm = LabelMap((20, 20, 20), chunks=(8, 8, 8))
    lm[5:15, 5:15, 5:15] = 3
    before = lm.to_numpy()
    lm.paint((10, 10, 4), 6, 7, dims=3, preserve_labels=True)
    after = lm.to_numpy()
    z, y, x = np.ogrid[:20, :20, :20]
    ball = (z - 10) ** 2 + (y - 10) ** 2 + (x - 4) ** 2 <= 36
    np.testing.assert_array_equal(after, np.where(ball & (before == 0), 7, before))
    lm.erase((10, 10, 6), 6, dims=3, only=7)  # the eraser under preserve_labels: only label 7
    ball2 = (z - 10) ** 2 + (y - 10) ** 2 + (x - 6) ** 2 <= 36
    np.testing.assert_array_equal(lm.to_numpy(), np.where(ball2 & (after == 7), 0, after))
    lm.erase((10, 10, 6), 6, dims=3, only=9)  # nothing of label 9: no change, no undo step
    lm.undo()
    np.testing.assert_array_equal(lm.to_numpy(), after)
    with pytest.raises(ValueError, match="only -2 is out of range"):
        lm.erase((1, 1, 1), 2, only=-2)


def test_replace_is_one_step_and_reads_only_chunks_with_labels(tmp_path):
    vol = blobs(np.random.default_rng(9), (40, 40, 40), labels=4, block=9)
    vol[:, :, 30:] = 0  # whole columns of chunks never written
    LabelMap.from_array(vol, chunks=(10, 10, 10), path=tmp_path / "m.zarr").close()
    lm = LabelMap.open(tmp_path / "m.zarr")
    assert lm.replace(2, 5) == int((vol == 2).sum())
    np.testing.assert_array_equal(lm.to_numpy(), np.where(vol == 2, 5, vol))
    assert lm.label_counts() == unique_counts(np.where(vol == 2, 5, vol))
    assert lm.replace(2, 5) == 0 and lm.replace(1, 1) == 0
    assert lm.replace(3, 0) == int((vol == 3).sum())  # delete a label
    lm.undo()
    lm.undo()
    np.testing.assert_array_equal(lm.to_numpy(), vol)
    with pytest.raises(RegionTooLarge, match="max_voxels=3"):
        lm.replace(1, 2, max_voxels=3)
    with pytest.raises(ValueError, match="new label -1 is out of range"):
        lm.replace(1, -1)
    np.testing.assert_array_equal(lm.to_numpy(), vol)
    lm.close()
