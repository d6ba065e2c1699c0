"""The widget publishes the levels it streams: an OME-Zarr group path shows its stored levels."""

from __future__ import annotations

import numpy as np
import pytest
from test_multiscale import SPACE, write_ome

from voxwidget import VoxWidget

zarr = pytest.importorskip("zarr")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_widget_on_an_ome_zarr_group_path_shows_its_levels_and_voxel_size(tmp_path, version):
    rng = np.random.default_rng(0)
    data = [rng.integers(0, 1000, (128 // 2**i, 256 // 2**i, 256 // 2**i), dtype=np.uint16) for i in range(3)]
    # level 2 is 32x64x64: no computed level is appended; anisotropic voxels (2, 0.5, 0.5) µm
    scales = [[2.0 * 2**i, 0.5 * 2**i, 0.5 * 2**i] for i in range(3)]
    path = tmp_path / "img.ome.zarr"
    write_ome(path, version, data, SPACE, scales)
    w = VoxWidget(str(path))
    try:
        assert [lv["shape"] for lv in w.levels] == [list(d.shape) for d in data]
        assert [lv["downsample"] for lv in w.levels] == [[1, 1, 1], [2, 2, 2], [4, 4, 4]]
        assert w.voxel_size == [2.0, 0.5, 0.5]
        assert len(w._endpoint.levels) == 3
        state = w.get_state()
        assert len(state["levels"]) == 3 and state["browser_cache_mb"] == 256
    finally:
        w.close()


def test_single_scale_numpy_gets_a_computed_pyramid(tmp_path):
    w = VoxWidget(np.zeros((64, 256, 256), np.uint8))
    try:
        assert [lv["downsample"] for lv in w.levels] == [[1, 1, 1], [2, 2, 2], [4, 4, 4]]
        assert w.stream_stats["tiles"] == 0
    finally:
        w.close()
