"""Label surfaces as pythreejs meshes, for users who compose their own pythreejs scenes.

``meshes(labels, ids)`` runs scikit-image's marching cubes on each chosen label's mask and returns a
``pythreejs.Group`` of one ``Mesh`` per label, coloured with the view's hashed label colours
(:mod:`voxwidget.colors`), in physical units (``voxel_size``). pythreejs and scikit-image are
imported only when it is called (importing voxwidget stays light).

Coordinates: three.js axes ``(x, y, z)`` are the volume's ``(x, y, z)`` axes, i.e. array axes
``(2, 1, 0)``; the centre of level-0 voxel ``[z, y, x]`` is at ``(x·sx, y·sy, z·sz)`` for
``voxel_size = [sz, sy, sx]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .colors import label_rgb
from .multiscale.downsample import downsample_mode

__all__ = ["meshes"]

_SLAB_BYTES = 64 * 2**20  # a coarse level is read and reduced in z slabs of about this size


def _source(labels: Any, level: int) -> tuple[Any, tuple[int, int, int], tuple[float, float, float]]:
    """(the label volume to read, the level's downsampling factors, level-0 voxel size)."""
    if hasattr(labels, "levels") and hasattr(labels, "labels") and hasattr(labels, "voxel_size"):
        levels = labels.levels  # a VoxWidget: its own pyramid's factors and voxel size
        if not level < len(levels):
            raise ValueError(f"level {level} is not one of the widget's levels 0 … {len(levels) - 1}")
        factors = tuple(int(f) for f in levels[level]["downsample"])
        return labels.labels, factors, tuple(float(v) for v in labels.voxel_size)
    if not (hasattr(labels, "to_numpy") and hasattr(labels, "chunk_shape")):  # a LabelMap reads itself
        labels = np.asarray(labels)
        if labels.ndim != 3 or labels.dtype.kind not in "ui":
            raise ValueError(
                f"labels must be a 3D integer array (z, y, x), a LabelMap or a VoxWidget; got "
                f"{labels.ndim}D {labels.dtype}"
            )
    return labels, (2**level,) * 3, (1.0, 1.0, 1.0)


def _read(labels: Any, factors: tuple[int, int, int]) -> np.ndarray:
    """The whole volume at the level of ``factors`` (mode-downsampled in z slabs)."""
    read = labels.to_numpy if hasattr(labels, "to_numpy") else (lambda r=None: np.asarray(labels[r or ...]))
    if factors == (1, 1, 1):
        return np.asarray(read())
    shape = tuple(labels.shape)
    plane = shape[1] * shape[2] * np.dtype(labels.dtype).itemsize
    step = factors[0] * max(1, _SLAB_BYTES // max(1, plane * factors[0]))
    parts = [
        downsample_mode(
            np.asarray(read((slice(z, min(z + step, shape[0])), slice(None), slice(None)))), factors
        )
        for z in range(0, shape[0], step)
    ]
    return np.concatenate(parts, axis=0)


def _check_ids(ids: Iterable[Any], dtype: np.dtype) -> list[int]:
    top = np.iinfo(dtype).max if dtype.kind in "ui" else 2**64 - 1
    out = []
    for i in ids:
        if isinstance(i, bool) or not isinstance(i, int | np.integer):
            raise TypeError(f"label ids must be ints, got {i!r}")
        if not 0 < int(i) <= top:
            raise ValueError(f"label id {int(i)} is outside 1 … {top} (0 is background and has no surface)")
        out.append(int(i))
    return list(dict.fromkeys(out))


def meshes(
    labels: Any,
    ids: int | Sequence[int] | None = None,
    *,
    level: int = 0,
    voxel_size: Sequence[float] | None = None,
) -> Any:
    """Marching-cubes surfaces of label ids as a ``pythreejs.Group`` of meshes.

    Parameters
    ----------
    labels
        A :class:`~voxwidget.VoxWidget` (its labels, pyramid levels and ``voxel_size``), a
        :class:`~voxwidget.LabelMap`, or a 3D integer array ``(z, y, x)``.
    ids
        One label id or a list of them; ``None`` (default): every non-zero id present. An id with no
        voxel gets no mesh.
    level
        Resolution level: 0 (default) is full resolution; level ``k`` uses the widget's level ``k``
        (its downsampling factors), or for a LabelMap or array factors ``2**k`` per axis; labels are
        downsampled by their most frequent value per window, as the view's coarse levels are.
    voxel_size
        Physical size of a level-0 voxel ``[z, y, x]``; default: the widget's ``voxel_size``, else
        ``[1, 1, 1]``.

    Returns
    -------
    pythreejs.Group
        One ``pythreejs.Mesh`` per id (``name`` ``"label <id>"``, ``MeshLambertMaterial`` in the
        label's hashed colour, as the view shows it) with an indexed ``BufferGeometry``: ``position``
        and ``normal`` (float32, outward normals) and ``index`` (uint32 triangles, counter-clockwise
        seen from outside). Coordinates are physical, three.js ``(x, y, z)`` = array axes
        ``(2, 1, 0)`` (see the module doc). Surfaces are closed at the volume's border.

    Raises
    ------
    ValueError, TypeError
        For a bad id, level or ``voxel_size``, or labels that are not a 3D integer volume.
    ImportError
        When scikit-image is missing (``pip install voxwidget[meshes]``).

    Examples
    --------
    >>> import pythreejs as p3                                          # doctest: +SKIP
    >>> group = voxwidget.meshes(w, ids=[3, 5])                         # doctest: +SKIP
    >>> scene = p3.Scene(children=[group, p3.AmbientLight(intensity=0.6)])  # doctest: +SKIP
    """
    if isinstance(level, bool) or not isinstance(level, int | np.integer) or level < 0:
        raise ValueError(f"level must be a non-negative int, got {level!r}")
    try:
        from skimage.measure import marching_cubes
    except ImportError as exc:  # pragma: no cover - the test extra installs it
        raise ImportError("voxwidget.meshes needs scikit-image: pip install 'voxwidget[meshes]'") from exc
    import pythreejs as p3

    source, factors, size = _source(labels, int(level))
    if voxel_size is not None:
        size = tuple(float(v) for v in voxel_size)
        if len(size) != 3 or not all(np.isfinite(v) and v > 0 for v in size):
            raise ValueError(f"voxel_size must be three positive numbers [z, y, x], got {list(voxel_size)}")
    dtype = np.dtype(source.dtype)
    wanted = None if ids is None else _check_ids([ids] if np.isscalar(ids) else ids, dtype)
    volume = _read(source, factors)
    if wanted is None:
        wanted = [int(v) for v in np.unique(volume) if v != 0]
    spacing = np.array(factors, float) * size
    shift = (np.array(factors, float) - 1) / 2 * size  # a coarse voxel's centre in level-0 terms
    children = []
    for label in wanted:
        mask = volume == np.asarray(label).astype(dtype)
        where = np.nonzero(mask.any(axis=(1, 2)))[0], np.nonzero(mask.any(axis=(0, 2)))[0]
        if not where[0].size:
            continue
        xs = np.nonzero(mask.any(axis=(0, 1)))[0]
        lo = np.array([where[0][0], where[1][0], xs[0]])
        hi = np.array([where[0][-1], where[1][-1], xs[-1]]) + 1
        box = np.pad(mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]], 1).astype(np.uint8)
        verts, faces, normals, _ = marching_cubes(box, level=0.5, spacing=tuple(spacing))
        verts += (lo - 1) * spacing + shift
        geometry = p3.BufferGeometry(
            attributes={
                # (z, y, x) -> (x, y, z) mirrors the handedness, which turns scikit-image's
                # clockwise-from-outside triangles counter-clockwise, as three.js wants them
                "position": p3.BufferAttribute(array=np.ascontiguousarray(verts[:, ::-1], np.float32)),
                "normal": p3.BufferAttribute(array=np.ascontiguousarray(normals[:, ::-1], np.float32)),
                "index": p3.BufferAttribute(array=np.ascontiguousarray(faces, np.uint32).ravel()),
            }
        )
        color = "#{:02x}{:02x}{:02x}".format(*label_rgb(label))
        material = p3.MeshLambertMaterial(color=color)
        children.append(p3.Mesh(geometry=geometry, material=material, name=f"label {label}"))
    return p3.Group(children=children)
