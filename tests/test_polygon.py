"""LabelMap.fill_polygon gives the pixels skimage.draw.polygon gives, on every axis, across chunks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.draw import polygon

from voxwidget.labelmap import LabelMap, OutOfBoundsError

SHAPE, CHUNKS = (26, 31, 37), (8, 9, 10)

vertex = st.tuples(
    st.floats(-8, 45, allow_nan=False) | st.integers(-5, 40),
    st.floats(-8, 45, allow_nan=False) | st.integers(-5, 40),
)


@settings(max_examples=150, deadline=None)
@given(pts=st.lists(vertex, min_size=3, max_size=9), axis=st.integers(0, 2), data=st.data())
def test_fill_polygon_equals_skimage(pts, axis, data):
    index = data.draw(st.integers(0, SHAPE[axis] - 1))
    lm = LabelMap(SHAPE, chunks=CHUNKS, dtype="uint16")
    pts = np.asarray(pts, np.float64)
    n = lm.fill_polygon(pts, 3, axis=axis, index=index)
    plane = tuple(s for i, s in enumerate(SHAPE) if i != axis)
    rr, cc = polygon(pts[:, 0], pts[:, 1], plane)
    ref = np.zeros(plane, bool)
    ref[rr, cc] = True
    out = lm.to_numpy()
    sl = [slice(None)] * 3
    sl[axis] = index
    np.testing.assert_array_equal(out[tuple(sl)] == 3, ref)
    assert n == int(ref.sum()) == int((out == 3).sum())


def test_polygon_integer_vertices_edges_and_preserve_labels():
    lm = LabelMap(SHAPE, chunks=CHUNKS)
    square = [[2, 2], [2, 12], [12, 12], [12, 2]]  # vertices and edges on pixel centres: included
    assert lm.fill_polygon(square, 1, axis=1, index=4) == 121
    np.testing.assert_array_equal(lm[2:13, 4, 2:13], 1)
    lm[5, 4, 5] = 9
    assert lm.fill_polygon(square, 2, axis=1, index=4, preserve_labels=True) == 0
    assert lm.fill_polygon(square, 2, axis=1, index=4) == 121  # every voxel changes, 9 included
    assert int(lm[5, 4, 5]) == 2
    lm.undo()
    assert int(lm[5, 4, 5]) == 9


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (([[0, 0], [1, 1]], 1), ValueError, r"N >= 3, got shape \(2, 2\)"),
        (([[0, 0], [1, np.nan], [2, 0]], 1), ValueError, "point 1 .* is not finite"),
        (([[0, 0], [5, 5], [0, 5]], -3), ValueError, "label -3 is out of range"),
        (([[0, 0], [5, 5], [0, 5]], 1, 3, 0), ValueError, "axis must be 0, 1 or 2, got 3"),
        (([[0, 0], [5, 5], [0, 5]], 1, 0, 26), OutOfBoundsError, "index 26 is outside axis 0; allowed 0..25"),
        (([[0, 0], [5, 5], [0, 5]], 1, 0, 2.0), ValueError, "index must be an integer"),
    ],
)
def test_bad_polygons_change_nothing(args, error, message):
    lm = LabelMap(SHAPE, chunks=CHUNKS)
    lm[0] = 4
    pts, label, *rest = args
    axis, index = rest if rest else (0, 1)
    with pytest.raises(error, match=message):
        lm.fill_polygon(pts, label, axis=axis, index=index)
    assert lm.label_counts() == {0: int(np.prod(SHAPE)) - 31 * 37, 4: 31 * 37}
