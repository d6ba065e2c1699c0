"""Write-ahead journal: length + CRC framed records, group-committed by a writer thread.

Layout: a directory of segment files ``seg-<n>.log``; each starts with the 8-byte magic
``VXJRNL01`` followed by records ``[u32 length][u32 crc32c(payload)][payload]`` (little endian).
A payload is ``[u64 seq][u32 header length][JSON header][array bytes...]``.

The writer thread takes every record queued since its last fsync, writes them with one ``write``
and one ``fsync`` (group commit) and then resolves their futures, so a caller may acknowledge a
record as durable once its future is done. ``rotate()`` starts a new segment; once the label map
has checkpointed everything up to the rotation, the old segments are deleted (``discard``).

A failed write (ENOSPC, EIO, EFBIG, EACCES…) changes nothing on disk: the segment is truncated back
to its last durable record (so records appended later are not hidden behind a torn one). The
journal then *fails*: the failed group and every record queued after it fail with the same
``OSError`` until :meth:`Journal.resume` (the owner calls ``on_error`` first, on the writer thread,
before any failed future is resolved: the label map rolls those records back there). When even the
truncation fails the journal stays broken: every later record fails until the map is reopened.
"""

from __future__ import annotations

import json
import os
import queue
import struct
import threading
import warnings
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google_crc32c
import numpy as np

from .chunkstore import fsync_dir

__all__ = ["Journal", "JournalCorruptionWarning", "Record", "decode_record", "encode_record", "read_journal"]

MAGIC = b"VXJRNL01"
_FRAME = struct.Struct("<II")
_PAY = struct.Struct("<QI")
MAX_RECORD = 1 << 31


class JournalCorruptionWarning(UserWarning):
    """A journal record was torn or corrupt; the intact prefix was kept."""


@dataclass
class Record:
    """One decoded journal record."""

    seq: int
    header: dict[str, Any]
    arrays: list[np.ndarray]
    segment: Path | None = None


def encode_record(seq: int, header: dict[str, Any], arrays: list[np.ndarray] = ()) -> bytes:  # type: ignore[assignment]
    """Frame one record (length, crc32c, payload) ready to append."""
    descr = []
    blobs = []
    for a in arrays:
        a = np.ascontiguousarray(a)
        descr.append([a.dtype.str, list(a.shape)])
        blobs.append(a.tobytes())
    h = json.dumps({**header, "_a": descr}, separators=(",", ":")).encode()
    payload = b"".join([_PAY.pack(seq, len(h)), h, *blobs])
    return _FRAME.pack(len(payload), google_crc32c.value(payload)) + payload


def decode_record(payload: bytes) -> Record:
    """Parse a payload (without its frame) into a :class:`Record`."""
    seq, hlen = _PAY.unpack_from(payload, 0)
    pos = _PAY.size
    header = json.loads(payload[pos : pos + hlen])
    pos += hlen
    arrays = []
    for dt, shape in header.pop("_a"):
        dtype = np.dtype(dt)
        n = int(np.prod(shape)) * dtype.itemsize
        if pos + n > len(payload):
            raise ValueError("array data runs past the record end")
        arrays.append(
            np.frombuffer(payload, dtype=dtype, count=n // dtype.itemsize, offset=pos).reshape(shape)
        )
        pos += n
    if pos != len(payload):
        raise ValueError(f"{len(payload) - pos} trailing bytes in record")
    return Record(seq, header, arrays)


def _segments(directory: Path) -> list[Path]:
    return sorted(directory.glob("seg-*.log"))


def read_journal(directory: str | os.PathLike) -> tuple[list[Record], list[Path]]:
    """Read every intact record of the journal in ``directory``, oldest first.

    A torn or corrupt record (bad length, CRC mismatch, undecodable payload, bad magic) stops the
    scan: a :class:`JournalCorruptionWarning` names the file and byte offset, the records before
    it are returned, and the damaged segment and all later ones are listed as ``bad``.

    Returns
    -------
    (records, bad)
    """
    directory = Path(directory)
    records: list[Record] = []
    segs = _segments(directory) if directory.is_dir() else []
    for i, seg in enumerate(segs):
        data = seg.read_bytes()
        err, off = None, 0
        if data[: len(MAGIC)] != MAGIC:
            err = "bad segment magic" if len(data) >= len(MAGIC) else "torn segment header"
        else:
            off = len(MAGIC)
            while off < len(data):
                if off + _FRAME.size > len(data):
                    err = "torn record frame"
                    break
                n, crc = _FRAME.unpack_from(data, off)
                end = off + _FRAME.size + n
                if end > len(data):
                    err = f"torn record (length {n} runs past end of file, {len(data)} bytes)"
                    break
                payload = data[off + _FRAME.size : end]
                if google_crc32c.value(payload) != crc:
                    err = "CRC mismatch"
                    break
                try:
                    records.append(decode_record(payload))
                    records[-1].segment = seg
                except Exception as e:  # a CRC-valid but unparsable record is still corruption
                    err = f"undecodable record ({e})"
                    break
                off = end
        if err is not None:
            warnings.warn(
                JournalCorruptionWarning(
                    f"journal file {seg} is damaged at byte offset {off}: {err}; "
                    f"kept the {len(records)} intact records before it, ignored the rest"
                ),
                stacklevel=2,
            )
            return records, segs[i:]
    return records, []


class Journal:
    """Appender with a group-commit writer thread.

    Parameters
    ----------
    directory : path-like
        The journal directory (created if missing).
    """

    def __init__(self, directory: str | os.PathLike):
        self.dir = Path(directory)
        if not self.dir.is_dir():
            self.dir.mkdir(parents=True)
            fsync_dir(self.dir.parent)
        segs = _segments(self.dir)
        self._next = int(segs[-1].stem.split("-")[1]) + 1 if segs else 1
        self._fd: int | None = None
        self._cur: Path | None = None
        self._q: queue.SimpleQueue[tuple[str, Any, Future[Any]]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="voxwidget-journal", daemon=True)
        self._closed = False
        self._discarding: threading.Thread | None = None
        self.fsyncs = 0
        #: highest sequence number known durable
        self.durable_seq = 0
        #: the last sequence number in each segment (filled by the owner for existing segments)
        self.last_seq: dict[Path, int] = {}
        #: ``on_error(exc)``: called on the writer thread when a write fails, before the failed
        #: futures are resolved; it must call :meth:`resume` once it has undone the failed records
        self.on_error: Any = None
        self._failing: BaseException | None = None  # set from a failure until the resume marker
        self._broken: BaseException | None = None  # truncation failed too: nothing is written
        self._thread.start()

    def append(self, record: bytes, seq: int = 0) -> Future[None]:
        """Queue a framed record with sequence number ``seq``; the future resolves once it is
        fsync'd, or fails with the ``OSError`` of a failed write (see the module docstring)."""
        fut: Future[None] = Future()
        if self._closed:
            fut.set_exception(RuntimeError(f"journal {self.dir} is closed"))
            return fut
        self._q.put(("rec", (record, seq), fut))
        return fut

    def resume(self) -> None:
        """After a failure: records appended from now on are written again (the owner has undone
        every record appended before this call)."""
        self._q.put(("resume", None, Future()))

    def rotate(self) -> Future[list[Path]]:
        """Close the current segment; the future yields the segments written before this call."""
        fut: Future[list[Path]] = Future()
        self._q.put(("rotate", None, fut))
        return fut

    def discard(self, segments: list[Path]) -> None:
        """Delete fully checkpointed segments (and fsync the directory) in the background.

        Unlinking a large segment takes tens of ms and nothing waits for it: a segment that
        outlives a crash is replayed again on reopen, which is harmless (its records set values that
        the checkpoint already holds, and every later record follows in a newer segment). ``close``
        waits for it.
        """
        if not segments:
            return
        self.settle()
        self._discarding = threading.Thread(
            target=self._unlink, args=(segments,), name="voxwidget-journal-discard", daemon=True
        )
        self._discarding.start()

    def settle(self) -> None:
        """Wait until the segments handed to :meth:`discard` are deleted."""
        if self._discarding is not None:
            self._discarding.join()
            self._discarding = None

    def _unlink(self, segments: list[Path]) -> None:
        for s in segments:
            try:
                s.unlink()
            except FileNotFoundError:
                pass
        fsync_dir(self.dir)

    def close(self) -> None:
        """Flush pending records and stop the writer thread."""
        if self._closed:
            return
        self._closed = True
        fut: Future[None] = Future()
        self._q.put(("stop", None, fut))
        fut.result()
        self._thread.join()
        self.settle()

    # -- writer thread ----------------------------------------------------------------------
    def _open_segment(self) -> None:
        path = self.dir / f"seg-{self._next:08d}.log"
        self._next += 1
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, MAGIC)
            os.fsync(fd)
            fsync_dir(self.dir)
        except BaseException:
            os.close(fd)
            try:  # a segment without its full magic would hide every later segment
                path.unlink()
            except OSError:
                pass
            raise
        self._fd, self._cur = fd, path

    def _write(self, data: bytes) -> None:
        if self._broken is not None:
            raise self._broken
        if self._fd is None:
            self._open_segment()
        fd = self._fd
        good = os.fstat(fd).st_size  # type: ignore[arg-type]
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]  # type: ignore[arg-type]
            os.fsync(fd)  # type: ignore[arg-type]
        except BaseException:
            try:  # cut the torn tail off: records written later must not sit behind it
                os.ftruncate(fd, good)  # type: ignore[arg-type]
                os.fsync(fd)  # type: ignore[arg-type]
            except OSError as e2:
                self._broken = e2
            raise

    def _flush(self, bufs: list[tuple[bytes, int]], futs: list[Future[Any]]) -> None:
        if not bufs:
            return
        try:
            if self._failing is not None:
                raise self._failing
            self._write(b"".join(b for b, _ in bufs))
            self.fsyncs += 1
        except BaseException as e:
            if self._failing is None:
                self._failing = e
                if self.on_error is not None:
                    try:
                        self.on_error(e)
                    except BaseException as e3:  # pragma: no cover - a bug in the owner
                        warnings.warn(f"voxwidget: journal rollback failed: {e3!r}", stacklevel=1)
                else:
                    self._failing = None
            for f in futs:
                f.set_exception(e)
        else:
            self.durable_seq = max(self.durable_seq, bufs[-1][1])
            self.last_seq[self._cur] = bufs[-1][1]  # type: ignore[index]
            for f in futs:
                f.set_result(None)
        bufs.clear()
        futs.clear()

    def _close_segment(self) -> list[Path]:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        return _segments(self.dir)

    def _run(self) -> None:
        stop = False
        while not stop:
            items = [self._q.get()]
            while True:
                try:
                    items.append(self._q.get_nowait())
                except queue.Empty:
                    break
            bufs: list[tuple[bytes, int]] = []
            futs: list[Future[Any]] = []
            for kind, data, fut in items:
                if kind == "rec":
                    bufs.append(data)
                    futs.append(fut)
                    continue
                self._flush(bufs, futs)
                if kind == "resume":
                    self._failing = None
                elif kind == "rotate" and self._failing is not None:
                    # a checkpoint must not write chunks holding records that failed
                    fut.set_exception(self._failing)
                elif kind == "rotate":
                    fut.set_result(self._close_segment())
                else:
                    self._close_segment()
                    fut.set_result(None)
                    stop = True
            self._flush(bufs, futs)
