"""Every notebook under notebooks/ runs top to bottom in a real kernel, and its cells show what they
claim (the browser tests drive the widget itself)."""

import ast
import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = pathlib.Path(__file__).parents[1] / "notebooks"


def run_notebook(name: str, tmp_path: pathlib.Path):
    """Execute ``notebooks/<name>`` in ``tmp_path``; fails on any error output. Returns the notebook."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    return nb


def widget_views(nb) -> list:
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    return [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]


def output(nb, start: str) -> str:
    """The text output of the code cell whose source starts with ``start``."""
    cell = next(c for c in nb.cells if c.cell_type == "code" and c.source.startswith(start))
    return cell.outputs[-1]["data"]["text/plain"]


def test_every_notebook_is_run_here():
    tested = {"quickstart.ipynb", "exports.ipynb", "views3d.ipynb", "surfaces.ipynb"}
    assert {p.name for p in NOTEBOOKS.glob("*.ipynb")} == tested


def test_quickstart_runs_top_to_bottom(tmp_path):
    nb = run_notebook("quickstart.ipynb", tmp_path)
    assert len(widget_views(nb)) == 1
    assert "2: 800" in output(nb, "labels = w.to_numpy()")  # the Python edit of 20×40 voxels of label 2
    assert "([], 30.0)" in output(nb, "w.pending_edits()")  # nothing pending
    # the durability cell: undo after reopening undoes the last edit made before (label 6)
    durable = output(nb, "from voxwidget import LabelMap")
    assert "[0, 5]" in durable and "'state': 'ok'" in durable


def test_exports_notebook_runs_top_to_bottom(tmp_path):
    nb = run_notebook("exports.ipynb", tmp_path)
    text = {i: c.outputs[-1]["data"]["text/plain"] for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    assert text[3] == "[(96, 192, 192), (48, 96, 96), (24, 48, 48)]"  # labels, 2× per level to one chunk
    assert text[6] == "((48, 96, 96), True)"  # to_numpy(level=1) equals the exported level
    assert text[10].startswith("(") and text[10].endswith(", 0)")  # the snapshot kept the ball
    assert (tmp_path / "cells.ome.zarr" / "labels" / "cells" / "zarr.json").is_file()
    assert (tmp_path / "labels.nvdb").stat().st_size > 0


def test_views3d_runs_top_to_bottom(tmp_path):
    """The 3D / ortho notebook: its traits are accepted as written (the browser side is tested in
    tests/browser/test_view3d.py)."""
    nb = run_notebook("views3d.ipynb", tmp_path)
    assert len(widget_views(nb)) == 2  # the ortho view and the anisotropic one
    camera = next(c for c in nb.cells if c.cell_type == "code" and "w.camera =" in c.source)
    assert "'fov': 35.0" in camera.outputs[0]["data"]["text/plain"]


def test_surfaces_notebook_runs_top_to_bottom(tmp_path):
    """Label surfaces as pythreejs meshes in a pythreejs scene (the screenshot cell is markdown
    there: it needs a browser, see tests/browser/test_screenshot.py)."""
    nb = run_notebook("surfaces.ipynb", tmp_path)
    assert len(widget_views(nb)) == 2  # the VoxWidget and the pythreejs renderer
    counts = ast.literal_eval(nb.cells[3].outputs[0]["data"]["text/plain"])  # {name: vertices}
    assert set(counts) == {"label 4", "label 5"} and all(n > 100 for n in counts.values())
