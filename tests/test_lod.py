"""LOD arithmetic: which level a view fetches, which chunks its plane cuts, in which order."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voxwidget.multiscale.lod import (
    PLANE_AXES,
    axis_index,
    choose_level,
    coarse_to_fine,
    plan_view,
    visible_chunks,
)

ISO = [1, 2, 4, 8]


@pytest.mark.parametrize(
    ("zoom", "level"),
    [
        (4.0, 0),  # zoomed in: full resolution
        (1.0, 0),
        (0.99, 1),  # level 0 would fetch more voxels than pixels
        (0.5, 1),  # exactly one level-1 voxel per pixel
        (0.3, 2),  # level 1 voxels would be 0.6 px; level 2 voxels are 1.2 px
        (0.125, 3),
        (0.01, 3),  # zoomed out past the pyramid: the coarsest
    ],
)
def test_choose_level_is_the_finest_with_at_least_a_pixel_per_voxel(zoom, level):
    assert choose_level(ISO, zoom) == level
    assert choose_level([(d, d, d) for d in ISO], zoom, axis="z") == level


def test_choose_level_uses_the_in_plane_factors():
    # z is not downsampled at level 1 (anisotropic pyramid)
    levels = [(1, 1, 1), (1, 2, 2), (2, 4, 4)]
    assert choose_level(levels, 0.5, axis="z") == 1  # x, y halved: 1 voxel per pixel
    assert choose_level(levels, 0.5, axis="y") == 2  # (x, z) = (2, 1): √2 × 0.5 < 1
    assert choose_level(levels, (0.5, 1.0), axis="y") == 1  # z shown twice as large: (2·0.5)(1·1) = 1
    assert choose_level(levels, 0.5, axis=2) == 2


def test_choose_level_rejects_bad_input():
    with pytest.raises(ValueError, match="zoom"):
        choose_level(ISO, 0)
    with pytest.raises(ValueError, match="empty"):
        choose_level([], 1)
    with pytest.raises(ValueError, match="'w'"):
        choose_level(ISO, 1, axis="w")


def test_axis_names_and_plane_axes():
    assert [axis_index(a) for a in "zyx"] == [0, 1, 2]
    assert PLANE_AXES == {0: (2, 1), 1: (2, 0), 2: (1, 0)}


def brute_force(shape, chunks, axis, index, rect):
    a = axis_index(axis)
    u, v = PLANE_AXES[a]
    keys = set()
    for pu in range(shape[u]):
        for pv in range(shape[v]):
            # voxel [pu, pu + 1) × [pv, pv + 1) overlaps the rectangle
            if pu + 1 > rect[0] and pu < rect[2] and pv + 1 > rect[1] and pv < rect[3]:
                p = [0, 0, 0]
                p[a], p[u], p[v] = index, pu, pv
                keys.add(tuple(c // s for c, s in zip(p, chunks, strict=True)))
    return keys


def test_visible_chunks_by_hand():
    shape, chunks = (100, 200, 300), (64, 64, 64)
    # along z: u = x, v = y
    assert visible_chunks(shape, chunks, "z", 70, (0, 0, 65, 10)) == [(1, 0, 0), (1, 0, 1)]
    # along y: u = x, v = z; rows by z then x
    assert visible_chunks(shape, chunks, "y", 130, (250, 0, 300, 100)) == [
        (0, 2, 3),
        (0, 2, 4),
        (1, 2, 3),
        (1, 2, 4),
    ]
    # along x: u = y, v = z
    assert visible_chunks(shape, chunks, "x", 0, (60, 63, 70, 65)) == [
        (0, 0, 0),
        (0, 1, 0),
        (1, 0, 0),
        (1, 1, 0),
    ]
    assert visible_chunks(shape, chunks, "z", 100, (0, 0, 10, 10)) == []  # plane past the end
    assert visible_chunks(shape, chunks, "z", 0, (300, 0, 400, 10)) == []  # rect right of the volume
    assert visible_chunks(shape, chunks, "z", 0, (-50, -50, 1, 1)) == [(0, 0, 0)]  # clipped


@settings(max_examples=150, deadline=None)
@given(
    shape=st.tuples(*[st.integers(1, 40)] * 3),
    chunks=st.tuples(*[st.integers(1, 16)] * 3),
    axis=st.sampled_from(["z", "y", "x"]),
    data=st.data(),
)
def test_visible_chunks_match_brute_force(shape, chunks, axis, data):
    index = data.draw(st.integers(0, shape[axis_index(axis)] - 1))
    u0, v0 = data.draw(st.integers(-5, 45)), data.draw(st.integers(-5, 45))
    rect = (u0, v0, u0 + data.draw(st.integers(0, 30)), v0 + data.draw(st.integers(0, 30)))
    got = visible_chunks(shape, chunks, axis, index, rect)
    assert len(got) == len(set(got))
    assert set(got) == brute_force(shape, chunks, axis, index, rect)


def test_fractional_rects_round_outward():
    assert visible_chunks((10, 10, 10), (2, 2, 2), 0, 0, (1.5, 0.2, 2.1, 0.9)) == [(0, 0, 0), (0, 0, 1)]


def test_coarse_to_fine_orders_by_level_then_distance_from_centre():
    shapes = [(64, 256, 256), (32, 128, 128)]
    chunks = [(32, 32, 32)] * 2
    downs = [(1, 1, 1), (2, 2, 2)]
    fine = [(0, (0, ky, kx)) for ky, kx in itertools.product(range(8), range(8))]
    coarse = [(1, (0, ky, kx)) for ky, kx in itertools.product(range(4), range(4))]
    order = coarse_to_fine(fine + coarse, shapes, chunks, downs, "z", centre=(200.0, 40.0))
    assert [lvl for lvl, _ in order] == [1] * 16 + [0] * 16 * 4
    # centre (u=x=200, v=y=40) lies in level-0 chunk (y 1, x 6) and level-1 chunk (y 0, x 3)
    assert order[0] == (1, (0, 0, 3)) and order[16] == (0, (0, 1, 6))
    dist = [abs((k[2] + 0.5) * 32 - 200) ** 2 + abs((k[1] + 0.5) * 32 - 40) ** 2 for _, k in order[16:]]
    assert dist == sorted(dist)


def test_plan_view_fetches_the_coarsest_then_the_chosen_level():
    shapes = [(256, 256, 256), (128, 128, 128), (64, 64, 64)]
    chunks = [(64, 64, 64)] * 3
    downs = [(1, 1, 1), (2, 2, 2), (4, 4, 4)]
    # a 256×128 view window at zoom 0.5 → level 1; plane z=100 → level-1 plane 50, level-2 plane 25
    plan = plan_view(shapes, chunks, downs, "z", 100, (0, 0, 256, 128), 0.5)
    assert plan[0] == (2, (0, 0, 0))
    assert set(plan[1:]) == {(1, (0, 0, 0)), (1, (0, 0, 1))}
    assert plan_view(shapes, chunks, downs, "z", 100, (0, 0, 64, 64), 0.1) == [(2, (0, 0, 0))]
