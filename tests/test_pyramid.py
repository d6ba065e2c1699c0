"""Downsampling helpers and the byte-bounded block cache (and its shared, namespaced views)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from voxwidget.multiscale.blockcache import BlockCache, CacheView
from voxwidget.multiscale.downsample import downsample_mean, downsample_mode, output_shape


def windows(block: np.ndarray, factors):
    """(output index, values) for every window, the slow way."""
    for idx in itertools.product(*(range(-(-n // f)) for n, f in zip(block.shape, factors, strict=True))):
        sl = tuple(slice(i * f, (i + 1) * f) for i, f in zip(idx, factors, strict=True))
        yield idx, block[sl].ravel()


def slow_mean(block, factors):
    out = np.empty(output_shape(block.shape, factors), block.dtype)
    for idx, vals in windows(block, factors):
        m = vals.astype(np.float64).mean()
        out[idx] = np.rint(m) if block.dtype.kind in "ui" else m
    return out


def slow_mode(block, factors):
    out = np.empty(output_shape(block.shape, factors), block.dtype)
    for idx, vals in windows(block, factors):
        counts = Counter(vals.tolist())
        best = max(counts.values())
        out[idx] = min(v for v, c in counts.items() if c == best)
    return out


shapes = st.tuples(*[st.integers(1, 9)] * 3)
factor_sets = st.tuples(*[st.integers(1, 3)] * 3)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), shape=shapes, factors=factor_sets, dtype=st.sampled_from(["uint8", "uint16", "int32"]))
def test_mean_matches_slow_reference_including_edge_windows(data, shape, factors, dtype):
    block = data.draw(hnp.arrays(dtype, shape))
    got = downsample_mean(block, factors)
    assert got.dtype == block.dtype
    np.testing.assert_array_equal(got, slow_mean(block, factors))


def test_mean_of_floats_and_partial_edge_window():
    block = np.arange(3 * 4 * 5, dtype=np.float32).reshape(3, 4, 5)
    got = downsample_mean(block, (2, 2, 2))
    assert got.shape == (2, 2, 3)
    np.testing.assert_allclose(got, slow_mean(block, (2, 2, 2)), rtol=1e-6)
    assert got[1, 1, 2] == block[2, 2:4, 4].mean()  # the corner window holds only 2 voxels


label_dtypes = st.sampled_from(["uint8", "uint16", "uint32", "uint64"])


@settings(max_examples=200, deadline=None)
@given(data=st.data(), shape=shapes, factors=factor_sets, dtype=label_dtypes)
def test_mode_matches_slow_reference(data, shape, factors, dtype):
    info = np.iinfo(dtype)
    # few distinct values so windows have real majorities and ties; include the dtype's extremes
    palette = data.draw(
        st.lists(st.sampled_from([0, 1, 2, 7, info.max, info.max - 1]), min_size=1, max_size=4, unique=True)
    )
    block = data.draw(hnp.arrays(dtype, shape, elements=st.sampled_from(palette)))
    got = downsample_mode(block, factors)
    assert got.dtype == block.dtype
    np.testing.assert_array_equal(got, slow_mode(block, factors))


def test_mode_ties_go_to_the_smallest_value():
    block = np.array([5, 3, 5, 3, 9, 9, 1, 2], np.uint32).reshape(2, 2, 2)  # 3, 5, 9 twice each
    assert downsample_mode(block, (2, 2, 2)).item() == 3
    block = np.array([0, 4, 4, 0], np.uint64).reshape(1, 2, 2)
    assert downsample_mode(block, (1, 2, 2)).item() == 0


def test_mode_keeps_a_majority_label_and_large_uint64_values():
    big = np.uint64(2**64 - 2)
    block = np.full((4, 4, 4), big, np.uint64)
    block[0, 0, 0] = 1
    block[2:, 2:, 2:] = 7
    block[2, 2, 2] = 0
    out = downsample_mode(block, (2, 2, 2))
    assert out.dtype == np.uint64 and out[0, 0, 0] == big and out[1, 1, 1] == 7


def test_factors_are_validated():
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        downsample_mean(np.zeros((2, 2, 2)), (2, 2))
    with pytest.raises(ValueError, match="≥ 1"):
        downsample_mode(np.zeros((2, 2, 2), np.uint8), (0, 2, 2))


def test_cache_evicts_least_recently_used_within_its_byte_bound():
    cache = BlockCache(max_bytes=3000)
    for i in range(3):
        cache.put(i, np.zeros(1000, np.uint8))
    assert cache.get(0) is not None  # 0 is now the most recent
    cache.put(3, np.zeros(1000, np.uint8))
    assert cache.get(1) is None and cache.get(0) is not None and cache.get(3) is not None
    assert cache.nbytes == 3000 and len(cache) == 3
    cache.put("huge", np.zeros(3001, np.uint8))
    assert "huge" not in cache and cache.nbytes == 3000
    cache.put(0, np.zeros(10, np.uint8))  # replacing an entry updates the byte count
    assert cache.nbytes == 2010


def test_cached_arrays_are_read_only():
    cache = BlockCache(1000)
    arr = cache.get_or_compute("k", lambda: np.zeros(4))
    with pytest.raises(ValueError):
        arr[0] = 1


def test_concurrent_misses_compute_once_and_stay_bounded():
    cache = BlockCache(max_bytes=10 * 800)
    calls = Counter()
    lock = threading.Lock()

    def compute(key):
        with lock:
            calls[key] += 1
        time.sleep(0.01)
        return np.full(100, key, np.float64)  # 800 bytes

    def worker(seed):
        rng = np.random.default_rng(seed)
        for key in rng.integers(0, 6, 40):
            out = cache.get_or_compute(int(key), lambda k=int(key): compute(k))
            assert out[0] == key
            assert cache.nbytes <= cache.max_bytes

    _run_concurrently(worker, 4)
    assert all(c == 1 for c in calls.values()), calls  # 6 keys fit: each computed exactly once
    assert cache.nbytes <= cache.max_bytes


def arr(value: int, n: int = 1000) -> np.ndarray:
    return np.full(n, value, np.uint8)


def test_views_share_one_bound_and_one_lru_order_but_never_their_keys():
    cache = BlockCache(max_bytes=3000)
    a, b = cache.view(), CacheView(cache)
    a.put("k0", arr(1))
    a.put("k1", arr(2))
    b.put("k0", arr(3))  # the same key in another view: a different entry
    assert a.get("k0")[0] == 1 and b.get("k0")[0] == 3 and "k0" not in cache and cache.get("k0") is None
    assert (a.nbytes, b.nbytes, cache.nbytes, len(a), len(b), len(cache)) == (2000, 1000, 3000, 2, 1, 3)
    # LRU order now: a.k1, b.k0, a.k0 (a.get touched it); b's new array evicts a.k1 only
    b.put("k1", arr(4))
    assert "k1" not in a and a.get("k0")[0] == 1 and b.get("k1")[0] == 4
    assert (a.nbytes, b.nbytes, cache.nbytes) == (1000, 2000, 3000)
    # the cache's own keys are a namespace too; its new array evicts the least recent, b.k0
    cache.put("k0", arr(5))
    assert cache.get("k0")[0] == 5 and a.get("k0")[0] == 1 and "k0" not in b and b.get("k1")[0] == 4
    assert a.max_bytes == b.max_bytes == 3000


def test_a_view_clears_only_its_own_arrays():
    cache = BlockCache(max_bytes=10_000)
    a, b = cache.view(), cache.view()
    for i in range(3):
        a.put(i, arr(i))
        b.put(i, arr(10 + i))
    cache.put("own", arr(99))
    a.clear()
    assert (a.nbytes, len(a), b.nbytes, len(b), cache.nbytes) == (0, 0, 3000, 3, 4000)
    assert all(i not in a and b.get(i)[0] == 10 + i for i in range(3)) and cache.get("own")[0] == 99
    a.put(0, arr(7))  # a cleared view stays usable
    assert a.get(0)[0] == 7 and cache.nbytes == 5000
    cache.clear()  # the cache's clear empties every view
    assert (a.nbytes, b.nbytes, cache.nbytes, len(cache)) == (0, 0, 0, 0)


def test_a_views_own_bound_evicts_its_own_least_recently_used_first():
    cache = BlockCache(max_bytes=10_000)
    a, b = cache.view(max_bytes=2000), cache.view()
    b.put("old", arr(1))  # older than all of a's arrays, but a's bound evicts a's own
    for i in range(3):
        a.put(i, arr(i))
    assert 0 not in a and 1 in a and 2 in a and a.nbytes == 2000 and b.get("old") is not None
    a.put("big", arr(0, 2001))  # larger than the view's bound: returned by nobody, kept nowhere
    assert "big" not in a and a.nbytes == 2000
    assert a.max_bytes == 2000 and b.max_bytes == 10_000
    cache.max_bytes = 1500  # the lower of the two bounds applies
    assert a.max_bytes == 1500 and cache.nbytes <= 1500


def test_lowering_the_bound_evicts_at_once_least_recently_used_first():
    cache = BlockCache(max_bytes=5000)
    a = cache.view()
    for i in range(5):
        (a if i % 2 else cache).put(i, arr(i))
    a.get(1)  # now the most recent; the order is 0, 2, 3, 4, 1
    cache.max_bytes = 2000
    assert cache.nbytes == 2000 and a.nbytes == 1000 and 1 in a and 4 in cache
    assert 0 not in cache and 2 not in cache and 3 not in a
    cache.max_bytes = 0
    assert (cache.nbytes, len(cache), a.nbytes, len(a)) == (0, 0, 0, 0)
    cache.put("x", arr(1, 1))  # nothing fits in 0 bytes
    assert "x" not in cache


@pytest.mark.parametrize(
    ("make", "error", "text"),
    [
        (lambda: BlockCache(-1), ValueError, "got -1"),
        (lambda: BlockCache(1e6), TypeError, "got 1000000.0"),
        (lambda: BlockCache().view(max_bytes=-5), ValueError, "got -5"),
        (lambda: BlockCache().view(max_bytes="1G"), TypeError, "got '1G'"),
        (lambda: setattr(BlockCache(), "max_bytes", True), TypeError, "got True"),
    ],
)
def test_bad_bounds_are_refused_naming_the_value(make, error, text):
    with pytest.raises(error, match=None) as err:
        make()
    assert text in str(err.value)


def test_concurrent_misses_in_views_compute_once_per_view_and_stay_bounded():
    """Two views ask for the same keys from four threads each: each (view, key) is computed once (the
    second thread waits for the first), each view gets its own arrays, the shared bound holds."""
    cache = BlockCache(max_bytes=12 * 800)
    views = [cache.view(), cache.view()]
    calls = Counter()
    lock = threading.Lock()

    def compute(v, key):
        with lock:
            calls[v, key] += 1
        time.sleep(0.01)
        return np.full(100, 10 * v + key, np.float64)  # 800 bytes

    def worker(seed):
        rng = np.random.default_rng(seed)
        for v, key in zip(rng.integers(0, 2, 40), rng.integers(0, 6, 40), strict=True):
            out = views[v].get_or_compute(int(key), lambda v=int(v), k=int(key): compute(v, k))
            assert out[0] == 10 * v + key
            assert cache.nbytes <= cache.max_bytes

    _run_concurrently(worker, 8)
    assert all(c == 1 for c in calls.values()), calls  # 12 arrays fit: each computed exactly once
    assert sum(v.misses for v in views) == len(calls) == cache.misses
    assert sum(v.hits for v in views) == cache.hits == 8 * 40 - len(calls)
    assert cache.nbytes == sum(v.nbytes for v in views) <= cache.max_bytes


def _run_concurrently(worker, n: int) -> None:
    """Run ``worker(seed)`` for seeds 0…n-1 in n threads at once, wait for all, and re-raise the
    first failure (a thread's own exception, e.g. a failed assert, would otherwise only be printed)."""
    errors: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            worker(seed)
        except BaseException as exc:  # handed to the test thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
