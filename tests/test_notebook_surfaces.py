"""notebooks/surfaces.ipynb runs top to bottom in a real kernel: label surfaces as pythreejs meshes
in a pythreejs scene (the screenshot cell is markdown there: it needs a browser, see
tests/browser/test_screenshot.py)."""

import ast
import pathlib

import nbformat
from nbclient import NotebookClient

NOTEBOOK = pathlib.Path(__file__).parents[1] / "notebooks" / "surfaces.ipynb"


def test_surfaces_notebook_runs_top_to_bottom(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    views = [o for o in outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2  # the VoxWidget and the pythreejs renderer
    counts = ast.literal_eval(nb.cells[3].outputs[0]["data"]["text/plain"])  # {name: vertices}
    assert set(counts) == {"label 4", "label 5"} and all(n > 100 for n in counts.values())
