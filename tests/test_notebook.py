"""The quickstart notebook runs top to bottom in a real kernel (the browser test drives it too)."""

import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).parents[1] / "notebooks" / "quickstart.ipynb"


def test_quickstart_runs_top_to_bottom(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    widget_views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_views) == 1
    counts = nb.cells[6].outputs[0]["data"]["text/plain"]
    assert "2: 800" in counts  # the Python edit of 20×40 voxels of label 2
    # the durability cell: undo after reopening undoes the last edit made before (label 6)
    durable = nb.cells[-1].outputs[0]["data"]["text/plain"]
    assert "([], 30.0)" in nb.cells[-3].outputs[0]["data"]["text/plain"]  # nothing pending
    assert "[0, 5]" in durable and "'state': 'ok'" in durable


EXPORTS = pathlib.Path(__file__).parents[1] / "notebooks" / "exports.ipynb"


def test_exports_notebook_runs_top_to_bottom(tmp_path):
    nb = nbformat.read(EXPORTS, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = {i: c.outputs[-1]["data"]["text/plain"] for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    assert text[3] == "[(96, 192, 192), (48, 96, 96), (24, 48, 48)]"  # labels, 2× per level to one chunk
    assert text[6] == "((48, 96, 96), True)"  # to_numpy(level=1) equals the exported level
    assert text[10].startswith("(") and text[10].endswith(", 0)")  # the snapshot kept the ball
    assert (tmp_path / "cells.ome.zarr" / "labels" / "cells" / "zarr.json").is_file()
    assert (tmp_path / "labels.nvdb").stat().st_size > 0


VIEWS3D = pathlib.Path(__file__).parents[1] / "notebooks" / "views3d.ipynb"


def test_views3d_runs_top_to_bottom(tmp_path):
    """The 3D / ortho notebook: its traits are accepted as written (the browser side is tested in
    tests/browser/test_view3d.py)."""
    nb = nbformat.read(VIEWS3D, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    widget_views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(widget_views) == 1
    camera = next(c for c in nb.cells if c.cell_type == "code" and "w.camera =" in c.source)
    assert "'fov': 35.0" in camera.outputs[0]["data"]["text/plain"]
