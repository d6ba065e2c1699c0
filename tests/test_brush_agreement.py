"""The browser's brush (js/src/core/brush.js, what a stroke in the view sends) paints exactly the
voxels of the kernel's ``LabelMap.paint`` with the same centres: disks (``dims=2``) and balls
(``dims=3``, the 3D brush), on every view axis, across chunk borders and clipped at the faces."""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from voxwidget.labelmap import LabelMap

ROOT = pathlib.Path(__file__).parents[1]
SHAPE = (20, 40, 50)
CHUNKS = (8, 16, 16)
CASES = [  # axis, index, from (u, v) or None, to (u, v), radius
    (0, 9, None, (15, 15), 0),
    (0, 7, (10, 12), (30, 3), 4),
    (1, 1, (2, 1), (45, 17), 5),
    (2, 18, (14, 15), (37, 18), 3),
    (2, 0, (0, 0), (39, 19), 2),
]

SCRIPT = """
import { strokeVoxels, lineCentres } from "./js/src/core/brush.js";
import { offsetToLocal, planeAxes } from "./js/src/core/grid.js";
const { shape, chunks, cases } = JSON.parse(process.argv[1]);
const out = [];
for (const [axis, index, from, to, radius] of cases) {
  for (const dims of [2, 3]) {
    const g = strokeVoxels({ shape, chunks, axis, index, from, to, radius, dims });
    const voxels = [];
    for (const { key, offsets } of g.values())
      for (const o of offsets) {
        const l = offsetToLocal(o, chunks);
        voxels.push([0, 1, 2].map((i) => key[i] * chunks[i] + l[i]));
      }
    const { u, v } = planeAxes(axis);
    const centres = lineCentres(from ?? to, to).map(([cu, cv]) => {
      const c = [0, 0, 0];
      c[axis] = index; c[u] = cu; c[v] = cv;
      return c;
    });
    out.push({ axis, dims, radius, centres, voxels });
  }
}
process.stdout.write(JSON.stringify(out));
"""


@pytest.fixture(scope="module")
def js_strokes() -> list[dict]:
    node = shutil.which("node")
    assert node, "node is required (the front end is built with it)"
    arg = json.dumps({"shape": SHAPE, "chunks": CHUNKS, "cases": CASES})
    done = subprocess.run(
        [node, "--input-type=module", "-e", SCRIPT, arg], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_browser_strokes_paint_the_kernels_voxels(js_strokes):
    assert len(js_strokes) == 2 * len(CASES)
    for s in js_strokes:
        lm = LabelMap(SHAPE, dtype="uint8", chunks=CHUNKS)
        lm.paint(np.array(s["centres"]), s["radius"], 1, dims=s["dims"], axis=s["axis"])
        want = {tuple(p) for p in np.argwhere(lm.to_numpy() == 1).tolist()}
        got = [tuple(p) for p in s["voxels"]]
        assert len(got) == len(set(got)), "a voxel listed twice"
        assert set(got) == want, (s["axis"], s["dims"], s["radius"], len(got), len(want))
        if s["dims"] == 3 and s["radius"] > 0:
            assert len({p[s["axis"]] for p in got}) > 1  # a ball reaches other planes
