"""What every export shares: argument checks, the tqdm progress bar, and writing beside the target
then moving the result into place in one step (a failed or killed export leaves ``path`` as it was;
the result is flushed to disk before the move, so a power loss does not tear it either)."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["check_target", "check_voxel_size", "progress_bar", "publish", "sync_tree", "temp_beside"]

_RENAME_EXCHANGE = 2
#: threads flushing an export's files before it is published
_SYNC_THREADS = 8
#: seconds an export runs before its progress bar appears
PROGRESS_DELAY = 1.0


def check_target(path: str | os.PathLike, overwrite: bool) -> Path:
    """``path`` as a Path; FileExistsError when something is there and ``overwrite`` is False."""
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a str or path-like, got {type(path).__name__}")
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise FileExistsError(f"{p} already exists; pass overwrite=True to replace it")
    if not p.parent.is_dir():
        raise FileNotFoundError(f"the directory {p.parent} of {p} does not exist")
    return p


def check_voxel_size(
    voxel_size: Any, default: Sequence[float] = (1.0, 1.0, 1.0)
) -> tuple[float, float, float]:
    """``voxel_size`` (z, y, x) as 3 positive finite floats; ``default`` when None."""
    if voxel_size is None:
        voxel_size = default
    try:
        vs = tuple(float(v) for v in voxel_size)
    except (TypeError, ValueError) as e:
        raise ValueError(f"voxel_size must be 3 positive numbers (z, y, x), got {voxel_size!r}") from e
    if len(vs) != 3 or not all(v > 0 and v < float("inf") for v in vs):
        raise ValueError(f"voxel_size must be 3 positive numbers (z, y, x), got {voxel_size!r}")
    return vs  # type: ignore[return-value]


def temp_beside(path: Path) -> Path:
    """A new hidden name in ``path``'s directory (same file system, so the final move is a rename),
    named by this process; leftovers of earlier exports to ``path`` whose process died are removed."""
    for old in path.parent.glob(f".{path.name}.vwtmp-*"):
        try:
            os.kill(int(old.name.rsplit("-", 2)[-2]), 0)
        except ProcessLookupError:  # its export was killed
            _remove(old)
        except (ValueError, IndexError, PermissionError):
            continue
    return path.parent / f".{path.name}.vwtmp-{os.getpid()}-{uuid.uuid4().hex[:12]}"


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "chunk") -> Any:
    """A ``tqdm.auto`` bar (a widget in notebooks) shown once the work has taken a second; a no-op
    bar when ``enabled`` is False or tqdm is not installed."""
    if enabled:
        try:
            from tqdm.auto import tqdm
        except ImportError:  # the optional "export" extra is not installed
            enabled = False
        else:
            return tqdm(total=total, desc=desc, unit=unit, delay=PROGRESS_DELAY, leave=False)
    return _NoBar()


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False if unsupported."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd = -100
    rc = fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0


def _remove(p: Path) -> None:
    if p.is_dir() and not p.is_symlink():
        shutil.rmtree(p, ignore_errors=True)
    else:
        p.unlink(missing_ok=True)


def _fsync(p: Path, directory: bool = False) -> None:
    fd = os.open(p, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(root: Path) -> None:
    """Flush ``root`` to stable storage: every file below it (in a few threads: ``fsync`` releases
    the GIL and file systems overlap them), then the directories, deepest first, then ``root``."""
    if not root.is_dir():
        _fsync(root)
        return
    files: list[Path] = []
    dirs: list[Path] = []
    for dirpath, _, filenames in os.walk(root):
        d = Path(dirpath)
        dirs.append(d)
        files.extend(d / f for f in filenames)
    if files:
        with ThreadPoolExecutor(max_workers=min(_SYNC_THREADS, len(files))) as pool:
            list(pool.map(_fsync, files))
    for d in reversed(dirs):  # os.walk is top-down: reversed, each directory after its children
        _fsync(d, directory=True)


def publish(tmp: Path, path: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``path``, replacing what is there when ``overwrite`` (atomically
    where the OS can swap two names; else by two renames, the old content removed last).

    ``tmp`` is flushed to stable storage first and the directory after the move, so that what
    ``path`` names after a power loss is the whole new result or the old one, never files the
    rename reached the disk before."""
    sync_tree(tmp)
    if not (path.exists() or path.is_symlink()):
        os.rename(tmp, path)
        _fsync(path.parent, directory=True)
        return
    if not overwrite:
        _remove(tmp)
        raise FileExistsError(f"{path} appeared during the export; pass overwrite=True to replace it")
    if _exchange(tmp, path):
        _fsync(path.parent, directory=True)
        _remove(tmp)  # now the old content
        return
    old = temp_beside(path)
    os.rename(path, old)
    os.rename(tmp, path)
    _fsync(path.parent, directory=True)
    _remove(old)


def discard(tmp: Path) -> None:
    """Remove a temporary result after a failure."""
    _remove(tmp)
