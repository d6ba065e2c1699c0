"""Both protocol mirrors agree: same schema, and each side accepts what the other encodes.

Python builds every kernel→browser message (a tile reply packed by the kernel's ``ReplyPacker``: real
LZ4, byte-shuffled LZ4 and raw payloads of every dtype in one buffer at 8-aligned offsets) and the
label colours;
``js/scripts/protocol-check.mjs`` validates and decodes them with the browser's own modules (the tile
reply both record by record and through the real ``ChunkClient``) and
answers with its schema and with browser→kernel messages built by the real JS encoders, which the
Python side validates and applies to a real label map.
"""

from __future__ import annotations

import base64
import hashlib
import json
import pathlib
import shutil
import subprocess
import time

import numpy as np
import pytest

from voxwidget.colors import label_rgb
from voxwidget.comm import protocol
from voxwidget.comm.endpoint import Endpoint
from voxwidget.comm.tiles import ReplyPacker, encode_array
from voxwidget.labelmap import LabelMap
from voxwidget.multiscale.sources import ImageSource

ROOT = pathlib.Path(__file__).parents[1]
SCRIPT = ROOT / "js" / "scripts" / "protocol-check.mjs"
LABELS = [1, 2, 3, 255, 256, 65535, 2**32 - 1, 2**32, 2**53 + 1, 2**63, 2**64 - 1]


def b64(data) -> str:
    return base64.b64encode(memoryview(data).cast("B")).decode()


def python_side() -> dict:
    rng = np.random.default_rng(3)
    tiles = []
    packer = ReplyPacker()  # the kernel's own packing: every payload in one buffer, 8-aligned
    y, x = np.ogrid[:37, :29]
    pattern = (x // 8 + y // 8) % 4 * 40 + 3
    for dtype in protocol.DTYPES:
        wide = np.dtype(dtype).itemsize > 1
        noisy = pattern + rng.integers(0, 8, pattern.shape)
        for data, labels in [
            ((rng.integers(0, 4, (16, 24)) * 7).astype(dtype), False),  # compressible: lz4s (lz4 for 1 byte)
            ((rng.integers(0, 4, (16, 24)) * 7).astype(dtype), True),  # a label tile: plain lz4
            (noisy.astype(dtype), False),  # noisy: lz4s, odd shape
            (((noisy - 83) * (1000 if wide else 1)).astype(dtype), False),  # negative (wrapped if unsigned)
            (rng.integers(0, 100, (3, 5)).astype(dtype), False),  # tiny: raw (15 bytes for uint8: padding)
            (np.zeros((4, 4), dtype), False),  # zero
        ]:
            codec, _, name, payload = encode_array(data, data.dtype, data.shape, labels=labels)
            record = {"key": [0, 0, len(tiles)], "version": 1, "shape": list(data.shape), "dtype": name}
            record["codec"] = codec
            assert packer.add(record, payload) is None
            want = data.astype(np.dtype(dtype).newbyteorder("<")).tobytes()
            tiles.append(
                {
                    "message": 1,  # the chunks.data message below
                    "tile": len(tiles),
                    "codec": codec,
                    "shape": list(data.shape),
                    "dtype": dtype,
                    "expected": b64(want),
                    "sha256": hashlib.sha256(want).hexdigest(),
                }
            )
        assert {t["codec"] for t in tiles[-6:]} >= ({"lz4", "lz4s"} if wide else {"lz4"})
    tile_records, tile_buffers = packer.take()
    assert len(tile_buffers) == 1
    assert any(r["offset"] % 8 == 0 and r["nbytes"] % 8 for r in tile_records if r["buffer"] == 0)  # padding
    codecs = {t["codec"] for t in tiles}
    assert codecs == {"lz4", "lz4s", "raw", "zero"}
    msgs = [
        (
            protocol.make(
                "welcome",
                reply_to="h",
                protocol=protocol.PROTOCOL_VERSION,
                labelmap_id="lm",
                fingerprint="fp",
            ),
            [],
        ),
        (
            protocol.make(
                "chunks.data",
                reply_to="r",
                layer="image",
                level=0,
                tiles=tile_records,
                done=True,
                axis=0,
                index=3,
            ),
            tile_buffers,
        ),
        (protocol.make("edits.ack", reply_to="b", keys=[[0, 1, 2]], versions=[4], duplicate=False), []),
        (protocol.make("edits.reject", reply_to="b", error="label 300 is outside 0 … 255"), []),
        (protocol.make("edits.reject", reply_to="b", error="not saved: [Errno 28]", retry=True), []),
        (
            protocol.make(
                "chunks.changed", layer="labels", level=0, keys=[[1, 1, 1]], versions=[9], origin="b"
            ),
            [],
        ),
        (protocol.make("chunks.changed", layer="labels", level=0, keys=[], versions=[]), []),
        (protocol.make("command.result", reply_to="c", ok=True, changed=1), []),
        (protocol.make("error", error="bad"), []),
        (protocol.make("pong", reply_to="p", labelmap_id="lm"), []),
        (protocol.make("cache.clear"), []),
        (protocol.make("pending.discard"), []),
        (protocol.make("labels.counts", labels=["1", str(2**64 - 1)], counts=[10, 3], full=True), []),
        (protocol.make("labels.counts", labels=["1"], counts=[0], full=False), []),
        (protocol.make("screenshot", id="s1"), []),
        (protocol.make("screenshot", id="s2", panel="2d"), []),
        (
            protocol.make(
                "chunks.data", reply_to="r2", layer="labels", level=2, tiles=[], done=True, axis=1, index=0
            ),
            [],
        ),
    ]
    kinds = {m["kind"] for m, _ in msgs}
    assert kinds == {k for k, v in protocol.SCHEMA.items() if v["from"] == "kernel"}
    return {
        "schema": protocol.schema_document(),
        "messages": [{"msg": m, "buffers": [b64(b) for b in bufs]} for m, bufs in msgs],
        "tiles": tiles,
        "colors": [{"label": str(v), "rgb": list(label_rgb(v))} for v in LABELS],
    }


@pytest.fixture(scope="module")
def js_answer() -> dict:
    node = shutil.which("node")
    assert node, "node is required (the front end is built with it)"
    done = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(python_side()),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_same_schema(js_answer):
    assert js_answer["schema"] == json.loads(json.dumps(protocol.schema_document()))


def test_js_accepts_and_decodes_python_messages_tiles_and_colours(js_answer):
    assert js_answer["errors"] == []


def test_python_accepts_and_applies_js_messages(js_answer, tmp_path):
    sent = {m["msg"]["kind"] for m in js_answer["messages"]}
    assert sent == {k for k, v in protocol.SCHEMA.items() if v["from"] == "browser"}
    by_dtype: dict[str, list] = {}
    for m in js_answer["messages"]:
        buffers = [base64.b64decode(b) for b in m["buffers"]]
        msg = protocol.validate(m["msg"], buffers, sender="browser")
        if msg["kind"] == "edits.apply":
            by_dtype.setdefault(msg["dtype"], []).append((msg, buffers))
    assert {"uint8", "uint32", "uint64"} <= set(by_dtype)
    assert any(msg.get("preserve") for msg, _ in by_dtype["uint32"])
    shots = {m["msg"]["reply_to"]: m for m in js_answer["messages"] if m["msg"]["kind"] == "screenshot.data"}
    assert set(shots) == {"shot-ok", "shot-bad"}
    bad = shots["shot-bad"]["msg"]["error"]
    assert 'no panel "3d"' in bad and "2d" in bad
    png = base64.b64decode(shots["shot-ok"]["buffers"][0])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    for dtype, batches in by_dtype.items():
        replies = []
        shape = (128, 128, 128)
        labels = LabelMap(shape, dtype=dtype, chunks=(64, 64, 64))
        ep = Endpoint(
            lambda msg, bufs, out=replies: out.append(msg),
            ImageSource(np.zeros(shape, np.uint8)),
            labels,
            "fp",
        )
        for msg, buffers in batches:
            ep.handle(msg, buffers)
            count = sum(e["count"] for e in msg["edits"])
            assert replies[-1]["kind"] == "edits.ack", replies[-1]
            assert np.count_nonzero(labels.to_numpy()) >= min(count, 1)
        ep.close()


def test_python_runs_the_views_commands(js_answer):
    """Every command the view's tools send runs on a real label map and answers ``ok``."""
    commands = [m["msg"] for m in js_answer["messages"] if m["msg"]["kind"] == "command"]
    assert {c["name"] for c in commands} == set(protocol.COMMANDS)
    shape = (128, 128, 128)
    labels = LabelMap(shape, dtype="uint32", chunks=(64, 64, 64))
    labels[0:8, 0:20, 60:70] = 2  # a box for the fills to find
    labels[40, 10:20, 10:20] = 7  # two annotated slices of label 7 for interpolate
    labels[44, 10:20, 10:20] = 7
    replies: list[dict] = []
    ep = Endpoint(lambda msg, bufs: replies.append(msg), ImageSource(np.zeros(shape, np.uint8)), labels, "fp")
    try:
        for c in commands:
            ep.handle(c, [])
            reply = replies[-1]
            assert reply["kind"] == "command.result" and reply["reply_to"] == c["id"], reply
            assert reply["ok"], (c, reply)
        assert not (labels.to_numpy() == 7).any()  # the last command replaced 7 by 0
        assert (labels.to_numpy() == 5).sum() == 8 * 20 * 10  # the 3D fill took the box
    finally:
        ep.close()


# -- bricks (the 3D view's whole chunks) --------------------------------------------------------
BRICK_SCRIPT = ROOT / "js" / "scripts" / "brick-check.mjs"


def _node(mode: str, payload: dict) -> dict:
    node = shutil.which("node")
    assert node, "node is required (the front end is built with it)"
    out = subprocess.run(
        [node, str(BRICK_SCRIPT), mode], input=json.dumps(payload), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_bricks_requested_by_js_served_by_python_decoded_by_js(tmp_path):
    """The JS brick client's requests (whole chunks: no axis/index) pass the kernel's schema; the
    kernel's replies (uint16 image, uint64 labels, level 0 and a computed level, compressed and
    zero chunks) pass the browser's and decode to the kernel's arrays, byte for byte."""
    shape, chunks = (80, 96, 64), (32, 32, 32)  # big enough for a computed level 1
    z, y, x = np.mgrid[: shape[0], : shape[1], : shape[2]]
    image = ((x * 37 + y * 11 + z * 5) % 4000).astype(np.uint16)
    labels = LabelMap(shape, dtype="uint64", chunks=chunks)
    labels[3:40, 5:60, 0:40] = 2**40 + 7
    sent: list[tuple[dict, list]] = []

    def wire(msg, bufs):
        protocol.validate(msg, bufs, sender="kernel")
        sent.append((msg, bufs))

    source = ImageSource(image)
    assert len(source.levels) > 1
    ep = Endpoint(wire, source, labels, "fp")
    want = [{"level": 1, "key": [0, 0, 0]}] + [
        {"level": 0, "key": [kz, ky, kx]} for kz in range(3) for ky in range(3) for kx in range(2)
    ]
    asked = _node("requests", {"want": want})
    assert not asked["errors"], asked["errors"]
    for m in asked["messages"]:
        protocol.validate(m, [], sender="browser")
        assert m["kind"] == "chunks.get" and "axis" not in m and "index" not in m
        assert len(m["keys"]) <= 3  # batched
        ep.handle(m, [])
    ids = {m["id"] for m in asked["messages"]}
    deadline = time.monotonic() + 20
    while {m["reply_to"] for m, _ in sent if m["kind"] == "chunks.data" and m["done"]} != ids:
        assert time.monotonic() < deadline, "the kernel did not answer every brick request"
        time.sleep(0.02)
    replies = [
        {"msg": m, "buffers": [b64(b) for b in bufs]} for m, bufs in sent if m["kind"] == "chunks.data"
    ]
    got = _node("replies", {"want": want, "replies": replies})
    assert not got["errors"], got["errors"]
    lm = labels.to_numpy()
    for w in want:
        lv, key = w["level"], w["key"]
        for layer, full in (("image", image), ("labels", lm)):
            if lv == 0:
                region = tuple(
                    slice(k * c, min((k + 1) * c, s)) for k, c, s in zip(key, chunks, shape, strict=True)
                )
                expect = np.ascontiguousarray(full[region])
            else:
                expect = _level_chunk(ep, layer, lv, key, chunks)
            rec = got["bricks"][f"{layer}/{lv}/{','.join(map(str, key))}"]
            assert rec["shape"] == list(expect.shape), (layer, lv, key)
            assert rec["dtype"] == expect.dtype.name
            assert rec["sha256"] == hashlib.sha256(expect.tobytes()).hexdigest(), (layer, lv, key)
    ep.close()


def _level_chunk(ep, layer, level, key, chunks):
    """A coarse level's chunk as the kernel computes it (image: the level's own read; labels: mode)."""
    server = ep.tile_server
    shape = server.level_shape(level)
    region = tuple(slice(k * c, min((k + 1) * c, s)) for k, c, s in zip(key, chunks, shape, strict=True))
    if layer == "image":
        return np.ascontiguousarray(server.levels[level].read(region))
    version = server.coarse.version(level, tuple(key))
    data = server.coarse.tile(level, tuple(key), region, version)
    dt = np.dtype(server.labels.dtype)
    return np.zeros([r.stop - r.start for r in region], dt) if data is None else np.ascontiguousarray(data)
