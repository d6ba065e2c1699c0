"""Encoding chunk tiles for the wire and packing them into size-bounded reply messages.

A tile is one chunk's data (a 2D cut through the visible plane, or the whole 3D chunk). Its payload is
an LZ4 *block* (no frame, no size prefix: the browser knows the size from ``shape`` and ``dtype``),
the raw little-endian bytes when LZ4 would not shrink them, or nothing at all for all-zero tiles and
tiles whose version the browser already holds. A reply message carries the payloads of all its
tiles in one buffer, each at an 8-aligned offset (see ``protocol.py``); :class:`ReplyPacker` builds
it, :func:`tile_payload` reads one tile's bytes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lz4.block
import numpy as np

from .protocol import REPLY_BYTES

_MIN_LZ4_BYTES = 256  # below this, compression costs more than it saves


MAX_RECORDS = 4096
"""Tile records per reply message at most, so its JSON stays small."""

ALIGN = 8
"""Every payload starts at a multiple of this in its message's buffer (zero padding between)."""


def encode_array(
    data: np.ndarray, dtype: np.dtype, shape: list[int] | tuple[int, ...], name: str | None = None
) -> tuple:
    """``(codec, shape, dtype name, payload)`` of one tile's voxels: ``"zero"`` (no payload) when all
    are zero, else an LZ4 block (``bytes``), or the raw little-endian bytes when those are smaller.

    The hot path of tile serving: ``data`` may be a view into a cached chunk; it is copied only when it
    is not C-contiguous little-endian, and LZ4 reads it in place (releasing the GIL). A raw payload is
    a flat ``uint8`` view of those voxels, not a copy: :class:`ReplyPacker` copies it once, into the
    message buffer (so ``data`` must not change until the packer hands its batch back).
    """
    dt = np.dtype(dtype)
    if name is None:
        name = dt.name
    if not np.count_nonzero(data):
        return "zero", shape, name, None
    le = dt.newbyteorder("<")
    arr = data if data.flags.c_contiguous and data.dtype == le else np.ascontiguousarray(data, le)
    if arr.nbytes < _MIN_LZ4_BYTES:
        return "raw", shape, name, _flat_bytes(arr)
    packed = lz4.block.compress(arr, store_size=False, mode="fast")
    if len(packed) >= arr.nbytes:
        return "raw", shape, name, _flat_bytes(arr)
    return "lz4", shape, name, packed


def _flat_bytes(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous array's bytes as a 1-D ``uint8`` view (``len`` = its byte count), no copy."""
    return arr.reshape(-1).view(np.uint8)


def decode_tile(codec: str, payload: Any, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Inverse of :func:`encode_array` (``unchanged`` has no data of its own and is refused);
    ``payload`` is bytes-like (e.g. :func:`tile_payload`'s view) or None."""
    dt = np.dtype(dtype).newbyteorder("<")
    n = int(np.prod(shape)) * dt.itemsize
    if codec == "zero":
        return np.zeros(shape, dt)
    if codec == "raw":
        raw = payload
    elif codec == "lz4":
        raw = lz4.block.decompress(payload, uncompressed_size=n)
    else:
        raise ValueError(f"cannot decode a tile with codec {codec!r}; decodable: 'lz4', 'raw', 'zero'")
    if raw is None or len(raw) != n:
        raise ValueError(f"tile payload has {0 if raw is None else len(raw)} bytes, expected {n}")
    return np.frombuffer(raw, dt).reshape(shape)


def tile_payload(record: dict, buffers: Sequence[Any]) -> memoryview | None:
    """The payload of one ``chunks.data`` tile record (a view into the message's buffer), or None
    when its codec carries no bytes (``buffer`` -1).

    Raises
    ------
    ValueError
        When ``buffer``, ``offset`` or ``nbytes`` point outside the message's buffers.
    """
    b, offset, n = record["buffer"], record["offset"], record["nbytes"]
    if b < 0:
        return None
    if b >= len(buffers):
        raise ValueError(f"tile payload in buffer {b}, but the message has {len(buffers)} buffers")
    view = memoryview(buffers[b]).cast("B")
    if offset < 0 or n < 0 or offset + n > len(view):
        raise ValueError(
            f"tile payload at offset {offset} of {n} bytes lies outside buffer {b} of {len(view)} bytes"
        )
    return view[offset : offset + n]


class ReplyPacker:
    """Groups tiles into reply messages of at most ``budget`` payload bytes, in one buffer each.

    Each tile record gets ``buffer`` (0, or -1 without payload), ``offset`` and ``nbytes``: its
    payload's place in the message's single buffer, 8-aligned (:data:`ALIGN`; the padding counts
    against the budget). The payloads are kept by reference until the batch is handed back, then
    copied once into one buffer allocated at its final size. A message without payload bytes has no
    buffer.

    A single tile larger than the budget travels alone (tiles stay far below the 8 MiB message
    limit: a 64³ uint64 chunk is 2 MiB raw). Tiles without bytes cost nothing, but a message carries
    at most :data:`MAX_RECORDS` records so its JSON stays small. A full batch is handed back as soon
    as the next tile does not fit, so the caller sends it while later tiles are still being read.
    """

    def __init__(self, budget: int = REPLY_BYTES) -> None:
        self.budget = budget
        self.records: list[dict] = []
        self.payloads: list[tuple[int, Any]] = []  # (offset, payload) of the tiles with bytes
        self.size = 0  # end of the last payload in the buffer being planned

    def add(self, record: dict, payload: Any) -> tuple[list[dict], list[Any]] | None:
        """Add one tile (``record`` gets ``buffer``, ``offset`` and ``nbytes``); returns the batch to
        send first when the tile does not fit into it.

        ``payload`` is None or bytes-like with ``len`` its byte count (``bytes``, or the flat
        ``uint8`` array :func:`encode_array` gives for raw tiles).
        """
        n = len(payload) if payload is not None else 0
        full = None
        if self.records and (
            (n and _aligned(self.size) + n > self.budget) or len(self.records) >= MAX_RECORDS
        ):
            full = self.take()
        if payload is None or not n:
            record["buffer"], record["offset"], record["nbytes"] = -1, 0, 0
        else:
            offset = _aligned(self.size)
            record["buffer"], record["offset"], record["nbytes"] = 0, offset, n
            self.payloads.append((offset, payload))
            self.size = offset + n
        self.records.append(record)
        return full

    def take(self) -> tuple[list[dict], list[Any]]:
        """The records gathered so far (possibly none) and the buffer holding their payloads (a list
        of one, or empty when none has bytes); starts a new batch."""
        records, payloads, size = self.records, self.payloads, self.size
        self.records, self.payloads, self.size = [], [], 0
        if not payloads:
            return records, []
        out = np.empty(size, np.uint8)  # one allocation; every byte is written below
        view = memoryview(out)
        end = 0
        for offset, payload in payloads:
            if offset > end:
                view[end:offset] = _ZEROS[: offset - end]
            end = offset + len(payload)
            view[offset:end] = payload
        return records, [out]


_ZEROS = bytes(ALIGN)


def _aligned(n: int) -> int:
    return -(-n // ALIGN) * ALIGN
