"""The annotation tools' methods of :class:`~voxwidget.labelmap.labelmap.LabelMap`: fill, replace,
polygon, slice interpolation, label counts and edit events.

Each edit validates its arguments whole, then hands an operation of :mod:`voxwidget.tools` to the
map's one commit path (:meth:`~voxwidget.labelmap.core.MapCore.edit`): one batch, one journal
record, one undo step, one change notification, one :class:`~voxwidget.labelmap.events.EditEvent`.
Kept apart from ``labelmap.py`` (which holds construction, the brush, box writes, reads and
persistence) so each module stays readable; :class:`LabelMap` inherits these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ..tools.fill import check_fill, check_limit, fill_atoms, value_atoms
from ..tools.interpolate import check_range, interpolate_atoms
from ..tools.polygon import check_polygon, polygon_atoms
from .events import EditEvent
from .validate import check_labels

if TYPE_CHECKING:
    from .core import MapCore

__all__ = ["ToolMethods"]


class ToolMethods:
    """Fill, replace, polygon, interpolation, label counts and edit events (see the module
    docstring); mixed into :class:`~voxwidget.labelmap.labelmap.LabelMap`."""

    _core: MapCore
    shape: tuple[int, int, int]
    dtype: np.dtype

    def _run(self, compute: Callable[..., Any], kind: str) -> int:
        """Commit ``compute``'s atoms as one edit; returns the voxels changed."""
        changed = 0

        def counted(reader: Any) -> Any:
            nonlocal changed
            atoms = compute(reader)
            changed = 0 if atoms is None else sum(a.count for a in atoms)
            return atoms

        self._core.edit(counted, kind=kind)
        return changed

    def fill(
        self,
        seed: Any,
        label: int,
        *,
        dims: int = 3,
        axis: int = 0,
        connectivity: int = 1,
        contiguous: bool = True,
        preserve_labels: bool = False,
        max_voxels: int | None = None,
    ) -> int:
        """Set ``label`` on the region of the seed's value around ``seed`` (a bucket fill).

        The region is the voxels holding the seed's value, connected to the seed, in 3D
        (``dims=3``) or in the plane through the seed orthogonal to ``axis`` (``dims=2``); with
        ``contiguous=False``, every voxel of that value in the volume (or plane). Its cost follows
        the region and the chunks it touches, never the volume: chunks never written are taken
        whole when the region is the background, without a pass over their voxels.

        Parameters
        ----------
        seed : 3 ints
            The voxel (z, y, x) whose value and connected region are filled.
        label : int
            The new value, within the dtype's range.
        dims : int
            3 (volume) or 2 (the plane through the seed orthogonal to ``axis``).
        axis : int
            The plane's normal for ``dims=2``.
        connectivity : int
            Voxels are neighbours when at most this many coordinates differ by one: 1 (faces,
            6 neighbours in 3D), 2 (and edges, 18) or 3 (and corners, 26); in a plane 2 and 3 both
            mean the 8 neighbours. As ``skimage.segmentation.flood``'s ``connectivity``.
        contiguous : bool
            False: every voxel holding the seed's value, connected or not.
        preserve_labels : bool
            Only background (0) is overwritten: when the seed holds another label nothing changes
            (as napari's ``preserve_labels``).
        max_voxels : int, optional
            Refuse regions larger than this, before anything changes (:class:`RegionTooLarge`
            names the limit). The widget's fill tool passes its ``fill_max_voxels``.

        Returns
        -------
        int
            Voxels changed (0 when the seed already holds ``label``).

        Raises
        ------
        OutOfBoundsError
            The seed is outside the array.
        RegionTooLarge
            The region has more than ``max_voxels`` voxels; nothing changed.
        ValueError
            Any other bad argument (named with what is allowed); nothing changed.
        """
        s, lab, limit = check_fill(seed, label, dims, axis, connectivity, max_voxels, self.shape, self.dtype)
        opts = {
            "dims": dims,
            "axis": axis,
            "connectivity": connectivity,
            "contiguous": bool(contiguous),
            "preserve_labels": bool(preserve_labels),
            "max_voxels": limit,
        }
        return self._run(lambda reader: fill_atoms(reader, s, lab, **opts), "fill")

    def replace(self, old: int, new: int, *, max_voxels: int | None = None) -> int:
        """Give every voxel of label ``old`` the label ``new`` (delete a label: ``new=0``); one undo
        step. Reads only chunks that may hold ``old`` and stops once its counted voxels are found.

        Parameters
        ----------
        old, new : int
            Labels within the dtype's range.
        max_voxels : int, optional
            Refuse when more voxels would change (:class:`RegionTooLarge`); nothing changes.

        Returns
        -------
        int
            Voxels changed.
        """
        o = check_labels(old, self.dtype, "old label")
        n = check_labels(new, self.dtype, "new label")
        if o.ndim or n.ndim:
            raise ValueError(f"old and new must be scalar labels, got {old!r} and {new!r}")
        limit = check_limit(max_voxels)
        if o == n:
            return 0
        counts = self._core.table.counts
        what = f"replace of label {int(o)}"

        def compute(reader: Any) -> Any:  # (under the map's lock: the counts match the chunks)
            expected = counts.get(int(o)) if counts.known else None
            if expected == 0:
                return None
            return value_atoms(reader, o[()], n, None, limit, expected, what)

        return self._run(compute, "replace")

    def fill_polygon(
        self, points: Any, label: int, *, axis: int = 0, index: int, preserve_labels: bool = False
    ) -> int:
        """Set ``label`` inside a polygon on one plane (the pixels ``skimage.draw.polygon`` gives).

        Parameters
        ----------
        points : array-like of shape (N, 2), N >= 3
            Vertices (row, column) in the plane: (y, x) for ``axis=0``, (z, x) for 1, (z, y) for 2.
            Vertices may lie outside the plane; the polygon is clipped to it.
        label : int
            The new value.
        axis : int
            The plane's normal.
        index : int
            The plane's index along ``axis``.
        preserve_labels : bool
            Only background (0) is overwritten.

        Returns
        -------
        int
            Voxels changed.
        """
        pts, idx = check_polygon(points, axis, index, self.shape)
        lab = check_labels(label, self.dtype, "label")
        if lab.ndim:
            raise ValueError(f"label must be a scalar, got shape {lab.shape}")
        return self._run(
            lambda reader: polygon_atoms(reader, pts, lab, int(axis), idx, bool(preserve_labels)), "polygon"
        )

    def interpolate(
        self,
        label: int,
        *,
        axis: int = 0,
        start: int | None = None,
        stop: int | None = None,
        preserve_labels: bool = True,
    ) -> int:
        """Fill the slices between annotated slices of ``label`` along ``axis`` by shape-based
        interpolation (annotate every few slices, let this fill the rest); one undo step.

        A slice is annotated when it holds ``label``. Each run of empty slices between two annotated
        ones gets, slice by slice, the shape whose signed distance blends linearly between the two
        (``voxwidget.tools.interpolate``); slices outside the first and last annotated ones are
        left alone.

        Parameters
        ----------
        label : int
            A non-zero label.
        axis : int
            The axis the slices are orthogonal to.
        start, stop : int, optional
            Only slices ``start <= i < stop`` along ``axis`` take part (default: all).
        preserve_labels : bool
            True (default): only background voxels receive the label; False: other labels are
            overwritten too.

        Returns
        -------
        int
            Voxels changed (0 when fewer than two slices are annotated).
        """
        lab = check_labels(label, self.dtype, "label")
        if lab.ndim or lab == 0:
            raise ValueError(f"label must be a non-zero scalar label, got {label!r}")
        a, b = check_range(start, stop, axis, self.shape[axis] if axis in (0, 1, 2) else 0)
        return self._run(
            lambda reader: interpolate_atoms(reader, lab, int(axis), a, b, bool(preserve_labels)),
            "interpolate",
        )

    def label_counts(self) -> dict[int, int]:
        """Voxels per label: ``{label: count}`` for every label present, 0 (background) included
        when any is left, ascending — what ``np.unique(lm.to_numpy(), return_counts=True)`` gives,
        without reading the volume: the counts are kept from each edit's old and new values
        (through undo, redo, journal replay and reopening). A store written without counts is
        counted once, over its stored chunks, on the first call."""
        core = self._core
        table = core.table
        with core.lock:
            core.check_open()
            if not table.counts.known:

                def chunks() -> Any:
                    for key in sorted(table.nonzero_keys()):
                        data = table.read(key)
                        if data is not None:
                            yield data
                        table.evict()

                table.counts.recount(chunks())
                persist = core.persist
            else:
                persist = None
            out = table.counts.as_dict()
        if persist is not None:
            persist.checkpoint(force=True)  # store the counts
        return out

    def on_edit(self, callback: Callable[[EditEvent], None]) -> Callable[[], None]:
        """Call ``callback(event)`` with an :class:`~voxwidget.labelmap.events.EditEvent` after each
        edit is durable (at once in memory; once its journal record is fsync'd for a stored map).

        The event names the edit's ``kind`` (paint, erase, set, fill, polygon, interpolate,
        replace, undo, redo, browser), its ``origin`` (a browser batch id or None), the
        ``labels`` written, the bounding box ``lo``/``hi``, the changed chunk ``keys`` and their
        ``versions``, and ``voxels`` changed. Callbacks run outside the map's lock, in edit order;
        one that raises is logged (logger ``voxwidget``) and changes nothing. Unlike
        :meth:`subscribe` (told at once, before durability, with keys and versions only: what a
        view needs to refetch tiles), ``on_edit`` reports only edits that are safe on disk.

        Returns
        -------
        callable
            Call it to unsubscribe.
        """
        return self._core.events.add(callback)
