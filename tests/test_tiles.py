"""Tile encoding (real LZ4, plain and byte-shuffled) and packing replies under the message budget, one
buffer per message."""

import lz4.block
import numpy as np
import pytest

from voxwidget.comm import protocol
from voxwidget.comm.tiles import (
    ALIGN,
    MAX_RECORDS,
    MIN_SAVING,
    ReplyPacker,
    decode_tile,
    encode_array,
    shuffle_bytes,
    tile_payload,
)


def noisy_uint16(seed=0, shape=(64, 64), bits=6):
    """A microscopy-like tile: a blocky pattern plus ``bits`` bits of noise per voxel."""
    rng = np.random.default_rng(seed)
    y, x = np.ogrid[: shape[0], : shape[1]]
    block = ((x // 32 + y // 32) % 8) * 1000 + 7 * 20 + 200
    return (block + rng.integers(0, 2**bits, shape)).astype(np.uint16)


def lz4s(data):
    """The "lz4s" payload of ``data``, built here independently of encode_array."""
    le = np.ascontiguousarray(data, data.dtype.newbyteorder("<"))
    planes = le.reshape(-1).view(np.uint8).reshape(le.size, le.itemsize).T
    return lz4.block.compress(planes.tobytes(), store_size=False)


def samples(dtype, rng):
    """Tiles of ``dtype`` worth a round trip: runs, noise, odd shapes, extremes, negatives, floats."""
    dt = np.dtype(dtype)
    if dt.kind == "f":
        lo, hi = -1e6, 1e6
    else:
        info = np.iinfo(dt)
        lo, hi = int(info.min), int(info.max)
    tiles = [
        (rng.integers(0, 5, (64, 64)) * 3).astype(dt),  # runs
        (rng.integers(0, 64, (33, 17)) + 100).astype(dt),  # small noise, odd shape
        np.full((7, 5, 3), hi, dt),  # 3D
        np.full((1,), hi, dt),  # one element
        np.linspace(lo / 2, hi / 2, 999).astype(dt).reshape(27, 37),  # much of the range
        np.array([lo, hi, 0, lo + 1, hi - 1], dt),  # the extremes
        rng.integers(0, 2, (64, 64)).astype(dt) * dt.type(hi),  # two values, the high bytes too
    ]
    if dt.kind in "if":
        tiles.append((rng.integers(-50, 50, (40, 24)) * 7).astype(dt))  # negatives
    if dt.kind == "f":
        tiles.append(rng.standard_normal((48, 48)).astype(dt) * dt.type(1e3))
        tiles.append(np.array([np.inf, -np.inf, -0.0, 1e-30, np.nan], dt))
    return tiles


@pytest.mark.parametrize("labels", [False, True])
@pytest.mark.parametrize("dtype", protocol.DTYPES)
def test_roundtrip_every_dtype(dtype, labels):
    rng = np.random.default_rng(1)
    codecs = set()
    for data in samples(dtype, rng):
        codec, shape, name, payload = encode_array(data, data.dtype, data.shape, labels=labels)
        assert name == dtype and codec in ("lz4", "lz4s", "raw")
        codecs.add(codec)
        got = decode_tile(codec, payload, shape, name)
        assert got.dtype == np.dtype(dtype).newbyteorder("<") and got.shape == data.shape
        assert got.tobytes() == data.astype(got.dtype).tobytes(), (codec, data.shape)
        # every tile also decodes from a shuffled payload built independently of the encoder
        got = decode_tile("lz4s", lz4s(data), data.shape, dtype)
        assert got.tobytes() == data.astype(got.dtype).tobytes(), data.shape
    assert {"raw", "lz4s" if np.dtype(dtype).itemsize > 1 and not labels else "lz4"} <= codecs


@pytest.mark.parametrize("dtype", ["uint16", "int16", "float32", "uint32", "int64", "float64"])
def test_image_tiles_of_wide_dtypes_go_shuffled(dtype):
    data = (np.random.default_rng(1).integers(0, 5, (64, 64)) * 3).astype(dtype)
    codec, shape, name, payload = encode_array(data, data.dtype, data.shape)
    assert (codec, name) == ("lz4s", dtype)
    assert bytes(payload) == lz4s(data)
    np.testing.assert_array_equal(decode_tile(codec, payload, shape, name), data)


def test_shuffled_layout_is_byte_j_of_every_element_in_turn():
    data = np.array([0x0102, 0x0304, 0x0506], "<u2")
    assert shuffle_bytes(data).tolist() == [0x02, 0x04, 0x06, 0x01, 0x03, 0x05]
    data = np.array([0x01020304, 0xA0B0C0D0], "<u4")
    assert shuffle_bytes(data).tolist() == [0x04, 0xD0, 0x03, 0xC0, 0x02, 0xB0, 0x01, 0xA0]
    data = np.array([0x0102030405060708, 2**64 - 1], "<u8")
    assert shuffle_bytes(data).tolist() == [8, 255, 7, 255, 6, 255, 5, 255, 4, 255, 3, 255, 2, 255, 1, 255]
    data = np.array([-1.5, 2.0], "<f4")
    want = np.frombuffer(data.tobytes(), np.uint8).reshape(2, 4).T.reshape(-1)
    assert shuffle_bytes(data).tolist() == want.tolist()


def test_noisy_uint16_tiles_go_shuffled_at_about_half_their_size():
    sizes = []
    for seed in range(8):
        data = noisy_uint16(seed)
        plain = lz4.block.compress(data, store_size=False)
        assert len(plain) > data.nbytes * (1 - MIN_SAVING), "plain LZ4 hardly shrinks such tiles"
        codec, shape, name, payload = encode_array(data, data.dtype, data.shape)
        assert codec == "lz4s"
        sizes.append(len(payload))
        np.testing.assert_array_equal(decode_tile(codec, payload, shape, name), data)
    assert max(sizes) < 0.65 * 8192, sizes


def test_compression_that_saves_less_than_an_eighth_goes_raw():
    assert MIN_SAVING == 1 / 8
    rng = np.random.default_rng(7)
    for dtype in ("uint8", "uint16", "uint32"):
        for labels in (False, True):
            # random bytes, the first `k` elements constant: LZ4 (plain or shuffled) saves ~k bytes
            data = rng.integers(0, 256, 8192, dtype=np.uint8).view(dtype).reshape(64, -1).copy()
            n = data.size
            for fraction, want in ((0.06, "raw"), (0.2, "lz4" if dtype == "uint8" or labels else "lz4s")):
                tile = data.copy()
                tile.reshape(-1)[: int(n * fraction)] = 1
                codec, _, _, payload = encode_array(tile, tile.dtype, tile.shape, labels=labels)
                assert codec == want, (dtype, labels, fraction, codec)
                if codec == "raw":  # smaller than raw, but not by enough to be worth decoding
                    assert min(len(lz4.block.compress(tile, store_size=False)), len(lz4s(tile))) < tile.nbytes
                    assert np.shares_memory(np.asarray(payload), tile), "a raw payload is a view"
                else:
                    assert len(payload) <= tile.nbytes * 7 / 8
                np.testing.assert_array_equal(decode_tile(codec, payload, tile.shape, dtype), tile)


def test_one_byte_tiles_stay_plain_lz4():
    rng = np.random.default_rng(3)
    data = (rng.integers(0, 4, (64, 64)) * 9).astype(np.uint8)
    for labels in (False, True):
        for dt in ("uint8", "int8"):
            tile = data.view(dt)
            codec, _, _, payload = encode_array(tile, tile.dtype, tile.shape, labels=labels)
            assert codec == "lz4"
            assert bytes(payload) == lz4.block.compress(tile, store_size=False)
            np.testing.assert_array_equal(decode_tile(codec, payload, tile.shape, dt), tile)


def test_label_tiles_try_plain_lz4_first_then_shuffled():
    # a few big ids in runs: plain LZ4 matches whole values (shuffled would be ~2.5x bigger)
    y, x = np.ogrid[:64, :64]
    tile = np.zeros((64, 64), np.uint32)
    tile[(y - 20) ** 2 + (x - 30) ** 2 < 300] = 3_000_000_007
    tile[(y - 50) ** 2 + (x - 10) ** 2 < 200] = 123_456_789
    codec, _, _, payload = encode_array(tile, tile.dtype, tile.shape, labels=True)
    assert codec == "lz4" and bytes(payload) == lz4.block.compress(tile, store_size=False)
    assert len(payload) < len(lz4s(tile))
    assert encode_array(tile, tile.dtype, tile.shape)[0] == "lz4s", "an image tile goes shuffled"
    # per-voxel small values in uint16: plain LZ4 does not pay, shuffled does (the high bytes are 0)
    noisy = np.random.default_rng(4).integers(0, 256, (64, 64)).astype(np.uint16)
    assert len(lz4.block.compress(noisy, store_size=False)) > noisy.nbytes * 7 / 8
    codec, _, _, payload = encode_array(noisy, noisy.dtype, noisy.shape, labels=True)
    assert codec == "lz4s" and bytes(payload) == lz4s(noisy)
    np.testing.assert_array_equal(decode_tile(codec, payload, noisy.shape, "uint16"), noisy)


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
    for labels, want in ((True, "lz4"), (False, "lz4s")):
        codec, _, _, payload = encode_array(data, data.dtype, data.shape, labels=labels)
        assert codec == want
        with pytest.raises(Exception):  # noqa: B017 - lz4 raises its own error type
            decode_tile(codec, payload[: len(payload) // 2], data.shape, "uint16")
        with pytest.raises(ValueError, match="8190 bytes, expected 8192"):  # a valid block, too short
            decode_tile(codec, lz4.block.compress(bytes(8190), store_size=False), data.shape, "uint16")
        with pytest.raises(ValueError, match=f"{codec} tile without a payload, expected 8192 bytes"):
            decode_tile(codec, None, data.shape, "uint16")
    with pytest.raises(Exception):  # noqa: B017 - a block decoding to more bytes than the tile has
        decode_tile("lz4s", lz4.block.compress(bytes(8194), store_size=False), data.shape, "uint16")
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
    """(data, codec, payload) of tiles of awkward sizes: lz4s, raw of 15/6/8/24 bytes, zero, lz4."""
    out = []
    for data, labels in [
        ((rng.integers(0, 4, (16, 24)) * 7).astype("uint16"), False),  # lz4s
        (rng.integers(1, 100, (3, 5)).astype("uint8"), False),  # raw, 15 bytes
        (rng.integers(1, 100, (3,)).astype("uint16"), False),  # raw, 6 bytes
        (np.zeros((4, 4), "uint32"), False),  # zero: no bytes
        (rng.integers(1, 100, (1,)).astype("uint64"), False),  # raw, 8 bytes
        ((rng.integers(0, 3, (32, 32)) * 5).astype("uint32"), True),  # lz4
        (rng.integers(1, 2**31, (2, 3)).astype("float32"), False),  # raw, 24 bytes
    ]:
        codec, _, _, payload = encode_array(data, data.dtype, data.shape, labels=labels)
        out.append((data, codec, payload))
    assert [c for _, c, _ in out] == ["lz4s", "raw", "raw", "zero", "raw", "lz4", "raw"]
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
