"""Encoding chunk tiles for the wire and packing them into size-bounded reply messages.

A tile is one chunk's data (a 2D cut through the visible plane, or the whole 3D chunk). Its payload is
an LZ4 *block* (no frame, no size prefix: the browser knows the size from ``shape`` and ``dtype``),
or nothing at all for all-zero tiles and tiles whose version the browser already holds.
"""

from __future__ import annotations

from typing import Any

import lz4.block
import numpy as np

from .protocol import REPLY_BYTES

_MIN_LZ4_BYTES = 256  # below this, compression costs more than it saves


MAX_RECORDS = 4096
"""Tile records per reply message at most, so its JSON stays small."""


def encode_array(
    data: np.ndarray, dtype: np.dtype, shape: list[int] | tuple[int, ...], name: str | None = None
) -> tuple:
    """``(codec, shape, dtype name, payload)`` of one tile's voxels: ``"zero"`` (no payload) when all
    are zero, else an LZ4 block, or the raw little-endian bytes when those are smaller.

    The hot path of tile serving: ``data`` may be a view into a cached chunk; it is copied only when it
    is not C-contiguous little-endian, and LZ4 reads it in place (releasing the GIL).
    """
    dt = np.dtype(dtype)
    if name is None:
        name = dt.name
    if not np.count_nonzero(data):
        return "zero", shape, name, None
    le = dt.newbyteorder("<")
    arr = data if data.flags.c_contiguous and data.dtype == le else np.ascontiguousarray(data, le)
    if arr.nbytes < _MIN_LZ4_BYTES:
        return "raw", shape, name, arr.tobytes()
    packed = lz4.block.compress(arr, store_size=False, mode="fast")
    if len(packed) >= arr.nbytes:
        return "raw", shape, name, arr.tobytes()
    return "lz4", shape, name, packed


def decode_tile(codec: str, payload: bytes | None, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Inverse of :func:`encode_array` (``unchanged`` has no data of its own and is refused)."""
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


class ReplyPacker:
    """Groups tiles into reply messages whose buffers add up to at most ``budget`` bytes.

    A single tile larger than the budget travels alone (tiles stay far below the 8 MiB message
    limit: a 64³ uint64 chunk is 2 MiB raw). Tiles without bytes cost nothing, but a message carries
    at most :data:`MAX_RECORDS` records so its JSON stays small. A full batch is handed back as soon
    as the next tile does not fit, so the caller sends it while later tiles are still being read.
    """

    def __init__(self, budget: int = REPLY_BYTES) -> None:
        self.budget = budget
        self.records: list[dict] = []
        self.buffers: list[Any] = []
        self.size = 0

    def add(self, record: dict, payload: Any) -> tuple[list[dict], list[Any]] | None:
        """Add one tile (``record`` gets its ``buffer`` index, -1 without payload); returns the
        batch to send first when the tile does not fit into it."""
        n = len(payload) if payload is not None else 0
        full = None
        if self.records and (self.size + n > self.budget or len(self.records) >= MAX_RECORDS):
            full = self.take()
        if payload is None:
            record["buffer"] = -1
        else:
            record["buffer"] = len(self.buffers)
            self.buffers.append(payload)
            self.size += n
        self.records.append(record)
        return full

    def take(self) -> tuple[list[dict], list[Any]]:
        """The records and buffers gathered so far (possibly none); starts a new batch."""
        out = (self.records, self.buffers)
        self.records, self.buffers, self.size = [], [], 0
        return out
