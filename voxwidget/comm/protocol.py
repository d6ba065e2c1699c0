"""The wire protocol between the browser view and the kernel: every message, defined once.

A message is a JSON envelope ``{"kind": ..., ...named fields}`` plus a list of binary buffers.
Its mirror in the browser is ``js/src/net/protocol.js``; ``tests/test_protocol_agreement.py`` checks that
both sides declare the same schema and decode each other's encodings.

Field types
-----------
``str``, ``int``, ``bool``, ``num`` (int or float), ``key`` (three non-negative ints: a chunk's grid
index in array axis order), ``buf`` (an index into the message's buffers), ``list[T]`` and the record
types in :data:`RECORDS`. A trailing ``?`` marks an optional field.

Limits (see ``DESIGN.md``)
--------------------------
The Jupyter server drops kernel messages past 1000/s and browser messages over 10 MiB, so replies are
batched into messages of at most :data:`REPLY_BYTES` and nothing ever exceeds :data:`MAX_MESSAGE_BYTES`.

Tile payloads
-------------
A ``chunks.data`` message carries all its tiles' payloads in **one** buffer (none when no tile has
bytes): tile record ``t``'s payload is bytes ``[t.offset, t.offset + t.nbytes)`` of
``buffers[t.buffer]``, each payload starting at a multiple of 8 (zero padding between), so a raw
tile can be viewed as a typed array of its dtype without realigning. ``buffer`` is -1 and ``offset``
and ``nbytes`` are 0 when the codec carries no bytes. (Protocol 1 sent one buffer per tile: hundreds
of frames per message, each with a fixed cost in zmq, the Jupyter server's websocket serialisation
and JupyterLab's deserializer. Measured through JupyterLab and Chromium, 256 buffers of 4 KiB per
message moved 41–45 MB/s, one of 1 MiB 50–51 MB/s, at a third of the kernel's CPU and about half
the server's.) See :func:`voxwidget.comm.tiles.tile_payload` and ``tilePayload`` in ``js/src/net/tiles.js``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

PROTOCOL_VERSION = 4
"""Bumped on any incompatible change; ``hello``/``welcome`` carry it."""

MAX_MESSAGE_BYTES = 8 * 2**20
"""No message (envelope plus buffers) may exceed this, either way."""

REPLY_BYTES = 4 * 2**20
"""Kernel replies pack tiles into messages of at most this many buffer bytes."""

LAYERS = ("image", "labels")
CODECS = ("lz4", "lz4s", "raw", "zero", "unchanged")
"""Tile payloads (the tile's ``shape`` and ``dtype`` give the decoded size):

- ``lz4``: one LZ4 block (no size prefix) of the tile's little-endian bytes;
- ``lz4s``: one LZ4 block (no size prefix) of those bytes *shuffled* by the dtype's itemsize, as
  blosc's shuffle: byte 0 of every element in order, then byte 1 of every element, … (for ``n``
  elements of ``k`` bytes, shuffled byte ``j * n + i`` is byte ``j`` of element ``i``). Intensities
  with noisy low bits, which plain LZ4 hardly shrinks, go to about half their size so (protocol 3);
- ``raw``: the little-endian bytes;
- ``zero``: all zeros, no bytes;
- ``unchanged``: the version the browser said it knows, no bytes.

See :func:`voxwidget.comm.tiles.encode_array` for which one the kernel picks."""

DTYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64")
LABEL_DTYPES = ("uint8", "uint16", "uint32", "uint64")
COMMANDS = ("undo", "redo", "fill", "fill_polygon", "interpolate", "replace")
"""Names of ``command`` messages: ``undo``, ``redo`` (no arguments); ``fill`` (``seed``, ``label``,
``dims``, ``axis``, ``connectivity``, ``preserve_labels``, ``max_voxels``); ``fill_polygon``
(``points`` as (row, column) in the plane, ``label``, ``axis``, ``index``); ``interpolate``
(``label``, ``axis``); ``replace`` (``old``, ``new``). Label ids travel as decimal strings (uint64-safe).
``command.result.changed`` is the voxels changed (undo/redo: 1 or 0: whether there was a step);
protocol 4."""

RECORDS: dict[str, dict[str, str]] = {
    # A 2D tile of one chunk cut by the visible plane (or the whole 3D chunk when no plane is given).
    "tile": {
        "key": "key",
        "version": "int",
        "shape": "list[int]",
        "dtype": "str",
        "codec": "str",
        "buffer": "int",  # index into the buffers, -1 when the codec carries no bytes
        "offset": "int",  # the payload's first byte in that buffer (a multiple of 8; 0 without bytes)
        "nbytes": "int",  # the payload's length (0 without bytes)
    },
    # The voxels one edit batch sets inside one chunk.
    "edit": {
        "key": "key",
        "base": "int",  # the chunk version the browser painted over
        "count": "int",
        "offsets": "buf",  # uint32 LE, C-order index into the nominal chunk shape
        "values": "buf",  # label dtype LE, one per offset
    },
}

SCHEMA: dict[str, dict[str, Any]] = {
    # browser -> kernel
    "hello": {"from": "browser", "fields": {"id": "str", "protocol": "int"}},
    "chunks.get": {
        "from": "browser",
        "fields": {
            "id": "str",
            "layer": "str",
            "level": "int",
            "keys": "list[key]",
            "known": "list[int]",  # the version the browser holds per key, -1 for none
            "axis?": "int",  # with index: send the plane's 2D tiles, not whole chunks
            "index?": "int",
        },
    },
    "chunks.cancel": {"from": "browser", "fields": {"ids": "list[str]"}},
    "edits.apply": {
        "from": "browser",
        "fields": {
            "id": "str",
            "stroke": "str",
            "dtype": "str",
            "edits": "list[edit]",
            "preserve?": "bool",  # preserve_labels: set only voxels that hold 0 (protocol 4)
        },
    },
    "command": {
        "from": "browser",
        "fields": {
            "id": "str",
            "name": "str",  # one of COMMANDS; the fields it uses are listed there (protocol 4)
            "label?": "str",
            "seed?": "list[int]",
            "dims?": "int",
            "axis?": "int",
            "index?": "int",
            "connectivity?": "int",
            "preserve_labels?": "bool",
            "max_voxels?": "int",
            "points?": "list[list[num]]",
            "old?": "str",
            "new?": "str",
        },
    },
    "ping": {"from": "browser", "fields": {"id": "str"}},  # heartbeat: no pong in time = offline
    # a view's answer to ``screenshot``: the PNG in one buffer, or the reason it has none
    "screenshot.data": {
        "from": "browser",
        "fields": {"reply_to": "str", "png?": "buf", "width?": "int", "height?": "int", "error?": "str"},
    },
    # kernel -> browser
    "welcome": {
        "from": "kernel",
        "fields": {
            "reply_to": "str",
            "protocol": "int",
            "labelmap_id": "str",
            "fingerprint": "str",
        },
    },
    "chunks.data": {
        "from": "kernel",
        "fields": {
            "reply_to": "str",
            "layer": "str",
            "level": "int",
            "tiles": "list[tile]",
            "done": "bool",
            "axis?": "int",
            "index?": "int",
        },
    },
    "edits.ack": {
        "from": "kernel",
        "fields": {"reply_to": "str", "keys": "list[key]", "versions": "list[int]", "duplicate": "bool"},
    },
    # retry: the batch was valid but could not be made durable (disk full, I/O error): the kernel
    # rolled it back; the browser keeps it pending and sends it again later
    "edits.reject": {"from": "kernel", "fields": {"reply_to": "str", "error": "str", "retry?": "bool"}},
    "chunks.changed": {
        "from": "kernel",
        "fields": {
            "layer": "str",
            "level": "int",
            "keys": "list[key]",
            "versions": "list[int]",
            "origin?": "str",  # the batch id whose ack also carries these versions
        },
    },
    "command.result": {
        "from": "kernel",
        "fields": {"reply_to": "str", "ok": "bool", "error?": "str", "changed?": "int"},
    },
    "error": {"from": "kernel", "fields": {"error": "str", "reply_to?": "str"}},
    "pong": {"from": "kernel", "fields": {"reply_to": "str", "labelmap_id": "str"}},
    # empty the browser's persistent chunk cache (``VoxWidget.clear_browser_cache()``)
    "cache.clear": {"from": "kernel", "fields": {}},
    # w.discard_pending(): ask the user, then drop this map's pending batches held in the browser
    "pending.discard": {"from": "kernel", "fields": {}},
    # voxel counts per label id (decimal strings, 0 left out): ``full`` replaces what the view
    # holds, else only these ids changed (count 0: no longer in use). Sent after ``welcome`` and
    # with the coalesced change notices (protocol 4).
    "labels.counts": {
        "from": "kernel",
        "fields": {"labels": "list[str]", "counts": "list[int]", "full": "bool"},
    },
    # take a PNG of the live view (``await VoxWidget.screenshot()``): of one panel ("2d", or those a
    # view adds), or without ``panel`` of all the view's panels as laid out on the page
    "screenshot": {"from": "kernel", "fields": {"id": "str", "panel?": "str"}},
}


class ProtocolError(ValueError):
    """A message that does not match :data:`SCHEMA`; the text names the field and the bad value."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check(type_: str, value: Any, where: str, nbuffers: int) -> None:
    if type_.startswith("list[") and type_.endswith("]"):
        if not isinstance(value, list | tuple):
            raise ProtocolError(f"{where} must be a list, got {_short(value)}")
        inner = type_[5:-1]
        for i, item in enumerate(value):
            _check(inner, item, f"{where}[{i}]", nbuffers)
        return
    if type_ in RECORDS:
        if not isinstance(value, Mapping):
            raise ProtocolError(f"{where} must be an object, got {_short(value)}")
        _check_fields(RECORDS[type_], value, where, nbuffers)
        return
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if type_ == "str":
        ok = isinstance(value, str)
    elif type_ == "int":
        ok = is_int
    elif type_ == "bool":
        ok = isinstance(value, bool)
    elif type_ == "num":
        ok = is_int or (isinstance(value, float) and math.isfinite(value))
    elif type_ == "key":
        ok = (
            isinstance(value, list | tuple)
            and len(value) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
        )
        if not ok:
            raise ProtocolError(
                f"{where} must be a chunk key of three non-negative ints, got {_short(value)}"
            )
    elif type_ == "buf":
        ok = is_int and 0 <= value < nbuffers
        if not ok:
            raise ProtocolError(
                f"{where} must index one of the message's {nbuffers} buffers, got {_short(value)}"
            )
    else:  # pragma: no cover - a schema typo, caught by the schema test
        raise AssertionError(f"unknown field type {type_!r}")
    if not ok:
        raise ProtocolError(f"{where} must be {type_}, got {_short(value)}")


def _check_fields(fields: Mapping[str, str], msg: Mapping[str, Any], where: str, nbuffers: int) -> None:
    allowed = {name.rstrip("?") for name in fields}
    for name, type_ in fields.items():
        bare = name.rstrip("?")
        if bare not in msg or msg[bare] is None:
            if name.endswith("?"):
                continue
            raise ProtocolError(f"{where} lacks required field {bare!r}")
        _check(type_, msg[bare], f"{where}.{bare}", nbuffers)
    extra = sorted(set(msg) - allowed - {"kind"})
    if extra:
        raise ProtocolError(f"{where} has unknown field(s) {extra}; allowed: {sorted(allowed)}")


def validate(msg: Any, buffers: Sequence[Any] = (), *, sender: str | None = None) -> dict[str, Any]:
    """Check a decoded message against the schema and return it.

    Parameters
    ----------
    msg
        The JSON envelope.
    buffers
        The message's binary buffers (only their count is checked here).
    sender
        ``"browser"`` or ``"kernel"`` to also require that this side may send the kind.

    Raises
    ------
    ProtocolError
        Naming the field and the offending value.
    """
    if not isinstance(msg, Mapping):
        raise ProtocolError(f"a message must be a JSON object, got {_short(msg)}")
    kind = msg.get("kind")
    if not isinstance(kind, str) or kind not in SCHEMA:  # (a list or dict kind is unhashable)
        raise ProtocolError(f"unknown message kind {_short(kind)}; known: {sorted(SCHEMA)}")
    spec = SCHEMA[kind]
    if sender is not None and spec["from"] != sender:
        raise ProtocolError(f"{kind!r} is sent by the {spec['from']}, not the {sender}")
    _check_fields(spec["fields"], msg, kind, len(buffers))
    return dict(msg)


def make(kind: str, **fields: Any) -> dict[str, Any]:
    """Build a message of ``kind``, dropping optional fields given as None, and validate it."""
    msg = {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}
    spec = SCHEMA.get(kind, {"fields": {}})["fields"]
    top = [msg.get(name.rstrip("?")) for name, type_ in spec.items() if type_ == "buf"]
    bufs = [b for b in top if isinstance(b, int)]
    bufs += [e[f] for e in msg.get("edits", ()) for f in ("offsets", "values")]
    nbuf = 1 + max(bufs, default=-1)
    return validate(msg, range(nbuf))


def schema_document() -> dict[str, Any]:
    """The schema as plain data, for the cross-language agreement test."""
    return {
        "version": PROTOCOL_VERSION,
        "max_message_bytes": MAX_MESSAGE_BYTES,
        "reply_bytes": REPLY_BYTES,
        "layers": list(LAYERS),
        "codecs": list(CODECS),
        "dtypes": list(DTYPES),
        "label_dtypes": list(LABEL_DTYPES),
        "commands": list(COMMANDS),
        "records": RECORDS,
        "messages": SCHEMA,
    }
