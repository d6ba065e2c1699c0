"""Consistent reads of a label map while it stays editable: the snapshots every export reads through.

:class:`PinnedSnapshot` (in this process): while it is open, the map's commit path hands it every
edit's atoms *before* they are applied (``MapCore.pins``), and it keeps a copy of each chunk an edit
is about to change. Its reads return the chunk as it was when the snapshot was taken: the kept copy
for chunks edited since, else the chunk's current data (which is then unchanged). Memory grows only
with the chunks edited while it is open.

:class:`FileSnapshot` (any process on the machine, for dask workers): the map is checkpointed, its
chunk files are hard-linked (copied where links fail) into ``<store>/.voxwidget/snapshots/<id>/``
(a later checkpoint replaces chunk files by rename, so a link keeps the old content), and chunks
edited between the pin and the links are written there from a :class:`PinnedSnapshot`. The
directory is a plain zarr array, deleted when the snapshot object is garbage collected.
"""

from __future__ import annotations

import os
import shutil
import uuid
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..grid import read_box
from ..labelmap.chunkstore import SIDE_DIR, ChunkStore

if TYPE_CHECKING:
    from ..labelmap.atoms import Atom
    from ..labelmap.labelmap import LabelMap

__all__ = ["ChunkSource", "FileSnapshot", "PinnedSnapshot", "read_box"]

Key = tuple[int, int, int]


class ChunkSource:
    """What the exporters read: ``shape``, ``chunk_shape``, ``dtype`` and ``read(key)`` → the chunk in
    its nominal shape (do not modify) or None when all zero."""

    shape: tuple[int, int, int]
    chunk_shape: tuple[int, int, int]
    dtype: np.dtype

    def read(self, key: Key) -> np.ndarray | None:  # pragma: no cover - interface
        raise NotImplementedError

    def candidates(self) -> set[Key] | None:
        """The chunk keys that may hold data (None: unknown, any may)."""
        return None

    def close(self) -> None:
        """Release the snapshot (idempotent)."""

    def __enter__(self) -> ChunkSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class PinnedSnapshot(ChunkSource):
    """The map as it is now, readable while it is being edited (see the module docstring)."""

    def __init__(self, lm: LabelMap) -> None:
        self.shape, self.chunk_shape, self.dtype = lm.shape, lm.chunk_shape, lm.dtype
        self._core = core = lm._core
        self._kept: dict[Key, np.ndarray | None] = {}
        self._empty: set[Key] = set()
        self._closed = False
        with core.lock:
            core.check_open()
            core.pins.append(self._keep)
            #: the chunk versions the snapshot shows
            self.versions: dict[Key, int] = dict(core.table.versions)

    def _keep(self, atoms: list[Atom]) -> None:
        """Called under the map lock before ``atoms`` are applied: keep their chunks' data."""
        for a in atoms:
            if a.key not in self._kept:
                self._kept[a.key] = self._current(a.key)

    def _current(self, key: Key) -> np.ndarray | None:
        """A copy of chunk ``key`` now (map lock held); a chunk that is not resident is read from the
        store without being cached (its file is current: only resident, dirty chunks are written)."""
        table = self._core.table
        e = table.entries.get(key)
        if e is not None:
            return e.data.copy()
        if table.store is None:
            return None
        return table.store.read_chunk(key)

    def read(self, key: Key) -> np.ndarray | None:
        key = tuple(int(k) for k in key)  # type: ignore[assignment]
        if key in self._empty:
            return None
        with self._core.lock:
            if key in self._kept:
                return self._kept[key]
            data = self._current(key)
        if data is None:  # all zero in the snapshot, now and later: no second look
            self._empty.add(key)
        return data

    def candidates(self) -> set[Key] | None:
        with self._core.lock:
            table = self._core.table
            keys = set(table.entries) | set(self._kept)
            store = table.store
        if store is None:
            return keys
        stored = stored_keys(store)
        return None if stored is None else keys | stored

    def __reduce__(self) -> tuple:
        raise TypeError(
            "a snapshot of an in-memory label map is readable only in this process (threaded or "
            "synchronous schedulers); save(path) the map first to use other processes"
        )

    def kept(self) -> dict[Key, np.ndarray | None]:
        """The chunks edited since the snapshot was taken, as they were then."""
        with self._core.lock:
            return dict(self._kept)

    def close(self) -> None:
        with self._core.lock:
            if not self._closed:
                self._closed = True
                if self._keep in self._core.pins:
                    self._core.pins.remove(self._keep)
                self._kept.clear()


class FileSnapshot(ChunkSource):
    """A stored map's chunks as they are now, as a zarr array directory any process can read."""

    def __init__(self, lm: LabelMap) -> None:
        if lm.path is None:
            raise ValueError("a file snapshot needs a stored label map (LabelMap(path=...) or save(path))")
        self.shape, self.chunk_shape, self.dtype = lm.shape, lm.chunk_shape, lm.dtype
        store = Path(lm.path)
        _remove_orphans(store / SIDE_DIR / "snapshots")
        #: the snapshot's zarr array directory (named by the owning process, so orphans are found)
        self.path = store / SIDE_DIR / "snapshots" / f"{os.getpid()}-{uuid.uuid4().hex}"
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.path), True)
        persist = lm._core.persist
        # chunk files replaced by rename can be linked; a store zarr writes in place (sharding) is copied
        link = persist is not None and persist.store.atomic
        pin = PinnedSnapshot(lm)
        try:
            lm.checkpoint()
            _link_tree(store, self.path, link)
            kept = pin.kept()
        finally:
            pin.close()
        target = ChunkStore(self.path)
        try:
            target.write_chunks(
                (k, np.zeros(self.chunk_shape, self.dtype) if d is None else d) for k, d in kept.items()
            )
        finally:
            target.close()

    def reader(self) -> SnapshotReader:
        """A picklable reader of this snapshot (keep the snapshot alive while it is used)."""
        return SnapshotReader(str(self.path), self.shape, self.chunk_shape, self.dtype)

    def read(self, key: Key) -> np.ndarray | None:
        return self.reader().read(key)

    def close(self) -> None:
        self._finalizer()


_STORES: dict[str, ChunkStore] = {}


class SnapshotReader(ChunkSource):
    """Reads a :class:`FileSnapshot`'s directory (one :class:`ChunkStore` per process and path)."""

    def __init__(self, path: str, shape: Any, chunk_shape: Any, dtype: Any) -> None:
        self.path = path
        self.shape, self.chunk_shape, self.dtype = tuple(shape), tuple(chunk_shape), np.dtype(dtype)

    def read(self, key: Key) -> np.ndarray | None:
        store = _STORES.get(self.path)
        if store is None:
            store = _STORES[self.path] = ChunkStore(self.path)
        return store.read_chunk(tuple(int(k) for k in key))  # type: ignore[arg-type]

    def candidates(self) -> set[Key] | None:
        return stored_keys(ChunkStore(self.path))

    def __reduce__(self) -> tuple:
        return (SnapshotReader, (self.path, self.shape, self.chunk_shape, self.dtype.str))


def _remove_orphans(snapshots: Path) -> None:
    """Delete the snapshot directories of processes that no longer run (killed before cleanup)."""
    if not snapshots.is_dir():
        return
    for d in snapshots.iterdir():
        try:
            os.kill(int(d.name.split("-")[0]), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except (ValueError, PermissionError):  # not ours to judge
            continue


def stored_keys(store: ChunkStore) -> set[Key] | None:
    """The keys of the chunk files in ``store`` (None when its chunks are not one file per key)."""
    if not store.atomic:
        return None
    root = store.path
    keys: set[Key] = set()
    for dirpath, dirs, files in os.walk(root):
        if dirpath == str(root):
            dirs[:] = [d for d in dirs if d != SIDE_DIR]
        for f in files:
            parts = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
            tokens = parts.replace(".", "/").split("/")
            if tokens[0] == "c":
                tokens = tokens[1:]
            if len(tokens) == 3 and all(t.isdigit() for t in tokens):
                keys.add(tuple(int(t) for t in tokens))  # type: ignore[arg-type]
    return keys


def _link_tree(src: Path, dst: Path, link: bool = True) -> None:
    """Hard-link (or copy) every file of the zarr array ``src`` (not its sidecar or temp files) into
    ``dst``."""
    for root, dirs, files in os.walk(src):
        rel = Path(root).relative_to(src)
        if rel == Path("."):
            dirs[:] = [d for d in dirs if d != SIDE_DIR]
        (dst / rel).mkdir(parents=True, exist_ok=True)
        for f in files:
            if f.endswith(".vwtmp"):
                continue
            try:
                if not link:
                    raise OSError("copy")
                os.link(Path(root) / f, dst / rel / f)
            except OSError:  # no hard links here (another file system, FAT), or not safe: copy
                shutil.copy2(Path(root) / f, dst / rel / f)
