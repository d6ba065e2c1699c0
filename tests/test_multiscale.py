"""open_image: OME-Zarr 0.4/0.5, n-D sources, the lazily computed pyramid and its cache."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import zarr

from voxwidget.multiscale import MultiscaleImage, computed, next_factors, open_image
from voxwidget.multiscale.sources import ImageSource

SPACE = [{"name": n, "type": "space", "unit": "micrometer"} for n in "zyx"]


class Counting:
    """An array-like that records every region read from it."""

    def __init__(self, arr):
        self.arr, self.shape, self.dtype, self.ndim = arr, arr.shape, arr.dtype, arr.ndim
        self.chunks = getattr(arr, "chunks", None)
        self.regions: list[tuple] = []

    def __getitem__(self, region):
        self.regions.append(region)
        return self.arr[region]

    def chunks_touched(self):
        keys = set()
        for region in self.regions:
            ranges = [
                range(r.start // c, (r.stop - 1) // c + 1) for r, c in zip(region, self.chunks, strict=True)
            ]
            keys.update((a, b, c) for a in ranges[0] for b in ranges[1] for c in ranges[2])
        return keys


def ref_level(a: np.ndarray, factors) -> np.ndarray:
    """One 2× mean step the obvious way: pad with NaN, nanmean, round half to even."""
    pad = [(0, (-n) % f) for n, f in zip(a.shape, factors, strict=True)]
    x = np.pad(a.astype(np.float64), pad, constant_values=np.nan)
    split = [d for n, f in zip(x.shape, factors, strict=True) for d in (n // f, f)]
    m = np.nanmean(x.reshape(split), axis=(1, 3, 5))
    return (np.rint(m) if a.dtype.kind in "ui" else m).astype(a.dtype)


def write_ome(path, version: str, data: list[np.ndarray], axes, scales, translation=None):
    fmt = 2 if version == "0.4" else 3
    g = zarr.open_group(path, mode="w", zarr_format=fmt)
    datasets = []
    for i, (arr, scale) in enumerate(zip(data, scales, strict=True)):
        kw = {"chunk_key_encoding": {"name": "v2", "separator": "/"}} if fmt == 2 else {}
        if fmt == 3:
            kw["dimension_names"] = [a["name"] for a in axes]
        chunks = tuple(min(n, 16) for n in arr.shape)
        g.create_array(str(i), shape=arr.shape, chunks=chunks, dtype=arr.dtype, **kw)[...] = arr
        ct = [{"type": "scale", "scale": scale}]
        if translation is not None:
            ct.append({"type": "translation", "translation": translation[i]})
        datasets.append({"path": str(i), "coordinateTransformations": ct})
    ms = {"name": "img", "axes": axes, "datasets": datasets}
    if version == "0.4":
        g.attrs["multiscales"] = [{"version": "0.4", **ms}]
    else:
        g.attrs["ome"] = {"version": "0.5", "multiscales": [ms]}
    return g


def validate(path, version):
    models = pytest.importorskip("ome_zarr_models")
    mod = models.v04 if version == "0.4" else models.v05
    mod.Image.from_zarr(zarr.open_group(path, mode="r"))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_multiscale_opens_with_its_levels_scales_and_units(tmp_path, version):
    rng = np.random.default_rng(1)
    data = [rng.integers(0, 1000, (32 >> i, 64 >> i, 48 >> i), dtype=np.uint16) for i in range(3)]
    scales = [[2.0 * 2**i, 0.5 * 2**i, 0.5 * 2**i] for i in range(3)]
    trans = [[0.0, 0.0, 0.0], [1.0, 0.25, 0.25], [3.0, 0.75, 0.75]]
    path = tmp_path / f"img{version}.zarr"
    write_ome(path, version, data, SPACE, scales, trans)
    validate(path, version)
    im = open_image(str(path))
    assert isinstance(im, MultiscaleImage)
    assert [lv.shape for lv in im.levels] == [(32, 64, 48), (16, 32, 24), (8, 16, 12)]
    assert not any(lv.computed for lv in im.levels)  # the coarsest is small: nothing computed
    assert [lv.scale for lv in im.levels] == [tuple(s) for s in scales]
    assert [lv.downsample for lv in im.levels] == [(1, 1, 1), (2, 2, 2), (4, 4, 4)]
    assert im.levels[2].translation == (3.0, 0.75, 0.75)
    assert im.voxel_size == (2.0, 0.5, 0.5) and im.unit == "micrometer" and im.axes == ("z", "y", "x")
    assert im.shape == (32, 64, 48) and im.dtype == np.uint16
    assert im.levels[0].chunks == (16, 16, 16)
    region = (slice(3, 9), slice(5, 30), slice(0, 48))
    for i, lv in enumerate(im.levels):
        np.testing.assert_array_equal(lv.read(region), data[i][region])


def test_ome_zarr_05_with_channel_axis_needs_channel(tmp_path):
    rng = np.random.default_rng(2)
    data = [rng.integers(0, 255, (3, 16 >> i, 32 >> i, 32 >> i), dtype=np.uint8) for i in range(2)]
    axes = [{"name": "c", "type": "channel"}, *SPACE]
    path = tmp_path / "c.zarr"
    write_ome(path, "0.5", data, axes, [[1.0, 2.0**i, 0.2 * 2**i, 0.2 * 2**i] for i in range(2)])
    validate(path, "0.5")
    with pytest.raises(ValueError, match=r"shape \(3, 16, 32, 32\) with axes \(c, z, y, x\); pass channel="):
        open_image(str(path))
    with pytest.raises(ValueError, match="channel=3 is out of range"):
        open_image(str(path), channel=3)
    with pytest.raises(ValueError, match="timepoint=0 was given"):
        open_image(str(path), channel=0, timepoint=0)
    im = open_image(zarr.open_group(path, mode="r"), channel=2)
    assert im.levels[1].scale == (2.0, 0.4, 0.4) and im.levels[1].downsample == (2, 2, 2)
    np.testing.assert_array_equal(im.read((slice(0, 8),) * 3, level=1), data[1][2, :8, :8, :8])


def test_4d_numpy_needs_channel_and_reads_lazily():
    a = np.arange(2 * 8 * 9 * 10, dtype=np.uint16).reshape(2, 8, 9, 10)
    with pytest.raises(ValueError, match=r"shape \(2, 8, 9, 10\).*pass channel="):
        open_image(a)
    with pytest.raises(ValueError, match=r"shape \(2, 8, 9, 10\).*pass channel="):
        ImageSource(a)
    src = Counting(a)
    im = open_image(src, channel=1)
    assert im.shape == (8, 9, 10) and src.regions == []  # opening reads nothing
    np.testing.assert_array_equal(im.read((slice(1, 3), slice(0, 9), slice(4, 6))), a[1, 1:3, :, 4:6])
    assert src.regions == [(1, slice(1, 3), slice(0, 9), slice(4, 6))]
    np.testing.assert_array_equal(open_image(a, timepoint=0).read((slice(0, 1),) * 3), a[:1, :1, :1, :1][0])
    np.testing.assert_array_equal(
        ImageSource(a, channel=0).read((slice(0, 8), slice(0, 9), slice(0, 10))), a[0]
    )


def test_5d_needs_both_and_size_one_axes_are_picked_for_you():
    a = np.zeros((2, 3, 4, 5, 6), np.uint8)
    with pytest.raises(ValueError, match="pass timepoint="):
        open_image(a, channel=0)
    assert open_image(a, channel=2, timepoint=1).shape == (4, 5, 6)
    assert open_image(np.zeros((1, 1, 4, 5, 6), np.uint8)).shape == (4, 5, 6)


@pytest.mark.parametrize(
    ("shape", "match"),
    [((64, 64), r"got 2D shape \(64, 64\)"), ((2, 2, 2, 2, 2, 2), r"got 6D shape"), ((0, 4, 4), "empty")],
)
def test_wrong_dimensionality_is_named(shape, match):
    with pytest.raises(ValueError, match=match):
        open_image(np.zeros(shape, np.uint8))


def test_channel_for_a_3d_image_and_bad_dtype_are_errors():
    with pytest.raises(ValueError, match="channel=1 was given"):
        open_image(np.zeros((4, 4, 4), np.uint8), channel=1)
    with pytest.raises(ValueError, match="'complex128' is not supported"):
        open_image(np.zeros((4, 4, 4), complex))


def test_group_without_multiscales_is_a_clear_error(tmp_path):
    g = zarr.open_group(tmp_path / "g.zarr", mode="w")
    g.create_array("raw", shape=(4, 4, 4), dtype="uint8")
    with pytest.raises(ValueError, match=r"no OME-Zarr 'multiscales'.*\['raw'\]"):
        open_image(str(tmp_path / "g.zarr"))
    with pytest.raises(ValueError, match="no zarr array or group"):
        open_image(str(tmp_path / "missing.zarr"))


@pytest.mark.parametrize("fmt", [2, 3])
def test_plain_zarr_array_by_path_and_object(tmp_path, fmt):
    a = np.random.default_rng(3).random((20, 30, 40)).astype(np.float32)
    z = zarr.create_array(
        tmp_path / "a.zarr", shape=a.shape, chunks=(8, 8, 8), dtype=a.dtype, zarr_format=fmt
    )
    z[...] = a
    for im in (open_image(str(tmp_path / "a.zarr")), open_image(z)):
        assert im.levels[0].chunks == (8, 8, 8) and len(im.levels) == 1  # 40 ≤ 64: no pyramid
        np.testing.assert_array_equal(im.read((slice(2, 5), slice(0, 30), slice(7, 9))), a[2:5, :, 7:9])


def test_dask_array_is_read_per_region_only():
    da = pytest.importorskip("dask.array")
    base = np.random.default_rng(4).integers(0, 100, (2, 40, 40, 40), dtype=np.uint16)
    src = Counting(base)
    im = open_image(da.from_array(src, chunks=(1, 20, 20, 20)), channel=1)
    real_reads = lambda: [r for r in src.regions if r[1].stop > r[1].start]  # noqa: E731
    assert im.levels[0].chunks == (20, 20, 20) and real_reads() == []  # dask itself reads a 0-size meta
    np.testing.assert_array_equal(im.read((slice(0, 5), slice(0, 5), slice(0, 5))), base[1, :5, :5, :5])
    assert real_reads() == [(1, slice(0, 5), slice(0, 5), slice(0, 5))]  # only the region, not all


def test_big_endian_source_reads_native():
    a = np.arange(27, dtype=">u2").reshape(3, 3, 3)
    im = open_image(a)
    out = im.read((slice(0, 3),) * 3)
    assert im.dtype == np.dtype("uint16") and out.dtype.isnative
    np.testing.assert_array_equal(out, a)


def test_computed_pyramid_equals_numpy_block_means():
    a = np.random.default_rng(5).integers(0, 60000, (70, 150, 133), dtype=np.uint16)
    im = open_image(a)
    assert [lv.shape for lv in im.levels] == [(70, 150, 133), (35, 75, 67), (18, 38, 34)]
    ref = a
    for lv in im.levels[1:]:
        ref = ref_level(ref, (2, 2, 2))
        assert lv.computed and lv.chunks is None
        np.testing.assert_array_equal(lv.read((slice(0, None),) * 3), ref)
        rng = np.random.default_rng(lv.shape[0])
        for _ in range(5):  # arbitrary sub-regions cut across cache blocks
            lo = [int(rng.integers(0, n)) for n in lv.shape]
            region = tuple(
                slice(s, int(rng.integers(s + 1, n + 1))) for s, n in zip(lo, lv.shape, strict=True)
            )
            np.testing.assert_array_equal(lv.read(region), ref[region])


def test_anisotropic_voxels_wait_for_the_others():
    assert next_factors((100, 100, 100), (4.0, 1.0, 1.0)) == (1, 2, 2)
    assert next_factors((100, 100, 100), (4.0, 2.0, 2.0)) == (1, 2, 2)
    assert next_factors((100, 100, 100), (4.0, 4.0, 4.0)) == (2, 2, 2)
    assert next_factors((100, 100, 100), (3.0, 2.0, 2.0)) == (2, 2, 2)
    assert next_factors((1, 100, 100), (0.1, 1.0, 1.0)) == (1, 2, 2)  # a flat axis does not hold others
    im = open_image(np.zeros((40, 512, 512), np.uint8), voxel_size=(4, 1, 1))
    assert im.downsamples == [(1, 1, 1), (1, 2, 2), (1, 4, 4), (2, 8, 8)]
    assert im.levels[3].scale == (8.0, 8.0, 8.0) and im.levels[3].shape == (20, 64, 64)


def test_max_levels_and_mode_method():
    labels = np.zeros((128, 128, 128), np.uint32)
    labels[:, :, 64:] = 7
    labels[::2, ::2, ::2] = 3  # 1 voxel in 8: loses every vote
    im = open_image(labels, max_levels=2, method="mode")
    assert len(im.levels) == 2
    lv = im.read((slice(0, 64),) * 3, level=1)
    assert set(np.unique(lv[:, :, :32])) == {0} and set(np.unique(lv[:, :, 32:])) == {7}


def volume_read(src) -> int:
    return sum(int(np.prod([r.stop - r.start for r in reg])) for reg in src.regions)


def test_one_level3_plane_tile_reads_only_the_planes_under_it(tmp_path):
    z = zarr.create_array(
        tmp_path / "big.zarr", shape=(512, 1024, 1024), chunks=(64, 64, 64), dtype="uint8", fill_value=9
    )
    yy, xx = np.mgrid[0:1024, 0:1024]
    z[32:96] = ((np.arange(32, 96)[:, None, None] + yy + 2 * xx) % 251).astype(np.uint8)  # rest: fill
    src = Counting(z)
    im = open_image(src)
    assert [lv.shape for lv in im.levels] == [(512 >> k, 1024 >> k, 1024 >> k) for k in range(5)]
    assert src.regions == []
    # level-3 plane z=5 (level-0 z 40..48), y 0..32, x 16..48: its 64×64 plane tile covers level-0
    # y 0..512, x 0..512, so 8 planes × 8 × 8 chunks are read, and only those planes
    tile = im.read((slice(5, 6), slice(0, 32), slice(16, 48)), level=3)
    assert src.chunks_touched() == {(0, ky, kx) for ky in range(8) for kx in range(8)}
    assert all(reg[0] == slice(40, 48) for reg in src.regions)
    assert volume_read(src) == 8 * 512 * 512  # and none of them twice
    ref = np.asarray(z[40:48])
    refs = {}
    for k in (1, 2, 3):
        ref = refs[k] = ref_level(ref, (2, 2, 2))
    np.testing.assert_array_equal(tile, ref[:, 0:32, 16:48])
    refs = {k: r[:, : 64 << (3 - k), : 64 << (3 - k)] for k, r in refs.items()}
    # a region over a cached and a missing plane tile: only the missing one is read
    np.testing.assert_array_equal(
        im.read((slice(5, 6), slice(40, 64), slice(0, 128)), level=3), ref[:, 40:64]
    )
    assert volume_read(src) == 8 * 512 * 1024 and src.regions[-1][1:] == (slice(0, 512), slice(512, 1024))
    src.regions.clear()
    ref = refs[3]
    # the rest of that plane tile, and the finer planes under it (zooming in), come from the cache
    np.testing.assert_array_equal(im.read((slice(5, 6), slice(0, 64), slice(0, 64)), level=3), ref)
    np.testing.assert_array_equal(
        im.read((slice(11, 12), slice(0, 128), slice(0, 128)), level=2), refs[2][1:]
    )
    np.testing.assert_array_equal(
        im.read((slice(20, 21), slice(0, 256), slice(0, 256)), level=1), refs[1][:1]
    )
    assert volume_read(src) == 0
    # the next plane reads its own 8 planes only
    im.read((slice(6, 7), slice(0, 32), slice(16, 48)), level=3)
    assert volume_read(src) == 8 * 512 * 512 and src.regions[-1][0] == slice(48, 56)
    # a 3D tile goes through the blocks; a plane of those cached blocks then reads nothing
    src.regions.clear()
    block = im.read((slice(8, 16), slice(0, 8), slice(0, 8)), level=3)
    assert volume_read(src) == 64 * 64 * 64
    np.testing.assert_array_equal(im.read((slice(9, 10), slice(0, 8), slice(0, 8)), level=3), block[1:2])
    assert volume_read(src) == 64 * 64 * 64
    # fingerprint and limits sample a bounded number of chunks, not the volume (2048 chunks)
    src.regions.clear()
    im.fingerprint()
    assert 0 < len(src.chunks_touched()) <= 8
    src.regions.clear()
    lo, hi = im.robust_limits()
    assert len(src.chunks_touched()) <= 64 and lo <= 9 <= hi


CASES = [
    ("uint8", "mean", (37, 150, 133), (2.0, 1.0, 1.0)),
    ("uint16", "mean", (45, 131, 150), (1.0, 2.0, 1.0)),
    ("float32", "mean", (33, 97, 140), (3.0, 1.0, 1.0)),
    ("uint32", "mode", (41, 140, 99), (2.0, 1.0, 1.0)),
]


@pytest.mark.parametrize(("dtype", "method", "shape", "voxel"), CASES, ids=[c[0] + "-" + c[1] for c in CASES])
@pytest.mark.parametrize("batch", [None, 3000], ids=["batch16MiB", "batch3000B"])
def test_plane_path_and_block_path_give_identical_voxels(
    tmp_path, monkeypatch, dtype, method, shape, voxel, batch
):
    if batch is not None:  # tiny batches: every plane is split into many pieces
        monkeypatch.setattr(computed, "BATCH_BYTES", batch)
    rng = np.random.default_rng(11)
    if method == "mode":
        a = rng.choice(np.array([0, 5, 7, 2**32 - 1], np.uint32), shape, p=[0.4, 0.3, 0.2, 0.1])
    elif dtype == "float32":
        a = rng.normal(100, 30, shape).astype(np.float32)
    else:
        a = rng.integers(0, np.iinfo(dtype).max, shape, endpoint=True, dtype=dtype)
    z = zarr.create_array(tmp_path / "a.zarr", shape=shape, chunks=(8, 16, 16), dtype=dtype)
    z[...] = a
    src = Counting(z)
    planes = open_image(src, voxel_size=voxel, method=method)
    blocks = open_image(z, voxel_size=voxel, method=method)
    factors = {len(set(lv.downsample)) for lv in planes.levels}
    assert factors == {1, 2}  # the pyramid is anisotropic for a while (next_factors)
    for k, lv in enumerate(planes.levels[1:], 1):
        ref = blocks.levels[k].read_blocks(tuple(slice(0, n) for n in lv.shape))
        for axis in range(3):
            for index in sorted({0, lv.shape[axis] // 2, lv.shape[axis] - 1}):
                region = [slice(0, n) for n in lv.shape]
                region[axis] = slice(index, index + 1)
                src.regions.clear()
                planes.cache.clear()
                got = lv.read(tuple(region))
                # the plane path ran: it read only the stored planes under this one
                d = lv.stored_factors[axis]
                assert src.regions and all(r[axis].stop - r[axis].start <= d for r in src.regions)
                if batch is not None:  # each read within the batch (or one coarse voxel's footprint)
                    bound = max(batch, int(np.prod(lv.stored_factors)) * a.itemsize)
                    assert (
                        max(np.prod([s.stop - s.start for s in r]) for r in src.regions) * a.itemsize <= bound
                    )
                np.testing.assert_array_equal(
                    got, ref[tuple(region)], err_msg=f"level {k} axis {axis} {index}"
                )
        # a sub-rectangle of a plane, not aligned to anything
        sub = (
            slice(1, lv.shape[0] - 1),
            slice(lv.shape[1] // 3, lv.shape[1] // 3 + 1),
            slice(2, lv.shape[2]),
        )
        np.testing.assert_array_equal(lv.read(sub), ref[sub])
    if method == "mean" and dtype != "float32":
        ref = a
        for lv in planes.levels[1:]:
            ref = ref_level(ref, lv.factors)
        np.testing.assert_array_equal(
            planes.levels[-1].read((slice(0, 1), slice(None), slice(None))), ref[:1]
        )


def test_cache_stays_within_its_byte_bound_and_results_stay_right():
    a = np.random.default_rng(6).integers(0, 255, (200, 200, 200), dtype=np.uint8)
    im = open_image(a, cache_bytes=100_000)
    full = [lv.read((slice(0, None),) * 3) for lv in im.levels]
    assert im.cache.nbytes <= 100_000 and len(im.cache) > 0
    ref = a
    for lv, got in zip(im.levels[1:], full[1:], strict=True):
        ref = ref_level(ref, [d2 // d1 for d1, d2 in zip(lv.parent.downsample, lv.downsample, strict=True)])
        np.testing.assert_array_equal(got, ref)
    default = open_image(a)
    default.levels[-1].read((slice(0, None),) * 3)
    assert default.cache.max_bytes == 256 * 2**20 and default.cache.nbytes > 100_000


def test_concurrent_reads_from_worker_threads():
    a = np.random.default_rng(7).integers(0, 4000, (96, 160, 160), dtype=np.uint16)
    im = open_image(a, cache_bytes=200_000)
    ref1 = ref_level(a, (2, 2, 2))
    ref2 = ref_level(ref1, (2, 2, 2))
    errors = []

    def worker(seed):
        rng = np.random.default_rng(seed)
        for _ in range(30):
            level = int(rng.integers(1, 3))
            ref = ref1 if level == 1 else ref2
            z = int(rng.integers(0, ref.shape[0]))
            region = (slice(z, z + 1), slice(0, ref.shape[1]), slice(0, ref.shape[2]))
            if not np.array_equal(im.read(region, level=level), ref[region]):
                errors.append((level, z))

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and im.cache.nbytes <= 200_000


def test_image_source_is_level_0_of_a_multiscale_image():
    a = np.random.default_rng(8).integers(0, 1000, (100, 90, 80), dtype=np.uint16)
    src = ImageSource(a)
    assert src.shape == (100, 90, 80) and src.dtype == np.uint16 and src.data is a
    np.testing.assert_array_equal(src.read((slice(1, 2), slice(0, 90), slice(3, 9))), a[1:2, :, 3:9])
    assert len(src.levels) == 2
    lo, hi = src.robust_limits()
    assert 0 <= lo < hi <= 999
    im = open_image(a)
    assert ImageSource(im).multiscale is im
    assert src.fingerprint() == ImageSource(a.copy()).fingerprint()
    b = a.copy()
    b[0, 0, 0] += 1  # voxel (0, 0, 0) is in every strided sample
    assert ImageSource(b).fingerprint() != src.fingerprint()
    assert ImageSource(a[:, :, :79]).fingerprint() != src.fingerprint()


def test_fsspec_url_goes_through_zarrs_fsspec_store():
    pytest.importorskip("fsspec")
    url = f"memory://voxwidget-test-{np.random.default_rng().integers(1 << 30)}/a.zarr"
    a = np.arange(8 * 8 * 8, dtype=np.uint8).reshape(8, 8, 8)
    zarr.create_array(url, shape=a.shape, chunks=(4, 4, 4), dtype=a.dtype)[...] = a
    im = open_image(url)
    assert im.levels[0].chunks == (4, 4, 4)
    np.testing.assert_array_equal(im.read((slice(1, 3), slice(0, 8), slice(5, 8))), a[1:3, :, 5:8])


def test_bioformats2raw_layout_opens_its_first_image(tmp_path):
    root = zarr.open_group(tmp_path / "b2r.zarr", mode="w", zarr_format=2)
    root.attrs["bioformats2raw.layout"] = 3
    data = [np.full((16, 16, 16), 3, np.uint8), np.full((8, 8, 8), 3, np.uint8)]
    write_ome(tmp_path / "b2r.zarr" / "0", "0.4", data, SPACE, [[1.0] * 3, [2.0] * 3])
    im = open_image(str(tmp_path / "b2r.zarr"))
    assert [lv.shape for lv in im.levels] == [(16, 16, 16), (8, 8, 8)] and im.unit == "micrometer"


def test_levels_come_finest_first_whatever_the_metadata_order(tmp_path):
    data = [np.full((32 >> i, 32 >> i, 32 >> i), i, np.uint8) for i in range(3)]
    g = write_ome(tmp_path / "r.zarr", "0.4", data, SPACE, [[0.5 * 2**i] * 3 for i in range(3)])
    ms = g.attrs["multiscales"]
    ms[0]["datasets"] = ms[0]["datasets"][::-1]
    g.attrs["multiscales"] = ms
    im = open_image(str(tmp_path / "r.zarr"))
    assert im.shape == (32, 32, 32) and im.voxel_size == (0.5, 0.5, 0.5)
    assert [lv.downsample for lv in im.levels] == [(1, 1, 1), (2, 2, 2), (4, 4, 4)]
    assert [int(lv.read((slice(0, 1),) * 3)[0, 0, 0]) for lv in im.levels] == [0, 1, 2]
    assert open_image(im) is im
