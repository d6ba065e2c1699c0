"""The kernel's side of the wire protocol: validates every incoming message and answers it.

``Endpoint.handle(content, buffers)`` is the one entry point (the widget forwards its custom
messages here); ``send(content, buffers)`` is the one exit. Tile requests are served by the
endpoint's :class:`~voxwidget.comm.serving.TileServer` (a small thread pool, so the notebook stays
responsive while a view streams; cancelled requests stop early). Edits are applied on the calling
thread, in arrival order, and acknowledged only once the label map's journal made them durable. The
label map's changes reach the views as coalesced ``chunks.changed`` notices
(:class:`~voxwidget.comm.changes.ChangeNotices`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import numpy as np

from ..grid import check_key
from ..labelmap.types import BatchRejected, ChunkEdit
from . import protocol
from .changes import ChangeNotices
from .commands import COMMAND_HANDLERS, run_command
from .counts import CountNotices
from .screenshot import Screenshots
from .serving import SendMessage, TileServer

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap
    from ..multiscale.sources import ImageSource

log = logging.getLogger(__name__)


class Endpoint:
    """Answers one widget's messages.

    Parameters
    ----------
    send
        ``send(content, buffers)``: delivers a message to every view of the widget.
    image
        The image source.
    labels
        The authoritative label map (same shape as ``image``).
    fingerprint
        The dataset fingerprint announced in ``welcome``.
    workers
        Threads serving tile requests.
    label_cache_bytes
        Optional bound of this endpoint's computed coarse label blocks, within the kernel-wide
        budget (:func:`voxwidget.set_chunk_cache_budget`). Default None: only that budget.
    image_cache_bytes
        Optional bound of this endpoint's decoded image chunks (all levels), within the kernel-wide
        budget. Default None: only that budget.

    Attributes
    ----------
    stats : dict
        What the endpoint sent in tile replies: ``messages``, ``tiles``, ``bytes`` (payload bytes),
        ``unchanged`` (tiles answered "unchanged"), per ``level`` a count of tiles, ``requests`` and
        ``seconds`` (worker time spent serving).
    tile_server : TileServer
        Serves ``chunks.get`` and ``chunks.cancel``.
    notices : ChangeNotices
        Announces the label map's changes.
    screenshots : Screenshots
        Screenshot requests waiting for a view's PNG.
    """

    def __init__(
        self,
        send: SendMessage,
        image: ImageSource,
        labels: LabelMap,
        fingerprint: str,
        workers: int = 2,
        label_cache_bytes: int | None = None,
        image_cache_bytes: int | None = None,
    ) -> None:
        if tuple(image.shape) != tuple(labels.shape):
            raise ValueError(f"labels shape {labels.shape} differs from the image shape {image.shape}")
        self._send = send
        self.image = image
        self.labels = labels
        self.fingerprint = fingerprint

        def say(kind: str, buffers: Sequence[bytes] = (), **fields: Any) -> None:
            self.send(kind, buffers, **fields)  # looked up per call: a wrapper set on send sees all

        self.tile_server = TileServer(send, say, image, labels, workers, label_cache_bytes, image_cache_bytes)
        self.levels = self.tile_server.levels
        self.downsamples = self.tile_server.downsamples
        self.counts = CountNotices(labels, say)
        self.notices = ChangeNotices(labels, self.tile_server.coarse, say, self._counts_changed)
        self.screenshots = Screenshots(lambda kind, **fields: self.send(kind, **fields))
        self._handlers: dict[str, Callable[[dict, Sequence[Any]], None]] = {
            "hello": self._hello,
            "chunks.get": self.tile_server.get,
            "chunks.cancel": self.tile_server.cancel,
            "edits.apply": self._edits_apply,
            "command": self._command,
            "ping": self._ping,
            "screenshot.data": self.screenshots.reply,
        }
        assert set(self._handlers) == {k for k, v in protocol.SCHEMA.items() if v["from"] == "browser"}
        assert set(COMMAND_HANDLERS) == set(protocol.COMMANDS)

    # -- entry point -------------------------------------------------------------------------
    def handle(self, content: Any, buffers: Sequence[Any] = ()) -> None:
        """Validate one message from a view and act on it; a bad one gets an error reply."""
        reply_to = content.get("id") if isinstance(content, dict) else None
        try:
            msg = protocol.validate(content, buffers, sender="browser")
            self._handlers[msg["kind"]](msg, buffers)
        except protocol.ProtocolError as exc:
            self.send("error", error=str(exc), reply_to=reply_to if isinstance(reply_to, str) else None)
        except Exception as exc:  # a bug must not kill the comm; report it to the view and the log
            log.exception("voxwidget: failed to handle %r", content.get("kind"))
            self.send("error", error=f"{type(exc).__name__}: {exc}", reply_to=reply_to)

    @property
    def stats(self) -> dict[str, Any]:
        """What the endpoint sent in tile replies (see the class docstring)."""
        return self.tile_server.stats

    def reset_stats(self) -> None:
        """Zero :attr:`stats`."""
        self.tile_server.reset_stats()

    def level_shape(self, level: int) -> tuple[int, int, int]:
        """The (z, y, x) shape of ``level``."""
        return self.tile_server.level_shape(level)

    def label_version(self, level: int, key: tuple[int, int, int]) -> int:
        """The version of label tile ``key`` at ``level`` (see :mod:`voxwidget.comm.coarse`)."""
        return self.tile_server.coarse.version(level, key)

    def clear_browser_cache(self) -> None:
        """Tell every view to empty its persistent chunk cache (and refetch what it shows)."""
        self.send("cache.clear")

    def send(self, kind: str, buffers: Sequence[bytes] = (), **fields: Any) -> None:
        msg = protocol.make(kind, **fields)
        size = sum(len(b) for b in buffers)
        if size > protocol.MAX_MESSAGE_BYTES:  # pragma: no cover - ReplyPacker prevents it
            raise AssertionError(f"{kind} message of {size} bytes exceeds {protocol.MAX_MESSAGE_BYTES}")
        self._send(msg, list(buffers))

    def flush(self) -> None:
        """Send pending change notices (and label counts) now (tests and shutdown)."""
        self.notices.flush()
        self.counts.flush()

    def close(self) -> None:
        """Stop serving: stop listening to the label map, cancel pending tile work and drop the
        decoded chunks held for the views (a closed widget often stays referenced, e.g. by the
        notebook's output history, and its caches must not stay with it). Only this endpoint's
        entries of the kernel-wide cache go; other widgets keep theirs."""
        self.notices.close()
        self.counts.close()
        self.tile_server.close()
        self.screenshots.close()

    @property
    def cached_bytes(self) -> int:
        """Bytes of decoded chunks the kernel holds for serving this endpoint's tiles (its image
        chunks, coarse label blocks and its computed pyramid's blocks and planes); not other
        endpoints' entries of the shared cache."""
        return sum(cache.nbytes for cache in self.tile_server.caches())

    # -- handlers ----------------------------------------------------------------------------
    def _hello(self, msg: dict, buffers: Sequence[Any]) -> None:
        if msg["protocol"] != protocol.PROTOCOL_VERSION:
            raise protocol.ProtocolError(
                f"the view speaks protocol {msg['protocol']}, the kernel {protocol.PROTOCOL_VERSION}; "
                "reinstall voxwidget and reload the page"
            )
        self.screenshots.views_seen += 1
        self.send(
            "welcome",
            reply_to=msg["id"],
            protocol=protocol.PROTOCOL_VERSION,
            labelmap_id=self.labels.id,
            fingerprint=self.fingerprint,
        )
        self.counts.full()

    def _counts_changed(self) -> None:
        try:
            self.counts.changed()
        except Exception:  # on the notices' timer thread: log, never lose the timer
            log.exception("voxwidget: sending label counts failed")

    def _ping(self, msg: dict, buffers: Sequence[Any]) -> None:
        self.send("pong", reply_to=msg["id"], labelmap_id=self.labels.id)

    def _edits_apply(self, msg: dict, buffers: Sequence[Any]) -> None:
        batch_id = msg["id"]
        try:
            edits = self._decode_edits(msg, buffers)
            if msg.get("preserve"):
                edits = self._background_only(edits)
            result = self.labels.apply_batch(batch_id, edits, stroke=msg["stroke"])
        except (BatchRejected, ValueError) as exc:
            self.send("edits.reject", reply_to=batch_id, error=str(exc))
            return
        keys = sorted(result.versions)

        def ack(done: Future) -> None:
            if done.exception() is not None:  # rolled back by the label map: the browser retries
                exc = done.exception()
                self.send("edits.reject", reply_to=batch_id, error=f"not saved: {exc}", retry=True)
                return
            self.send(
                "edits.ack",
                reply_to=batch_id,
                keys=[list(k) for k in keys],
                versions=[result.versions[k] for k in keys],
                duplicate=result.duplicate,
            )

        result.durable.add_done_callback(ack)

    def _decode_edits(self, msg: dict, buffers: Sequence[Any]) -> list[ChunkEdit]:
        dtype = np.dtype(self.labels.dtype)
        if msg["dtype"] != dtype.name:
            raise ValueError(
                f"edits.apply dtype {msg['dtype']!r} does not match the label map's {dtype.name!r}"
            )
        grid = self.labels.grid_shape
        nvox = int(np.prod(self.labels.chunk_shape))
        edits = []
        for i, e in enumerate(msg["edits"]):
            try:
                key = check_key(e["key"], grid)
            except ValueError as exc:
                raise ValueError(f"edits[{i}].key: {exc}") from None
            if not 0 <= e["count"] <= nvox:  # checked before any size is computed from it
                raise ValueError(f"edits[{i}].count {e['count']} is outside 0 … {nvox} (voxels in a chunk)")
            offsets = _as_array(buffers[e["offsets"]], np.dtype("<u4"), e["count"], f"edits[{i}].offsets")
            values = _as_array(
                buffers[e["values"]], dtype.newbyteorder("<"), e["count"], f"edits[{i}].values"
            )
            edits.append(ChunkEdit(key, offsets, values))
        return edits

    def _background_only(self, edits: list[ChunkEdit]) -> list[ChunkEdit]:
        """``preserve_labels``: keep the voxels that hold 0 now. Edits run on this (the shell) thread
        in arrival order, so nothing the views or commands send lands between this read and the
        batch. Offsets outside the chunk stay, for ``apply_batch`` to reject with its message."""
        c = self.labels.chunk_shape
        out = []
        for e in edits:
            _, data = self.labels.snapshot_chunk(e.key)
            if data is None:
                out.append(e)
                continue
            off = e.offsets.astype(np.int64)
            lz, rest = np.divmod(off, c[1] * c[2])
            ly, lx = np.divmod(rest, c[2])
            inside = (lz < data.shape[0]) & (ly < data.shape[1]) & (lx < data.shape[2])
            keep = ~inside
            keep[inside] = data[lz[inside], ly[inside], lx[inside]] == 0
            if keep.any():
                out.append(ChunkEdit(e.key, e.offsets[keep], e.values[keep]))
        return out

    def _command(self, msg: dict, buffers: Sequence[Any]) -> None:
        try:
            changed = run_command(self.labels, msg)
        except (ValueError, TypeError, IndexError) as exc:
            self.send("command.result", reply_to=msg["id"], ok=False, error=str(exc))
            return
        self.send("command.result", reply_to=msg["id"], ok=True, changed=changed)


def _as_array(buf: Any, dtype: np.dtype, count: int, where: str) -> np.ndarray:
    raw = memoryview(buf).cast("B")
    if raw.nbytes != count * dtype.itemsize:
        raise ValueError(
            f"{where} has {raw.nbytes} bytes; count {count} of {dtype.name} needs {count * dtype.itemsize}"
        )
    return np.frombuffer(raw, dtype=dtype)


__all__ = ["Endpoint"]
