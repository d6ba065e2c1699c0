"""OME-Zarr (NGFF 0.5, zarr v3) export of the label map: a label pyramid with ``image-label``
metadata, and optionally the image pyramid it annotates, streamed chunk by chunk.

Layout with an image (as the spec lays it out)::

    path/zarr.json                 image multiscales (levels 0…n-1)
    path/0, path/1, …              image levels (mean downsampling)
    path/labels/zarr.json          {"ome": {"version": "0.5", "labels": [name]}}
    path/labels/<name>/zarr.json   label multiscales + image-label (colors, source)
    path/labels/<name>/0, …        label levels (mode downsampling)

Without an image, ``path`` is the label image itself (multiscales + ``image-label``). Everything is
written into a hidden directory beside ``path`` and moved into place at the end
(:func:`voxwidget.export.publish.publish`). Level 0 is read through a snapshot of the map; each
coarser level is reduced from the level just written. With ``scheduler`` (a dask scheduler name or a
``distributed.Client``) every level is one dask graph of chunk tasks, reading level 0 from a
:class:`~voxwidget.export.snapshot.FileSnapshot` when the map is stored.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..colors import label_rgb
from ..multiscale.downsample import downsample_mean
from .chunkfiles import ArrayOut, labels_in
from .publish import check_target, check_voxel_size, discard, progress_bar, publish, temp_beside
from .pyramid import level_factors, level_shapes, mode_reduce
from .snapshot import ChunkSource, FileSnapshot, PinnedSnapshot

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap

__all__ = ["MAX_COLORS", "NGFF_VERSION", "to_ome_zarr"]

NGFF_VERSION = "0.5"
#: at most this many labels get an entry in ``image-label.colors`` (a warning says when more exist)
MAX_COLORS = 65536
_TASK_CHUNKS = 16  # chunks per task


def to_ome_zarr(
    lm: LabelMap,
    path: str | os.PathLike,
    *,
    image: Any = None,
    name: str = "labels",
    levels: int | None = None,
    voxel_size: Sequence[float] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    scheduler: Any = None,
) -> Path:
    """See :meth:`voxwidget.labelmap.labelmap.LabelMap.to_ome_zarr`."""
    target = check_target(path, overwrite)
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise ValueError(
            f"name must be a non-empty string without '/' and not starting with '.', got {name!r}"
        )
    if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int) or levels < 1):
        raise ValueError(f"levels must be an integer ≥ 1 or None, got {levels!r}")
    img = _ImageReader.of(image, lm.shape) if image is not None else None
    vs = check_voxel_size(voxel_size, img.voxel_size if img is not None else (1.0, 1.0, 1.0))
    shapes = level_shapes(lm.shape, lm.chunk_shape, levels)
    unit = img.unit if img is not None else None

    tmp = temp_beside(target)
    src: ChunkSource | None = None
    snap: FileSnapshot | None = None
    try:
        tmp.mkdir()
        label_dir = tmp / "labels" / name if img is not None else tmp
        label_dir.mkdir(parents=True, exist_ok=True)
        lab = [ArrayOut(label_dir / str(k), s, lm.chunk_shape, lm.dtype) for k, s in enumerate(shapes)]
        ims = (
            [ArrayOut(tmp / str(k), s, lm.chunk_shape, img.dtype, shuffle=True) for k, s in enumerate(shapes)]
            if img
            else []
        )
        for a in lab + ims:
            a.create()
        if scheduler is not None and lm.path is not None:
            snap = FileSnapshot(lm)  # other processes read level 0 from its files
            src = snap.reader()
        else:
            src = PinnedSnapshot(lm)
        run = _Runner(scheduler, progress)
        try:
            cands = src.candidates()
            keys = None if cands is None else sorted(k for k in cands if _inside(k, lab[0].grid))
            found = run.level("labels", 0, _labels0, (src, lab[0]), lab[0], keys)
            _coarser(run, "labels", lab, shapes, [k for _, written in found for k in written], mean=False)
            if img is not None:
                written = run.level("image", 0, _image0, (img, ims[0]), ims[0])
                _coarser(run, "image", ims, shapes, [k for w in written for k in w], mean=True)
        finally:
            run.close()
        found = [labs for labs, _ in found]
        labels = np.unique(np.concatenate([np.asarray(f, lm.dtype) for f in found])) if found else []
        _write_metadata(tmp, label_dir, name, shapes, vs, unit, labels, img is not None)
        publish(tmp, target, overwrite)
    except BaseException:
        discard(tmp)
        raise
    finally:
        for s in (src, snap):
            if s is not None:
                s.close()
    return target


class _Runner:
    """Runs one level's chunk tasks: in a local thread pool, or as a dask graph on ``scheduler``."""

    def __init__(self, scheduler: Any, progress: bool) -> None:
        self.scheduler = scheduler
        self.progress = progress
        self.pool = None if scheduler is not None else ThreadPoolExecutor(max(1, min(4, os.cpu_count() or 1)))

    def level(
        self, what: str, k: int, fn: Callable, args: tuple, out: ArrayOut, keys: list | None = None
    ) -> list:
        """Run ``fn(*args, batch)`` over ``keys`` (default: every chunk of ``out``, level ``k`` of
        ``what``) in batches; the tasks' results, in order."""
        if keys is None:
            keys = [tuple(int(i) for i in k) for k in np.ndindex(*out.grid)]
        per = max(1, min(_TASK_CHUNKS * 16, math.ceil(len(keys) / 256))) if self.scheduler else _TASK_CHUNKS
        batches = [keys[i : i + per] for i in range(0, len(keys), per)]
        bar = progress_bar(len(keys), f"OME-Zarr export: {what} level {k}", self.progress)
        try:
            if self.pool is not None:
                results = []
                for n, res in self.pool.map(lambda b: (len(b), fn(*args, b)), batches):
                    bar.update(n)
                    results.append(res)
                return results
            import dask

            tasks = [dask.delayed(fn, pure=False)(*args, b) for b in batches]
            results = list(dask.compute(*tasks, scheduler=self.scheduler))
            bar.update(len(keys))
            return results
        finally:
            bar.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


def _coarser(run: _Runner, what: str, arrays: list[ArrayOut], shapes: list, keys: list, mean: bool) -> None:
    """Levels 1… of ``arrays``, each reduced from the one below; only the chunks over chunks written
    below are computed (the others are zero)."""
    for k in range(1, len(shapes)):
        f = level_factors(shapes[k - 1])
        keys = sorted({tuple(a // b for a, b in zip(key, f, strict=True)) for key in keys})
        written = run.level(what, k, _reduce, (arrays[k - 1], arrays[k], f, mean), arrays[k], keys)
        keys = [key for w in written for key in w]


def _inside(key: Sequence[int], grid: Sequence[int]) -> bool:
    return all(0 <= k < g for k, g in zip(key, grid, strict=True))


# -- chunk tasks (top-level functions: dask pickles them) --------------------------------------------
def _labels0(src: ChunkSource, out: ArrayOut, keys: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Copy level-0 chunks from the snapshot; returns the labels they hold and the keys written."""
    found, written = [], []
    for key in keys:
        data = src.read(key)
        if data is None:
            continue
        lo, hi = out.box(key)
        part = data[tuple(slice(0, b - a) for a, b in zip(lo, hi, strict=True))]
        if out.write(key, part):
            found.append(labels_in(part))
            written.append(tuple(key))
    return (np.unique(np.concatenate(found)) if found else np.zeros(0, out.dtype)), written


def _reduce(parent: ArrayOut, out: ArrayOut, factors: Sequence[int], mean: bool, keys: Sequence) -> list:
    """Compute chunks of a level from the level below it (mode for labels, mean for images); returns
    the keys written."""
    written = []
    for key in keys:
        lo, hi = out.box(key)
        plo = [a * f for a, f in zip(lo, factors, strict=True)]
        phi = [min(b * f, n) for b, f, n in zip(hi, factors, parent.shape, strict=True)]
        block = parent.read_box(plo, phi, none_if_empty=True)
        if block is None:
            continue
        if out.write(key, downsample_mean(block, factors) if mean else mode_reduce(block, factors)):
            written.append(tuple(key))
    return written


def _image0(img: _ImageReader, out: ArrayOut, keys: Sequence) -> list:
    """Copy level-0 image chunks; returns the keys written (all-zero chunks are not)."""
    written = []
    for key in keys:
        lo, hi = out.box(key)
        if out.write(key, img.read(lo, hi)):
            written.append(tuple(key))
    return written


class _ImageReader:
    """Level 0 of the image to export: a 3D array-like (numpy, zarr, dask) or a multiscale image
    (:class:`voxwidget.multiscale.image.MultiscaleImage`)."""

    def __init__(self, image: Any, multiscale: bool) -> None:
        self.image, self.multiscale = image, multiscale
        self.dtype = np.dtype(image.dtype)
        self.voxel_size = tuple(image.voxel_size) if multiscale else (1.0, 1.0, 1.0)
        self.unit = getattr(image, "unit", None) if multiscale else None

    @classmethod
    def of(cls, image: Any, shape: Sequence[int]) -> _ImageReader:
        multiscale = hasattr(image, "levels") and hasattr(image, "read")
        if not multiscale and not (
            hasattr(image, "shape") and hasattr(image, "dtype") and hasattr(image, "__getitem__")
        ):
            image = np.asarray(image)
        ishape = tuple(int(s) for s in image.shape)
        if ishape != tuple(shape):
            raise ValueError(f"image shape {ishape} differs from the label shape {tuple(shape)} (3D z, y, x)")
        if np.dtype(image.dtype).kind not in "uifb":
            raise ValueError(f"image dtype {np.dtype(image.dtype)} is not numeric")
        return cls(image, multiscale)

    def read(self, lo: Sequence[int], hi: Sequence[int]) -> np.ndarray:
        region = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        data = self.image.read(region, 0) if self.multiscale else self.image[region]
        return np.asarray(data).astype(self.dtype, copy=False)


# -- metadata ------------------------------------------------------------------------------------------
def _multiscales(name: str, shapes: list, voxel_size: Sequence[float], unit: str | None) -> list[dict]:
    axes = [{"name": a, "type": "space", **({"unit": unit} if unit else {})} for a in ("z", "y", "x")]
    datasets = []
    total = [1, 1, 1]
    for k in range(len(shapes)):
        if k:
            total = [t * f for t, f in zip(total, level_factors(shapes[k - 1]), strict=True)]
        datasets.append(
            {
                "path": str(k),
                "coordinateTransformations": [
                    {
                        "type": "scale",
                        "scale": [float(v * t) for v, t in zip(voxel_size, total, strict=True)],
                    },
                    {
                        "type": "translation",
                        "translation": [
                            float((t - 1) / 2 * v) for v, t in zip(voxel_size, total, strict=True)
                        ],
                    },
                ],
            }
        )
    return [{"name": name, "axes": axes, "datasets": datasets}]


def _write_metadata(
    root: Path,
    label_dir: Path,
    name: str,
    shapes: list,
    voxel_size: Sequence[float],
    unit: str | None,
    labels: Any,
    with_image: bool,
) -> None:
    labels = [int(v) for v in labels]
    if len(labels) > MAX_COLORS:
        warnings.warn(
            f"{len(labels)} labels: image-label colors lists the first {MAX_COLORS} only", stacklevel=3
        )
        labels = labels[:MAX_COLORS]
    image_label: dict[str, Any] = {
        "version": NGFF_VERSION,
        "colors": [{"label-value": v, "rgba": [*label_rgb(v), 255]} for v in labels],
    }
    if with_image:
        image_label["source"] = {"image": "../../"}
    ome = {
        "version": NGFF_VERSION,
        "multiscales": _multiscales(name, shapes, voxel_size, unit),
        "image-label": image_label,
    }
    _group(label_dir, {"ome": ome})
    if with_image:
        _group(root / "labels", {"ome": {"version": NGFF_VERSION, "labels": [name]}})
        _group(
            root,
            {
                "ome": {
                    "version": NGFF_VERSION,
                    "multiscales": _multiscales("image", shapes, voxel_size, unit),
                }
            },
        )


def _group(path: Path, attributes: dict) -> None:
    """Write a zarr v3 group's ``zarr.json`` (its arrays are already there)."""
    meta = {"zarr_format": 3, "node_type": "group", "attributes": attributes}
    (path / "zarr.json").write_text(json.dumps(meta, separators=(",", ":")))
