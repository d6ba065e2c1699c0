"""Picking one 3D (z, y, x) volume out of an n-D image (4D/5D with channel and time axes), lazily."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .ome import ROLE_BY_NAME, Axis, chunks_of

__all__ = ["Volume3D", "pick_volume"]


class Volume3D:
    """A lazy (z, y, x) view of an n-D array with its other axes fixed; read per region only."""

    def __init__(self, data: Any, index: Sequence[int | None], spatial: Sequence[int]) -> None:
        self.data, self._index, self._spatial = data, list(index), list(spatial)
        self.shape = tuple(int(data.shape[i]) for i in spatial)
        self.dtype = np.dtype(data.dtype)
        full = chunks_of(data)
        self.chunks = tuple(full[i] for i in spatial) if full else None

    def __getitem__(self, region: tuple[slice, slice, slice]) -> Any:
        full: list[Any] = list(self._index)
        for pos, r in zip(self._spatial, region, strict=True):
            full[pos] = r
        return self.data[tuple(full)]


def pick_volume(
    arr: Any, axes: list[Axis] | None, *, channel: int | None, timepoint: int | None
) -> tuple[Any, list[int]]:
    """The 3D (z, y, x) volume of ``arr`` chosen by ``channel``/``timepoint`` and its spatial axes.

    Axes of size 1 are picked without asking. See :func:`voxwidget.multiscale.open_image`.
    """
    shape = tuple(int(s) for s in arr.shape)
    nd = len(shape)
    if axes is None:
        if nd < 3:
            raise ValueError(f"the image must be 3D (z, y, x), got {nd}D shape {shape}")
        if nd > 5:
            raise ValueError(f"the image must be 3D (z, y, x), got {nd}D shape {shape}; slice it first")
        first = "time" if (timepoint is not None and channel is None) else "channel"
        roles = {3: [], 4: [first], 5: ["time", "channel"]}[nd] + ["space"] * 3
        names = [{"time": "t", "channel": "c"}.get(r, "zyx"[i - nd + 3]) for i, r in enumerate(roles)]
    else:
        if len(axes) != nd:
            raise ValueError(f"the image's axes {[a[0] for a in axes]} do not match its shape {shape}")
        roles = [a[1] or ROLE_BY_NAME.get(a[0].lower(), "custom") for a in axes]
        names = [a[0] for a in axes]
    desc = ", ".join(names)
    spatial = [i for i, r in enumerate(roles) if r == "space"]
    if len(spatial) != 3:
        raise ValueError(
            f"the image must have 3 spatial axes (z, y, x), got shape {shape} with axes ({desc}), "
            f"{len(spatial)} of them spatial"
        )
    index: list[int | None] = []
    used = set()
    for i, role in enumerate(roles):
        if role == "space":
            index.append(None)
            continue
        arg = {"channel": "channel", "time": "timepoint"}.get(role)
        want = {"channel": channel, "timepoint": timepoint}.get(arg) if arg else None
        if want is None:
            if shape[i] == 1:
                index.append(0)
                continue
            if arg is None:
                raise ValueError(
                    f"axis {names[i]!r} ({role}, size {shape[i]}) of the image with shape {shape} and "
                    f"axes ({desc}) cannot be chosen here; slice the array to 3D first"
                )
            raise ValueError(
                f"the image has shape {shape} with axes ({desc}); pass {arg}= (0…{shape[i] - 1}) "
                f"to pick one 3D volume"
            )
        if not 0 <= int(want) < shape[i]:
            raise ValueError(f"{arg}={want} is out of range for axis {names[i]!r} of size {shape[i]}")
        used.add(arg)
        index.append(int(want))
    for arg, val in (("channel", channel), ("timepoint", timepoint)):
        if val is not None and arg not in used:
            raise ValueError(
                f"{arg}={val} was given but the image (shape {shape}, axes ({desc})) has no such axis"
            )
    if nd == 3:
        return arr, spatial
    return Volume3D(arr, index, spatial), spatial
