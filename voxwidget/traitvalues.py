"""What the widget's traits accept and how they travel: value checks and JSON codecs for
:class:`~voxwidget.widget.VoxWidget` (label ids go as decimal strings: JSON numbers lose uint64 ids
above 2**53 in the browser)."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets as t

CAMERA_KEYS = {"position": 3, "target": 3, "up": 3, "fov": 0}


def check_camera(value: dict) -> dict:
    """A ``camera`` trait value checked: known keys only, 3-vectors of finite numbers, ``fov`` in
    (0, 180) degrees, ``position`` not at ``target``; returned with plain floats."""
    unknown = sorted(set(value) - set(CAMERA_KEYS))
    if unknown:
        raise t.TraitError(f"camera has unknown key(s) {unknown}; allowed: {sorted(CAMERA_KEYS)}")
    out: dict = {}
    for key, n in CAMERA_KEYS.items():
        if key not in value:
            continue
        v = value[key]
        if n == 0:
            ok = isinstance(v, int | float) and not isinstance(v, bool) and 0 < v < 180
            if not ok:
                raise t.TraitError(f"camera['fov'] {v!r} must be a number of degrees in (0, 180)")
            out[key] = float(v)
            continue
        ok = isinstance(v, list | tuple) and len(v) == n
        ok = ok and all(isinstance(x, int | float) and not isinstance(x, bool) and np.isfinite(x) for x in v)
        if not ok:
            raise t.TraitError(f"camera[{key!r}] {v!r} must be a list of {n} finite numbers")
        out[key] = [float(x) for x in v]
    if "position" in out and "target" in out and out["position"] == out["target"]:
        raise t.TraitError(f"camera position {out['position']} must differ from its target")
    if "up" in out and not any(out["up"]):
        raise t.TraitError("camera['up'] must not be the zero vector")
    return out


def label_to_json(value: int, widget: Any) -> str:
    return str(int(value))  # a string: JSON numbers lose uint64 ids above 2**53 in the browser


def label_from_json(value: Any, widget: Any) -> int:
    return int(value)


def ids_to_json(value: list[int], widget: Any) -> list[str]:
    return [str(int(v)) for v in value]


def ids_from_json(value: Any, widget: Any) -> list[int]:
    return [int(v) for v in value]


def names_to_json(value: dict[int, str], widget: Any) -> dict[str, str]:
    return {str(int(k)): str(v) for k, v in value.items()}


def names_from_json(value: Any, widget: Any) -> dict[int, str]:
    return {int(k): str(v) for k, v in value.items()}
