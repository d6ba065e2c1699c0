"""A small real filesystem that fills up, for the disk-full tests (kernel and browser side).

``tmpfs_at(path)`` mounts a 4 MiB tmpfs there (needs root and mount(2); the caller skips when it
cannot), ``fill(fs)`` writes a filler file until the filesystem is full to the last byte.
"""

from __future__ import annotations

import errno
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class CannotMount(RuntimeError):
    """mount(2) of a tmpfs is not allowed here (not root, or in a container without the capability)."""


@contextmanager
def tmpfs_at(mnt: Path, size: str = "4m") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` at ``mnt`` (created) for the ``with`` block; lazy unmount after."""
    mnt.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)], capture_output=True, text=True
    )
    if r.returncode:
        raise CannotMount(r.stderr.strip() or f"mount exited {r.returncode}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(fs: Path) -> Path:
    """Fill ``fs`` to the last byte; returns the filler file (delete it to free the space)."""
    filler = Path(fs) / f"filler-{uuid.uuid4().hex}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for n in (1 << 20, 65536, 4096, 512, 64, 1):  # down to the last partial page
            block = b"\0" * n
            while True:
                try:
                    os.write(fd, block)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler
