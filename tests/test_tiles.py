"""Tile encoding (real LZ4) and packing replies under the message budget, one buffer per message."""

import numpy as np
import pytest

from voxwidget.tiles import ALIGN, MAX_RECORDS, ReplyPacker, decode_tile, encode_array, tile_payload


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
        assert len(buffers) == 1 and len(buffers[0]) <= 50_000
        for r in records:
            order.append(tuple(r["key"]))
            if r["codec"] == "zero":
                assert (r["buffer"], r["offset"], r["nbytes"]) == (-1, 0, 0)
            else:
                assert len(tile_payload(r, buffers)) == 64 * 64 * 2
    assert order == keys
    assert packer.take() == ([], [])


def _payloads(rng):
    """(data, codec, payload) of tiles of awkward sizes: lz4, raw of 15/6/8/24 bytes, zero."""
    out = []
    for data in [
        (rng.integers(0, 4, (16, 24)) * 7).astype("uint16"),  # lz4
        rng.integers(1, 100, (3, 5)).astype("uint8"),  # raw, 15 bytes
        rng.integers(1, 100, (3,)).astype("uint16"),  # raw, 6 bytes
        np.zeros((4, 4), "uint32"),  # zero: no bytes
        rng.integers(1, 100, (1,)).astype("uint64"),  # raw, 8 bytes
        (rng.integers(0, 3, (32, 32)) * 5).astype("uint32"),  # lz4
        rng.integers(1, 2**31, (2, 3)).astype("float32"),  # raw, 24 bytes
    ]:
        codec, _, _, payload = encode_array(data, data.dtype, data.shape)
        out.append((data, codec, payload))
    assert [c for _, c, _ in out] == ["lz4", "raw", "raw", "zero", "raw", "lz4", "raw"]
    return out


def test_packer_puts_a_batch_in_one_buffer_at_8_aligned_offsets():
    tiles = _payloads(np.random.default_rng(4))
    packer = ReplyPacker()
    for i, (data, codec, payload) in enumerate(tiles):
        rec = {"key": [0, 0, i], "shape": list(data.shape), "dtype": data.dtype.name, "codec": codec}
        assert packer.add(rec, payload) is None
    records, buffers = packer.take()
    assert len(buffers) == 1
    (buf,) = buffers
    raw = bytes(memoryview(buf).cast("B"))
    end = 0
    for rec, (data, codec, payload) in zip(records, tiles, strict=True):
        if payload is None:
            assert (rec["buffer"], rec["offset"], rec["nbytes"]) == (-1, 0, 0)
            continue
        o, n = rec["offset"], rec["nbytes"]
        assert rec["buffer"] == 0 and o % ALIGN == 0 and n == len(payload)
        assert o == -(-end // ALIGN) * ALIGN, "each payload at the next multiple of 8, no gaps beyond it"
        assert raw[end:o] == bytes(o - end), "padding is zero"
        assert raw[o : o + n] == bytes(memoryview(payload).cast("B"))
        got = decode_tile(codec, tile_payload(rec, buffers), tuple(rec["shape"]), rec["dtype"])
        np.testing.assert_array_equal(got, data)
        end = o + n
    assert len(raw) == end
    assert any(r["nbytes"] % ALIGN for r in records if r["buffer"] == 0), "some padding was needed"


def test_raw_payloads_are_copied_once_into_the_message_buffer():
    data = np.random.default_rng(5).integers(0, 2**32, (32, 32), dtype="uint64").astype("uint32")
    codec, _, _, payload = encode_array(data, data.dtype, data.shape)
    assert codec == "raw"
    assert np.shares_memory(np.asarray(payload), data), "encode_array hands back a view, not a copy"
    packer = ReplyPacker()
    packer.add({"codec": codec}, payload)
    _, (buf,) = packer.take()
    assert not np.shares_memory(np.asarray(buf), data)
    np.testing.assert_array_equal(np.frombuffer(buf, "<u4").reshape(32, 32), data)


def test_packing_budget_counts_the_padding_and_a_big_tile_travels_alone():
    packer = ReplyPacker(budget=62)
    sizes = []
    for _ in range(15):  # 7-byte payloads end at 7, 15, …, 55: 7 fit in 62 bytes (the 8th would end at 63)
        full = packer.add({"codec": "raw"}, b"x" * 7)
        if full is not None:
            sizes.append((len(full[0]), len(full[1][0])))
    assert sizes == [(7, 55), (7, 55)]
    assert len(packer.take()[0]) == 1
    packer = ReplyPacker(budget=100)
    batches = [packer.add({"codec": "raw"}, b"y" * n) for n in (40, 300, 40)] + [packer.take()]
    got = [(len(r), [len(b) for b in bufs]) for r, bufs in (b for b in batches if b is not None)]
    assert got == [(1, [40]), (1, [300]), (1, [40])]


def test_a_batch_without_payload_bytes_has_no_buffer():
    packer = ReplyPacker()
    for i in range(3):
        packer.add({"key": [i, 0, 0], "codec": "zero"}, None)
    records, buffers = packer.take()
    assert buffers == [] and [r["buffer"] for r in records] == [-1, -1, -1]


def test_tile_payload_refuses_ranges_outside_the_buffer():
    buffers = [bytes(range(32))]
    assert bytes(tile_payload({"buffer": 0, "offset": 8, "nbytes": 3}, buffers)) == bytes([8, 9, 10])
    assert tile_payload({"buffer": -1, "offset": 0, "nbytes": 0}, buffers) is None
    with pytest.raises(ValueError, match="offset 30 of 3 bytes lies outside buffer 0 of 32 bytes"):
        tile_payload({"buffer": 0, "offset": 30, "nbytes": 3}, buffers)
    with pytest.raises(ValueError, match="offset -8 of 3 bytes"):
        tile_payload({"buffer": 0, "offset": -8, "nbytes": 3}, buffers)
    with pytest.raises(ValueError, match="buffer 1, but the message has 1 buffers"):
        tile_payload({"buffer": 1, "offset": 0, "nbytes": 3}, buffers)


def test_packing_caps_records_per_message():
    packer = ReplyPacker()
    sizes = []
    for i in range(2 * MAX_RECORDS + 5):
        full = packer.add({"key": [i, 0, 0], "codec": "zero"}, None)
        if full is not None:
            sizes.append(len(full[0]))
    sizes.append(len(packer.take()[0]))
    assert sizes == [MAX_RECORDS, MAX_RECORDS, 5]
