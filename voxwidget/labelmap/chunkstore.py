"""Zarr chunk I/O for the label map: codecs, atomic fsync'd chunk writes, the sidecar metadata.

Stores written here are standard zarr v3 arrays (``bytes`` + ``blosc``/lz4 + ``crc32c`` codecs, the
default ``c/z/y/x`` chunk keys, fill value 0); all-fill chunks are not stored. Existing zarr v2 and v3
arrays are opened too: chunks whose codec chain this module understands (bytes/blosc/gzip/zstd/crc32c,
v2 numcodecs compressors and filters) are read and written directly with atomic writes; any other
chain (e.g. sharding) goes through the zarr library on a store whose every write is atomic and
durable too (:func:`durable_local_store`: the whole shard to a temp file, fsync, rename, fsync of the
directory), so a sharded store is never left with a torn shard, and a checkpoint that drops journal
segments has its shards on disk.

Per-store voxwidget metadata lives in ``<store>/.voxwidget/meta.json`` (written atomically), the
write-ahead journal in ``<store>/.voxwidget/journal/``.

Creation is atomic: a new store is built whole (array metadata, initial chunks, voxwidget metadata)
in a hidden sibling directory ``.<name>.vwcreate-<random>``, fsync'd and renamed into place, so an
interrupted creation leaves no store at the path (the next creation removes the leftover).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import google_crc32c
import numcodecs
import numpy as np

__all__ = ["SIDE_DIR", "ChunkStore", "CorruptChunkError", "atomic_write", "fsync_dir"]

SIDE_DIR = ".voxwidget"
_WRITING = "checkpointing"  # marker: a checkpoint is writing chunk files (see mark_writing)
Key = tuple[int, int, int]
_SHUFFLE = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}


class CorruptChunkError(ValueError):
    """A stored chunk file could not be decoded (names the file and the cause)."""


def fault(point: str) -> None:
    """Fault injection for the crash tests: SIGKILL this process at ``point`` when the environment
    variable ``VOXWIDGET_FAULT`` names it (never set in normal use)."""
    if os.environ.get("VOXWIDGET_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)


def fsync_dir(path: str | os.PathLike) -> None:
    """fsync a directory so that renames and creations inside it are durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_fsync(path: str, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, data: bytes, *, sync_dir: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: temp file, fsync, rename, fsync of the directory."""
    path = os.fspath(path)
    tmp = path + ".vwtmp"
    try:
        _write_fsync(tmp, data)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    os.replace(tmp, path)
    if sync_dir:
        fsync_dir(os.path.dirname(path) or ".")


class _Codec:
    """Encode/decode one chunk (nominal shape) for a codec chain we understand."""

    def __init__(self, dtype: np.dtype, chunks: tuple[int, ...], meta: dict[str, Any], fmt: int):
        self.chunks = chunks
        self.dtype = dtype  # native byte order
        self.order = "C"
        self.bytes_codecs: list[Any] = []  # numcodecs codecs applied in order on encode
        self.crc = False
        if fmt == 2:
            self.order = meta.get("order", "C")
            self.stored_dtype = np.dtype(meta["dtype"])
            for f in meta.get("filters") or []:
                self.bytes_codecs.append(numcodecs.get_codec(f))
            if meta.get("compressor"):
                self.bytes_codecs.append(numcodecs.get_codec(meta["compressor"]))
            return
        endian = "<"
        for i, c in enumerate(meta["codecs"]):
            name, cfg = c["name"], c.get("configuration", {}) or {}
            if name == "bytes":
                endian = ">" if cfg.get("endian") == "big" else "<"
            elif self.crc:
                raise NotImplementedError("codecs after crc32c")
            elif name == "blosc":
                self.bytes_codecs.append(
                    numcodecs.Blosc(
                        cname=cfg.get("cname", "zstd"),
                        clevel=cfg.get("clevel", 5),
                        shuffle=_SHUFFLE[cfg.get("shuffle", "noshuffle")],
                        blocksize=cfg.get("blocksize", 0),
                    )
                )
            elif name == "gzip":
                self.bytes_codecs.append(numcodecs.GZip(level=cfg.get("level", 5)))
            elif name == "zstd" and not cfg.get("checksum", False):
                self.bytes_codecs.append(numcodecs.Zstd(level=cfg.get("level", 0)))
            elif name == "crc32c":
                self.crc = True
            else:
                raise NotImplementedError(f"zarr codec {name!r} at position {i}")
        self.stored_dtype = dtype.newbyteorder(endian)

    def encode(self, chunk: np.ndarray) -> bytes:
        data = np.asarray(chunk, dtype=self.stored_dtype, order=self.order)
        buf: Any = data if self.order == "C" else data.ravel(order="F")
        for c in self.bytes_codecs:
            buf = c.encode(buf)
        buf = bytes(buf) if self.bytes_codecs else data.tobytes(order=self.order)
        if self.crc:
            buf += google_crc32c.value(buf).to_bytes(4, "little")
        return buf

    def decode(self, buf: bytes) -> np.ndarray:
        if self.crc:
            if len(buf) < 4:
                raise ValueError(f"{len(buf)} bytes is too short for a crc32c checksum")
            body, tail = buf[:-4], buf[-4:]
            want, got = int.from_bytes(tail, "little"), google_crc32c.value(body)
            if want != got:
                raise ValueError(f"crc32c mismatch (stored {want:#010x}, computed {got:#010x})")
            buf = body
        for c in reversed(self.bytes_codecs):
            buf = c.decode(buf)
        n = int(np.prod(self.chunks))
        raw = np.frombuffer(buf, dtype=self.stored_dtype)
        if raw.size != n:
            raise ValueError(f"decoded {raw.size} values, expected {n}")
        arr = raw.reshape(self.chunks, order=self.order).astype(self.dtype, order="C")
        return arr


class ChunkStore:
    """One zarr array on local disk, accessed chunk by chunk.

    Parameters
    ----------
    path : path-like
        Directory of an existing zarr v2 or v3 array (use :meth:`create` to make a new one).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if (self.path / "zarr.json").is_file():
            meta = _read_json(self.path / "zarr.json")
            if meta.get("node_type") != "array":
                raise ValueError(f"{self.path} is a zarr v3 {meta.get('node_type')}, not an array")
            self.zarr_format = 3
            self.shape = tuple(meta["shape"])
            grid = meta["chunk_grid"]
            if grid.get("name") != "regular":
                raise ValueError(f"{self.path}: chunk grid {grid.get('name')!r} is not supported")
            self.chunk_shape = tuple(grid["configuration"]["chunk_shape"])
            self.dtype = np.dtype(meta["data_type"])
            self.fill_value = meta.get("fill_value", 0) or 0
            kenc = meta.get("chunk_key_encoding", {"name": "default"})
            sep = (kenc.get("configuration") or {}).get(
                "separator", "/" if kenc["name"] == "default" else "."
            )
            self._prefix = "c" + sep if kenc["name"] == "default" else ""
            self._sep = sep
        elif (self.path / ".zarray").is_file():
            meta = _read_json(self.path / ".zarray")
            self.zarr_format = 2
            self.shape = tuple(meta["shape"])
            self.chunk_shape = tuple(meta["chunks"])
            self.dtype = np.dtype(meta["dtype"]).newbyteorder("=")
            self.fill_value = meta.get("fill_value", 0) or 0
            self._sep = meta.get("dimension_separator", ".")
            self._prefix = ""
        else:
            raise FileNotFoundError(f"no zarr array (zarr.json or .zarray) at {self.path}")
        if len(self.shape) != 3:
            raise ValueError(f"{self.path}: label arrays must be 3D, got shape {self.shape}")
        if self.dtype.kind not in "ui":
            raise ValueError(f"{self.path}: label dtype must be an integer type, got {self.dtype}")
        self.dtype = np.dtype(self.dtype.name)
        try:
            self._codec: _Codec | None = _Codec(self.dtype, self.chunk_shape, meta, self.zarr_format)
        except (NotImplementedError, KeyError, ValueError):
            self._codec = None
            import zarr

            self._zarr = zarr.open_array(durable_local_store(self.path), mode="r+")
        self.side = self.path / SIDE_DIR
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="voxwidget-chunkio")

    @property
    def direct(self) -> bool:
        """True when chunks are encoded here (else through zarr, e.g. sharding; atomic either way)."""
        return self._codec is not None

    @property
    def atomic(self) -> bool:
        """:attr:`direct`'s older name: one chunk file per key (a zarr shard holds several)."""
        return self._codec is not None

    @classmethod
    def create(
        cls,
        path: str | os.PathLike,
        shape: Sequence[int],
        chunks: Sequence[int],
        dtype: np.dtype,
        attributes: dict[str, Any] | None = None,
        fill: Callable[[ChunkStore], dict[str, Any] | None] | None = None,
    ) -> ChunkStore:
        """Create a zarr v3 array (bytes + blosc lz4, no shuffle + crc32c) at ``path`` atomically (see
        the module docstring): ``fill(store)`` writes the initial chunks into the hidden sibling
        and returns the metadata to write. ``path`` must not exist, or be an empty directory.

        Raises
        ------
        FileExistsError
            ``path`` exists and is not an empty directory (names it).
        """
        import zarr
        from zarr.codecs import BloscCodec, Crc32cCodec

        final = Path(path).absolute()
        if final.exists() and not (final.is_dir() and not any(final.iterdir())):
            raise FileExistsError(
                f"cannot create a label store at {final}: it exists and is not an empty directory "
                "(and not a zarr array); choose a new path or remove it"
            )
        final.parent.mkdir(parents=True, exist_ok=True)
        for old in final.parent.glob(f".{final.name}.vwcreate-*"):  # an interrupted creation
            shutil.rmtree(old, ignore_errors=True)
        p = final.parent / f".{final.name}.vwcreate-{uuid.uuid4().hex[:12]}"
        zarr.create_array(
            store=str(p),
            shape=tuple(int(s) for s in shape),
            chunks=tuple(int(c) for c in chunks),
            dtype=np.dtype(dtype),
            fill_value=0,
            # no byte shuffle: label chunks are runs of equal values, which LZ4 matches whole; the
            # shuffle splits them into byte planes (3x larger and 5x slower to encode on segmentations)
            compressors=[BloscCodec(cname="lz4", clevel=5, shuffle="noshuffle"), Crc32cCodec()],
            attributes=attributes or {},
        )
        _fsync_file(p / "zarr.json")
        fsync_dir(p)
        fault("create:array")
        tmp = cls(p)
        try:
            meta = fill(tmp) if fill is not None else None
            fault("create:filled")
            if meta is not None:
                tmp.write_meta(meta)
        finally:
            tmp.close()
        fault("create:meta")
        try:
            os.rename(p, final)  # (replaces an empty directory)
        except OSError as e:
            shutil.rmtree(p, ignore_errors=True)
            raise FileExistsError(f"cannot create a label store at {final}: {e}") from e
        fault("create:renamed")
        fsync_dir(final.parent)
        return cls(final)

    # -- keys and files ---------------------------------------------------------------------
    def chunk_file(self, key: Key) -> Path:
        """The file holding chunk ``key``."""
        return self.path / (self._prefix + self._sep.join(str(int(k)) for k in key))

    def _slices(self, key: Key) -> tuple[slice, ...]:
        it = zip(key, self.chunk_shape, self.shape, strict=True)
        return tuple(slice(k * c, min((k + 1) * c, s)) for k, c, s in it)

    # -- reads ------------------------------------------------------------------------------
    def read_chunk(self, key: Key) -> np.ndarray | None:
        """Chunk ``key`` as a writable array of the nominal chunk shape, or None when not stored.

        Raises
        ------
        CorruptChunkError
            The chunk file exists but does not decode (checksum, truncation, garbage).
        """
        if self._codec is None:
            return self._read_zarr(key)
        f = self.chunk_file(key)
        try:
            buf = f.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return self._codec.decode(buf)
        except Exception as e:  # any decoder failure means a corrupt file
            raise CorruptChunkError(f"corrupt chunk {key} in file {f}: {e}") from e

    def _read_zarr(self, key: Key) -> np.ndarray | None:
        sl = self._slices(key)
        data = np.asarray(self._zarr[sl])
        if self.fill_value == 0 and not np.count_nonzero(data):
            return None
        out = np.full(self.chunk_shape, self.fill_value, dtype=self.dtype)
        out[tuple(slice(0, s.stop - s.start) for s in sl)] = data
        return out

    # -- writes -----------------------------------------------------------------------------
    def write_chunks(self, items: Iterable[tuple[Key, np.ndarray]]) -> int:
        """Write chunks durably; all-fill chunks are deleted instead. Returns bytes written.

        Each chunk goes to a temp file that is fsync'd and renamed over the chunk file; the
        touched directories are fsync'd once at the end, so when this returns every chunk is
        durable and each file is either its old or its new content.
        """
        items = list(items)
        if self._codec is None:
            for key, data in items:
                self._zarr[self._slices(key)] = data[
                    tuple(slice(0, s.stop - s.start) for s in self._slices(key))
                ]
            return 0
        dirs: set[str] = set()
        for key, _ in items:
            self._ensure_dir(self.chunk_file(key).parent, dirs)
        try:
            results = list(self._pool.map(self._write_one, items))
        except RuntimeError:  # the interpreter is exiting (atexit close): no new threads, write here
            results = [self._write_one(item) for item in items]
        for d in {os.path.dirname(p) for p, _ in results} | dirs:
            fsync_dir(d)
        return sum(n for _, n in results)

    def _write_one(self, item: tuple[Key, np.ndarray]) -> tuple[str, int]:
        key, data = item
        f = str(self.chunk_file(key))
        # (count_nonzero: ~10x faster than ndarray.any() on integer chunks)
        is_fill = not np.count_nonzero(data != self.fill_value if self.fill_value else data)
        if is_fill:
            try:
                os.unlink(f)
            except FileNotFoundError:
                pass
            return f, 0
        buf = self._codec.encode(data)  # type: ignore[union-attr]
        tmp = f + ".vwtmp"
        try:
            _write_fsync(tmp, buf)
        except BaseException:
            _unlink_quietly(tmp)  # (a full disk: give the space back)
            raise
        os.replace(tmp, f)
        return f, len(buf)

    def _ensure_dir(self, d: Path, to_sync: set[str]) -> None:
        if d.is_dir():
            return
        self._ensure_dir(d.parent, to_sync)
        try:
            d.mkdir()
        except FileExistsError:
            return
        to_sync.add(str(d.parent))

    # -- sidecar metadata -------------------------------------------------------------------
    def read_meta(self) -> dict[str, Any] | None:
        """The voxwidget sidecar metadata, or None for a store voxwidget never wrote."""
        try:
            return json.loads((self.side / "meta.json").read_text())
        except FileNotFoundError:
            return None

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Atomically replace the sidecar metadata."""
        if not self.side.is_dir():
            self.side.mkdir(exist_ok=True)
            fsync_dir(self.path)
        atomic_write(self.side / "meta.json", json.dumps(meta, separators=(",", ":")).encode())

    def mark_writing(self) -> None:
        """Record, durably, that a checkpoint is about to overwrite chunk files: until
        :meth:`clear_writing`, the chunk files may be newer than ``meta.json`` (whose label counts
        then do not describe them)."""
        if not self.side.is_dir():
            self.side.mkdir(exist_ok=True)
            fsync_dir(self.path)
        atomic_write(self.side / _WRITING, b"")

    def clear_writing(self) -> None:
        """The checkpoint's ``meta.json`` is written: chunk files and metadata agree again."""
        try:
            os.unlink(self.side / _WRITING)
        except FileNotFoundError:
            pass

    def was_writing(self) -> bool:
        """Whether a checkpoint was interrupted between its chunk files and its ``meta.json``."""
        return (self.side / _WRITING).is_file()

    def stored_keys(self) -> set[Key] | None:
        """The keys of the chunk files present (one directory walk), or None when the codec chain
        is not handled here (then any chunk may be stored)."""
        if self._codec is None:
            return None
        keys: set[Key] = set()
        root = self.path / self._prefix.rstrip(self._sep) if self._prefix and self._sep == "/" else self.path
        for dirpath, dirnames, files in os.walk(root):
            if Path(dirpath) == self.path:
                dirnames[:] = [d for d in dirnames if d != SIDE_DIR]
            rel = os.path.relpath(dirpath, root)
            head = [] if rel == "." else rel.split(os.sep)
            for f in files:
                parts = [*head, f] if self._sep == "/" else f.split(self._sep)
                if self._prefix and self._sep != "/":
                    if not f.startswith(self._prefix):
                        continue
                    parts = f[len(self._prefix) :].split(self._sep)
                if len(parts) == 3 and all(p.isdigit() for p in parts):
                    keys.add((int(parts[0]), int(parts[1]), int(parts[2])))
        return keys

    def close(self) -> None:
        """Release the I/O threads."""
        self._pool.shutdown(wait=True)


def _durable_put(path: Path, data: bytes) -> None:
    if not path.parent.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        fsync_dir(path.parent.parent)
    atomic_write(path, data)


def durable_local_store(path: str | os.PathLike) -> Any:
    """A zarr ``LocalStore`` at ``path`` whose writes are atomic and durable (temp file, fsync,
    rename, fsync of the directory) and whose deletes are durable: the zarr path of
    :class:`ChunkStore` (sharded arrays: each write is a whole shard)."""
    import asyncio

    from zarr.storage import LocalStore

    class DurableLocalStore(LocalStore):
        async def set(self, key: str, value: Any) -> None:
            self._check_writable()
            await asyncio.to_thread(_durable_put, Path(self.root) / key, bytes(value.as_buffer_like()))

        async def delete(self, key: str) -> None:
            await super().delete(key)
            f = Path(self.root) / key
            if f.parent.is_dir():
                await asyncio.to_thread(fsync_dir, f.parent)

    return DurableLocalStore(str(path))


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(
            f"{path} is not valid JSON ({e}): a damaged or half-written store; "
            "restore it from a backup or remove it"
        ) from e


def _unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _fsync_file(path: str | os.PathLike) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
