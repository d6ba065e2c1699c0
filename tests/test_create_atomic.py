"""Atomic store creation: a creation killed (SIGKILL) at any step leaves the path absent or a
complete store; the next creation at that path works; damaged or foreign paths give clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from voxwidget.labelmap import LabelMap

ROOT = Path(__file__).resolve().parents[1]
SHAPE, CHUNKS = (32, 32, 64), (8, 8, 8)  # 128 chunks: from_array writes them in 4 batches
POINTS = ["create:array", "create:chunks", "create:filled", "create:meta", "create:renamed"]
MODES = ["new", "from_array", "save", "copy"]

CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from voxwidget.labelmap import LabelMap
    mode, path = sys.argv[1], sys.argv[2]
    arr = (np.arange(32 * 32 * 64) % 250 + 1).astype(np.uint16).reshape(32, 32, 64)
    if mode == "new":
        LabelMap((32, 32, 64), dtype="uint16", chunks=(8, 8, 8), path=path)
    elif mode == "from_array":
        LabelMap.from_array(arr, chunks=(8, 8, 8), path=path)
    elif mode == "save":
        LabelMap.from_array(arr, chunks=(8, 8, 8)).save(path)
    else:
        import os
        os.environ.pop("VOXWIDGET_FAULT")  # (the source store is made without faults)
        src = LabelMap.from_array(arr, chunks=(8, 8, 8), path=path + ".src")
        os.environ["VOXWIDGET_FAULT"] = sys.argv[3]
        src.save(path)
    print("done", flush=True)
    """
)


def _expected(mode: str) -> np.ndarray:
    if mode == "new":
        return np.zeros(SHAPE, np.uint16)
    return (np.arange(32 * 32 * 64) % 250 + 1).astype(np.uint16).reshape(SHAPE)


def _run(mode: str, path: Path, point: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "VOXWIDGET_FAULT": point,
    }
    return subprocess.run(
        [sys.executable, "-c", CHILD, mode, str(path), point], env=env, capture_output=True, timeout=120
    )


@pytest.mark.parametrize("mode", MODES)
def test_killed_creation_leaves_nothing_or_a_complete_store(tmp_path, mode):
    killed = 0
    for point in POINTS:
        path = tmp_path / f"{point.split(':')[1]}.zarr"
        out = _run(mode, path, point)
        if out.returncode == 0:  # this mode does not pass that point (e.g. no chunks to write)
            assert point == "create:chunks" and mode != "from_array", (mode, point)
            continue
        assert out.returncode == -signal.SIGKILL, out.stderr.decode()[-2000:]
        killed += 1
        if point == "create:renamed":  # killed after the rename: the store is complete
            assert path.exists()
        if not path.exists():
            # absent: creating it again works and removes the leftover of the killed creation
            if mode == "new":
                LabelMap(SHAPE, dtype="uint16", chunks=CHUNKS, path=path).close()
            else:
                LabelMap.from_array(_expected(mode), chunks=CHUNKS, path=path).close()
            assert not list(tmp_path.glob(f".{path.name}.vwcreate-*")), "leftover not removed"
        lm = LabelMap.open(path)  # present: complete, with the right shape, dtype and content
        try:
            assert lm.shape == SHAPE and lm.dtype == np.uint16 and lm.chunk_shape == CHUNKS
            np.testing.assert_array_equal(lm[...], _expected(mode))
        finally:
            lm.close()
    assert killed >= 4


def test_damaged_array_metadata_is_a_clear_error(tmp_path):
    path = tmp_path / "torn.zarr"
    LabelMap(SHAPE, chunks=CHUNKS, path=path).close()
    text = (path / "zarr.json").read_text()
    (path / "zarr.json").write_text(text[: len(text) // 2])  # a half-written file (old versions)
    with pytest.raises(ValueError, match=r"zarr.json is not valid JSON .*half-written"):
        LabelMap.open(path)
    with pytest.raises(ValueError, match="not valid JSON"):
        LabelMap(SHAPE, chunks=CHUNKS, path=path)


def test_existing_non_store_path_is_refused(tmp_path):
    path = tmp_path / "busy"
    path.mkdir()
    (path / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="exists and is not an empty directory"):
        LabelMap(SHAPE, chunks=CHUNKS, path=path)
    assert sorted(p.name for p in path.iterdir()) == ["notes.txt"], "the directory was touched"
    empty = tmp_path / "empty"
    empty.mkdir()
    LabelMap(SHAPE, chunks=CHUNKS, path=empty).close()  # an empty directory is fine
    assert LabelMap.open(empty).shape == SHAPE
