"""Vectorized downsampling for image pyramids, and the pyramid's factor rule.

``downsample_mean`` is for images, ``downsample_mode`` for labels. Both take a block and integer factors
per axis; a block whose size is not a multiple of the factors gets partial windows at its far edges,
reduced over the voxels present, so the output shape is always ``ceil(block.shape / factors)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

__all__ = ["downsample_mean", "downsample_mode", "next_factors", "output_shape"]


def _check_factors(block: np.ndarray, factors: Sequence[int]) -> tuple[int, ...]:
    fs = tuple(int(f) for f in factors)
    if len(fs) != block.ndim:
        raise ValueError(f"factors {tuple(factors)} must have one entry per axis of a {block.ndim}D block")
    if any(f < 1 for f in fs):
        raise ValueError(f"factors must be integers ≥ 1, got {tuple(factors)}")
    return fs


def output_shape(shape: Sequence[int], factors: Sequence[int]) -> tuple[int, ...]:
    """The shape of ``shape`` downsampled by ``factors``: ``ceil(shape / factors)`` per axis."""
    return tuple(-(-int(n) // int(f)) for n, f in zip(shape, factors, strict=True))


def next_factors(shape: Sequence[int], scale: Sequence[float]) -> tuple[int, int, int]:
    """Downsampling factors (1 or 2 per axis) for the level after one of ``shape`` and ``scale``.

    An axis is halved when its size is > 1 and its voxel size is < 2× the smallest voxel size among the
    axes of size > 1; see :mod:`voxwidget.multiscale.image`.
    """
    live = [s for n, s in zip(shape, scale, strict=True) if n > 1]
    if not live:
        return (1, 1, 1)
    smallest = min(live)
    return tuple(  # type: ignore[return-value]
        2 if n > 1 and s < 2 * smallest * (1 - 1e-6) else 1 for n, s in zip(shape, scale, strict=True)
    )


def downsample_mean(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """Average ``block`` over windows of ``factors`` voxels per axis.

    Parameters
    ----------
    block
        An N-D numeric array.
    factors
        Integer window size per axis (1 leaves the axis alone).

    Returns
    -------
    numpy.ndarray
        Shape ``ceil(block.shape / factors)``, dtype of ``block``. Windows cut by the block's far edge
        average the voxels present. Integer results are rounded half to even (``numpy.rint``); floats
        are averaged in float64 and cast back.
    """
    block = np.asarray(block)
    fs = _check_factors(block, factors)
    if all(f == 1 for f in fs):
        return block.copy()
    small_ints = block.dtype.kind in "uib" and block.dtype.itemsize <= 2 and int(np.prod(fs)) <= 64
    acc = np.float32 if small_ints else np.float64  # float32 sums of ≤64 16-bit values are exact
    if all(n % f == 0 for n, f in zip(block.shape, fs, strict=True)):
        # strided partial sums, one axis at a time (several times faster than reshape().mean())
        total: np.ndarray = block
        for axis, f in enumerate(fs):
            if f > 1:
                step = [slice(None)] * block.ndim
                step[axis] = slice(0, None, f)
                part = total[tuple(step)].astype(acc)  # a fresh accumulator the first time
                for k in range(1, f):
                    step[axis] = slice(k, None, f)
                    part += total[tuple(step)]
                total = part
        out = total
        out /= acc(np.prod(fs))
    else:
        total = block.astype(acc)
        counts = np.ones((1,) * block.ndim, acc)
        for axis, (n, f) in enumerate(zip(block.shape, fs, strict=True)):
            if f == 1:
                continue
            starts = np.arange(0, n, f)
            total = np.add.reduceat(total, starts, axis=axis)
            sizes = np.minimum(starts + f, n) - starts
            counts = counts * sizes.reshape([-1 if a == axis else 1 for a in range(block.ndim)])
        out = total / counts
    if block.dtype.kind in "uib":
        np.rint(out, out=out)
    return out.astype(block.dtype, copy=False)


def _mode_rows(windows: np.ndarray) -> np.ndarray:
    """Most frequent value of each row of a 2D array; ties go to the smallest value."""
    if windows.shape[1] == 1:
        return windows[:, 0]
    s = np.sort(windows, axis=1)
    k = s.shape[1]
    starts = np.ones(s.shape, bool)
    starts[:, 1:] = s[:, 1:] != s[:, :-1]
    idx = np.arange(k)
    run_start = np.maximum.accumulate(np.where(starts, idx, 0), axis=1)
    run_len = idx - run_start + 1  # length of the run so far, maximal at each run's last element
    best = np.argmax(run_len, axis=1)  # first maximum: the smallest value among tied runs
    return s[np.arange(s.shape[0]), best]


def _mode_uniform(block: np.ndarray, fs: tuple[int, ...]) -> np.ndarray:
    """Mode over windows of ``fs`` for a block whose shape is a multiple of ``fs``."""
    nd = block.ndim
    out_shape = tuple(n // f for n, f in zip(block.shape, fs, strict=True))
    split = [d for n, f in zip(block.shape, fs, strict=True) for d in (n // f, f)]
    order = [*range(0, 2 * nd, 2), *range(1, 2 * nd, 2)]
    windows = block.reshape(split).transpose(order).reshape(int(np.prod(out_shape)), int(np.prod(fs)))
    return _mode_rows(windows).reshape(out_shape)


def downsample_mode(block: np.ndarray, factors: Sequence[int]) -> np.ndarray:
    """The most frequent value in each window of ``factors`` voxels (label downsampling).

    Parameters
    ----------
    block
        An N-D integer array (uint8 … uint64, signed ints work too).
    factors
        Integer window size per axis.

    Returns
    -------
    numpy.ndarray
        Shape ``ceil(block.shape / factors)``, dtype of ``block``. Ties go to the **smallest** value
        (so background 0 wins a tie against a label, and the result is deterministic). Windows cut by
        the block's far edge take the mode of the voxels present.

    Notes
    -----
    Vectorized: each window's values are sorted and the longest run is picked. The block is split into
    the part divisible by ``factors`` and up to ``2**ndim - 1`` edge slabs, each reduced in one go.
    """
    block = np.asarray(block)
    fs = _check_factors(block, factors)
    if all(f == 1 for f in fs):
        return block.copy()
    out = np.empty(output_shape(block.shape, fs), block.dtype)
    # per axis: (input slice, output slice, window) for the whole windows and the partial one
    parts = []
    for n, f in zip(block.shape, fs, strict=True):
        whole, rest = divmod(n, f)
        axis_parts = []
        if whole:
            axis_parts.append((slice(0, whole * f), slice(0, whole), f))
        if rest:
            axis_parts.append((slice(whole * f, n), slice(whole, whole + 1), rest))
        parts.append(axis_parts)
    for combo in itertools.product(*parts):
        src = tuple(p[0] for p in combo)
        dst = tuple(p[1] for p in combo)
        out[dst] = _mode_uniform(block[src], tuple(p[2] for p in combo))
    return out
