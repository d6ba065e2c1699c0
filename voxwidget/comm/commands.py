"""The kernel side of ``command`` messages: each command is one :class:`LabelMap` method call.

``undo`` and ``redo`` take no arguments; ``fill``, ``fill_polygon``, ``interpolate`` and ``replace``
take the fields listed in :data:`voxwidget.comm.protocol.COMMANDS` and call ``LabelMap.fill``,
``fill_polygon``, ``interpolate`` and ``replace`` with them, so a tool in the view does exactly what
the same call from Python does (validated whole before anything changes, one undo step, one journal
record, one change notice). A missing field or a bad label id raises :class:`CommandError` naming
it; the label map's own ``ValueError`` (a seed outside the array, a fill over ``max_voxels``, …)
passes through. The endpoint answers both with ``command.result {ok: false, error}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap

__all__ = ["CommandError", "run_command"]


class CommandError(ValueError):
    """A command message that lacks a field its name needs, or carries a bad label id."""


def _need(msg: Mapping[str, Any], field: str) -> Any:
    value = msg.get(field)
    if value is None:
        raise CommandError(f"command {msg['name']!r} needs the field {field!r}")
    return value


def _label(msg: Mapping[str, Any], field: str = "label") -> int:
    text = _need(msg, field)
    if not (isinstance(text, str) and text.isdigit() and text.isascii()):
        raise CommandError(f"command {msg['name']!r}: {field} {text!r} is not a non-negative decimal integer")
    return int(text)


def _undo(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    return int(bool(labels.undo()))


def _redo(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    return int(bool(labels.redo()))


def _fill(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    seed = _need(msg, "seed")
    if len(seed) != 3:
        raise CommandError(f"command 'fill': seed {seed!r} must be 3 integers (z, y, x)")
    label = _label(msg)
    return int(
        labels.fill(
            tuple(seed),
            label,
            dims=msg.get("dims", 3),
            axis=msg.get("axis", 0),
            connectivity=msg.get("connectivity", 1),
            preserve_labels=bool(msg.get("preserve_labels", False)),
            max_voxels=msg.get("max_voxels"),
        )
    )


def _fill_polygon(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    points, label, index = _need(msg, "points"), _label(msg), _need(msg, "index")
    return _count(labels.fill_polygon(points, label, axis=msg.get("axis", 0), index=index))


def _interpolate(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    label = _label(msg)
    return int(labels.interpolate(label, axis=msg.get("axis", 0)))


def _replace(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    old, new = _label(msg, "old"), _label(msg, "new")
    return _count(labels.replace(old, new))


def _count(result: Any) -> int:
    """Voxels changed, from a method that returns a count (or a BatchResult: its chunk count)."""
    if isinstance(result, bool | int):
        return int(result)
    versions = getattr(result, "versions", None)
    return len(versions) if versions is not None else 0


COMMAND_HANDLERS: dict[str, Callable[[LabelMap, Mapping[str, Any]], int]] = {
    "undo": _undo,
    "redo": _redo,
    "fill": _fill,
    "fill_polygon": _fill_polygon,
    "interpolate": _interpolate,
    "replace": _replace,
}


def run_command(labels: LabelMap, msg: Mapping[str, Any]) -> int:
    """Run the validated ``command`` message ``msg`` on ``labels``; returns ``changed``.

    Raises
    ------
    CommandError
        An unknown name, a missing field or a bad label id (nothing changed).
    ValueError
        From the label map method (nothing changed).
    """
    handler = COMMAND_HANDLERS.get(msg["name"])
    if handler is None:
        raise CommandError(f"unknown command {msg['name']!r}; known: {list(COMMAND_HANDLERS)}")
    return handler(labels, msg)
