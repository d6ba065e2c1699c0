"""Hashed label colours, the Python mirror of ``js/src/core/colors.js`` (kept equal by a test).

Stable per label id, uint64-safe (hashed from the two 32-bit halves), never too dark to see.
Label 0 is background and has no colour.
"""

from __future__ import annotations

_M32 = 0xFFFFFFFF


def _fmix32(h: int) -> int:
    h &= _M32
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _M32
    h ^= h >> 16
    return h


def label_rgb(label: int) -> tuple[int, int, int]:
    """The display colour of ``label`` (an id in ``1 … 2**64 - 1``) as 8-bit RGB.

    Raises
    ------
    ValueError
        For 0 (transparent) or ids outside the uint64 range.
    """
    label = int(label)
    if not 0 < label < 2**64:
        raise ValueError(f"label {label} has no colour; coloured labels are 1 … {2**64 - 1}")
    lo, hi = label & _M32, label >> 32
    h = _fmix32(lo ^ _fmix32(hi ^ 0x9E3779B9))
    return (48 + (h & 0xFF) % 208, 48 + ((h >> 8) & 0xFF) % 208, 48 + ((h >> 16) & 0xFF) % 208)
