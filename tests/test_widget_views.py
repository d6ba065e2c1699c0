"""The 3D / ortho traits of VoxWidget: defaults, accepted values, and clear errors that change nothing."""

from __future__ import annotations

import numpy as np
import pytest
import traitlets

from voxwidget import VoxWidget


@pytest.fixture
def w():
    widget = VoxWidget(np.zeros((16, 16, 16), np.uint8))
    yield widget
    widget.close()


def test_defaults(w):
    assert w.view == "2d"
    assert w.render_mode == "mip"
    assert w.camera == {}
    assert w.gpu_budget_mb == 256
    assert w.show_selected_only is False
    assert w.slice_planes is True


def test_traits_are_synced_and_documented():
    """Each new trait syncs and has an attribute docstring naming its type and default."""
    import ast
    import inspect

    from voxwidget import widget as module

    tree = ast.parse(inspect.getsource(module))
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "VoxWidget")
    docs = {}
    for a, b in zip(cls.body, cls.body[1:], strict=False):
        if isinstance(a, ast.Assign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant):
            docs[a.targets[0].id] = b.value.value
    for name in ("view", "render_mode", "camera", "gpu_budget_mb", "show_selected_only", "slice_planes"):
        assert VoxWidget.class_traits()[name].metadata.get("sync") is True, name
        assert "Default" in docs.get(name, ""), name


def test_view_and_mode_values(w):
    for v in ("3d", "ortho", "2d"):
        w.view = v
        assert w.view == v
    w.render_mode = "composite"
    with pytest.raises(traitlets.TraitError, match="'4d'"):
        w.view = "4d"
    with pytest.raises(traitlets.TraitError, match="iso"):
        w.render_mode = "iso"
    assert (w.view, w.render_mode) == ("2d", "composite")


def test_camera_is_checked_and_normalised(w):
    w.camera = {"position": [1, 2, 3], "target": [0, 0, 0], "up": [0, -1, 0], "fov": 30}
    assert w.camera == {
        "position": [1.0, 2.0, 3.0],
        "target": [0.0, 0.0, 0.0],
        "up": [0.0, -1.0, 0.0],
        "fov": 30.0,
    }
    good = dict(w.camera)
    bad = [
        ({"eye": [0, 0, 0]}, "unknown key"),
        ({"position": [1, 2]}, "list of 3 finite numbers"),
        ({"position": [1, 2, float("nan")]}, "list of 3 finite numbers"),
        ({"fov": 0}, r"\(0, 180\)"),
        ({"fov": True}, r"\(0, 180\)"),
        ({"position": [1, 1, 1], "target": [1, 1, 1]}, "must differ"),
        ({"up": [0, 0, 0]}, "zero vector"),
    ]
    for value, message in bad:
        with pytest.raises(traitlets.TraitError, match=message):
            w.camera = value
        assert w.camera == good, "a rejected camera changed nothing"
    w.camera = {}
    assert w.camera == {}


def test_gpu_budget_bounds(w):
    w.gpu_budget_mb = 64
    for bad in (8, 10_000):
        with pytest.raises(traitlets.TraitError, match=rf"gpu_budget_mb {bad} is outside 16 … 4096"):
            w.gpu_budget_mb = bad
    assert w.gpu_budget_mb == 64


def test_constructor_takes_the_new_traits():
    w = VoxWidget(np.zeros((8, 8, 8), np.uint8), view="ortho", render_mode="composite", gpu_budget_mb=32)
    assert (w.view, w.render_mode, w.gpu_budget_mb) == ("ortho", "composite", 32)
    with pytest.raises(traitlets.TraitError):
        VoxWidget(np.zeros((8, 8, 8), np.uint8), camera={"fov": 500})
    w.close()
