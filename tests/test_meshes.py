"""``voxwidget.meshes``: marching-cubes surfaces of label ids as pythreejs meshes.

Checked against scikit-image's own marching cubes run on the padded mask (vertex and triangle
counts), the physical extent in ``voxel_size`` units with three.js axis order, outward normals and
counter-clockwise winding, the view's hashed colours, levels, the three kinds of input, bad input,
and that importing voxwidget does not import pythreejs or scikit-image.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from skimage.measure import marching_cubes

import voxwidget
from voxwidget.colors import label_rgb
from voxwidget.labelmap import LabelMap

SHAPE = (40, 48, 56)


def volume() -> np.ndarray:
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    lab = np.zeros(SHAPE, np.uint32)
    lab[(z - 20) ** 2 + (y - 20) ** 2 + (x - 24) ** 2 <= 9**2] = 3  # a ball
    lab[30:40, 40:48, 0:12] = 7  # a box touching three faces of the volume
    lab[2, 2, 2] = 2**32 - 1
    return lab


def arrays(mesh):
    attrs = mesh.geometry.attributes
    return attrs["position"].array, attrs["normal"].array, attrs["index"].array


def reference(mask: np.ndarray, spacing=(1.0, 1.0, 1.0)):
    return marching_cubes(np.pad(mask, 1).astype(np.uint8), level=0.5, spacing=spacing)


def test_counts_match_scikit_image_and_geometry_is_physical():
    lab = volume()
    size = (2.0, 0.5, 1.0)  # anisotropic: z voxels twice as thick as x, y half
    group = voxwidget.meshes(lab, [3, 7], voxel_size=size)
    assert [m.name for m in group.children] == ["label 3", "label 7"]
    for mesh, label in zip(group.children, [3, 7], strict=True):
        pos, nrm, idx = arrays(mesh)
        verts, faces, _, _ = reference(lab == label, size)
        assert pos.shape == verts.shape and pos.dtype == np.float32
        assert idx.shape == (faces.size,) and idx.dtype == np.uint32 and idx.max() < len(pos)
        assert nrm.shape == pos.shape
        assert mesh.material.color == "#{:02x}{:02x}{:02x}".format(*label_rgb(label))
        # the same vertices as scikit-image's, shifted back by the padding, in (x, y, z) order
        want = np.sort((verts - np.array(size))[:, ::-1], axis=0)
        np.testing.assert_allclose(np.sort(pos, axis=0), want, atol=1e-4)

    ball, _, _ = arrays(group.children[0])
    # the ball (radius 9 voxels around voxel [20, 20, 24]) in physical units, three.js (x, y, z)
    centre = np.array([24 * 1.0, 20 * 0.5, 20 * 2.0])
    half = (ball.max(axis=0) - ball.min(axis=0)) / 2
    np.testing.assert_allclose(half, np.array([9.5 * 1.0, 9.5 * 0.5, 9.5 * 2.0]), atol=0.01)
    np.testing.assert_allclose((ball.max(axis=0) + ball.min(axis=0)) / 2, centre, atol=0.01)


def test_normals_point_out_and_triangles_wind_counter_clockwise_from_outside():
    pos, nrm, idx = arrays(voxwidget.meshes(volume(), 3, voxel_size=(2.0, 0.5, 1.0)).children[0])
    centre = pos.mean(axis=0)
    outward = np.einsum("ij,ij->i", nrm, pos - centre)
    assert (outward > 0).mean() > 0.99
    tri = pos[idx.reshape(-1, 3)]
    face_normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # right-handed (three.js)
    facing = np.einsum("ij,ij->i", face_normal, tri.mean(axis=1) - centre)
    assert (facing > 0).mean() > 0.99, "triangles face inward: three.js would cull the outside"


def test_all_ids_by_default_and_every_kind_of_input(tmp_path):
    lab = volume()
    group = voxwidget.meshes(lab)
    assert [m.name for m in group.children] == ["label 3", "label 7", f"label {2**32 - 1}"]
    lm = LabelMap.from_array(lab, chunks=(16, 16, 16))
    n_array = len(arrays(voxwidget.meshes(lab, 3).children[0])[0])
    assert len(arrays(voxwidget.meshes(lm, 3).children[0])[0]) == n_array
    w = voxwidget.VoxWidget(np.zeros(SHAPE, np.uint8), labels=lm)
    try:
        from_widget = voxwidget.meshes(w, [3])
        assert len(arrays(from_widget.children[0])[0]) == n_array
        assert voxwidget.meshes(w, [5]).children == ()  # an id with no voxel: no mesh
        with pytest.raises(ValueError, match="level 9 is not one of the widget's levels"):
            voxwidget.meshes(w, 3, level=9)
    finally:
        w.close()


def test_coarser_level_uses_mode_downsampling_and_keeps_the_extent():
    lab = volume()
    fine = arrays(voxwidget.meshes(lab, 3).children[0])[0]
    coarse = arrays(voxwidget.meshes(lab, 3, level=1).children[0])[0]
    assert len(coarse) < len(fine) / 2
    from_map = arrays(
        voxwidget.meshes(LabelMap.from_array(lab, chunks=(16, 16, 16)), 3, level=1).children[0]
    )[0]
    np.testing.assert_array_equal(from_map, coarse)  # read in slabs from the map: the same surface
    np.testing.assert_allclose(coarse.mean(axis=0), fine.mean(axis=0), atol=1.0)
    np.testing.assert_allclose(
        coarse.max(axis=0) - coarse.min(axis=0), fine.max(axis=0) - fine.min(axis=0), atol=2.1
    )


@pytest.mark.parametrize(
    "labels, kwargs, error, match",
    [
        (volume(), {"ids": [0]}, ValueError, "0 is background"),
        (volume().astype(np.uint8), {"ids": [300]}, ValueError, "300 is outside 1 … 255"),
        (volume(), {"ids": ["3"]}, TypeError, "must be ints"),
        (volume(), {"level": -1}, ValueError, "non-negative int"),
        (volume(), {"voxel_size": [1, 0, 1]}, ValueError, "three positive numbers"),
        (np.zeros((4, 4)), {}, ValueError, "3D integer array"),
        (np.zeros((4, 4, 4), np.float32), {}, ValueError, "3D integer array"),
    ],
)
def test_bad_input(labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        voxwidget.meshes(labels, **kwargs)


def test_import_stays_light():
    code = (
        "import sys, voxwidget; voxwidget.LabelMap; voxwidget.meshes\n"
        "print('pythreejs' in sys.modules, 'skimage' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
