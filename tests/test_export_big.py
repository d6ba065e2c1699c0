"""A lazily created 2048³ label map with a few painted regions exports to OME-Zarr and NanoVDB in a
subprocess whose peak RSS stays under 1 GiB: exports stream chunk by chunk."""

import json
import subprocess
import sys

import numpy as np
import pytest

SCRIPT = r"""
import json, re, sys, time
from pathlib import Path
from voxwidget import LabelMap

root = Path(sys.argv[1])
lm = LabelMap((2048, 2048, 2048), dtype="uint32", chunks=(64, 64, 64), path=root / "map.zarr")
lm[100:160, 200:260, 300:420] = 7
lm.paint((1000, 1000, 1000), 40, 9, dims=3)
lm[2000:2048, 0:64, 1990:2048] = 123456
lm.checkpoint()
t0 = time.perf_counter()
lm.to_ome_zarr(root / "map.ome.zarr", progress=False)
t1 = time.perf_counter()
lm.to_nanovdb(root / "map.nvdb", progress=False)
t2 = time.perf_counter()
# VmHWM: this process's own peak (ru_maxrss would include the parent's RSS at fork, kept over exec)
rss = int(re.search(r"VmHWM:\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
print(json.dumps({"rss": rss, "ome_s": t1 - t0, "nvdb_s": t2 - t1}))
"""

BALL = sum(
    1 for z in range(-40, 41) for y in range(-40, 41) for x in range(-40, 41) if x * x + y * y + z * z <= 1600
)


@pytest.fixture(scope="module")
def big_export(tmp_path_factory):
    root = tmp_path_factory.mktemp("big")
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(root)], capture_output=True, text=True, timeout=600, check=True
    )
    return root, json.loads(out.stdout.strip().splitlines()[-1])


def test_peak_rss_stays_under_1_gib(big_export):
    _, stats = big_export
    assert stats["rss"] < 2**30, f"peak RSS {stats['rss'] / 2**20:.0f} MiB"


def test_big_ome_zarr_export_is_valid_and_holds_the_regions(big_export):
    import ome_zarr_models
    import zarr

    root, _ = big_export
    out = root / "map.ome.zarr"
    assert type(ome_zarr_models.open_ome_zarr(out, version="0.5")).__name__ == "ImageLabel"
    levels = [zarr.open_array(out / str(k), mode="r") for k in range(6)]
    assert [a.shape[0] for a in levels] == [2048, 1024, 512, 256, 128, 64]
    assert not (out / "6").exists()  # 64³ fits one chunk: the last level
    np.testing.assert_array_equal(levels[0][100:160, 200:260, 300:420], 7)
    assert levels[0][1000, 1000, 1040] == 9 and levels[0][1000, 1000, 1041] == 0
    assert (levels[0][2000:2048, 0:64, 1990:2048] == 123456).all()
    assert levels[1][75, 115, 200] == 7 and levels[5][31, 31, 31] == 9
    stored = [p for p in (out / "0" / "c").rglob("*") if p.is_file()]
    assert len(stored) < 40  # only chunks with labels are stored


def test_big_nanovdb_export_loads_in_warp(big_export):
    wp = pytest.importorskip("warp")
    wp.config.quiet = True
    root, _ = big_export
    with open(root / "map.nvdb", "rb") as f:
        v = wp.Volume.load_from_nvdb(f, device="cpu")
    assert v.get_grid_info().type_str == "OnIndex"
    counts = {7: 60 * 60 * 120, 9: BALL, 123456: 48 * 64 * 58}
    assert v.get_voxel_count() == sum(counts.values())
    values = v.feature_array(0).numpy()
    labels, n = np.unique(values[1:], return_counts=True)
    assert dict(zip(labels.tolist(), n.tolist(), strict=True)) == counts
    voxels = v.get_voxels().numpy()  # warp's index order: the label of voxel i is values[i + 1]
    i = np.flatnonzero(values[1:] == 123456)
    assert voxels[i, 0].min() == 1990 and voxels[i, 2].min() == 2000  # (i, j, k) = (x, y, z)
