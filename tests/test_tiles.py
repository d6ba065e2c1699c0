"""Tile encoding (real LZ4) and packing replies under the message budget."""

import numpy as np
import pytest

from voxwidget.tiles import MAX_RECORDS, ReplyPacker, decode_tile, encode_array


@pytest.mark.parametrize("dtype", ["uint8", "uint16", "int16", "float32", "uint32", "uint64"])
def test_roundtrip_through_lz4(dtype):
    rng = np.random.default_rng(1)
    data = (rng.integers(0, 5, (64, 64)) * 3).astype(dtype)
    codec, shape, name, payload = encode_array(data, data.dtype, data.shape)
    assert (codec, name) == ("lz4", dtype)
    assert len(payload) < data.nbytes
    np.testing.assert_array_equal(decode_tile(codec, payload, shape, name), data)


def test_zero_incompressible_and_views():
    z = encode_array(np.zeros((8, 8), "uint32"), np.dtype("uint32"), (8, 8))
    assert (z[0], z[3]) == ("zero", None)
    noise = np.random.default_rng(0).integers(0, 2**32, (32, 32), dtype="uint64").astype("uint32")
    codec, _, _, payload = encode_array(noise, noise.dtype, noise.shape)
    assert codec == "raw"
    np.testing.assert_array_equal(decode_tile("raw", payload, noise.shape, "uint32"), noise)
    # a non-contiguous cut of a chunk (an x-plane) and a big-endian array encode their values
    chunk = np.arange(4 * 64 * 64, dtype=">u2").reshape(4, 64, 64) // 7
    cut = chunk[:, :, 5]
    codec, shape, name, payload = encode_array(cut, np.dtype("uint16"), cut.shape)
    np.testing.assert_array_equal(decode_tile(codec, payload, shape, name), cut)


def test_corrupt_payload_is_refused():
    data = np.arange(4096, dtype="uint16").reshape(64, 64) // 64
    codec, _, _, payload = encode_array(data, data.dtype, data.shape)
    assert codec == "lz4"
    with pytest.raises(Exception):  # noqa: B017 - lz4 raises its own error type
        decode_tile("lz4", payload[: len(payload) // 2], data.shape, "uint16")
    with pytest.raises(ValueError, match="codec 'unchanged'"):
        decode_tile("unchanged", None, data.shape, "uint16")


def test_packing_respects_budget_and_keeps_order():
    rng = np.random.default_rng(2)
    packer = ReplyPacker(budget=50_000)
    messages, keys = [], []
    for i in range(40):
        data = rng.integers(0, 2**16, (64, 64), dtype="uint16")  # incompressible: 8 KiB each
        for j, arr in ((0, data), (1, np.zeros_like(data))):
            codec, _, _, payload = encode_array(arr, arr.dtype, arr.shape)
            keys.append((i, j, 0))
            full = packer.add({"key": [i, j, 0], "codec": codec}, payload)
            if full is not None:
                messages.append(full)
    messages.append(packer.take())
    assert len(messages) == 7  # 6 tiles of 8 KiB per 50 kB message, 40 of them
    order = []
    for records, buffers in messages:
        assert sum(len(b) for b in buffers) <= 50_000
        for r in records:
            order.append(tuple(r["key"]))
            if r["codec"] == "zero":
                assert r["buffer"] == -1
            else:
                assert len(buffers[r["buffer"]]) == 64 * 64 * 2
    assert order == keys
    assert packer.take() == ([], [])


def test_packing_caps_records_per_message():
    packer = ReplyPacker()
    sizes = []
    for i in range(2 * MAX_RECORDS + 5):
        full = packer.add({"key": [i, 0, 0], "codec": "zero"}, None)
        if full is not None:
            sizes.append(len(full[0]))
    sizes.append(len(packer.take()[0]))
    assert sizes == [MAX_RECORDS, MAX_RECORDS, 5]
