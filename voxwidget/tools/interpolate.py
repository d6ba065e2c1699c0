"""Slice interpolation: fill the slices between annotated slices of a label by shape interpolation.

Along ``axis``, a slice is *annotated* when it holds the label. Between two neighbouring annotated
slices ``a < b`` (with empty slices between them), each slice ``k`` gets the shape whose signed
distance is the linear blend of theirs: with ``sd`` the signed distance of a slice's mask (negative
inside, ``-(d - 1/2)`` at distance ``d`` from the outside; ``d - 1/2`` outside), voxel ``p`` of slice
``k`` is inside when ``(1 - t) sd_a(p) + t sd_b(p) <= 0`` with ``t = (k - a) / (b - a)``. Blended
shapes lie inside the union of the two masks, so each gap is computed in the union's bounding box
(plus one voxel). Slices before the first or after the last annotated slice are left alone.

Only the chunks that may hold the label are read to find the annotated slices (chunks never
written hold only background), then the label's bounding box; the distance transforms are
``scipy.ndimage.distance_transform_edt``.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from ..labelmap.atoms import Atom
from ..labelmap.types import ChunkReader, OutOfBoundsError
from .region import box_atoms, read_box

__all__ = ["check_range", "interpolate_atoms", "signed_distance"]


def check_range(start: Any, stop: Any, axis: Any, n: int) -> tuple[int, int]:
    """Validate a slice range along an axis of length ``n``: ``(start, stop)``, None = the ends."""
    if type(axis) is bool or axis not in (0, 1, 2):
        raise ValueError(f"axis must be 0, 1 or 2, got {axis!r}")
    out = []
    for name, v, default in (("start", start, 0), ("stop", stop, n)):
        if v is None:
            out.append(default)
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"{name} must be an integer slice index or None, got {v!r}")
        if not 0 <= v <= n:
            raise OutOfBoundsError(f"{name} {v} is outside axis {axis}; allowed 0..{n}")
        out.append(int(v))
    if out[0] > out[1]:
        raise ValueError(f"start {out[0]} is after stop {out[1]}")
    return out[0], out[1]


def signed_distance(mask: np.ndarray) -> np.ndarray:
    """Signed distance of a 2D mask: ``-(d - 1/2)`` inside, ``d - 1/2`` outside (float32)."""
    from scipy.ndimage import distance_transform_edt

    out = distance_transform_edt(~mask).astype(np.float32)
    if mask.any():
        inside = distance_transform_edt(mask).astype(np.float32)
        out -= inside
        out[mask] += 0.5
        out[~mask] -= 0.5
    return out


def _label_extent(
    reader: ChunkReader, label: Any, axis: int, start: int, stop: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(slices holding the label, bbox lo, bbox hi)`` within ``start:stop`` along ``axis``."""
    c = np.asarray(reader.chunk_shape)
    shape = np.asarray(reader.shape)
    found = np.zeros(stop - start, bool)
    lo = shape.copy()
    hi = np.zeros(3, np.int64)
    for key in sorted(reader.nonzero_keys()):
        k0 = key[axis] * c[axis]
        if k0 >= stop or k0 + c[axis] <= start:
            continue
        data = reader.read(key)
        if data is None:
            continue
        ext = np.minimum(c, shape - np.multiply(key, c))
        a, b = max(start - k0, 0), min(stop - k0, ext[axis])
        box = [slice(0, int(e)) for e in ext]
        box[axis] = slice(int(a), int(b))
        hit = data[tuple(box)] == label
        if not hit.any():
            continue
        for d in range(3):
            others = tuple(x for x in range(3) if x != d)
            idx = np.flatnonzero(hit.any(axis=others))
            off = np.multiply(key, c)[d] + (a if d == axis else 0)
            lo[d] = min(lo[d], off + idx[0])
            hi[d] = max(hi[d], off + idx[-1] + 1)
            if d == axis:
                found[off + idx - start] = True
    if not found.any():
        return None
    return np.flatnonzero(found) + start, lo, hi


def interpolate_atoms(
    reader: ChunkReader, label: np.ndarray, axis: int, start: int, stop: int, preserve_labels: bool
) -> list[Atom] | None:
    """The atoms that fill the gaps between annotated slices of ``label`` in ``start:stop`` along
    ``axis`` (only background voxels with ``preserve_labels``); None when fewer than two slices are
    annotated or no gap lies between them."""
    lab = label[()]
    ext = _label_extent(reader, lab, axis, start, stop)
    if ext is None:
        return None
    slices, lo, hi = ext
    gaps = [(int(a), int(b)) for a, b in pairwise(slices) if b - a > 1]
    if not gaps:
        return None
    lo[axis], hi[axis] = slices[0], slices[-1] + 1
    cur = np.moveaxis(read_box(reader, lo, hi), axis, 0)  # (slices, rows, cols)
    base = int(lo[axis])
    ann = cur == lab
    add = np.zeros(cur.shape, bool)
    for a, b in gaps:
        ma, mb = ann[a - base], ann[b - base]
        union = ma | mb
        rs, cs = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
        r0, r1 = max(int(rs[0]) - 1, 0), min(int(rs[-1]) + 2, union.shape[0])
        c0, c1 = max(int(cs[0]) - 1, 0), min(int(cs[-1]) + 2, union.shape[1])
        # pad with one outside voxel on every side: the distances inside then see the outside
        sa = signed_distance(np.pad(ma[r0:r1, c0:c1], 1))[1:-1, 1:-1]
        sb = signed_distance(np.pad(mb[r0:r1, c0:c1], 1))[1:-1, 1:-1]
        for k in range(a + 1, b):
            t = np.float32((k - a) / (b - a))
            add[k - base, r0:r1, c0:c1] = (1 - t) * sa + t * sb <= 0
    add &= (cur == 0) if preserve_labels else ~ann
    if not add.any():
        return None
    box = tuple(int(v) for v in lo), tuple(int(v) for v in hi)
    return box_atoms(reader, *box, lab, np.moveaxis(add, 0, axis))
