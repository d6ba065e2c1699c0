"""The kernel-wide budget of decoded chunks: every endpoint (widget) and computed pyramid shares one
LRU, each in its own namespace (``voxwidget.multiscale.chunkcache``, ``voxwidget.set_chunk_cache_budget``)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_server import CHUNKS, Wire, _level_plane_get, _plane_tiles

import voxwidget
from voxwidget import VoxWidget
from voxwidget.comm.endpoint import Endpoint
from voxwidget.labelmap import LabelMap
from voxwidget.multiscale import chunkcache, open_image
from voxwidget.multiscale.sources import ImageSource

SHAPE = (16, 128, 128)  # one computed level (8, 64, 64) above the source
CB = int(np.prod(CHUNKS)) * 2  # bytes of one uint16 image chunk
LAYER = (SHAPE[1] // CHUNKS[1]) * (SHAPE[2] // CHUNKS[2])  # chunks in one z chunk layer: 64


class PeakWire(Wire):
    """A wire that also records the most bytes the shared cache held whenever a reply went out."""

    def __init__(self) -> None:
        super().__init__()
        self.peak = 0

    def __call__(self, msg: dict, buffers: list) -> None:
        self.peak = max(self.peak, chunkcache.shared_cache().nbytes)
        super().__call__(msg, buffers)


@pytest.fixture
def budget():
    """``set_chunk_cache_budget``, with the budget restored after the test."""
    old = voxwidget.chunk_cache_budget()
    yield voxwidget.set_chunk_cache_budget
    voxwidget.set_chunk_cache_budget(old)


def volume(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(1, 60000, SHAPE, dtype=np.uint16)  # no all-zero chunk


def endpoint(image, wire=None, **kwargs) -> Endpoint:
    source = image if isinstance(image, ImageSource) else ImageSource(image)
    return Endpoint(wire or PeakWire(), source, LabelMap(SHAPE, dtype="uint8", chunks=CHUNKS), "fp", **kwargs)


def counting_reads(ep: Endpoint) -> list:
    """Record every region ``ep`` reads from its level 0."""
    reads: list = []
    level0 = ep.levels[0]
    original = level0.read
    level0.read = lambda region: reads.append(region) or original(region)
    return reads


def serve_plane(ep: Endpoint, rid: str, z: int, level: int = 0, layer: str = "image") -> np.ndarray:
    """Ask ``ep`` for the z plane like a view would; the plane it sends back."""
    _level_plane_get(ep, rid, layer, level, 0, z)
    got, _ = _plane_tiles(ep._send, rid, ep.level_shape(level)[1:])
    return got


def test_the_default_budget_is_512_mib_and_the_setter_validates_naming_the_value(budget):
    assert voxwidget.chunk_cache_budget() == chunkcache.DEFAULT_BUDGET == 512 * 2**20
    for bad, error in [(-1, ValueError), (1.5e9, TypeError), ("512MiB", TypeError), (True, TypeError)]:
        with pytest.raises(error, match=None) as err:
            budget(bad)
        assert repr(bad) in str(err.value) and "budget" in str(err.value)
    assert voxwidget.chunk_cache_budget() == 512 * 2**20  # a refused value changes nothing
    assert budget(np.int64(2**30)) == 512 * 2**20  # returns the previous budget; numpy ints are ints
    assert voxwidget.chunk_cache_budget() == 2**30 and chunkcache.shared_cache().max_bytes == 2**30


def test_endpoints_share_one_budget_and_an_idle_endpoints_chunks_go_first(budget):
    """Two widgets over different volumes: the kernel holds at most the budget in all, the new reads
    evict the idle widget's chunks (not the active one's), and each counts only its own bytes."""
    budget(80 * CB)
    a_img, b_img = volume(1), volume(2)
    a, b = endpoint(a_img), endpoint(b_img)
    reads_b = counting_reads(b)
    try:
        np.testing.assert_array_equal(serve_plane(a, "a1", 3), a_img[3])
        assert a.cached_bytes == LAYER * CB and b.cached_bytes == 0
        # the same keys in the other widget: its own data, never a's cached chunks
        np.testing.assert_array_equal(serve_plane(b, "b1", 3), b_img[3])
        assert b.cached_bytes == LAYER * CB  # the active widget keeps its whole layer
        assert a.cached_bytes == (80 - LAYER) * CB  # the idle one lost its least recently used
        shared = chunkcache.shared_cache()
        assert shared.nbytes <= 80 * CB and max(a._send.peak, b._send.peak) <= 80 * CB
        n = len(reads_b)
        np.testing.assert_array_equal(serve_plane(b, "b2", 4), b_img[4])  # same chunk layer: no read
        assert len(reads_b) == n
        np.testing.assert_array_equal(serve_plane(a, "a2", 4), a_img[4])  # a reads its layer again
        assert a.cached_bytes == LAYER * CB and b.cached_bytes == (80 - LAYER) * CB
        assert shared.nbytes <= 80 * CB and max(a._send.peak, b._send.peak) <= 80 * CB
    finally:
        a.close()
        b.close()


def test_closing_one_endpoint_drops_only_its_own_chunks(budget):
    budget(4 * LAYER * CB)
    a, b = endpoint(volume(3)), endpoint(volume(4))
    try:
        serve_plane(a, "a", 3)
        serve_plane(b, "b", 3)
        shared = chunkcache.shared_cache()
        before = shared.nbytes
        assert a.cached_bytes == b.cached_bytes == LAYER * CB
        a.close()
        assert a.cached_bytes == 0 and b.cached_bytes == LAYER * CB
        assert shared.nbytes == before - LAYER * CB
        reads = counting_reads(b)
        serve_plane(b, "b2", 4)
        assert not reads  # b's chunks are all still there
    finally:
        a.close()
        b.close()


def test_two_endpoints_on_the_same_image_never_share_entries():
    """Same image, same keys, same label versions, different labels: each widget's coarse label tiles
    are computed from its own label map (entries are keyed per endpoint, never by a content guess)."""
    image = volume(5)
    a, b = endpoint(image), endpoint(image)
    try:
        for ep, value in ((a, 3), (b, 7)):
            ep.labels[0:8, 0:32, 0:32] = value
        assert a.label_version(1, (0, 0, 0)) == b.label_version(1, (0, 0, 0)) > 0
        got_a, got_b = (serve_plane(ep, "c", 0, level=1, layer="labels") for ep in (a, b))
        assert (got_a[:16, :16] == 3).all() and (got_b[:16, :16] == 7).all()
        assert a.tile_server.coarse.cache.nbytes > 0 and b.tile_server.coarse.cache.nbytes > 0
    finally:
        a.close()
        b.close()


def test_lowering_the_budget_evicts_at_once_and_bounds_prefetch_batches(budget):
    budget(4 * LAYER * CB)
    ep = endpoint(volume(6))
    try:
        serve_plane(ep, "a", 3)
        assert ep.cached_bytes == LAYER * CB and ep.tile_server.image_cache.max_bytes == 4 * LAYER * CB
        budget(8 * CB)
        assert ep.cached_bytes <= 8 * CB and chunkcache.shared_cache().nbytes <= 8 * CB
        assert ep.tile_server.image_cache.max_bytes == 8 * CB  # what _prefetch sizes its batch reads from
        reads = counting_reads(ep)
        ep._send.peak = 0
        np.testing.assert_array_equal(
            serve_plane(ep, "b", 11), ep.image.read((slice(11, 12), *[slice(0, n) for n in SHAPE[1:]]))[0]
        )
        # batch reads follow the lowered budget: one row of 8 chunks at most (the whole layer before)
        sizes = [int(np.prod([r.stop - r.start for r in region])) * 2 for region in reads]
        assert max(sizes) <= 8 * CB, sizes
        assert ep._send.peak <= 8 * CB and chunkcache.shared_cache().nbytes <= 8 * CB
    finally:
        ep.close()


def test_an_endpoint_cap_bounds_its_own_chunks_within_the_budget(budget):
    """``image_cache_bytes`` keeps its meaning: a bound on this endpoint's image chunks."""
    budget(4 * LAYER * CB)
    capped, free = endpoint(volume(7), image_cache_bytes=10 * CB), endpoint(volume(8))
    try:
        serve_plane(free, "f", 3)
        serve_plane(capped, "c", 3)
        assert capped.cached_bytes == 10 * CB and capped.tile_server.image_cache.max_bytes == 10 * CB
        assert free.cached_bytes == LAYER * CB  # the capped endpoint evicted its own chunks, not these
    finally:
        capped.close()
        free.close()


def test_a_computed_pyramid_is_in_the_budget_and_goes_with_the_endpoint_that_opened_it(budget):
    budget(4 * LAYER * CB)
    image = volume(9)
    ep = endpoint(image)
    try:
        assert ep.levels[1].computed
        serve_plane(ep, "p", 2, level=1)  # a computed level's plane: cached as the pyramid's plane tiles
        pyramid = ep.image.multiscale.cache
        assert pyramid.nbytes > 0 and ep.cached_bytes == pyramid.nbytes
        assert pyramid.cache is chunkcache.shared_cache() and pyramid.max_bytes == 4 * LAYER * CB
        ep.close()
        assert ep.cached_bytes == 0 and pyramid.nbytes == 0
    finally:
        ep.close()
    # a MultiscaleImage the user passed may serve several widgets: not this endpoint's to drop
    shared_image = open_image(image)
    ep = endpoint(ImageSource(shared_image))
    try:
        serve_plane(ep, "p", 2, level=1)
        assert shared_image.cache.nbytes > 0 and ep.cached_bytes == 0
        ep.close()
        assert shared_image.cache.nbytes > 0
    finally:
        ep.close()


def test_rerunning_a_widget_cell_keeps_the_kernel_within_the_budget(budget):
    """``w = VoxWidget(...); w`` run again and again: the old widgets stay alive (``Out[n]``), the
    decoded chunks of all of them stay within the budget, the oldest evicted first."""
    budget(80 * CB)
    out: list[VoxWidget] = []  # what the output history keeps alive
    try:
        for run in range(4):
            w = VoxWidget(volume(10 + run), chunks=CHUNKS)
            out.append(w)
            w._endpoint.handle(
                {
                    "kind": "chunks.get",
                    "id": "r",
                    "layer": "image",
                    "level": 0,
                    "keys": [[0, j, k] for j in range(8) for k in range(8)],
                    "known": [-1] * LAYER,
                }
            )
            deadline = time.monotonic() + 10
            while w._endpoint.tile_server.pending:
                assert time.monotonic() < deadline, "the tile request was not served"
                time.sleep(0.01)
            cached = [x.stream_stats["cached_bytes"] for x in out]
            assert cached[-1] == LAYER * CB
            if run:
                assert cached[-2] == (80 - LAYER) * CB and not any(cached[:-2])
            assert sum(cached) <= 80 * CB and chunkcache.shared_cache().nbytes <= 80 * CB
    finally:
        for w in out:
            w.close()
    assert all(w.stream_stats["cached_bytes"] == 0 for w in out)
