"""NanoVDB 32 binary layout (``nanovdb/NanoVDB.h``, ``PNanoVDB.h``): the byte sizes and offsets of the
grid, tree, root, internal and leaf nodes for the grid types the exporter writes, and the headers.

Everything is little endian; the grid buffer is ``GridData`` (672 B), ``TreeData`` (64 B), the root
(+ its tiles), the upper nodes (32³ children), the lower nodes (16³), the leaves (8³ voxels), then
(OnIndex) one ``GridBlindMetaData`` (288 B) and the value array, every part 32-byte aligned and the
nodes breadth first. A ``.nvdb`` file is ``FileHeader`` (16 B), ``FileMetaData`` (176 B), the grid
name, then the grid buffer (``writeUncompressedGrid`` in NanoVDB.h).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LAYOUTS", "Layout", "file_header", "grid_header", "tree_header"]

MAGIC_NUMB = 0x304244566F6E614E  # "NanoVDB0": grids and files (what NanoVDB's init() writes)
MAGIC_GRID = 0x314244566F6E614E  # "NanoVDB1": kept in GridData::mData2 since 32.6
VERSION = (32 << 21) | (9 << 10) | 2  # 32.9.2, the header this layout was read from
GRID_SIZE, TREE_SIZE, BLIND_META_SIZE = 672, 64, 288
UPPER_TABLE, LOWER_TABLE = 32**3, 16**3
UPPER_SIZE, LOWER_SIZE = 270400, 33856  # same for every type here (8-byte table entries)
UPPER_OFF_TABLE, LOWER_OFF_TABLE = 8256, 1088
UPPER_OFF_CHILD_MASK, LOWER_OFF_CHILD_MASK = 32 + 4096, 32 + 512
FLAG_HAS_BBOX, FLAG_BREADTH_FIRST = 1 << 1, 1 << 5
CLASS_UNKNOWN, CLASS_INDEX_GRID = 0, 8
BLIND_CLASS_CHANNEL_ARRAY = 4
INT32_MAX, INT32_MIN = 2**31 - 1, -(2**31)
DBL_MAX = float(np.finfo(np.float64).max)


@dataclass(frozen=True)
class Layout:
    """Byte layout of one grid type."""

    grid_type: int
    root_size: int  # RootData, tiles follow
    tile_value: int  # offset of a root tile's value
    leaf_size: int
    leaf_values: int  # offset of a leaf's values (value grids)
    value_dtype: str | None  # numpy dtype of the leaf values (None: OnIndex)


LAYOUTS = {
    "onindex": Layout(20, 96, 24, 96, 80, None),
    "int64": Layout(5, 96, 24, 4224, 128, "<i8"),
    "uint32": Layout(10, 64, 20, 2144, 96, "<u4"),
    "int32": Layout(4, 64, 20, 2144, 96, "<i4"),
}

#: blind-data GridType of the OnIndex value array per map dtype (UInt8, UInt32, Int64)
CHANNEL_TYPES = {"uint8": (26, "<u1"), "uint16": (10, "<u4"), "uint32": (10, "<u4"), "uint64": (5, "<i8")}
CHANNEL_RAW64 = (0, "<u8")  # uint64 labels above 2**63 - 1: GridType::Unknown, 8-byte values


def align32(n: int) -> int:
    return (n + 31) & ~31


def _map_bytes(vs: Sequence[float]) -> bytes:
    """``Map`` (264 B): diagonal scale ``vs`` (i, j, k), no translation, in float and double."""
    mat = [vs[0], 0, 0, 0, vs[1], 0, 0, 0, vs[2]]
    inv = [1 / vs[0], 0, 0, 0, 1 / vs[1], 0, 0, 0, 1 / vs[2]]
    return struct.pack("<9f9f3ff9d9d3dd", *mat, *inv, 0, 0, 0, 1.0, *mat, *inv, 0, 0, 0, 1.0)


def world_bbox(ibox: tuple[Sequence[int], Sequence[int]] | None, vs: Sequence[float]) -> list[float]:
    """The world AABB of the active voxels: index box ``min … max + 1`` scaled (NanoVDB's gridStats)."""
    if ibox is None:
        return [DBL_MAX] * 3 + [-DBL_MAX] * 3
    lo, hi = ibox
    return [lo[d] * vs[d] for d in range(3)] + [(hi[d] + 1) * vs[d] for d in range(3)]


def grid_header(
    *,
    name: str,
    grid_size: int,
    vs: Sequence[float],
    ibox: tuple[Sequence[int], Sequence[int]] | None,
    grid_class: int,
    grid_type: int,
    blind_offset: int,
    blind_count: int,
    value_count: int,
) -> bytes:
    """``GridData`` (672 B). The checksum is disabled (all bits on), as NanoVDB allows."""
    raw = name.encode("utf-8")
    if len(raw) > 255:
        raise ValueError(f"grid name {name!r} is longer than 255 bytes")
    out = struct.pack(
        "<QQIIIIQ256s",
        MAGIC_NUMB,
        2**64 - 1,
        VERSION,
        FLAG_BREADTH_FIRST | FLAG_HAS_BBOX,
        0,
        1,
        grid_size,
        raw,
    )
    out += _map_bytes(vs)
    out += struct.pack(
        "<6d3dIIqIIQQ",
        *world_bbox(ibox, vs),
        *vs,
        grid_class,
        grid_type,
        blind_offset,
        blind_count,
        0,
        value_count,
        MAGIC_GRID,
    )
    assert len(out) == GRID_SIZE
    return out


def tree_header(offsets: Sequence[int], counts: Sequence[int], voxels: int) -> bytes:
    """``TreeData`` (64 B): node offsets (leaf, lower, upper, root) relative to the tree, node counts
    (leaf, lower, upper), no active tiles, the active voxel count."""
    return struct.pack("<4q3I3IQ", *offsets, *counts, 0, 0, 0, voxels)


def blind_meta(value_count: int, value_size: int, data_type: int, name: str) -> bytes:
    """``GridBlindMetaData`` (288 B) of a channel array that follows it directly."""
    out = struct.pack(
        "<qQIIII256s",
        BLIND_META_SIZE,
        value_count,
        value_size,
        0,
        BLIND_CLASS_CHANNEL_ARRAY,
        data_type,
        name.encode(),
    )
    assert len(out) == BLIND_META_SIZE
    return out


def file_header(
    *,
    name: str,
    grid_size: int,
    voxels: int,
    grid_type: int,
    grid_class: int,
    vs: Sequence[float],
    ibox: tuple[Sequence[int], Sequence[int]] | None,
    counts: Sequence[int],
    blind_count: int,
) -> bytes:
    """``FileHeader`` + ``FileMetaData`` + the grid name: what precedes the grid in a ``.nvdb`` file."""
    raw = name.encode("utf-8") + b"\0"
    lo, hi = ibox if ibox is not None else ((INT32_MAX,) * 3, (INT32_MIN,) * 3)
    head = struct.pack("<QIHH", MAGIC_NUMB, VERSION, 1, 0)
    meta = struct.pack(
        "<QQQQII6d6i3dI4I3IHHI",
        grid_size,
        grid_size,
        0,
        voxels,
        grid_type,
        grid_class,
        *world_bbox(ibox, vs),
        *lo,
        *hi,
        *vs,
        len(raw),
        counts[0],
        counts[1],
        counts[2],
        1,
        0,
        0,
        0,
        0,
        blind_count,
        VERSION,
    )
    assert len(head) == 16 and len(meta) == 176
    return head + meta + raw
