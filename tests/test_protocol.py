"""The Python protocol module: every kind validates, bad messages are refused naming the value."""

import pytest

from voxwidget.comm import protocol
from voxwidget.comm.protocol import ProtocolError, validate

GOOD = [
    ({"kind": "hello", "id": "a", "protocol": 1}, 0),
    ({"kind": "chunks.get", "id": "r1", "layer": "image", "level": 0, "keys": [[0, 1, 2]], "known": [-1]}, 0),
    (
        {
            "kind": "chunks.get",
            "id": "r1",
            "layer": "labels",
            "level": 0,
            "keys": [],
            "known": [],
            "axis": 0,
            "index": 5,
        },
        0,
    ),
    ({"kind": "chunks.cancel", "ids": ["r1", "r2"]}, 0),
    (
        {
            "kind": "edits.apply",
            "id": "b",
            "stroke": "s",
            "dtype": "uint32",
            "edits": [{"key": [0, 0, 0], "base": 0, "count": 3, "offsets": 0, "values": 1}],
        },
        2,
    ),
    ({"kind": "command", "id": "c", "name": "undo"}, 0),
]

BAD = [
    ("not a dict", 0, "JSON object"),
    ({"kind": "nope"}, 0, "'nope'"),
    ({"kind": "hello", "id": 3, "protocol": 1}, 0, "hello.id must be str, got 3"),
    ({"kind": "hello", "id": "a"}, 0, "lacks required field 'protocol'"),
    ({"kind": "hello", "id": "a", "protocol": 1, "extra": 1}, 0, "unknown field(s) ['extra']"),
    ({"kind": "hello", "id": "a", "protocol": True}, 0, "must be int, got True"),
    (
        {"kind": "chunks.get", "id": "r", "layer": "image", "level": 0, "keys": [[0, -1, 2]], "known": [-1]},
        0,
        "chunks.get.keys[0] must be a chunk key",
    ),
    (
        {
            "kind": "edits.apply",
            "id": "b",
            "stroke": "s",
            "dtype": "uint32",
            "edits": [{"key": [0, 0, 0], "base": 0, "count": 3, "offsets": 0, "values": 2}],
        },
        2,
        "edits.apply.edits[0].values must index one of the message's 2 buffers, got 2",
    ),
]


@pytest.mark.parametrize(("msg", "nbuf"), GOOD)
def test_good_messages_validate(msg, nbuf):
    assert validate(msg, range(nbuf), sender="browser") == msg


@pytest.mark.parametrize(("msg", "nbuf", "text"), BAD)
def test_bad_messages_name_the_problem(msg, nbuf, text):
    with pytest.raises(ProtocolError) as err:
        validate(msg, range(nbuf))
    assert text in str(err.value)


def test_direction_is_enforced():
    with pytest.raises(ProtocolError, match="sent by the browser, not the kernel"):
        validate({"kind": "hello", "id": "a", "protocol": 1}, sender="kernel")


def test_make_drops_absent_optionals_and_validates():
    msg = protocol.make("error", error="boom", reply_to=None)
    assert msg == {"kind": "error", "error": "boom"}
    with pytest.raises(ProtocolError):
        protocol.make("edits.ack", reply_to="x", keys=[[0, 0]], versions=[1], duplicate=False)


def test_every_field_type_is_known():
    types = {"str", "int", "bool", "num", "key", "buf"} | set(protocol.RECORDS)

    def base(t):
        while t.startswith("list["):
            t = t[5:-1]
        return t

    fields = [f for m in protocol.SCHEMA.values() for f in m["fields"].values()]
    fields += [f for r in protocol.RECORDS.values() for f in r.values()]
    assert {base(f) for f in fields} <= types
    assert {m["from"] for m in protocol.SCHEMA.values()} == {"browser", "kernel"}
