"""``VoxWidget``: the notebook widget. Traits for view state, messages (:mod:`voxwidget.comm`) for voxels."""

from __future__ import annotations

import datetime
import functools
import hashlib
import os
import pathlib
from typing import Any

import anywidget
import numpy as np
import traitlets as t

from .comm.endpoint import Endpoint
from .grid import AXES
from .labelmap.labelmap import LabelMap
from .multiscale.sources import ImageSource
from .traitvalues import (
    check_camera,
    ids_from_json,
    ids_to_json,
    label_from_json,
    label_to_json,
    names_from_json,
    names_to_json,
)

_STATIC = pathlib.Path(__file__).parent / "static"
TOOLS = ("pan", "brush", "erase", "fill", "polygon")
VIEWS = ("2d", "3d", "ortho")
RENDER_MODES = ("mip", "composite")


def _loader_text() -> str:
    """The anywidget entry module (js/src/loader.js), or one that says the build is missing."""
    if not (_STATIC / "widget.js").is_file():
        return _MISSING_BUILD
    try:
        return (_STATIC / "loader.js").read_text(encoding="utf-8")
    except FileNotFoundError:
        return _MISSING_BUILD


_MISSING_BUILD = """export default { render({ el }) {
  el.textContent = "voxwidget: the browser bundle is not built (voxwidget/static/); "
    + "reinstall voxwidget, or run `npm run build` in a source checkout.";
} };"""


@functools.cache
def _bundle_text() -> tuple[str, str]:
    """The browser bundle (built at install) and a key naming its version; empty when not built
    (the entry module then says so in the view)."""
    try:
        text = (_STATIC / "widget.js").read_text(encoding="utf-8")
    except FileNotFoundError:
        return "", ""
    return text, hashlib.sha256(text.encode()).hexdigest()[:16]


class VoxWidget(anywidget.AnyWidget):
    """Annotate label masks on a 3D volume, in the notebook.

    Parameters
    ----------
    image
        A 3D array (z, y, x): numpy, zarr or dask; uint8, uint16, int16, uint32, int32, float32/64.
    labels
        ``None`` (empty labels, in memory, ``label_dtype``), an existing label array of the same
        shape, a :class:`LabelMap`, or a path to a zarr label store (created when missing).
    chunks
        Chunk shape of a new label map (z, y, x).
    label_dtype
        dtype of new labels: uint8, uint16, uint32 or uint64.
    channel, timepoint
        Which 3D volume of a 4D/5D image (c/t axes) to annotate; required when the image has them.
    **kwargs
        Initial trait values (``tool``, ``label``, ``brush_radius``, ``axis``, ``position``, ...).

    Examples
    --------
    >>> w = VoxWidget(image)          # doctest: +SKIP
    >>> w.labels[10:20, 5, :] = 7     # shows up in the browser at once
    >>> w.to_numpy()                  # the labels as a numpy array (a copy)
    """

    # A string, not a Path: anywidget watches a Path's file and its watcher keeps every widget
    # alive for good (manzt/anywidget#929), with its label map.
    _esm = _loader_text()
    # The bundle travels as model state and is imported once per page by the loader (see
    # js/src/loader.js: anywidget's per-widget module import would keep ~4 MiB per widget for good).
    _bundle = t.Unicode().tag(sync=True)
    _bundle_key = t.Unicode().tag(sync=True)

    @t.default("_bundle")
    def _default_bundle(self) -> str:
        return _bundle_text()[0]

    @t.default("_bundle_key")
    def _default_bundle_key(self) -> str:
        return _bundle_text()[1]

    tool = t.Enum(TOOLS, default_value="brush").tag(sync=True)
    """str: active tool, one of ``"pan"``, ``"brush"``, ``"erase"``, ``"fill"`` (a click fills the
    region under it, in 2D or 3D per ``brush_dims``), ``"polygon"`` (clicks add vertices on the slice;
    double-click or Enter fills the polygon). Default ``"brush"``."""

    label = t.Int(1).tag(sync=True, to_json=label_to_json, from_json=label_from_json)
    """int: label id the brush paints (within the label dtype's range). Default ``1``."""

    brush_radius = t.Int(5).tag(sync=True)
    """int: brush radius in voxels, 0 … 256 (0 paints single voxels). Default ``5``."""

    brush_dims = t.Int(2).tag(sync=True)
    """int: ``2`` — the brush paints a disk in the shown slice and the fill tool fills in that slice;
    ``3`` — the brush paints a ball (its cross-section shows as the cursor) and the fill tool fills the
    connected region in 3D. Default ``2``."""

    preserve_labels = t.Bool(False).tag(sync=True)
    """bool: brush and fill overwrite only background (0), never other labels. Default ``False``."""

    fill_max_voxels = t.Int(50_000_000).tag(sync=True)
    """int: the fill tool refuses (changing nothing, the status line says why) a region of more voxels
    than this, so filling the background of a huge volume by mistake cannot hang the kernel.
    Default ``50_000_000``."""

    label_names = t.Dict().tag(sync=True, to_json=names_to_json, from_json=names_from_json)
    """dict[int, str]: optional names of label ids, shown in the label panel. Default ``{}``."""

    hidden_labels = t.List(t.Int()).tag(sync=True, to_json=ids_to_json, from_json=ids_from_json)
    """list[int]: label ids not drawn in the view (the label panel's visibility boxes). Default ``[]``."""

    show_selected_only = t.Bool(False).tag(sync=True)
    """bool: draw only the selected ``label`` (the label panel's "show selected only"), in the slice
    views and the 3D view. Default ``False``."""

    axis = t.Enum(AXES, default_value="z").tag(sync=True)
    """str: the axis the 2D view looks along, ``"z"``, ``"y"`` or ``"x"``. Default ``"z"``."""

    position = t.List(t.Int(), minlen=3, maxlen=3).tag(sync=True)
    """list[int]: the voxel ``[z, y, x]`` the view is centred on; the slice is ``position[axis]``.
    Default: the volume's centre."""

    zoom = t.Float(0.0).tag(sync=True)
    """float: screen pixels per voxel; ``0`` fits the slice into the view. Default ``0``."""

    opacity = t.Float(0.5).tag(sync=True)
    """float: label overlay opacity, 0 … 1. Default ``0.5``."""

    contrast_limits = t.List(t.Float(), minlen=2, maxlen=2).tag(sync=True)
    """list[float]: image values shown as black and white. Default: the 0.5 and 99.5 percentiles."""

    height = t.Int(480).tag(sync=True)
    """int: height of the view in CSS pixels. Default ``480``."""

    sync_status = t.Dict().tag(sync=True)
    """dict: what the browser has not yet got acknowledged, set by the view:
    ``{"state": "saved" | "pending" | "offline" | "replaying" | "error", "pending": int (batches),
    "error": str (only with state "error")}``. Empty until a view reports. Default ``{}``."""

    pending_batches = t.List(t.Dict()).tag(sync=True)
    """list[dict]: the edit batches the browser holds for this label map and the kernel has not yet
    acknowledged, oldest first (at most 10 000), set by the view with ``sync_status``: each
    ``{"id": str, "stroke": str, "created": float (ms since the epoch), "chunks": int, "voxels":
    int}``. Read it with :meth:`pending_edits`. Default ``[]``."""

    pending_max_age_days = t.Float(30.0).tag(sync=True)
    """float: pending edit batches older than this (of any label map) are dropped from the browser
    when a view starts, with a console note (they can no longer be replayed usefully); ``0`` keeps
    them forever. Default ``30``."""

    shape = t.List(t.Int(), read_only=True).tag(sync=True)
    """list[int]: volume shape ``[z, y, x]`` (read-only)."""

    chunk_shape = t.List(t.Int(), read_only=True).tag(sync=True)
    """list[int]: label chunk shape ``[z, y, x]`` (read-only)."""

    image_dtype = t.Unicode(read_only=True).tag(sync=True)
    """str: the image's dtype (read-only)."""

    label_dtype = t.Unicode(read_only=True).tag(sync=True)
    """str: the labels' dtype (read-only)."""

    fingerprint = t.Unicode(read_only=True).tag(sync=True)
    """str: dataset fingerprint keying the browser's cache (read-only)."""

    labelmap_id = t.Unicode(read_only=True).tag(sync=True)
    """str: the label store's stable id (read-only)."""

    levels = t.List(t.Dict(), read_only=True).tag(sync=True)
    """list[dict]: the resolution levels the view streams, finest first, each
    ``{"shape": [z, y, x], "downsample": [dz, dy, dx]}`` (integer factors versus level 0; read-only)."""

    voxel_size = t.List(t.Float(), read_only=True).tag(sync=True)
    """list[float]: physical size of a level-0 voxel ``[z, y, x]`` (read-only)."""

    browser_cache_mb = t.Int(256).tag(sync=True)
    """int: size bound of the browser's persistent chunk cache (IndexedDB, shared by all widgets of
    the page's origin, least recently used tiles evicted first); 0 turns it off. Default ``256``."""

    # -- 3D and orthogonal views ---------------------------------------------------------------
    view = t.Enum(VIEWS, default_value="2d").tag(sync=True)
    """str: which panels the widget shows: ``"2d"`` (one slice view along ``axis``), ``"3d"`` (the
    volume rendered in 3D) or ``"ortho"`` (the z, y and x slice views and the 3D view in a 2×2 grid,
    sharing ``position``; each slice view paints). Default ``"2d"``."""

    render_mode = t.Enum(RENDER_MODES, default_value="mip").tag(sync=True)
    """str: how the 3D view shows the image: ``"mip"`` (maximum intensity along each ray) or
    ``"composite"`` (emission-absorption with a grey transfer function from ``contrast_limits``).
    Labels are drawn over either in their 2D colours. Default ``"mip"``."""

    camera = t.Dict().tag(sync=True)
    """dict: the 3D view's camera ``{"position": [x, y, z], "target": [x, y, z], "up": [x, y, z],
    "fov": degrees}`` in world units (level-0 voxels times ``voxel_size``; x, y, z are the array's
    last, middle and first axes). Set it to script a view; the browser writes it back after the user
    orbits, pans or zooms. ``{}`` is the default pose (the whole volume in view). Default ``{}``."""

    gpu_budget_mb = t.Int(256).tag(sync=True)
    """int: GPU memory the 3D view's bricks may hold (MiB, 16 … 4096); least recently used bricks
    are replaced when it is full. Default ``256``."""

    slice_planes = t.Bool(True).tag(sync=True)
    """bool: the 3D view outlines the three slice planes through ``position``. Default ``True``."""

    def __init__(
        self,
        image: Any,
        labels: Any = None,
        *,
        chunks: tuple[int, int, int] = (64, 64, 64),
        label_dtype: str = "uint32",
        channel: int | None = None,
        timepoint: int | None = None,
        **kwargs: Any,
    ) -> None:
        unknown = set(kwargs) - set(self.class_trait_names(sync=True)) - {"layout"}
        if unknown:
            raise TypeError(f"VoxWidget got unexpected keyword argument(s) {sorted(unknown)}")
        source = ImageSource(image, channel=channel, timepoint=timepoint)
        labelmap = _as_labelmap(labels, source.shape, chunks, label_dtype)
        fingerprint = source.fingerprint()
        kwargs.setdefault("position", [s // 2 for s in source.shape])
        kwargs.setdefault("contrast_limits", list(source.robust_limits()))
        super().__init__(**kwargs)
        self.set_trait("shape", list(source.shape))
        self.set_trait("chunk_shape", list(labelmap.chunk_shape))
        self.set_trait("image_dtype", source.dtype.name)
        self.set_trait("label_dtype", np.dtype(labelmap.dtype).name)
        self.set_trait("fingerprint", fingerprint)
        self.set_trait("labelmap_id", labelmap.id)
        self.set_trait(
            "levels",
            [{"shape": list(lv.shape), "downsample": list(lv.downsample)} for lv in source.levels],
        )
        self.set_trait("voxel_size", [float(v) for v in source.multiscale.voxel_size])
        self._source = source
        self._labels = labelmap
        self._endpoint = Endpoint(lambda msg, bufs: self.send(msg, bufs), source, labelmap, fingerprint)
        self.on_msg(lambda _widget, content, buffers: self._endpoint.handle(content, buffers))

    # -- validation --------------------------------------------------------------------------
    @t.validate("label")
    def _valid_label(self, proposal: dict) -> int:
        value = int(proposal["value"])
        info = np.iinfo(self._labels.dtype) if hasattr(self, "_labels") else np.iinfo(np.uint64)
        if not 0 <= value <= info.max:
            raise t.TraitError(f"label {value} is outside the label dtype's range 0 … {info.max}")
        return value

    @t.validate("brush_dims")
    def _valid_dims(self, proposal: dict) -> int:
        value = proposal["value"]
        if value not in (2, 3):
            raise t.TraitError(f"brush_dims {value} must be 2 or 3")
        return value

    @t.validate("fill_max_voxels")
    def _valid_max_voxels(self, proposal: dict) -> int:
        value = proposal["value"]
        if value < 1:
            raise t.TraitError(f"fill_max_voxels {value} must be at least 1")
        return value

    @t.validate("label_names")
    def _valid_names(self, proposal: dict) -> dict[int, str]:
        value = proposal["value"]
        for k, v in value.items():
            if isinstance(k, bool) or not isinstance(k, int | np.integer) or not isinstance(v, str):
                raise t.TraitError(f"label_names entry {k!r}: {v!r} must map an int label id to a str")
            self._check_id(int(k), "label_names id")
        return {int(k): v for k, v in value.items()}

    @t.validate("hidden_labels")
    def _valid_hidden(self, proposal: dict) -> list[int]:
        value = [int(v) for v in proposal["value"]]
        for v in value:
            self._check_id(v, "hidden_labels id")
        return value

    def _check_id(self, value: int, what: str) -> None:
        info = np.iinfo(self._labels.dtype) if hasattr(self, "_labels") else np.iinfo(np.uint64)
        if not 0 <= value <= info.max:
            raise t.TraitError(f"{what} {value} is outside the label dtype's range 0 … {info.max}")

    @t.validate("brush_radius")
    def _valid_radius(self, proposal: dict) -> int:
        value = proposal["value"]
        if not 0 <= value <= 256:
            raise t.TraitError(f"brush_radius {value} is outside 0 … 256")
        return value

    @t.validate("position")
    def _valid_position(self, proposal: dict) -> list[int]:
        value = list(proposal["value"])
        shape = self.shape or value
        if self.shape and any(not 0 <= p < s for p, s in zip(value, shape, strict=True)):
            raise t.TraitError(f"position {value} is outside the volume {list(shape)}")
        return value

    @t.validate("gpu_budget_mb")
    def _valid_gpu_budget(self, proposal: dict) -> int:
        value = proposal["value"]
        if not 16 <= value <= 4096:
            raise t.TraitError(f"gpu_budget_mb {value} is outside 16 … 4096")
        return value

    @t.validate("camera")
    def _valid_camera(self, proposal: dict) -> dict:
        return check_camera(proposal["value"])

    @t.validate("browser_cache_mb")
    def _valid_cache_mb(self, proposal: dict) -> int:
        value = proposal["value"]
        if not 0 <= value <= 1 << 20:
            raise t.TraitError(f"browser_cache_mb {value} is outside 0 … {1 << 20}")
        return value

    @t.validate("opacity")
    def _valid_opacity(self, proposal: dict) -> float:
        value = proposal["value"]
        if not 0.0 <= value <= 1.0:
            raise t.TraitError(f"opacity {value} is outside 0 … 1")
        return value

    @t.validate("zoom")
    def _valid_zoom(self, proposal: dict) -> float:
        value = proposal["value"]
        if not (value == 0 or 1 / 64 <= value <= 256):
            raise t.TraitError(f"zoom {value} is outside 1/64 … 256 (or 0 to fit)")
        return value

    @t.validate("contrast_limits")
    def _valid_contrast(self, proposal: dict) -> list[float]:
        lo, hi = proposal["value"]
        if not hi > lo:
            raise t.TraitError(f"contrast_limits {[lo, hi]} must have high > low")
        return [lo, hi]

    # -- data API ----------------------------------------------------------------------------
    @property
    def labels(self) -> LabelMap:
        """The authoritative label map: ``w.labels[...]`` reads and writes voxels (numpy style)."""
        return self._labels

    @property
    def image(self) -> Any:
        """The image array as given."""
        return self._source.data

    def to_numpy(self, region: Any = None) -> np.ndarray:
        """The labels (or a region of them, as a tuple of slices) as a new numpy array."""
        return self._labels.to_numpy(region)

    def mask(self, labels: int | list[int]) -> np.ndarray:
        """Boolean mask of the voxels holding ``labels`` (one id or a list of ids)."""
        return self._labels.mask(labels)

    def to_ome_zarr(self, path: str | os.PathLike, **kwargs: Any) -> pathlib.Path:
        """Write the image and its labels as one OME-Zarr (NGFF 0.5): the image pyramid at ``path``,
        the labels under ``path/labels/<name>``, with the image's voxel size. Keyword arguments as
        :meth:`voxwidget.labelmap.labelmap.LabelMap.to_ome_zarr` (``name``, ``levels``,
        ``voxel_size``, ``overwrite``, ``progress``, ``scheduler``)."""
        kwargs.setdefault("voxel_size", self._source.multiscale.voxel_size)
        return self._labels.to_ome_zarr(path, image=self._source.multiscale, **kwargs)

    def undo(self) -> bool:
        """Undo the last stroke or edit; False when there is nothing to undo."""
        return self._labels.undo()

    def redo(self) -> bool:
        """Redo the last undone stroke or edit; False when there is nothing to redo."""
        return self._labels.redo()

    def pending_edits(self) -> list[dict[str, Any]]:
        """The edit batches the browser holds for this label map, not yet saved by the kernel (as
        last reported by the view; empty when nothing is pending or no view is open): each
        ``{"id", "stroke", "created" (datetime, UTC), "chunks", "voxels"}``, oldest first."""
        out = []
        for b in self.pending_batches:
            b = dict(b)
            if b.get("created") is not None:
                b["created"] = datetime.datetime.fromtimestamp(b["created"] / 1000, datetime.UTC)
            out.append(b)
        return out

    def discard_pending(self) -> None:
        """Ask in the view(s) whether to drop the edit batches the browser holds for this label map
        (see :meth:`pending_edits`); on "Discard" they are deleted from the browser and their
        painting is reverted, on "Keep" nothing changes. The answer is noted in the console. It
        does not recall batches the kernel already received (they are applied as usual): it is for
        edits painted offline, or that the kernel could not save (a full disk), that should go."""
        self._endpoint.send("pending.discard")

    def clear_browser_cache(self) -> None:
        """Empty the browser's persistent chunk cache in every open view (they refetch what they show)."""
        self._endpoint.clear_browser_cache()

    async def screenshot(self, panel: str | None = None, timeout: float = 10.0) -> bytes:
        """A PNG of the live view, taken by the browser and sent over the comm.

        **Await it in a notebook cell**: ``png = await w.screenshot()`` (IPython's top-level await),
        after the widget was shown in an earlier cell. The browser's answer reaches the kernel on the
        channel of the cell that asked; a cell that blocks waiting for it would wait forever, a cell
        that awaits lets it in (ipykernel >= 7.4 dispatches comm messages to a cell that awaits).
        From a coroutine on the kernel's event loop: ``await w.screenshot()`` as well.

        Parameters
        ----------
        panel
            ``None`` (default): the whole view, every panel shown where it is on the page; or one
            panel: ``"2d"`` (the main slice view), ``"3d"``, and with ``view="ortho"`` also
            ``"z"``, ``"y"``, ``"x"``. An unknown or hidden panel gets an error naming the view's
            panels.
        timeout
            Seconds to wait for a view's answer. Default ``10.0``.

        Returns
        -------
        bytes
            The PNG file (canvas pixels at the device's resolution). With several views of the
            widget on the page, the first to answer.

        Raises
        ------
        RuntimeError
            No view was ever displayed, the view could not take the picture (the reason is named),
            or the widget was closed.
        TimeoutError
            No view answered within ``timeout`` (the page is closed, or the kernel lets no comm
            message into a cell that awaits: ipykernel < 7.4).

        Examples
        --------
        >>> png = await w.screenshot()                       # doctest: +SKIP
        >>> from IPython.display import Image; Image(png)    # doctest: +SKIP
        """
        return await self._endpoint.screenshots.take(panel, timeout)

    @property
    def stream_stats(self) -> dict[str, Any]:
        """What the kernel sent in tile replies so far: ``requests``, ``messages``, ``tiles``, ``bytes``
        (payload), ``unchanged`` (tiles the browser already held) and ``levels`` ({level: tiles});
        and ``cached_bytes``, the decoded chunks the kernel holds now to serve this widget (0 after
        :meth:`close`): its share of the kernel-wide chunk cache, which
        :func:`voxwidget.set_chunk_cache_budget` bounds for all widgets together."""
        ep = self._endpoint
        return dict(ep.stats, levels=dict(ep.stats["levels"]), cached_bytes=ep.cached_bytes)

    def save(self, path: str | os.PathLike | None = None) -> None:
        """Persist the labels as a zarr store (at ``path``, or where they were opened from)."""
        self._labels.save(path)

    def close(self) -> None:
        """Close the view(s) and stop serving; the label map stays usable."""
        endpoint = getattr(self, "_endpoint", None)  # absent when __init__ refused its input
        if endpoint is not None:
            endpoint.close()
        super().close()


def _as_labelmap(
    labels: Any, shape: tuple[int, int, int], chunks: tuple[int, int, int], dtype: str
) -> LabelMap:
    if labels is None:
        return LabelMap(shape, dtype=dtype, chunks=chunks)
    if isinstance(labels, LabelMap):
        lm = labels
    elif isinstance(labels, str | os.PathLike):
        exists = pathlib.Path(labels).exists()
        lm = LabelMap.open(labels) if exists else LabelMap(shape, dtype=dtype, chunks=chunks, path=labels)
    else:
        lm = LabelMap.from_array(labels, chunks=chunks)
    if tuple(lm.shape) != tuple(shape):
        raise ValueError(f"labels shape {tuple(lm.shape)} differs from the image shape {tuple(shape)}")
    return lm
