"""The kernel endpoint driven with synthetic messages and buffers, as a view would send them."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from voxwidget.comm import protocol
from voxwidget.comm.endpoint import Endpoint
from voxwidget.comm.tiles import ALIGN, decode_tile, tile_payload
from voxwidget.labelmap import LabelMap
from voxwidget.multiscale.downsample import downsample_mode
from voxwidget.multiscale.sources import ImageSource

SHAPE = (20, 40, 36)
CHUNKS = (8, 16, 16)


class Wire:
    """Collects what the endpoint sends, validated against the schema."""

    def __init__(self) -> None:
        self.messages: list[tuple[dict, list]] = []
        self.cond = threading.Condition()

    def __call__(self, msg: dict, buffers: list) -> None:
        protocol.validate(msg, buffers, sender="kernel")
        assert sum(len(b) for b in buffers) <= protocol.MAX_MESSAGE_BYTES
        if msg["kind"] == "chunks.data":
            check_one_buffer(msg["tiles"], buffers)
        with self.cond:
            self.messages.append((msg, buffers))
            self.cond.notify_all()

    def wait(self, pred, timeout: float = 5.0) -> list[tuple[dict, list]]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not (found := [m for m in self.messages if pred(m[0])]):
                left = deadline - time.monotonic()
                assert left > 0, f"no matching message; got {[m[0]['kind'] for m in self.messages]}"
                self.cond.wait(left)
            return found

    def reply(self, kind: str, reply_to: str) -> dict:
        return self.wait(lambda m: m["kind"] == kind and m.get("reply_to") == reply_to)[0][0]

    def tiles(self, rid: str) -> list[tuple[dict, list]]:
        msgs = self.wait(lambda m: m["kind"] == "chunks.data" and m["reply_to"] == rid and m["done"])
        del msgs
        return [(m, b) for m, b in self.messages if m["kind"] == "chunks.data" and m["reply_to"] == rid]


def check_one_buffer(tiles: list[dict], buffers: list) -> None:
    """A tile reply carries every payload in one buffer (none without payload bytes), each at an
    8-aligned offset, in order and without overlap, the buffer ending with the last one."""
    with_bytes = [t for t in tiles if t["buffer"] >= 0]
    assert len(buffers) == (1 if with_bytes else 0), (len(buffers), len(with_bytes))
    end = 0
    for t in tiles:
        if t["buffer"] < 0:
            assert t["codec"] in ("zero", "unchanged") and (t["offset"], t["nbytes"]) == (0, 0), t
            continue
        assert t["buffer"] == 0 and t["offset"] % ALIGN == 0 and t["offset"] >= end and t["nbytes"] > 0, t
        end = t["offset"] + t["nbytes"]
    assert not with_bytes or len(memoryview(buffers[0]).cast("B")) == end


@pytest.fixture
def image():
    return (np.arange(np.prod(SHAPE), dtype=np.uint32).reshape(SHAPE) % 1000).astype(np.uint16)


@pytest.fixture
def setup(image, tmp_path):
    wire = Wire()
    labels = LabelMap(SHAPE, dtype="uint8", chunks=CHUNKS, path=tmp_path / "labels.zarr")
    ep = Endpoint(wire, ImageSource(image), labels, "fp")
    yield ep, wire, labels
    ep.close()
    labels.close()


def edits_msg(batch: str, entries: list[tuple[list[int], list[int], list[int]]], dtype="uint8", stroke="s1"):
    """An edits.apply message with one (offsets, values) buffer pair per chunk."""
    edits, buffers = [], []
    for key, offsets, values in entries:
        edits.append(
            {
                "key": key,
                "base": 0,
                "count": len(offsets),
                "offsets": len(buffers),
                "values": len(buffers) + 1,
            }
        )
        buffers += [np.asarray(offsets, "<u4").tobytes(), np.asarray(values, dtype).tobytes()]
    return {"kind": "edits.apply", "id": batch, "stroke": stroke, "dtype": dtype, "edits": edits}, buffers


def test_hello_gets_welcome_with_store_id(setup):
    ep, wire, labels = setup
    ep.handle({"kind": "hello", "id": "h", "protocol": protocol.PROTOCOL_VERSION})
    welcome = wire.reply("welcome", "h")
    assert welcome["labelmap_id"] == labels.id and welcome["fingerprint"] == "fp"
    ep.handle({"kind": "hello", "id": "h2", "protocol": 99})
    assert "protocol 99" in wire.reply("error", "h2")["error"]


@pytest.mark.parametrize(("axis", "index"), [(0, 13), (1, 39), (2, 0)])
def test_plane_tiles_reassemble_the_slice(setup, image, axis, index):
    ep, wire, _ = setup
    _level_plane_get(ep, "r", "image", 0, axis, index)
    plane = np.take(image, index, axis=axis)
    got, _ = _plane_tiles(wire, "r", plane.shape)
    assert all((msg["axis"], msg["index"]) == (axis, index) for msg, _ in wire.tiles("r"))
    np.testing.assert_array_equal(got, plane)


def test_image_tiles_go_byte_shuffled_and_label_tiles_plain_lz4(tmp_path):
    """Noisy intensities compress only byte-shuffled ("lz4s"); label runs of big ids compress best as
    plain LZ4, which the endpoint asks for on the label layer."""
    shape = (8, 64, 64)
    rng = np.random.default_rng(0)
    image = (((np.arange(64) // 32) * 1000 + 300)[None, None, :] + rng.integers(0, 64, shape)).astype("u2")
    labels = LabelMap(shape, dtype="uint32", chunks=shape, path=tmp_path / "labels.zarr")
    y, x = np.ogrid[:64, :64]
    labels[3] = np.where((y - 30) ** 2 + (x - 20) ** 2 < 400, 3_000_000_007, 0).astype("u4")
    wire = Wire()
    ep = Endpoint(wire, ImageSource(image), labels, "fp")
    try:
        for layer, want, data in (("image", "lz4s", image[3]), ("labels", "lz4", labels.to_numpy()[3])):
            get = {"kind": "chunks.get", "layer": layer, "level": 0, "keys": [[0, 0, 0]], "known": [-1]}
            ep.handle({**get, "id": layer, "axis": 0, "index": 3})
            msg, buffers = wire.tiles(layer)[0]
            (t,) = msg["tiles"]
            assert t["codec"] == want, layer
            assert t["nbytes"] < data.nbytes * 0.6, (layer, t["nbytes"])
            got = decode_tile(t["codec"], tile_payload(t, buffers), t["shape"], t["dtype"])
            np.testing.assert_array_equal(got, data)
    finally:
        ep.close()
        labels.close()


def test_label_tiles_zero_then_data_then_unchanged(setup):
    ep, wire, labels = setup
    get = {"kind": "chunks.get", "layer": "labels", "level": 0, "keys": [[1, 0, 0]], "axis": 0, "index": 9}
    ep.handle({**get, "id": "a", "known": [-1]})
    (t,) = wire.tiles("a")[0][0]["tiles"]
    assert (t["codec"], t["buffer"], t["offset"], t["nbytes"], t["shape"]) == ("zero", -1, 0, 0, [16, 16])
    labels[9, 2:5, 3] = 4
    ep.handle({**get, "id": "b", "known": [t["version"]]})
    msg, buffers = wire.tiles("b")[0]
    (t2,) = msg["tiles"]
    assert t2["version"] > t["version"]
    data = decode_tile(t2["codec"], tile_payload(t2, buffers), t2["shape"], t2["dtype"])
    assert data[2:5, 3].tolist() == [4, 4, 4] and data.sum() == 12
    ep.handle({**get, "id": "c", "known": [t2["version"]]})
    assert wire.tiles("c")[0][0]["tiles"][0]["codec"] == "unchanged"


def test_big_requests_are_split_under_the_budget(tmp_path):
    shape, chunks = (64, 256, 256), (64, 64, 64)
    noise = np.random.default_rng(0).integers(0, 2**16, shape, dtype=np.uint16)  # incompressible
    wire = Wire()
    ep = Endpoint(wire, ImageSource(noise), LabelMap(shape, chunks=chunks), "fp")
    keys = [[0, j, k] for j in range(4) for k in range(4)]  # 16 whole chunks of 512 KiB
    ep.handle(
        {"kind": "chunks.get", "id": "r", "layer": "image", "level": 0, "keys": keys, "known": [-1] * 16}
    )
    msgs = wire.tiles("r")
    assert len(msgs) == 2  # 8 chunks of 512 KiB fill each 4 MiB reply
    assert [m["done"] for m, _ in msgs] == [False, True]
    assert all(len(bufs) == 1 and len(bufs[0]) <= protocol.REPLY_BYTES for _, bufs in msgs)  # one each
    got = {}
    for m, bufs in msgs:
        assert len(m["tiles"]) == 8
        for t in m["tiles"]:
            got[tuple(t["key"])] = decode_tile(t["codec"], tile_payload(t, bufs), t["shape"], t["dtype"])
    for k in keys:
        want = noise[:, k[1] * 64 : (k[1] + 1) * 64, k[2] * 64 : (k[2] + 1) * 64]
        np.testing.assert_array_equal(got[tuple(k)], want)
    assert ep.stats["bytes"] == 16 * 64**3 * 2  # payload bytes
    ep.close()


def test_cancel_stops_a_request(tmp_path):
    gate = threading.Event()
    reads = []

    class Slow:
        shape, dtype = (8, 64, 64), np.dtype("uint8")

        def __getitem__(self, region):
            reads.append(region)
            gate.wait(5)
            return np.ones([r.stop - r.start for r in region], np.uint8)

    wire = Wire()
    src = ImageSource(Slow())
    ep = Endpoint(wire, src, LabelMap(Slow.shape, chunks=(8, 8, 8)), "fp", workers=1)
    keys = [[0, j, k] for j in range(8) for k in range(8)]
    ep.handle(
        {"kind": "chunks.get", "id": "r", "layer": "image", "level": 0, "keys": keys, "known": [-1] * 64}
    )
    time.sleep(0.2)
    ep.handle({"kind": "chunks.cancel", "ids": ["r"]})
    gate.set()
    ep.handle({"kind": "hello", "id": "after", "protocol": protocol.PROTOCOL_VERSION})
    wire.reply("welcome", "after")
    time.sleep(0.3)
    assert len(reads) <= 2, "the worker went on reading chunks for a cancelled request"
    assert not [m for m, _ in wire.messages if m["kind"] == "chunks.data" and m["done"]]
    ep.close()


def test_edit_batch_applies_and_is_acked_with_versions(setup):
    ep, wire, labels = setup
    # chunk (0,0,0): voxel (1,2,3) -> offset 1*256 + 2*16 + 3; chunk (1,1,0): voxel (8+0,16+1,0)
    msg, bufs = edits_msg("b1", [([0, 0, 0], [1 * 256 + 2 * 16 + 3], [5]), ([1, 1, 0], [16], [6])])
    ep.handle(msg, bufs)
    ack = wire.reply("edits.ack", "b1")
    assert ack["keys"] == [[0, 0, 0], [1, 1, 0]] and not ack["duplicate"]
    assert labels[1, 2, 3] == 5 and labels[8, 17, 0] == 6 and labels.to_numpy().sum() == 11
    assert ack["versions"] == [labels.version((0, 0, 0)), labels.version((1, 1, 0))]
    ep.handle(msg, bufs)  # replayed: a no-op
    assert [m for m, _ in wire.messages if m.get("reply_to") == "b1" and m["kind"] == "edits.ack"][-1][
        "duplicate"
    ]
    assert labels.to_numpy().sum() == 11


BAD_EDITS = [
    ("key [9, 0, 0]", edits_msg("x", [([9, 0, 0], [0], [1])])),
    ("4096", edits_msg("x", [([0, 0, 0], [4096], [1])])),  # past the 8*16*16 chunk
    ("'uint16'", edits_msg("x", [([0, 0, 0], [0], [300])], dtype="uint16")),
    (
        "has 8 bytes",
        (lambda m, b: (m, [np.zeros(2, "<u4").tobytes(), b[1]]))(*edits_msg("x", [([0, 0, 0], [0], [1])])),
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD_EDITS, ids=[b[0] for b in BAD_EDITS])
def test_bad_batches_are_rejected_whole(setup, text, message):
    ep, wire, labels = setup
    msg, bufs = message
    # a good chunk first: a batch applies whole or not at all
    good = {"key": [0, 1, 1], "base": 0, "count": 1, "offsets": len(bufs), "values": len(bufs) + 1}
    msg = {**msg, "edits": [good, *msg["edits"]]}
    bufs = [*bufs, np.asarray([0], "<u4").tobytes(), np.asarray([1], msg["dtype"]).tobytes()]
    ep.handle(msg, bufs)
    reject = wire.reply("edits.reject", "x")
    assert text in reject["error"]
    assert labels.to_numpy().sum() == 0


def test_edge_chunk_offset_outside_the_array_is_rejected(setup):
    ep, wire, labels = setup
    # chunk (2,2,2) spans z 16..19 (of 24 nominal): local z=5 is voxel z=21, outside the 20-deep volume
    msg, bufs = edits_msg("edge", [([2, 2, 2], [5 * 256], [1])])
    ep.handle(msg, bufs)
    assert "edits.reject" == wire.wait(lambda m: m.get("reply_to") == "edge")[0][0]["kind"]
    assert labels.to_numpy().sum() == 0


@pytest.mark.parametrize(
    "content",
    ["garbage", {"kind": "edits.apply", "id": "m"}, {"kind": "chunks.get", "id": "m", "layer": "image"}],
)
def test_malformed_messages_get_an_error_and_change_nothing(setup, content):
    ep, wire, labels = setup
    ep.handle(content, [])
    err = wire.wait(lambda m: m["kind"] == "error")[0][0]
    assert err["error"]
    assert labels.to_numpy().sum() == 0


def test_python_edits_push_one_coalesced_change_notice(setup):
    _ep, wire, labels = setup
    for y in range(40):
        labels[3, y, 0] = 2  # 40 edits across chunks (0,0,0),(0,1,0),(0,2,0)
    notices = wire.wait(lambda m: m["kind"] == "chunks.changed")
    time.sleep(0.1)
    notices = [m for m, _ in wire.messages if m["kind"] == "chunks.changed"]
    assert len(notices) <= 2
    keys = {tuple(k) for n in notices for k in n["keys"]}
    assert keys == {(0, 0, 0), (0, 1, 0), (0, 2, 0)}
    last = {tuple(k): v for n in notices for k, v in zip(n["keys"], n["versions"], strict=True)}
    assert last[(0, 2, 0)] == labels.version((0, 2, 0))


def test_undo_and_redo_commands(setup):
    ep, wire, labels = setup
    msg, bufs = edits_msg("b", [([0, 0, 0], [0, 1, 2], [3, 3, 3])])
    ep.handle(msg, bufs)
    wire.reply("edits.ack", "b")
    ep.handle({"kind": "command", "id": "u", "name": "undo"})
    assert wire.reply("command.result", "u") == {
        "kind": "command.result",
        "reply_to": "u",
        "ok": True,
        "changed": 1,
    }
    assert labels.to_numpy().sum() == 0
    ep.handle({"kind": "command", "id": "r", "name": "redo"})
    wire.reply("command.result", "r")
    assert labels.to_numpy().sum() == 9
    ep.handle({"kind": "command", "id": "z", "name": "explode"})
    assert "unknown command 'explode'" in wire.reply("command.result", "z")["error"]


def test_a_chunk_changed_by_python_and_a_batch_is_announced_without_origin(setup):
    ep, wire, labels = setup
    labels[0, 0, 1] = 9  # Python edit, then a browser batch on the same chunk, in one flush window
    msg, bufs = edits_msg("mix", [([0, 0, 0], [0], [5])])
    ep.handle(msg, bufs)
    ep.flush()
    notices = [m for m, _ in wire.messages if m["kind"] == "chunks.changed"]
    assert [n.get("origin") for n in notices] == [None]
    assert notices[0]["versions"] == [labels.version((0, 0, 0))]


def test_ping_answers_with_the_store_id(setup):
    ep, wire, labels = setup
    ep.handle({"kind": "ping", "id": "p1"})
    assert wire.reply("pong", "p1")["labelmap_id"] == labels.id


# -- levels of detail ---------------------------------------------------------------------------
def _plane_tiles(wire, rid, shape2):
    got = np.full(shape2, -1, np.int64)
    versions = {}
    for msg, buffers in wire.tiles(rid):
        axis = msg["axis"]
        other = [a for a in range(3) if a != axis]
        for t in msg["tiles"]:
            versions[tuple(t["key"])] = (t["version"], t["codec"])
            if t["codec"] == "unchanged":
                continue
            data = decode_tile(t["codec"], tile_payload(t, buffers), t["shape"], t["dtype"])
            o = [t["key"][a] * CHUNKS[a] for a in other]
            got[o[0] : o[0] + data.shape[0], o[1] : o[1] + data.shape[1]] = data
    return got, versions


def _level_plane_get(ep, rid, layer, level, axis, index, known=None):
    shape = ep.level_shape(level)
    grid = [-(-s // c) for s, c in zip(shape, CHUNKS, strict=True)]
    keys = [
        [i, j, k]
        for i in range(grid[0])
        for j in range(grid[1])
        for k in range(grid[2])
        if [i, j, k][axis] == index // CHUNKS[axis]
    ]
    ep.handle(
        {
            "kind": "chunks.get",
            "id": rid,
            "layer": layer,
            "level": level,
            "keys": keys,
            "known": known if known is not None else [-1] * len(keys),
            "axis": axis,
            "index": index,
        }
    )
    return keys


BIG = (40, 160, 144)


@pytest.fixture
def big(tmp_path):
    image = (np.arange(np.prod(BIG), dtype=np.uint32).reshape(BIG) % 997).astype(np.uint16)
    wire = Wire()
    labels = LabelMap(BIG, dtype="uint8", chunks=CHUNKS, path=tmp_path / "labels.zarr")
    ep = Endpoint(wire, ImageSource(image), labels, "fp")
    yield ep, wire, labels
    ep.close()
    labels.close()


@pytest.mark.parametrize("level", [1, 2])
def test_image_tiles_at_every_level_match_the_pyramid(big, level):
    ep, wire, _ = big
    assert len(ep.levels) >= 3
    lv = ep.levels[level]
    index = lv.shape[0] // 2
    _level_plane_get(ep, "r", "image", level, 0, index)
    got, versions = _plane_tiles(wire, "r", lv.shape[1:])
    np.testing.assert_array_equal(got, lv.read((slice(index, index + 1), slice(None), slice(None)))[0])
    assert {m["level"] for m, _ in wire.tiles("r")} == {level}
    assert ep.stats["levels"][level] == len(versions) and ep.stats["bytes"] > 0
    # a browser holding them (version 0) gets "unchanged", no bytes
    before = ep.stats["bytes"]
    keys = _level_plane_get(ep, "r2", "image", level, 0, index, known=None)
    wire.tiles("r2")
    ep.stats["bytes"] = before
    _level_plane_get(ep, "r3", "image", level, 0, index, known=[0] * len(keys))
    _, v3 = _plane_tiles(wire, "r3", lv.shape[1:])
    assert {c for _, c in v3.values()} == {"unchanged"} and ep.stats["bytes"] == before


def test_coarse_label_tiles_are_mode_downsampled_and_versioned_by_the_chunks_under_them(big):
    ep, wire, labels = big
    d = ep.downsamples[1]
    lv_shape = ep.level_shape(1)
    index = 2  # level-1 plane z = 2 covers level-0 z = 2 * d ... 3 * d - 1
    _level_plane_get(ep, "a", "labels", 1, 0, index)
    got, v0 = _plane_tiles(wire, "a", lv_shape[1:])
    assert (got == 0).all() and {c for _, c in v0.values()} == {"zero"}
    assert all(v == 0 for v, _ in v0.values())
    labels[index * d[0] : (index + 1) * d[0], 0:10, 0:8] = 7
    ep.flush()
    changed = wire.wait(lambda m: m["kind"] == "chunks.changed" and m["level"] == 1)
    notice = changed[-1][0]
    assert notice["keys"] == [[0, 0, 0]] and notice["versions"][0] > 0 and "origin" not in notice
    _level_plane_get(ep, "b", "labels", 1, 0, index, known=None)
    got, v1 = _plane_tiles(wire, "b", lv_shape[1:])
    expected = downsample_mode(labels.to_numpy()[index * d[0] : (index + 1) * d[0]], d)[0]
    np.testing.assert_array_equal(got, expected)
    assert v1[(0, 0, 0)][0] == notice["versions"][0] == ep.label_version(1, (0, 0, 0))
    # a known version gets "unchanged"; another edit under the coarse chunk gives a new version
    keys = _level_plane_get(ep, "c", "labels", 1, 0, index, known=[v for v, _ in v1.values()])
    _, v2 = _plane_tiles(wire, "c", lv_shape[1:])
    assert {c for _, c in v2.values()} == {"unchanged"} and len(keys) == len(v2)
    labels[0, 0, 0] = 3
    assert ep.label_version(1, (0, 0, 0)) > v1[(0, 0, 0)][0]


def test_levels_outside_the_pyramid_and_planes_outside_a_level_are_errors(big):
    ep, wire, _ = big
    n = len(ep.levels)
    base = {"kind": "chunks.get", "layer": "image", "keys": [[0, 0, 0]], "known": [-1]}
    ep.handle({**base, "id": "x", "level": n})
    assert "does not exist" in wire.reply("error", "x")["error"]
    ep.handle({**base, "id": "y", "level": 1, "axis": 0, "index": ep.level_shape(1)[0]})
    assert "outside level 1" in wire.reply("error", "y")["error"]


def test_clear_browser_cache_sends_cache_clear(big):
    ep, wire, _ = big
    ep.clear_browser_cache()
    assert wire.wait(lambda m: m["kind"] == "cache.clear")


def test_image_chunks_are_read_once_per_chunk_layer_and_kept_under_a_budget(tmp_path):
    image = (np.arange(np.prod(BIG), dtype=np.uint32).reshape(BIG) % 997).astype(np.uint16)
    wire = Wire()
    labels = LabelMap(BIG, dtype="uint8", chunks=CHUNKS)
    chunk_bytes = int(np.prod(CHUNKS)) * 2
    ep = Endpoint(wire, ImageSource(image), labels, "fp", image_cache_bytes=100 * chunk_bytes)
    reads = []
    level0 = ep.levels[0]
    original = level0.read
    level0.read = lambda region: reads.append(region) or original(region)
    try:
        keys = _level_plane_get(ep, "a", "image", 0, 0, 9)
        got, _ = _plane_tiles(wire, "a", BIG[1:])
        np.testing.assert_array_equal(got, image[9])
        assert len(keys) == 90 and 1 <= len(reads) <= 3  # batched region reads, not one per chunk
        n = len(reads)
        _level_plane_get(ep, "b", "image", 0, 0, 10)  # the same chunk layer: no read at all
        got, _ = _plane_tiles(wire, "b", BIG[1:])
        np.testing.assert_array_equal(got, image[10])
        assert len(reads) == n
        assert ep.tile_server.image_cache.nbytes <= 100 * chunk_bytes
    finally:
        ep.close()


def test_all_zero_image_chunks_cost_no_cache_memory_and_send_zero_tiles(tmp_path):
    image = np.zeros(BIG, np.uint16)
    image[:, :16, :16] = 5  # one chunk column holds data
    wire = Wire()
    ep = Endpoint(wire, ImageSource(image), LabelMap(BIG, dtype="uint8", chunks=CHUNKS), "fp")
    try:
        _level_plane_get(ep, "a", "image", 0, 0, 9)
        got, versions = _plane_tiles(wire, "a", BIG[1:])
        np.testing.assert_array_equal(got, image[9])
        assert versions[(1, 0, 0)][1] in ("lz4s", "raw")
        assert {c for k, (_, c) in versions.items() if k != (1, 0, 0)} == {"zero"}
        assert ep.tile_server.image_cache.nbytes == int(np.prod(CHUNKS)) * 2  # only the chunk with data
    finally:
        ep.close()


def test_coarse_planes_of_a_single_scale_image_read_only_the_planes_under_them(tmp_path):
    """A computed level's plane tile reads the 2^k source planes under it, not whole 3D blocks (whose
    depth along the view axis would be many more planes), and matches the 3D path's voxels."""
    shape = (64, 320, 288)
    image = (np.arange(np.prod(shape), dtype=np.uint32).reshape(shape) % 251).astype(np.uint16)
    wire = Wire()
    ep = Endpoint(wire, ImageSource(image), LabelMap(shape, dtype="uint8", chunks=CHUNKS), "fp")
    reads: list[tuple] = []
    src = ep.levels[0]
    original = src.read
    src.read = lambda region: reads.append(region) or original(region)
    try:
        level = 2
        assert ep.levels[level].computed and ep.downsamples[level][0] == 4
        _level_plane_get(ep, "a", "image", level, 0, 5)  # level-2 plane z=5: source planes 20..23
        lv_shape = ep.level_shape(level)
        got, _ = _plane_tiles(wire, "a", lv_shape[1:])
        planes = {z for r in reads for z in range(r[0].start, r[0].stop)}
        assert planes == set(range(20, 24)), sorted(planes)
        blocks = ep.levels[level].read_blocks((slice(5, 6), slice(0, lv_shape[1]), slice(0, lv_shape[2])))
        np.testing.assert_array_equal(got, blocks[0])
    finally:
        ep.close()


def test_unchanged_label_tiles_copy_nothing(tmp_path, big):
    ep, wire, _ = big
    ep.labels[3, :, :] = 7
    calls = []
    real = ep.labels.snapshot_chunk
    ep.labels.snapshot_chunk = lambda *a: calls.append(a) or real(*a)
    keys = _level_plane_get(ep, "a", "labels", 0, 0, 3)
    got, versions = _plane_tiles(wire, "a", BIG[1:])
    assert (got == 7).all() and len(calls) == len(keys)
    assert all(len(a[1]) == 3 and a[1][0] == 3 for a in calls)  # one plane is cut, not the chunk
    calls.clear()
    _level_plane_get(ep, "b", "labels", 0, 0, 3, known=[versions[tuple(k)][0] for k in keys])
    _, again = _plane_tiles(wire, "b", BIG[1:])
    assert {c for _, c in again.values()} == {"unchanged"} and not calls
