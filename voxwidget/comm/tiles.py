"""Encoding chunk tiles for the wire and packing them into size-bounded reply messages.

A tile is one chunk's data (a 2D cut through the visible plane, or the whole 3D chunk). Its payload is
an LZ4 *block* (no frame, no size prefix: the browser knows the size from ``shape`` and ``dtype``) of
the tile's little-endian bytes (``"lz4"``) or of those bytes byte-shuffled (``"lz4s"``: byte 0 of
every element, then byte 1, …), the raw bytes when compression would not save at least
:data:`MIN_SAVING` of them, or nothing at all for all-zero tiles and tiles whose version the browser
already holds. A reply message carries the payloads of all its tiles in one buffer, each at an
8-aligned offset (see ``protocol.py``); :class:`ReplyPacker` builds it, :func:`tile_payload` reads one
tile's bytes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lz4.block
import numpy as np

from .protocol import REPLY_BYTES

_MIN_LZ4_BYTES = 256  # below this, compression costs more than it saves

MIN_SAVING = 1 / 8
"""A compressed codec is sent only when it saves at least this fraction of the raw bytes; otherwise
the tile goes raw. Every payload byte costs CPU in the kernel, the Jupyter server and the browser
(~10 ns per byte in all, ~6 in the page) and, with a remote kernel, network time, but decoding in the
page's JS LZ4 decoder costs more than that unless it saves a real fraction: noisy uint16 microscopy
tiles went out as LZ4 at 8131 of 8192 bytes (0.7% saved) and the browser spent ~100 ms per 40-slice
scroll decoding them for nothing, while a raw tile there is a view of the message buffer, free. At
1/8 of an 8 KiB tile (~6 µs of page time saved, ~10 µs in all) a mostly-literal "lz4s" block takes
~9 µs to decode and unshuffle (node 20): a little behind in the page, ahead overall and on a network;
at the ~45% a noisy uint16 tile saves, well ahead."""


MAX_RECORDS = 4096
"""Tile records per reply message at most, so its JSON stays small."""

ALIGN = 8
"""Every payload starts at a multiple of this in its message's buffer (zero padding between)."""


def encode_array(
    data: np.ndarray,
    dtype: np.dtype,
    shape: list[int] | tuple[int, ...],
    name: str | None = None,
    *,
    labels: bool = False,
) -> tuple:
    """``(codec, shape, dtype name, payload)`` of one tile's voxels: ``"zero"`` (no payload) when all
    are zero, else an LZ4 block (``bytes``) of the plain (``"lz4"``) or byte-shuffled (``"lz4s"``)
    little-endian bytes when that saves at least :data:`MIN_SAVING` of them, else the raw bytes.

    Which compression is tried (at most two LZ4 calls per tile):

    - one-byte dtypes: plain LZ4 (there is nothing to shuffle);
    - image tiles (``labels`` false) of wider dtypes: the shuffled bytes only. Noisy intensities vary
      in their low bytes, so plain LZ4 finds almost no 4-byte matches (8191 of 8192 bytes for a
      uint16 tile with 6 bits of noise) while the shuffled high-byte plane is nearly constant
      (4.2–4.7 KB);
    - label tiles (``labels`` true): plain LZ4 first, the shuffled bytes only when that does not pay.
      Labels are runs of whole values, which plain LZ4 matches directly: 2–2.5× smaller than shuffled
      when ids are big (each shuffled plane then pays per run), within 15–40% of it with small ids
      (both a few % of raw), 1.5–4× cheaper to encode (no shuffle) and cheaper to decode in the
      browser (no unshuffle pass).

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
    nbytes = arr.nbytes
    if nbytes < _MIN_LZ4_BYTES:
        return "raw", shape, name, _flat_bytes(arr)
    worth = nbytes * (1 - MIN_SAVING)  # the largest payload worth decoding
    if le.itemsize == 1 or labels:
        packed = lz4.block.compress(arr, store_size=False, mode="fast")
        if len(packed) <= worth:
            return "lz4", shape, name, packed
        if le.itemsize == 1:
            return "raw", shape, name, _flat_bytes(arr)
    packed = lz4.block.compress(shuffle_bytes(arr), store_size=False, mode="fast")
    if len(packed) <= worth:
        return "lz4s", shape, name, packed
    return "raw", shape, name, _flat_bytes(arr)


def shuffle_bytes(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous little-endian array's bytes grouped by byte position (the ``"lz4s"`` layout,
    as blosc's shuffle): byte 0 of every element, then byte 1 of every element, …; a new flat
    ``uint8`` array."""
    size = arr.dtype.itemsize
    shifts = _SHIFTS.get(size)
    if shifts is not None:  # whole elements shifted: 1.8 µs for 4096 uint16, 3.6 for uint32
        return (arr.reshape(-1).view(shifts.dtype) >> shifts).astype(np.uint8).reshape(-1)
    # the transposed byte copy: 2.7 µs for 4096 uint16, 5.0 for uint32, 10 for uint64 (shifts: 13)
    return np.ascontiguousarray(arr.reshape(-1).view(np.uint8).reshape(arr.size, size).T).reshape(-1)


_SHIFTS = {size: (np.arange(size, dtype=f"<u{size}") * 8)[:, None] for size in (1, 2, 4)}


def unshuffle_bytes(raw: Any, dtype: np.dtype, count: int) -> np.ndarray:
    """Inverse of :func:`shuffle_bytes`: ``count`` elements of ``dtype`` from their shuffled bytes."""
    size = np.dtype(dtype).itemsize
    planes = np.frombuffer(raw, np.uint8).reshape(size, count)
    return np.ascontiguousarray(planes.T).reshape(-1).view(dtype)


def _flat_bytes(arr: np.ndarray) -> np.ndarray:
    """A C-contiguous array's bytes as a 1-D ``uint8`` view (``len`` = its byte count), no copy."""
    return arr.reshape(-1).view(np.uint8)


def decode_tile(codec: str, payload: Any, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Inverse of :func:`encode_array` (``unchanged`` has no data of its own and is refused);
    ``payload`` is bytes-like (e.g. :func:`tile_payload`'s view) or None.

    Raises
    ------
    ValueError
        On an unknown codec or a payload of the wrong size (lz4 raises its own error on corrupt data).
    """
    dt = np.dtype(dtype).newbyteorder("<")
    count = int(np.prod(shape))
    n = count * dt.itemsize
    if codec == "zero":
        return np.zeros(shape, dt)
    if codec == "raw":
        raw = payload
    elif codec in ("lz4", "lz4s"):
        if payload is None:
            raise ValueError(f"{codec} tile without a payload, expected {n} bytes once decompressed")
        raw = lz4.block.decompress(payload, uncompressed_size=n)
    else:
        raise ValueError(
            f"cannot decode a tile with codec {codec!r}; decodable: 'lz4', 'lz4s', 'raw', 'zero'"
        )
    if raw is None or len(raw) != n:
        raise ValueError(f"tile payload has {0 if raw is None else len(raw)} bytes, expected {n}")
    if codec == "lz4s":
        return unshuffle_bytes(raw, dt, count).reshape(shape)
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
