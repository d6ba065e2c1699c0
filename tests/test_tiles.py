"""Tile encoding (real LZ4) and packing replies under the message budget."""

import numpy as np
import pytest

from voxwidget.tiles import decode_tile, encode_tile, pack_replies


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "uint32", "uint64"])
def test_roundtrip_through_lz4(dtype):
    rng = np.random.default_rng(1)
    data = (rng.integers(0, 5, (64, 64)) * 3).astype(dtype)
    tile = encode_tile((0, 1, 2), 7, data, data.shape, data.dtype)
    assert tile.codec == "lz4"
    assert len(tile.payload) < data.nbytes
    np.testing.assert_array_equal(decode_tile(tile.codec, tile.payload, data.shape, dtype), data)


def test_zero_unchanged_and_incompressible():
    z = encode_tile((0, 0, 0), 3, np.zeros((8, 8), "uint32"), (8, 8), np.dtype("uint32"))
    assert (z.codec, z.payload) == ("zero", None)
    none = encode_tile((0, 0, 0), 0, None, (8, 8), np.dtype("uint32"))
    assert none.codec == "zero"
    same = encode_tile((0, 0, 0), 3, np.ones((8, 8), "uint32"), (8, 8), np.dtype("uint32"), known=3)
    assert (same.codec, same.payload) == ("unchanged", None)
    noise = np.random.default_rng(0).integers(0, 2**32, (32, 32), dtype="uint64").astype("uint32")
    raw = encode_tile((0, 0, 0), 1, noise, noise.shape, noise.dtype)
    assert raw.codec == "raw"
    np.testing.assert_array_equal(decode_tile("raw", raw.payload, noise.shape, "uint32"), noise)


def test_corrupt_payload_is_refused():
    data = np.arange(4096, dtype="uint16").reshape(64, 64) // 64
    tile = encode_tile((0, 0, 0), 1, data, data.shape, data.dtype)
    with pytest.raises(Exception):  # noqa: B017 - lz4 raises its own error type
        decode_tile("lz4", tile.payload[: len(tile.payload) // 2], data.shape, "uint16")
    with pytest.raises(ValueError, match="codec 'unchanged'"):
        decode_tile("unchanged", None, data.shape, "uint16")


def test_packing_respects_budget_and_keeps_order():
    rng = np.random.default_rng(2)
    tiles = []
    for i in range(40):
        data = rng.integers(0, 2**16, (64, 64), dtype="uint16")  # incompressible: 8 KiB each
        tiles.append(encode_tile((i, 0, 0), 0, data, data.shape, data.dtype))
        tiles.append(encode_tile((i, 1, 0), 0, None, data.shape, data.dtype))
    messages = list(pack_replies(tiles, budget=50_000))
    assert len(messages) == 7  # 6 tiles of 8 KiB per 50 kB message, 40 of them
    order = []
    for records, buffers in messages:
        assert sum(len(b) for b in buffers) <= 50_000
        for r in records:
            order.append(tuple(r["key"]))
            if r["buffer"] >= 0:
                assert len(buffers[r["buffer"]]) == 64 * 64 * 2
    assert order == [t.key for t in tiles]
