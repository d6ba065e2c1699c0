"""NanoVDB export of the label map (the design of ``shared/seeds/004``, streamed).

Axis order: NanoVDB's (i, j, k) is the map's (x, y, z): voxel ``lm[z, y, x]`` is grid coordinate
``(x, y, z)`` and the grid's voxel size is ``(vx, vy, vz)`` (``voxel_size`` is given z, y, x like
everything else here).

Two passes over a :class:`~voxwidget.export.snapshot.PinnedSnapshot`, in 8-aligned boxes of about a
chunk: the first finds the active leaves (8³ voxels: their origin, 512-bit mask and bounding box),
which fixes the tree (leaves sorted breadth first: by upper node, lower node, position) and every
byte offset; the root, upper and lower nodes and leaf headers are written. The second pass reads the
boxes again and writes each leaf's values (value grids) or its voxels' entries of the value array
(OnIndex) at their offsets. Memory holds one box and the node tables (~100 bytes per leaf), never
the volume; the file is written beside ``path`` (zero-filled first, so every byte is defined: same
map, same bytes) and renamed at the end.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import nanovdb_layout as L
from .publish import check_target, check_voxel_size, discard, progress_bar, publish, temp_beside
from .snapshot import PinnedSnapshot, read_box

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap

__all__ = ["GRIDS", "to_nanovdb"]

GRIDS = ("onindex", "int64", "uint32", "int32")
_FITS = {"uint32": ("uint8", "uint16", "uint32"), "int32": ("uint8", "uint16")}
_BOX = 64  # box side when the chunk side is not a multiple of 8


def to_nanovdb(
    lm: LabelMap,
    path: str | os.PathLike,
    *,
    label: int | None = None,
    grid: str = "onindex",
    voxel_size: Sequence[float] | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """See :meth:`voxwidget.labelmap.labelmap.LabelMap.to_nanovdb`."""
    target = check_target(path, overwrite)
    if grid not in GRIDS:
        raise ValueError(f"grid must be one of {GRIDS}, got {grid!r}")
    if grid in _FITS and lm.dtype.name not in _FITS[grid]:
        raise ValueError(
            f"grid={grid!r} cannot hold {lm.dtype.name} labels; it takes {', '.join(_FITS[grid])} maps "
            f"(use grid='int64' or 'onindex')"
        )
    if label is not None:
        info = np.iinfo(lm.dtype)
        if (
            isinstance(label, bool)
            or not isinstance(label, int | np.integer)
            or not 0 < int(label) <= info.max
        ):
            raise ValueError(f"label must be an integer in 1…{info.max} ({lm.dtype.name}), got {label!r}")
        label = int(label)
    vs = check_voxel_size(voxel_size)[::-1]  # (vx, vy, vz) for (i, j, k)
    tmp = temp_beside(target)
    try:
        with PinnedSnapshot(lm) as snap:
            _Writer(snap, L.LAYOUTS[grid], grid, label, vs, progress).write(tmp)
        publish(tmp, target, overwrite)
    except BaseException:
        discard(tmp)
        raise
    return target


class _Writer:
    def __init__(
        self,
        snap: PinnedSnapshot,
        layout: L.Layout,
        grid: str,
        label: int | None,
        vs: Sequence[float],
        progress: bool,
    ) -> None:
        self.snap, self.layout, self.grid, self.label, self.vs = snap, layout, grid, label, vs
        steps = [c if c % 8 == 0 else _BOX for c in snap.chunk_shape]
        cands = snap.candidates()
        if cands is not None:  # only the boxes over chunks that may hold labels
            starts: set[tuple[int, ...]] = set()
            for key in cands:
                lo = [k * c for k, c in zip(key, snap.chunk_shape, strict=True)]
                hi = [min(a + c, n) for a, c, n in zip(lo, snap.chunk_shape, snap.shape, strict=True)]
                ranges = [range(a // st, (b - 1) // st + 1) for a, b, st in zip(lo, hi, steps, strict=True)]
                starts.update(
                    (z * steps[0], y * steps[1], x * steps[2])
                    for z in ranges[0]
                    for y in ranges[1]
                    for x in ranges[2]
                )
            corners = sorted(starts)
        else:
            corners = [
                tuple(i * s for i, s in zip(idx, steps, strict=True))
                for idx in np.ndindex(*[-(-n // s) for n, s in zip(snap.shape, steps, strict=True)])
            ]
        self.boxes = [
            (list(lo), [min(a + s, n) for a, s, n in zip(lo, steps, snap.shape, strict=True)])
            for lo in corners
        ]
        self.bar = progress_bar(2 * len(self.boxes), "NanoVDB export", progress, unit="box")
        self.name = "labels" if label is None else f"label_{label}"

    # -- pass 1: topology ------------------------------------------------------------------------------
    def _leaves(self, values: bool) -> Iterator[tuple[np.ndarray | None, np.ndarray, np.ndarray, int]]:
        """Per box with active voxels: (values (n, 512) in NanoVDB order if ``values``, active
        (n, 512), origins (n, 3) as i, j, k, the box's largest label) of its leaves holding an
        active voxel, in a fixed order."""
        for lo, hi in self.boxes:
            data = read_box(self.snap, lo, hi, none_if_empty=True)
            self.bar.update(1)
            if data is None:
                continue
            act = data != 0 if self.label is None else data == self.label
            if not act.any():
                continue
            top = int(data.max()) if self.label is None else self.label
            vals = data.transpose(2, 1, 0)  # (x, y, z) = (i, j, k)
            act = act.transpose(2, 1, 0)
            n = [-(-s // 8) for s in vals.shape]
            if any(s % 8 for s in vals.shape):
                pad = [(0, 8 * m - s) for m, s in zip(n, vals.shape, strict=True)]
                vals, act = np.pad(vals, pad), np.pad(act, pad)

            def leafwise(a: np.ndarray, n: list[int] = n) -> np.ndarray:
                return a.reshape(n[0], 8, n[1], 8, n[2], 8).transpose(0, 2, 4, 1, 3, 5).reshape(-1, 512)

            act_l = leafwise(act)
            idx = np.flatnonzero(act_l.any(axis=1))
            origin = np.stack(np.unravel_index(idx, n), axis=1).astype(np.int64) * 8 + [lo[2], lo[1], lo[0]]
            yield (leafwise(vals)[idx] if values else None), act_l[idx], origin, top

    def _topology(self) -> None:
        origins, masks, counts, bmin, bmax = [], [], [], [], []
        top = 0
        for _, act, org, box_top in self._leaves(values=False):
            top = max(top, box_top)
            words = np.packbits(act, axis=1, bitorder="little").view("<u8")  # word i: the voxels (i, ·, ·)
            masks.append(words)
            counts.append(_popcount(words).reshape(-1, 8).sum(axis=1))
            rows = words != 0  # i of the active voxels
            js = np.bitwise_or.reduce(words, axis=1)  # byte j: the voxels (·, j, ·)
            jb = js.view(np.uint8).reshape(-1, 8) != 0
            kb = (
                np.unpackbits(
                    np.bitwise_or.reduce(js.view(np.uint8).reshape(-1, 8), axis=1)[:, None],
                    axis=1,
                    bitorder="little",
                )
                != 0
            )  # bit k: the voxels (·, ·, k)
            lo3 = [b.argmax(axis=1) for b in (rows, jb, kb)]
            hi3 = [7 - b[:, ::-1].argmax(axis=1) for b in (rows, jb, kb)]
            bmin.append(org + np.stack(lo3, axis=1))
            bmax.append(org + np.stack(hi3, axis=1))
            origins.append(org)
        if self.grid == "int64" and top > 2**63 - 1:
            raise ValueError(
                f"label {top} does not fit grid='int64' (labels ≤ {2**63 - 1}); use grid='onindex'"
            )
        self.top = top
        if origins:
            org = np.concatenate(origins)
            order = np.lexsort(tuple(org[:, d] >> s for s in (3, 7, 12) for d in (2, 1, 0)))
            self.org = org[order]
            self.masks = np.concatenate(masks)[order]
            self.counts = np.concatenate(counts)[order].astype(np.int64)
            self.bmin, self.bmax = np.concatenate(bmin)[order], np.concatenate(bmax)[order]
            self.rank = np.empty(len(order), np.int64)  # discovery order → position in the file
            self.rank[order] = np.arange(len(order))
        else:
            self.org = np.zeros((0, 3), np.int64)
            self.masks, self.counts = np.zeros((0, 8), "<u8"), np.zeros(0, np.int64)
            self.bmin = self.bmax = self.org
            self.rank = np.zeros(0, np.int64)

    # -- layout --------------------------------------------------------------------------------------
    def _groups(self, shift: int) -> tuple[np.ndarray, np.ndarray]:
        """(first leaf of each node at the level of ``shift``, node id of every leaf)."""
        key = self.org >> shift
        change = np.ones(len(key), bool)
        change[1:] = (key[1:] != key[:-1]).any(axis=1)
        return np.flatnonzero(change), np.cumsum(change) - 1

    def _plan(self) -> None:
        lay = self.layout
        self.up_first, self.up_id = self._groups(12)
        self.low_first, self.low_id = self._groups(7)
        n_up, n_low, n_leaf = len(self.up_first), len(self.low_first), len(self.org)
        self.root_at = L.GRID_SIZE + L.TREE_SIZE
        self.up_at = self.root_at + lay.root_size + 32 * n_up
        self.low_at = self.up_at + n_up * L.UPPER_SIZE
        self.leaf_at = self.low_at + n_low * L.LOWER_SIZE
        end = self.leaf_at + n_leaf * lay.leaf_size
        self.voxels = int(self.counts.sum())
        self.blind_count = 0
        self.value_count = 0
        if self.grid == "onindex":
            self.value_count = self.voxels + 1  # index 0: the background
            dt, self.channel_dtype = L.CHANNEL_TYPES[self.snap.dtype.name]
            if self.snap.dtype.name == "uint64" and max(self.top, self.label or 0) > 2**63 - 1:
                dt, self.channel_dtype = L.CHANNEL_RAW64
            self.channel_type = dt
            self.meta_at = end
            self.values_at = end + L.BLIND_META_SIZE
            self.offsets = 1 + np.cumsum(self.counts) - self.counts  # first value index per leaf
            end = L.align32(self.values_at + self.value_count * np.dtype(self.channel_dtype).itemsize)
            self.blind_count = 1
        self.grid_size = end
        self.ibox = (self.bmin.min(axis=0).tolist(), self.bmax.max(axis=0).tolist()) if n_leaf else None

    # -- writing -------------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        self._topology()
        self._plan()
        lay = self.layout
        counts = (len(self.org), len(self.low_first), len(self.up_first))
        gclass = L.CLASS_INDEX_GRID if self.grid == "onindex" else L.CLASS_UNKNOWN
        head = L.file_header(
            name=self.name,
            grid_size=self.grid_size,
            voxels=self.voxels,
            grid_type=lay.grid_type,
            grid_class=gclass,
            vs=self.vs,
            ibox=self.ibox,
            counts=counts,
            blind_count=self.blind_count,
        )
        self.base = len(head)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.ftruncate(fd, self.base + self.grid_size)
            os.pwrite(fd, head, 0)
            tree_offsets = [
                self.leaf_at - L.GRID_SIZE if counts[0] else 0,
                self.low_at - L.GRID_SIZE if counts[1] else 0,
                self.up_at - L.GRID_SIZE if counts[2] else 0,
                self.root_at - L.GRID_SIZE,
            ]
            blind_offset = self.meta_at if self.blind_count else self.grid_size
            grid = L.grid_header(
                name=self.name,
                grid_size=self.grid_size,
                vs=self.vs,
                ibox=self.ibox,
                grid_class=gclass,
                grid_type=lay.grid_type,
                blind_offset=blind_offset,
                blind_count=self.blind_count,
                value_count=self.value_count,
            )
            self._put(fd, 0, grid + L.tree_header(tree_offsets, counts, self.voxels) + self._root())
            self._internal(fd)
            if self.grid == "onindex":
                self._put(fd, self.leaf_at, self._leaf_headers().tobytes())
                meta = L.blind_meta(
                    self.value_count, np.dtype(self.channel_dtype).itemsize, self.channel_type, "labels"
                )
                self._put(fd, self.meta_at, meta)
            self._values(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
            self.bar.close()

    def _put(self, fd: int, at: int, data: bytes | memoryview) -> None:
        view = memoryview(data)
        pos = self.base + at
        while view:
            n = os.pwrite(fd, view, pos)
            view, pos = view[n:], pos + n

    def _box_bytes(self, lo: np.ndarray, hi: np.ndarray) -> bytes:
        return np.concatenate([lo, hi]).astype("<i4").tobytes()

    def _root(self) -> bytes:
        lay = self.layout
        root = bytearray(lay.root_size)
        if self.ibox is not None:
            root[0:24] = np.asarray(self.ibox[0] + self.ibox[1], "<i4").tobytes()
        else:
            root[0:24] = np.asarray([L.INT32_MAX] * 3 + [L.INT32_MIN] * 3, "<i4").tobytes()
        root[24:28] = np.uint32(len(self.up_first)).tobytes()
        tiles = np.zeros((len(self.up_first), 32), np.uint8)
        o = self.org[self.up_first] >> 12
        key = (
            (o[:, 2].astype(np.uint64))
            | (o[:, 1].astype(np.uint64) << 21)
            | (o[:, 0].astype(np.uint64) << 42)
        )
        tiles[:, 0:8] = key.astype("<u8").view(np.uint8).reshape(-1, 8)
        child = self.up_at + np.arange(len(o), dtype=np.int64) * L.UPPER_SIZE - self.root_at
        tiles[:, 8:16] = child.astype("<i8").view(np.uint8).reshape(-1, 8)
        return bytes(root) + tiles.tobytes()

    def _internal(self, fd: int) -> None:
        """Upper and lower nodes: bounding boxes, child masks, child offsets."""
        for (
            firsts,
            ids,
            size,
            at,
            child_at,
            child_size,
            child_first,
            shift,
            dim,
            off_mask,
            off_table,
        ) in (
            (
                self.up_first,
                self.up_id,
                L.UPPER_SIZE,
                self.up_at,
                self.low_at,
                L.LOWER_SIZE,
                self.low_first,
                7,
                32,
                L.UPPER_OFF_CHILD_MASK,
                L.UPPER_OFF_TABLE,
            ),
            (
                self.low_first,
                self.low_id,
                L.LOWER_SIZE,
                self.low_at,
                self.leaf_at,
                self.layout.leaf_size,
                np.arange(len(self.org)),
                3,
                16,
                L.LOWER_OFF_CHILD_MASK,
                L.LOWER_OFF_TABLE,
            ),
        ):
            if not len(firsts):
                continue
            bmin = np.minimum.reduceat(self.bmin, firsts)
            bmax = np.maximum.reduceat(self.bmax, firsts)
            parent_of_child = ids[child_first]  # node of each child (children are in node order)
            corg = self.org[child_first]
            pos = ((corg >> shift) & (dim - 1)) @ np.array([dim * dim, dim, 1])
            bounds = np.searchsorted(parent_of_child, np.arange(len(firsts) + 1))
            for n in range(len(firsts)):
                node = np.zeros(size, np.uint8)
                node[0:24] = np.frombuffer(self._box_bytes(bmin[n], bmax[n]), np.uint8)
                a, b = bounds[n], bounds[n + 1]
                p = pos[a:b]
                mask = np.zeros(dim**3 // 64, "<u8")
                np.bitwise_or.at(mask, p >> 6, np.left_shift(np.uint64(1), (p & 63).astype(np.uint64)))
                node[off_mask : off_mask + mask.nbytes] = mask.view(np.uint8)
                table = node[off_table:].view("<i8")
                table[p] = child_at + np.arange(a, b, dtype=np.int64) * child_size - (at + n * size)
                self._put(fd, at + n * size, node.data)

    def _leaf_header_fields(self) -> np.ndarray:
        """The first 80 bytes of every leaf: bbox min, bbox extent, flags (has bbox), value mask."""
        n = len(self.org)
        head = np.zeros((n, 80), np.uint8)
        head[:, 0:12] = self.bmin.astype("<i4").view(np.uint8).reshape(n, 12)
        head[:, 12:15] = (self.bmax - self.bmin).astype(np.uint8)
        head[:, 15] = 2  # bit 1: has bbox
        head[:, 16:80] = self.masks.view(np.uint8).reshape(n, 64)
        return head

    def _leaf_headers(self) -> np.ndarray:
        """OnIndex leaves (96 B): header, offset of the first value, 9-bit prefix sums of the mask words."""
        n = len(self.org)
        leaves = np.zeros((n, 96), np.uint8)
        leaves[:, :80] = self._leaf_header_fields()
        pops = np.zeros((n, 8), np.uint64)
        for w in range(8):
            pops[:, w] = _popcount(self.masks[:, w])
        csum = np.cumsum(pops[:, :7], axis=1)
        prefix = np.zeros(n, np.uint64)
        for w in range(7):
            prefix |= csum[:, w] << np.uint64(9 * w)
        leaves[:, 80:88] = self.offsets.astype("<u8").view(np.uint8).reshape(n, 8)
        leaves[:, 88:96] = prefix.astype("<u8").view(np.uint8).reshape(n, 8)
        return leaves

    def _values(self, fd: int) -> None:
        """Pass 2: each leaf's values (value grids) or its entries of the value array (OnIndex), a
        box at a time, leaves adjacent in the file written together."""
        lay = self.layout
        head = self._leaf_header_fields() if self.grid != "onindex" else None
        vsize = np.dtype(self.channel_dtype).itemsize if self.grid == "onindex" else 0
        seen = 0
        for vals, act, _, _ in self._leaves(values=True):
            ranks = self.rank[seen : seen + len(vals)]
            seen += len(vals)
            order = np.argsort(ranks)
            ranks, vals, act = ranks[order], vals[order], act[order]
            runs = np.flatnonzero(np.diff(ranks) != 1) + 1  # leaves [a, b) are adjacent in the file
            bounds = [0, *runs.tolist(), len(ranks)]
            if self.grid == "onindex":
                on = vals[act].astype(self.channel_dtype)  # leaf by leaf, voxels in NanoVDB order
                ends = np.cumsum(self.counts[ranks])
                for a, b in itertools.pairwise(bounds):
                    lo = int(ends[a - 1]) if a else 0
                    at = self.values_at + int(self.offsets[ranks[a]]) * vsize
                    self._put(fd, at, on[lo : int(ends[b - 1])].data)
            else:
                leaves = np.zeros((len(ranks), lay.leaf_size), np.uint8)
                leaves[:, :80] = head[ranks]  # type: ignore[index]
                leaves[:, lay.leaf_values :] = (
                    np.where(act, vals, 0).astype(lay.value_dtype).view(np.uint8).reshape(len(ranks), -1)
                )
                for a, b in itertools.pairwise(bounds):
                    self._put(fd, self.leaf_at + int(ranks[a]) * lay.leaf_size, leaves[a:b].data)


_POP8 = np.array([bin(i).count("1") for i in range(256)], np.uint64)


def _popcount(words: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (any shape, flattened)."""
    b = np.ascontiguousarray(words).view(np.uint8).reshape(-1, 8)
    return _POP8[b].sum(axis=1)
