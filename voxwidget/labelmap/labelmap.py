"""The kernel's authoritative label map (DESIGN tiers 2 and 3); see ``docs/labelmap-contract.md``.

:class:`LabelMap` is the public face: it validates arguments and hands each edit, as an operation
of :mod:`voxwidget.tools` (brush, box, voxels; fill and interpolation join them), to the one commit
path of its :class:`~voxwidget.labelmap.core.MapCore`, which holds the chunks, versions, undo
history and persistence. Applied batch ids are remembered for the last ``max_batch_ids`` (default
100 000) batches, also across reopen.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..tools.brush import check_brush, check_centres, stroke_atoms
from ..tools.region import box_atoms
from ..tools.voxels import voxel_atoms
from .chunkstore import ChunkStore
from .core import MapCore
from .persistence import is_array, new_meta, write_array
from .toolmethods import ToolMethods
from .types import BatchRejected, BatchResult, Change, done_future
from .validate import check_chunk_key, check_edit, check_labels, label_dtype, normalize_index

__all__ = ["LabelMap"]

Key = tuple[int, int, int]


class LabelMap(ToolMethods):
    """A 3D label volume, chunked, versioned, undoable and (with a ``path``) crash-safe.

    Annotation tools (fill, replace, polygon, interpolate, label counts, edit events) are
    methods too, defined in :mod:`voxwidget.labelmap.toolmethods`.

    Parameters
    ----------
    shape : tuple of 3 ints
        Array shape (z, y, x).
    dtype : str or np.dtype
        Label dtype, ``uint8`` … ``uint64`` (default ``uint32``).
    chunks : tuple of 3 ints
        Chunk shape (default 64³).
    path : path-like, optional
        Zarr store directory. Existing stores are reopened (shape and dtype must agree); otherwise
        created. Without a path the map lives in memory until :meth:`save`.
    undo_depth : int
        Maximum number of undo steps.
    memory_budget : int
        Bytes of resident chunks above which clean chunks are evicted (stored maps only).
    checkpoint_delay : float
        Seconds after the first unsaved edit at which the background checkpoint runs.
    undo_bytes : int
        Byte budget of the undo history.
    max_batch_ids : int
        How many applied batch ids are remembered for idempotency.
    """

    def __init__(
        self,
        shape: Sequence[int],
        *,
        dtype: Any = "uint32",
        chunks: Sequence[int] = (64, 64, 64),
        path: str | Path | None = None,
        undo_depth: int = 64,
        memory_budget: int = 512 * 2**20,
        checkpoint_delay: float = 1.0,
        undo_bytes: int = 256 * 2**20,
        max_batch_ids: int = 100_000,
    ):
        shape = tuple(int(s) for s in shape)
        chunks = tuple(int(c) for c in chunks)
        if len(shape) != 3 or min(shape) < 1:
            raise ValueError(f"shape must be 3 positive integers, got {shape}")
        if len(chunks) != 3 or min(chunks) < 1:
            raise ValueError(f"chunks must be 3 positive integers, got {chunks}")
        dt = label_dtype(dtype)
        store = None
        if path is not None and is_array(path):
            store = ChunkStore(path)
            if store.shape != shape or store.dtype != dt:
                raise ValueError(
                    f"store {path} holds shape {store.shape} dtype {store.dtype}, "
                    f"but shape {shape} dtype {dt} was requested"
                )
            chunks = store.chunk_shape
        self.shape: tuple[int, int, int] = shape  # type: ignore[assignment]
        self.dtype: np.dtype = dt
        self.chunk_shape: tuple[int, int, int] = chunks  # type: ignore[assignment]
        self._core = core = MapCore(
            self.shape,
            self.chunk_shape,
            dt,
            undo_depth=undo_depth,
            undo_bytes=undo_bytes,
            memory_budget=memory_budget,
            checkpoint_delay=checkpoint_delay,
            max_batch_ids=max_batch_ids,
        )
        self.grid_shape = core.table.grid_shape
        if store is not None:
            core.attach(store, created=False)
        elif path is not None:  # created whole, with its id, or not at all
            fill = lambda _: new_meta(core.id)  # noqa: E731
            core.attach(ChunkStore.create(path, shape, chunks, dt, fill=fill), created=False)

    @property
    def id(self) -> str:
        """The map's id (a reopened store keeps its own): browsers key their caches and pending
        edits by it."""
        return self._core.id

    @property
    def path(self) -> Path | None:
        """The store's directory, or None for an in-memory map."""
        return self._core.path

    @property
    def memory_budget(self) -> int:
        """Bytes of resident chunks above which clean chunks are evicted (stored maps only)."""
        return self._core.table.memory_budget

    @memory_budget.setter
    def memory_budget(self, value: int) -> None:
        self._core.table.memory_budget = int(value)

    # -- construction ----------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, **kwargs: Any) -> LabelMap:
        """Reopen an existing zarr v2 or v3 label array (replaying its journal tail).

        Parameters
        ----------
        path : path-like
            The array's directory.
        **kwargs
            ``undo_depth``, ``memory_budget``, ``checkpoint_delay``, ``undo_bytes``, ``max_batch_ids``.
        """
        store = ChunkStore(path)
        return cls(store.shape, dtype=store.dtype, chunks=store.chunk_shape, path=path, **kwargs)

    @classmethod
    def from_array(
        cls,
        array: Any,
        *,
        chunks: Sequence[int] = (64, 64, 64),
        path: str | Path | None = None,
        **kwargs: Any,
    ) -> LabelMap:
        """A label map holding a copy of ``array`` (numpy, zarr or anything sliceable, 3D integer).

        With ``path`` the copy goes straight into a new store chunk by chunk; the store appears at
        ``path`` only once it is complete (an interrupted copy leaves no store there).
        """
        if path is not None and is_array(path):
            raise ValueError(f"from_array: {path} already holds an array; use LabelMap.open")
        dt = np.dtype(getattr(array, "dtype", np.asarray(array).dtype))
        lm = cls(tuple(array.shape), dtype=dt, chunks=chunks, **kwargs)  # validates the arguments
        if path is None:
            lm._core.ingest(array)
            return lm
        lm.close()
        fill = lambda store: write_array(store, array, uuid.uuid4().hex)  # noqa: E731
        ChunkStore.create(path, lm.shape, lm.chunk_shape, lm.dtype, fill=fill).close()
        return cls.open(path, **kwargs)

    # -- edits -------------------------------------------------------------------------------------
    def apply_batch(self, batch_id: str, edits: Any, *, stroke: str | None = None) -> BatchResult:
        """Apply an edit batch from the browser: validated whole, applied whole, idempotent.

        Parameters
        ----------
        batch_id : str
            Unique id; a batch id already applied (also before a reopen) is a no-op.
        edits : sequence of ChunkEdit
            Per-chunk offsets (uint32, C order in the nominal chunk shape) and values.
        stroke : str, optional
            Contiguous batches with the same stroke id form one undo step.

        Returns
        -------
        BatchResult
            The current versions of every chunk the batch names (changed or not).

        Raises
        ------
        BatchRejected
            Naming the offending key, offset or value and the allowed range; nothing changed.
        """
        if not isinstance(batch_id, str) or not batch_id:
            raise BatchRejected(f"batch id {batch_id!r} must be a non-empty string")
        prepared = [check_edit(i, e, self.shape, self.chunk_shape, self.dtype) for i, e in enumerate(edits)]
        report = list(dict.fromkeys(k for k, _, _ in prepared))
        return self._core.edit(  # type: ignore[return-value]
            lambda reader: voxel_atoms(reader, prepared),
            batch_id=batch_id,
            stroke=stroke,
            report=report,
            kind="browser",
        )

    def __setitem__(self, index: Any, value: Any) -> None:
        self.set(index, value)

    def set(self, index: Any, value: Any, *, stroke: str | None = None) -> BatchResult:
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
        return self._core.edit(lambda reader: box_atoms(reader, lo, hi, vals), stroke=stroke)  # type: ignore[return-value]

    def paint(
        self,
        center: Any,
        radius: int,
        label: int,
        dims: int = 2,
        axis: int = 0,
        *,
        stroke: str | None = None,
        preserve_labels: bool = False,
    ) -> BatchResult:
        """Paint a disk (``dims=2``, in the plane orthogonal to ``axis``) or a ball (``dims=3``) at one
        centre, or a whole stroke: the union of the brushes at many centres, as one batch.

        Parameters
        ----------
        center : 3 ints, or array-like of shape (N, 3)
            Brush centre (z, y, x) inside the array (negative values are not wrapped), or the N
            centres of a stroke. A stroke is applied as one batch: validated whole first (nothing
            changes if any centre is outside), one undo step, one journal record, one change
            notification. For ``dims=2`` each centre paints in its own plane ``c[axis]``.
        radius : int
            Voxels with squared distance ``<= radius**2`` are painted; clipped to the array.
        label : int
            Label value within the dtype's range.
        dims : int
            2 (disk) or 3 (ball).
        axis : int
            Axis orthogonal to the disk's plane (``dims=2``).
        stroke : str, optional
            Contiguous calls with the same stroke id form one undo step (default: one step each).
        preserve_labels : bool
            Only background (0) voxels are painted; other labels are kept (napari's
            ``preserve_labels``).

        Returns
        -------
        BatchResult
            New versions of the chunks that changed (only those are bumped).

        Raises
        ------
        OutOfBoundsError
            A centre is outside the array (names the centre, axis and allowed range).
        ValueError
            Bad label, radius, dims, axis or centre format; nothing changed.
        """
        only = np.zeros((), self.dtype) if preserve_labels else None
        return self._stroke(center, radius, label, dims, axis, stroke, only)

    def erase(
        self,
        center: Any,
        radius: int,
        dims: int = 2,
        axis: int = 0,
        *,
        stroke: str | None = None,
        only: int | None = None,
    ) -> BatchResult:
        """Set a disk or ball to 0 at one centre or along a stroke of centres (see :meth:`paint`).
        With ``only``, just the voxels of that label are erased (how an eraser honours
        ``preserve_labels``: other labels are kept, as napari's eraser keeps all but the selected)."""
        keep = None if only is None else check_labels(only, self.dtype, "only")
        if keep is not None and keep.ndim:
            raise ValueError(f"only must be a scalar label, got {only!r}")
        return self._stroke(center, radius, 0, dims, axis, stroke, keep)

    def _stroke(
        self, center: Any, radius: Any, label: Any, dims: Any, axis: Any, stroke: Any, only: Any
    ) -> BatchResult:
        r, lab = check_brush(radius, label, dims, axis, self.dtype)
        cs = check_centres(center, self.shape)
        if cs.shape[0] == 0:
            return BatchResult({}, False, done_future())
        return self._core.edit(  # type: ignore[return-value]
            lambda reader: stroke_atoms(reader, cs, r, int(dims), int(axis), lab, only),
            stroke=stroke,
            kind="paint" if lab else "erase",
        )

    def undo(self) -> bool:
        """Undo the newest step; False when there is nothing to undo."""
        return self._core.step(True)

    def redo(self) -> bool:
        """Redo the newest undone step; False when there is nothing to redo."""
        return self._core.step(False)

    # -- reads -------------------------------------------------------------------------------------
    def __getitem__(self, index: Any) -> np.ndarray:
        ranges, squeeze = normalize_index(index, self.shape)
        lo = [min(r) if len(r) else 0 for r in ranges]
        hi = [max(r) + 1 if len(r) else 0 for r in ranges]
        out = self._core.read_box(lo, hi)
        for d, r in enumerate(ranges):
            if len(r) and r.step != 1:
                out = np.take(out, np.asarray(r) - lo[d], axis=d)
        sq = tuple(d for d in range(3) if squeeze[d])
        return out.squeeze(axis=sq) if sq else out

    def to_numpy(self, region: Any = None, *, level: int = 0) -> np.ndarray:
        """The labels as a numpy array: everything, or ``region`` (any index ``lm[...]`` accepts).

        ``level`` > 0 reads that level of the label pyramid (``region`` in its voxels): each level is
        the one below reduced 2× per axis by mode downsampling, exactly what :meth:`to_ome_zarr`
        writes (see :mod:`voxwidget.export.pyramid`).
        """
        if level != 0:
            from ..export.pyramid import numpy_level

            return numpy_level(self, region, level)
        return self[...] if region is None else self[region]

    def mask(self, labels: Any, region: Any = None) -> np.ndarray:
        """Boolean mask of the voxels holding ``labels`` (one label or a sequence of labels)."""
        return np.isin(self.to_numpy(region), np.atleast_1d(np.asarray(labels)))

    def version(self, key: Key) -> int:
        """Version of chunk ``key`` (0 for a chunk never written)."""
        with self._core.lock:
            return self._core.table.versions.get(tuple(key), 0)  # type: ignore[arg-type]

    def snapshot_chunk(self, key: Key, cut: tuple = ()) -> tuple[int, np.ndarray | None]:
        """``(version, data)`` of chunk ``key`` clipped to the array (a copy), or ``None`` data when
        that is all zero. ``cut`` indexes the clipped chunk first (e.g. ``(5, slice(None),
        slice(None))`` for one plane), so only that part is copied."""
        return self._core.snapshot(check_chunk_key(key, self.grid_shape), cut)

    def cache_info(self) -> dict[str, int]:
        """Resident chunk counts: ``resident``, ``dirty``, ``clean``, ``budget_chunks``."""
        with self._core.lock:
            return self._core.table.info()

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call ``callback(change)`` after every change; returns a function that unsubscribes."""
        return self._core.subscribe(callback)

    # -- exports (voxwidget/export/) ----------------------------------------------------------------
    def to_ome_zarr(self, path: str | Path, **kwargs: Any) -> Path:
        """Write the labels as an OME-Zarr (NGFF 0.5, zarr v3) label pyramid, streamed chunk by chunk;
        written beside ``path`` and moved there at the end (a failed export leaves ``path`` as it was).

        Parameters
        ----------
        path : path-like
            The label image, or with ``image`` the image whose ``labels/<name>`` holds the labels.
        image : array-like or MultiscaleImage, optional
            A 3D image of the labels' shape: its pyramid (mean downsampling) is written too.
        name : str
            The label image's name (default ``"labels"``).
        levels : int, optional
            Number of levels (default: 2× per level until one chunk holds a level).
        voxel_size : 3 floats, optional
            (z, y, x) level-0 voxel size for ``scale``/``translation`` (default the image's, else 1).
        overwrite : bool
            Replace an existing ``path`` (default False: FileExistsError).
        progress : bool
            A ``tqdm.auto`` bar once the export has taken a second (default True).
        scheduler : str or distributed.Client, optional
            Run each level as a dask graph there (workers read a stored map's file snapshot).

        Returns
        -------
        Path
            ``path``; ``image-label.colors`` holds the view's colour of every label present.
        """
        from ..export.ome import to_ome_zarr

        return to_ome_zarr(self, path, **kwargs)

    def to_nanovdb(self, path: str | Path, **kwargs: Any) -> Path:
        """Write the labels as a NanoVDB file (one grid, NanoVDB 32 layout), chunk by chunk; same map,
        same bytes. NanoVDB's (i, j, k) is the map's (x, y, z), scaled by (vx, vy, vz).

        Parameters
        ----------
        path : path-like
            The ``.nvdb`` file (written beside it and renamed at the end).
        label : int, optional
            Only voxels of this label are active (default: every non-zero voxel).
        grid : {"onindex", "int64", "uint32", "int32"}
            ``"onindex"`` (default): an OnIndex grid whose ``labels`` channel holds every active
            voxel's label (index 0: background); value grids hold the labels in the leaves:
            ``"int64"`` (labels ≤ 2⁶³−1), ``"uint32"`` (uint8…uint32 maps), ``"int32"`` (uint8/16).
        voxel_size : 3 floats, optional
            (z, y, x) voxel size (default 1).
        overwrite, progress : bool
            As :meth:`to_ome_zarr`.

        Returns
        -------
        Path
            ``path``.
        """
        from ..export.nanovdb import to_nanovdb

        return to_nanovdb(self, path, **kwargs)

    def to_dask(self, level: int = 0) -> Any:
        """A lazy dask array of the labels (pyramid ``level``), one task per chunk, showing the map as
        it is at the call: a stored map is checkpointed and its chunk files hard-linked into a snapshot
        any process can read; an in-memory map keeps copies of chunks edited later (threaded
        schedulers only)."""
        from ..export.dask_array import to_dask

        return to_dask(self, level)

    # -- persistence -------------------------------------------------------------------------------
    @property
    def storage_status(self) -> dict[str, Any]:
        """Health of the store: ``{"state": "ok" | "error", "journal_error": str | None,
        "checkpoint_error": str | None}`` (an in-memory map is always ``ok``). A journal error
        (its edits were rolled back) clears once a later edit is durable; a checkpoint error (the
        journal is kept, the checkpoint retried) once a checkpoint succeeds."""
        persist = self._core.persist
        if persist is None:
            return {"state": "ok", "journal_error": None, "checkpoint_error": None}
        with self._core.lock:
            return persist.status()

    def checkpoint(self, force: bool = False) -> None:
        """Write all dirty chunks to the store now (atomically), then truncate the journal."""
        if self._core.persist is not None:
            self._core.persist.checkpoint(force)

    def save(self, path: str | Path | None = None) -> None:
        """Persist the map. Without ``path``: checkpoint the map's own store. With a new ``path`` for
        an in-memory map: create a store there and keep the map durable from then on. With a new
        ``path`` for a stored map: write a copy there (the map stays bound to its own store)."""
        self._core.save(path)

    def close(self) -> None:
        """Checkpoint and release the store and the background threads (idempotent)."""
        self._core.close()

    def _abandon(self) -> None:
        """Drop the map without checkpointing, as a crash would (for tests); the journal is flushed."""
        self._core.close(checkpoint=False)

    def __enter__(self) -> LabelMap:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"LabelMap(shape={self.shape}, dtype={self.dtype.name}, "
            f"chunks={self.chunk_shape}, path={self.path})"
        )
