"""NanoVDB export read back by an independent reader, warp-lang on CPU: ``wp.Volume.load_from_nvdb``
loads every export, its active voxels, index lookups and values equal the map; bytes are
deterministic; bad requests are refused with the reason and write nothing."""

import hashlib

import numpy as np
import pytest

wp = pytest.importorskip("warp")
wp.config.quiet = True

import nvdb_kernels  # noqa: E402  (tests/, after warp is configured)

from voxwidget import LabelMap  # noqa: E402

TYPE_STR = {"onindex": "OnIndex", "int64": "int64", "uint32": "uint32", "int32": "int32"}


def _painted(shape, dtype, chunks, path=None, big=None):
    lm = LabelMap(shape, dtype=dtype, chunks=chunks, path=path)
    lm[2:20, 3:30, 1:25] = 3
    lm[10 : shape[0], 0:17, 20 : shape[2]] = int(np.iinfo(dtype).max) if big is None else big
    lm.paint((shape[0] // 2, shape[1] // 2, shape[2] // 2), 6, 7, dims=3)
    lm[0, 0, 0] = 1
    return lm


def _load(path):
    with open(path, "rb") as f:
        return wp.Volume.load_from_nvdb(f, device="cpu")


def _all_voxels(shape):
    """(i, j, k) = (x, y, z) of every voxel, in the map's C order."""
    z, y, x = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1).astype(np.int32)


def _check(path, a, grid, label=None, vs=(1.0, 1.0, 1.0)):
    """The grid at ``path`` holds exactly ``a`` (or its voxels of ``label``)."""
    v = _load(path)
    info = v.get_grid_info()
    assert info.type_str == TYPE_STR[grid]
    assert v.get_voxel_size() == pytest.approx(tuple(vs[::-1]))
    active = a != 0 if label is None else a == label
    expect = np.where(active, a, 0).ravel()
    ijk = _all_voxels(a.shape)
    pts = wp.array(ijk, dtype=wp.vec3i, device="cpu")
    zz, yy, xx = np.nonzero(active)
    want = set(zip(xx.tolist(), yy.tolist(), zz.tolist(), strict=True))
    voxels = {tuple(p) for p in v.get_voxels().numpy().tolist()}
    leaves = {(x & ~7, y & ~7, z & ~7) for x, y, z in want}
    assert {tuple(t) for t in v.get_tiles().numpy().tolist()} == leaves
    if grid == "onindex":
        assert voxels == want  # warp lists an index grid's active voxels
        out = wp.zeros(len(ijk), dtype=wp.int32, device="cpu")
        wp.launch(nvdb_kernels.lookup_index, dim=len(ijk), inputs=[v.id, pts, out], device="cpu")
        idx = out.numpy().astype(np.int64)  # warp: 0-based index of active voxels, -1 for inactive
        np.testing.assert_array_equal(idx >= 0, active.ravel())
        assert sorted(idx[idx >= 0]) == list(range(len(want)))
        meta = v.get_feature_array_info(0)
        assert meta.name == "labels" and meta.value_count == len(want) + 1
        dtype = wp.uint64 if a.dtype == np.uint64 and a.max() > 2**63 - 1 else None
        values = v.feature_array(0, dtype=dtype).numpy()
        assert values[0] == 0  # the background
        np.testing.assert_array_equal(values[idx + 1], expect)
    else:
        assert voxels >= want  # warp lists every voxel of a value grid's leaves
        kernel, dt = nvdb_kernels.LOOKUPS[grid]
        out = wp.zeros(len(ijk), dtype=dt, device="cpu")
        wp.launch(kernel, dim=len(ijk), inputs=[v.id, pts, out], device="cpu")
        np.testing.assert_array_equal(out.numpy(), expect.astype(out.numpy().dtype))
    return v


@pytest.mark.parametrize(
    ("dtype", "shape", "chunks", "grids", "big"),
    [
        ("uint8", (37, 50, 45), (16, 16, 16), ["onindex", "int64", "uint32", "int32"], None),
        ("uint32", (40, 33, 52), (16, 8, 32), ["onindex", "int64", "uint32"], None),
        ("uint64", (24, 40, 36), (10, 20, 12), ["onindex", "int64"], 2**62 + 11),  # chunks not ×8
    ],
)
def test_every_grid_type_loads_in_warp_and_equals_the_map(tmp_path, dtype, shape, chunks, grids, big):
    lm = _painted(shape, dtype, chunks, big=big)
    a = lm.to_numpy()
    for grid in grids:
        vs = (2.0, 1.0, 0.5)
        p = lm.to_nanovdb(tmp_path / f"{grid}.nvdb", grid=grid, voxel_size=vs, progress=False)
        _check(p, a, grid, vs=vs)
    p = lm.to_nanovdb(tmp_path / "label7.nvdb", label=7, progress=False)
    v = _check(p, a, "onindex", label=7)
    assert v.get_grid_info().name == "label_7"
    p = lm.to_nanovdb(tmp_path / "label7-int64.nvdb", label=7, grid="int64", progress=False)
    _check(p, a, "int64", label=7)


def test_uint64_labels_above_int64(tmp_path):
    lm = _painted((20, 24, 30), "uint64", (8, 8, 8), big=2**64 - 3)
    a = lm.to_numpy()
    p = lm.to_nanovdb(tmp_path / "raw.nvdb", progress=False)  # the channel holds raw uint64 values
    _check(p, a, "onindex")
    with pytest.raises(ValueError, match=rf"label {2**64 - 3} does not fit grid='int64'"):
        lm.to_nanovdb(tmp_path / "i64.nvdb", grid="int64", progress=False)
    assert not (tmp_path / "i64.nvdb").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["raw.nvdb"]  # no temporary left


def test_bytes_are_deterministic(tmp_path):
    def digest(p):
        return hashlib.sha256(p.read_bytes()).hexdigest()

    lm = _painted((30, 40, 50), "uint32", (16, 16, 16), path=tmp_path / "m.zarr")
    a1 = lm.to_nanovdb(tmp_path / "a1.nvdb", progress=False)
    b1 = lm.to_nanovdb(tmp_path / "b1.nvdb", grid="int64", progress=False)
    lm.close()
    again = LabelMap.open(tmp_path / "m.zarr")  # reopened: chunks come from disk, not memory
    a2 = again.to_nanovdb(tmp_path / "a2.nvdb", progress=False)
    b2 = again.to_nanovdb(tmp_path / "b2.nvdb", grid="int64", progress=False)
    assert digest(a1) == digest(a2) and digest(b1) == digest(b2)
    copy = LabelMap.from_array(again.to_numpy(), chunks=(8, 8, 8))  # other chunking, same voxels
    a3 = copy.to_nanovdb(tmp_path / "a3.nvdb", progress=False)
    assert digest(a3) == digest(a1)
    again[1, 1, 1] = 5
    assert digest(again.to_nanovdb(tmp_path / "a4.nvdb", progress=False)) != digest(a1)
    again.close()


def test_empty_map_is_a_valid_empty_grid(tmp_path):
    lm = LabelMap((10, 12, 14), dtype="uint16", chunks=(8, 8, 8))
    for grid in ("onindex", "uint32"):
        v = _load(lm.to_nanovdb(tmp_path / f"{grid}.nvdb", grid=grid, progress=False))
        assert v.get_voxel_count() == 0 and v.get_tile_count() == 0


def test_bad_requests_are_refused_and_write_nothing(tmp_path):
    lm = _painted((16, 16, 16), "uint32", (8, 8, 8))
    with pytest.raises(ValueError, match=r"grid='int32' cannot hold uint32 labels; it takes uint8, uint16"):
        lm.to_nanovdb(tmp_path / "a.nvdb", grid="int32")
    with pytest.raises(ValueError, match=r"grid must be one of .* got 'float'"):
        lm.to_nanovdb(tmp_path / "a.nvdb", grid="float")
    with pytest.raises(ValueError, match=r"label must be an integer in 1…4294967295 \(uint32\), got 0"):
        lm.to_nanovdb(tmp_path / "a.nvdb", label=0)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "a.nvdb").write_bytes(b"old")
    with pytest.raises(FileExistsError, match=r"a\.nvdb already exists"):
        lm.to_nanovdb(tmp_path / "a.nvdb")
    assert (tmp_path / "a.nvdb").read_bytes() == b"old"
    lm.to_nanovdb(tmp_path / "a.nvdb", overwrite=True, progress=False)
    _check(tmp_path / "a.nvdb", lm.to_numpy(), "onindex")
