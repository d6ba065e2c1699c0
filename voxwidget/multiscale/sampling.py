"""Reading a little of an image level to describe it: an evenly spread subsample, contrast limits from
its percentiles, and a fingerprint of its values."""

from __future__ import annotations

import hashlib
import itertools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .levels import ImageLevel

__all__ = ["fingerprint", "robust_limits", "sample_level"]


def sample_level(level: ImageLevel, max_voxels: int, max_chunks: int) -> np.ndarray:
    """About ``max_voxels`` voxels of ``level``, evenly strided, touching about ``max_chunks`` chunks.

    Unchunked levels (numpy) get one strided read. A chunked level whose strided read would touch more
    than ``max_chunks`` chunks is sampled in an evenly spread subset of its chunks instead (1D result).
    """
    shape = level.shape
    step = max(1, round((float(np.prod(shape)) / max_voxels) ** (1 / 3)))
    strided = tuple(slice(0, n, step) for n in shape)
    chunks = level.chunks
    if chunks is None:
        return level.read(strided)  # type: ignore[arg-type]
    touched = np.prod(
        [len(np.unique(np.arange(0, n, step) // c)) for n, c in zip(shape, chunks, strict=True)]
    )
    if touched <= max_chunks:
        return level.read(strided)  # type: ignore[arg-type]
    per_axis = max(1, round(max_chunks ** (1 / 3)))
    grid = [-(-n // c) for n, c in zip(shape, chunks, strict=True)]
    picks = [np.unique(np.linspace(0, g - 1, min(g, per_axis)).round().astype(int)) for g in grid]
    chosen = list(itertools.product(*picks))
    budget = max_voxels / len(chosen)
    parts = []
    for key in chosen:
        bounds = [(k * c, min((k + 1) * c, n)) for k, c, n in zip(key, chunks, shape, strict=True)]
        s = max(1, round((np.prod([b - a for a, b in bounds]) / budget) ** (1 / 3)))
        parts.append(level.read(tuple(slice(a, b, s) for a, b in bounds)).ravel())  # type: ignore[arg-type]
    return np.concatenate(parts)


def robust_limits(sample: np.ndarray, low: float = 0.5, high: float = 99.5) -> tuple[float, float]:
    """Contrast limits from percentiles of ``sample``; never an empty range."""
    finite = sample[np.isfinite(sample)] if sample.dtype.kind == "f" else sample
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(finite, [low, high]))
    if hi <= lo:
        lo, hi = float(finite.min()), float(finite.max())
    if hi <= lo:
        hi = lo + 1.0
    return (lo, hi)


def fingerprint(head: str, sample: np.ndarray) -> str:
    """A 16-hex-digit hash of ``head`` and ``sample``'s values."""
    h = hashlib.blake2b(digest_size=8)
    h.update(head.encode())
    h.update(np.ascontiguousarray(sample).tobytes())
    return h.hexdigest()
