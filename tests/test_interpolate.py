"""LabelMap.interpolate: an ellipsoid annotated every 4th slice comes back with Dice >= 0.95, along
every axis; only background is filled unless asked; one undo step; ranges and bad input."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest

from voxwidget.labelmap import LabelMap, OutOfBoundsError

SHAPE = (64, 80, 72)


def ellipsoid() -> np.ndarray:
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    # tilted, off-centre, crossing chunk borders
    u = (z - 31.5) + 0.3 * (y - 40)
    return (u / 24.0) ** 2 + ((y - 38) / 30.0) ** 2 + ((x - 35 + 0.2 * z) / 22.0) ** 2 <= 1


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_ellipsoid_every_fourth_slice(tmp_path, axis):
    ell = ellipsoid()
    ann = np.zeros(SHAPE, np.uint16)
    sl = [slice(None)] * 3
    sl[axis] = slice(1, None, 4)
    keep = np.zeros(SHAPE, bool)
    keep[tuple(sl)] = True
    ann[ell & keep] = 5
    ann[ell & ~keep & (np.arange(SHAPE[2]) < 10)] = 7  # another label in the gaps: kept
    lm = LabelMap.from_array(ann, chunks=(16, 16, 16), path=tmp_path / "m.zarr")
    n = lm.interpolate(5, axis=axis)
    out = lm.to_numpy()
    got = out == 5
    assert dice(got | (out == 7), ell) >= 0.95
    assert n == int((out != ann).sum())
    np.testing.assert_array_equal(out[ann == 7], 7)  # only background was filled
    np.testing.assert_array_equal(out[ann == 5], 5)
    assert lm.label_counts() == dict(
        zip(*(a.tolist() for a in np.unique(out, return_counts=True)), strict=True)
    )
    lm.undo()  # one step
    np.testing.assert_array_equal(lm.to_numpy(), ann)
    lm.close()


def test_overwrite_range_and_nothing_to_do():
    lm = LabelMap((30, 20, 20), chunks=(8, 8, 8))
    assert lm.interpolate(3) == 0  # no slice annotated
    lm[4, 5:15, 5:15] = 3
    assert lm.interpolate(3) == 0  # one slice: nothing between
    lm[10, 5:15, 5:15] = 3
    lm[20, 8:12, 8:12] = 3
    lm[7, :, :] = 9
    assert not lm.interpolate(3, stop=10)  # [0, 10) holds one annotated slice
    n = lm.interpolate(3, start=10)  # slices 11..19: from the 10x10 square to the 4x4 one
    areas = [int((lm[k] == 3).sum()) for k in range(10, 21)]
    assert n == sum(areas[1:-1]) and areas[0] == 100 and areas[-1] == 16
    assert all(a >= b for a, b in pairwise(areas)) and 16 < areas[5] < 100
    assert not np.any(lm[11:20, :5] == 3) and not np.any(lm[11:20, 15:] == 3)
    assert not np.any(lm[5:10] == 3)
    n = lm.interpolate(3, start=0, stop=11)
    assert n == 4 * 100  # slices 5, 6, 8, 9 (7 holds label 9: kept)
    assert np.all(lm[7] == 9)
    lm.undo()
    n = lm.interpolate(3, start=0, stop=11, preserve_labels=False)
    assert n == 5 * 100 and np.all(lm[7, 5:15, 5:15] == 3)
    assert lm.undo() and lm.undo()
    assert not np.any(lm[11:20] == 3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"label": 0}, ValueError, "non-zero"),
        ({"label": -1}, ValueError, "label -1 is out of range"),
        ({"axis": 5}, ValueError, "axis must be 0, 1 or 2, got 5"),
        ({"start": 31}, OutOfBoundsError, "start 31 is outside axis 0; allowed 0..30"),
        ({"start": 8, "stop": 4}, ValueError, "start 8 is after stop 4"),
        ({"stop": 1.5}, ValueError, "stop must be an integer"),
    ],
)
def test_bad_arguments_change_nothing(kwargs, error, message):
    lm = LabelMap((30, 20, 20), chunks=(8, 8, 8))
    lm[4, 5:15, 5:15] = 3
    lm[10, 5:15, 5:15] = 3
    before = lm.to_numpy()
    args = {"label": 3, **kwargs}
    with pytest.raises(error, match=message):
        lm.interpolate(args.pop("label"), **args)
    np.testing.assert_array_equal(lm.to_numpy(), before)
