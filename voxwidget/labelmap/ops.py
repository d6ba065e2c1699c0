"""Edit operations of :class:`voxwidget.labelmap.LabelMap` (batches, setitem, undo/redo; brushes in
:mod:`voxwidget._labelmap_brush`).

Every operation validates first, then under the map's lock applies vectorized changes chunk by
chunk, records only the changed voxels as history atoms, appends one journal record and bumps
the versions of the changed chunks; subscribers are called afterwards, outside the lock.
"""

from __future__ import annotations

from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

from .types import (
    BatchRejected,
    BatchResult,
    ChunkEdit,
    check_labels,
    done_future,
    normalize_index,
)
from .history import Atom
from .journal import Record, encode_record
from .rowmask import RowMask

if TYPE_CHECKING:
    from .labelmap import LabelMap

Key = tuple[int, int, int]
Entry = tuple[Key, "np.ndarray | RowMask", np.ndarray]  # (key, offsets or mask, values) to set, in order
_SMALL = 16384  # box pieces up to this many voxels use boolean indexing


def _has_duplicates(offs: np.ndarray, n: int) -> bool:
    """Whether ``offs`` (valid offsets ``< n``) repeats a value: O(len) with a scratch bitmap for
    big edits, a sort for small ones (the browser never sends duplicates; this only detects them)."""
    if offs.size <= 4096:
        s = np.sort(offs)
        return bool((s[1:] == s[:-1]).any())
    seen = np.zeros(n, bool)
    seen[offs] = True
    return int(np.count_nonzero(seen)) != offs.size


class OpsMixin:
    """Mixed into LabelMap; relies on its private state (``_lock``, ``_get``, ``_touch`` …)."""

    # -- commit: versions, history, idempotency, journal --------------------------------------
    def _commit(
        self: LabelMap,
        entries: list[Entry],
        atoms: list[Atom] | None,
        batch_id: str | None,
        stroke: str | None,
    ) -> tuple[dict[Key, int], Future[None]]:
        """Bump versions, record history and batch id, append the journal record.

        Journal entry modes: ``[z, y, x, version, 0]`` offsets + values; ``[…, 1]`` the whole chunk
        (when smaller); ``[…, 2, row0]`` a :class:`RowMask`'s bit rows + one value (a stroke).
        """
        versions: dict[Key, int] = {}
        for key, _, _ in entries:
            if key not in versions:
                versions[key] = self._touch(key)
        if atoms is not None:
            self._history.record(atoms, stroke)
        if batch_id is not None:
            self._ids[batch_id] = None
            while len(self._ids) > self.max_batch_ids:
                self._ids.popitem(last=False)
        if self._journal is None or (not entries and batch_id is None):
            return versions, done_future()
        self._seq += 1
        itemsize = self.dtype.itemsize
        head: list[list[int]] = []
        arrays: list[np.ndarray] = []
        whole: set[Key] = set()  # chunks already journaled whole (their final state)
        for key, offs, vals in entries:
            if key in whole:
                continue
            if isinstance(offs, RowMask):
                if vals.size == 1:
                    head.append([*key, versions[key], 2, offs.row0])
                    arrays += [offs.bits, vals]
                    continue
                offs = offs.offsets()
            if offs.size * (4 + itemsize) >= self._chunk_nbytes:
                head.append([*key, versions[key], 1])
                arrays.append(self._chunks[key].data.reshape(-1))
                whole.add(key)
            else:
                head.append([*key, versions[key], 0])
                arrays += [offs.astype(np.uint32, copy=False), vals]
        rec = encode_record(self._seq, {"b": batch_id, "e": head}, arrays)
        return versions, self._journal.append(rec)

    def _replay(self: LabelMap, rec: Record) -> None:
        """Re-apply one journal record (idempotent "set" entries) while opening a store."""
        arrays = iter(rec.arrays)
        for z, y, x, ver, mode, *extra in rec.header["e"]:
            key = (z, y, x)
            data = self._get(key, create=True)
            if mode == 1:
                data.reshape(-1)[:] = next(arrays)
            elif mode == 2:
                mask = RowMask.from_record(extra[0], next(arrays), self.chunk_shape[2])
                data.reshape(-1)[mask.offsets()] = next(arrays)
            else:
                offs = next(arrays)
                data.reshape(-1)[offs] = next(arrays)
            e = self._chunks[key]
            e.dirty, e.mods = True, e.mods + 1
            self._versions[key] = max(self._versions.get(key, 0), ver)
        if rec.header.get("b") is not None:
            self._ids[rec.header["b"]] = None
        self._seq = max(self._seq, rec.seq)

    def _finish(
        self: LabelMap, versions: dict[Key, int], fut: Future[None], origin: str | None
    ) -> BatchResult:
        self._notify(versions, origin)
        return BatchResult(versions, False, fut)

    # -- edit batches ----------------------------------------------------------------------------
    def _prepare_edit(self: LabelMap, i: int, edit: ChunkEdit) -> tuple[Key, np.ndarray, np.ndarray]:
        key = self._check_key(edit.key)
        offs, vals = np.asarray(edit.offsets), np.asarray(edit.values)
        where = f"edit {i} (chunk {key})"
        if offs.ndim != 1 or vals.ndim != 1:
            raise BatchRejected(
                f"{where}: offsets and values must be 1-D, got shapes {offs.shape} and {vals.shape}"
            )
        if offs.shape != vals.shape:
            raise BatchRejected(f"{where}: {offs.size} offsets but {vals.size} values; they must be equal")
        if offs.size and offs.dtype.kind not in "ui":
            raise BatchRejected(f"{where}: offsets dtype {offs.dtype} is not an integer type (use uint32)")
        n = self._lin.size
        if offs.size:
            mn, mx = int(offs.min()), int(offs.max())
            if mn < 0 or mx >= n:
                raise BatchRejected(
                    f"{where}: offset {mn if mn < 0 else mx} is out of range; allowed: 0..{n - 1}"
                )
            edge = [min(c, s - k * c) for k, c, s in zip(key, self.chunk_shape, self.shape, strict=True)]
            if edge != list(self.chunk_shape):
                coords = np.unravel_index(offs, self.chunk_shape)
                for d in range(3):
                    bad = coords[d] >= edge[d]
                    if bad.any():
                        o = int(offs[bad][0])
                        raise BatchRejected(
                            f"{where}: offset {o} addresses a voxel outside the array "
                            f"(axis {d} local index {int(coords[d][bad][0])}, allowed 0..{edge[d] - 1})"
                        )
        vals = check_labels(vals, self.dtype, f"{where}: value", BatchRejected)
        offs = offs.astype(np.intp, copy=False)
        if offs.size > 1 and _has_duplicates(offs, n):
            rev = offs[::-1]
            u, idx = np.unique(rev, return_index=True)
            if u.size < offs.size:  # duplicate offsets: the last one wins, as in numpy assignment
                offs, vals = u, vals[::-1][idx]
        return key, offs, vals

    def apply_batch(self: LabelMap, batch_id: str, edits: Any, *, stroke: str | None = None) -> BatchResult:
        """Apply an edit batch from the browser: validated whole, applied whole, idempotent.

        Parameters
        ----------
        batch_id : str
            Unique id; a batch id already applied (also before a reopen) is a no-op.
        edits : sequence of ChunkEdit
            Per-chunk offsets (uint32, C order in the nominal chunk shape) and values.
        stroke : str, optional
            Contiguous batches with the same stroke id form one undo step.

        Raises
        ------
        BatchRejected
            Naming the offending key, offset or value and the allowed range; nothing changed.
        """
        if not isinstance(batch_id, str) or not batch_id:
            raise BatchRejected(f"batch id {batch_id!r} must be a non-empty string")
        prepared = [self._prepare_edit(i, e) for i, e in enumerate(edits)]
        with self._lock:
            self._check_open()
            if batch_id in self._ids:
                cur = {k: self._versions.get(k, 0) for k, _, _ in prepared}
                return BatchResult(cur, True, done_future())
            entries: list[Entry] = []
            atoms: list[Atom] = []
            for key, offs, vals in prepared:
                data = self._get(key, create=bool(vals.any()))
                if data is None:
                    continue
                flat = data.reshape(-1)
                old = flat[offs]
                ch = old != vals
                if not ch.all():
                    offs, old, vals = offs[ch], old[ch], vals[ch]
                if offs.size == 0:
                    continue
                flat[offs] = vals
                offs32 = offs.astype(np.uint32)
                entries.append((key, offs32, vals))
                atoms.append(Atom(key, offs32, old, vals))
            versions, fut = self._commit(entries, atoms, batch_id, stroke)
            current = {k: self._versions.get(k, 0) for k, _, _ in prepared}
            self._evict()
        self._notify(versions, batch_id)
        return BatchResult(current, False, fut)

    # -- regions -------------------------------------------------------------------------------
    def _set_region(
        self: LabelMap, lo: tuple[int, ...], hi: tuple[int, ...], value: Any, mask: Any
    ) -> list[Atom]:
        """Set ``value`` (a dtype scalar, or an array of the box shape) where ``mask`` (or everywhere
        when None) inside the box ``lo:hi``; returns the atoms of the changed voxels."""
        c = self.chunk_shape
        scalar = np.ndim(value) == 0
        nonzero_scalar = scalar and bool(value)
        atoms: list[Atom] = []
        segs = []  # per axis: (chunk index, box start, box stop, chunk-local start, chunk-local stop)
        for d in range(3):
            cd, lo_d, hi_d = c[d], lo[d], hi[d]
            axis_segs = []
            for k in range(lo_d // cd, (hi_d - 1) // cd + 1):
                a, b = max(lo_d, k * cd), min(hi_d, (k + 1) * cd)
                axis_segs.append((k, a - lo_d, b - lo_d, a - k * cd, b - k * cd))
            segs.append(axis_segs)
        for kz, bz0, bz1, s0, e0 in segs[0]:
            for ky, by0, by1, s1, e1 in segs[1]:
                for kx, bx0, bx1, s2, e2 in segs[2]:
                    key = (kz, ky, kx)
                    new = value if scalar else value[bz0:bz1, by0:by1, bx0:bx1]
                    data = self._get(key, create=nonzero_scalar if scalar else bool(new.any()))
                    if data is None:
                        continue
                    sub = data[s0:e0, s1:e1, s2:e2]
                    ch = sub != new
                    if mask is not None:
                        np.logical_and(ch, mask[bz0:bz1, by0:by1, bx0:bx1], out=ch)
                    if ch.size <= _SMALL:  # boolean indexing: cheapest on small boxes
                        if not ch.any():
                            continue
                        old = sub[ch]
                        offs = self._lin[s0:e0, s1:e1, s2:e2][ch]
                        newv = np.full(1, value, self.dtype) if scalar else new[ch]
                        sub[ch] = newv if not scalar else value
                        atoms.append(Atom(key, offs, old, newv))
                        continue
                    idx = np.flatnonzero(ch)  # large boxes: work on the (usually sparse) changed set
                    if idx.size == 0:
                        continue
                    _, n1, n2 = ch.shape
                    iz, rem = np.divmod(idx, n1 * n2)
                    iy, ix = np.divmod(rem, n2)
                    offs = ((iz + s0) * c[1] + (iy + s1)) * c[2] + (ix + s2)
                    flat = data.reshape(-1)
                    old = flat[offs]
                    if scalar:
                        flat[offs] = value
                        newv = np.full(1, value, self.dtype)
                    else:
                        newv = new[iz, iy, ix]
                        flat[offs] = newv
                    offs = offs.astype(np.uint32)
                    atoms.append(Atom(key, offs, old, newv))
        return atoms

    def _edit_region(
        self: LabelMap, lo: Any, hi: Any, value: Any, mask: Any, stroke: str | None
    ) -> BatchResult:
        with self._lock:
            self._check_open()
            atoms = self._set_region(lo, hi, value, mask)
            entries = [(a.key, a.offsets, a.new) for a in atoms]
            versions, fut = self._commit(entries, atoms, None, stroke)
            self._evict()
        return self._finish(versions, fut, None)

    def __setitem__(self: LabelMap, index: Any, value: Any) -> None:
        self.set(index, value)

    def set(self: LabelMap, index: Any, value: Any, *, stroke: str | None = None) -> BatchResult:
        """``lm[index] = value`` returning the :class:`BatchResult` (one undo step)."""
        ranges, squeeze = normalize_index(index, self.shape)
        for d, r in enumerate(ranges):
            if r.step != 1 and len(r) > 1:
                raise NotImplementedError(
                    f"writes with step {r.step} on axis {d} are not supported (use step 1)"
                )
        vals = check_labels(value, self.dtype, "value")
        target = tuple(len(r) for r, sq in zip(ranges, squeeze, strict=True) if not sq)
        try:
            vals = np.broadcast_to(vals, target)
        except ValueError as e:
            raise ValueError(
                f"value of shape {vals.shape} cannot be broadcast to the selection {target}"
            ) from e
        if 0 in target:
            return BatchResult({}, False, done_future())
        lo = tuple(min(r) for r in ranges)
        hi = tuple(max(r) + 1 for r in ranges)
        vals = vals.reshape(tuple(b - a for a, b in zip(lo, hi, strict=True)))
        return self._edit_region(lo, hi, vals, None, stroke)

    # -- reads -------------------------------------------------------------------------------------
    def __getitem__(self: LabelMap, index: Any) -> np.ndarray:
        ranges, squeeze = normalize_index(index, self.shape)
        lo = [min(r) if len(r) else 0 for r in ranges]
        hi = [max(r) + 1 if len(r) else 0 for r in ranges]
        out = self._read_box(lo, hi)
        for d, r in enumerate(ranges):
            if len(r) and r.step != 1:
                out = np.take(out, np.asarray(r) - lo[d], axis=d)
        sq = tuple(d for d in range(3) if squeeze[d])
        return out.squeeze(axis=sq) if sq else out

    def to_numpy(self: LabelMap, region: Any = None) -> np.ndarray:
        """The labels as a numpy array: everything, or ``region`` (any index ``lm[...]`` accepts)."""
        return self[...] if region is None else self[region]

    def mask(self: LabelMap, labels: Any, region: Any = None) -> np.ndarray:
        """Boolean mask of the voxels holding ``labels`` (one label or a sequence of labels)."""
        return np.isin(self.to_numpy(region), np.atleast_1d(np.asarray(labels)))

    # -- undo / redo ---------------------------------------------------------------------------------
    def _replay_step(self: LabelMap, undo: bool) -> bool:
        with self._lock:
            self._check_open()
            step = self._history.pop_undo() if undo else self._history.pop_redo()
            if step is None:
                return False
            entries: list[Entry] = []
            for a in reversed(step.atoms) if undo else step.atoms:
                vals = a.old if undo else a.new
                offs = a.flat_offsets()
                self._get(a.key, create=True).reshape(-1)[offs] = vals
                # a row mask journals compactly with one value; per-voxel values need the offsets
                entries.append((a.key, a.offsets if vals.size == 1 else offs, vals))
            versions, _ = self._commit(entries, None, None, None)
            self._evict()
        self._notify(versions, None)
        return True

    def undo(self: LabelMap) -> bool:
        """Undo the newest step; False when there is nothing to undo."""
        return self._replay_step(True)

    def redo(self: LabelMap) -> bool:
        """Redo the newest undone step; False when there is nothing to redo."""
        return self._replay_step(False)

    def _check_open(self: LabelMap) -> None:
        if self._closed:
            raise ValueError(f"label map {self.path} is closed")
