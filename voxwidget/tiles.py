"""Encoding chunk tiles for the wire and packing them into size-bounded reply messages.

A tile is one chunk's data (a 2D cut through the visible plane, or the whole 3D chunk). Its payload is
an LZ4 *block* (no frame, no size prefix: the browser knows the size from ``shape`` and ``dtype``),
or nothing at all for all-zero tiles and tiles whose version the browser already holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import lz4.block
import numpy as np

from .protocol import REPLY_BYTES

_MIN_LZ4_BYTES = 256  # below this, compression costs more than it saves


@dataclass(frozen=True)
class Tile:
    """One encoded tile: its protocol record (without the buffer index) and its payload bytes."""

    key: tuple[int, int, int]
    version: int
    shape: tuple[int, ...]
    dtype: str
    codec: str
    payload: bytes | None

    def record(self, buffer: int) -> dict:
        return {
            "key": list(self.key),
            "version": self.version,
            "shape": list(self.shape),
            "dtype": self.dtype,
            "codec": self.codec,
            "buffer": buffer,
        }


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


def encode_tile(
    key: tuple[int, int, int],
    version: int,
    data: np.ndarray | None,
    shape: tuple[int, ...],
    dtype: np.dtype,
    known: int = -1,
) -> Tile:
    """Encode ``data`` (or ``None`` for all zeros) as a tile.

    ``known`` is the version the browser holds; when it equals ``version`` no bytes travel.
    """
    name = np.dtype(dtype).name
    if known == version and known >= 0:
        return Tile(key, version, shape, name, "unchanged", None)
    if data is None:
        return Tile(key, version, shape, name, "zero", None)
    codec, _, _, payload = encode_array(np.asarray(data).reshape(shape), dtype, shape)
    return Tile(key, version, shape, name, codec, payload)


def decode_tile(codec: str, payload: bytes | None, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Inverse of :func:`encode_tile` (``unchanged`` has no data of its own and is refused)."""
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


def pack_replies(
    tiles: Iterable[Tile], budget: int = REPLY_BYTES
) -> Iterator[tuple[list[dict], list[bytes]]]:
    """Group tiles into messages whose buffers add up to at most ``budget`` bytes.

    A single tile larger than the budget travels alone (the caller keeps tiles far below the
    8 MiB message limit: a 64³ uint64 chunk is 2 MiB raw). Tiles without bytes cost nothing, but a
    message carries at most 4096 records so its JSON stays small.
    """
    records: list[dict] = []
    buffers: list[bytes] = []
    size = 0
    for tile in tiles:
        nbytes = len(tile.payload) if tile.payload is not None else 0
        if records and (size + nbytes > budget or len(records) >= MAX_RECORDS):
            yield records, buffers
            records, buffers, size = [], [], 0
        if tile.payload is None:
            records.append(tile.record(-1))
        else:
            records.append(tile.record(len(buffers)))
            buffers.append(tile.payload)
            size += nbytes
    if records:
        yield records, buffers
