"""Serving tiles: ``chunks.get`` and ``chunks.cancel`` for one endpoint (:class:`TileServer`).

Tile requests are served by a small thread pool so the notebook stays responsive while a view streams;
cancelled requests stop early. Replies go out in ``chunks.data`` messages of at most ``REPLY_BYTES``
(:class:`~voxwidget.comm.tiles.ReplyPacker`).

Levels of detail
----------------
Every level ``L`` of the image's multiscale pyramid is served. Its tile grid is the label chunk
shape laid over that level's shape, so tile ``key`` at level ``L`` covers level-``L`` voxels
``key * chunks`` … ``(key + 1) * chunks`` and level-0 voxels ``key * chunks * d`` … (``d`` the level's
integer downsample factors). A plane request's ``index`` is in level-``L`` voxels.

* Image tiles come from ``levels[L].read`` (stored, or computed lazily through the pyramid's LRU);
  their version is always 0 (the image is read-only), so a browser that holds a tile gets
  "unchanged" for it. The kernel reads **whole 3D chunks** and keeps them decoded (all-zero chunks as
  empty arrays), so scrolling through a chunk layer decodes each chunk once; the
  missing chunks of one request are read together (one region per ≤ 64 MiB batch, which lets zarr
  fetch and decode them concurrently). Memory stays bounded whatever the volume's size, and however
  many widgets the kernel serves: decoded image chunks, coarse label blocks and a computed pyramid's
  blocks all live in the kernel-wide LRU of :mod:`voxwidget.multiscale.chunkcache`
  (``voxwidget.set_chunk_cache_budget``), each endpoint in its own namespace of it.
* Label tiles at ``L > 0``: :mod:`voxwidget.comm.coarse`.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import numpy as np

from ..grid import check_key, chunk_box, grid_shape, plane_region
from ..multiscale import chunkcache
from . import protocol
from .coarse import CoarseLabels
from .protocol import REPLY_BYTES
from .tiles import ReplyPacker, encode_array

if TYPE_CHECKING:
    from ..labelmap.labelmap import LabelMap
    from ..multiscale.sources import ImageSource

log = logging.getLogger(__name__)

Key = tuple[int, int, int]
SendMessage = Callable[[dict, list], None]
"""``send_message(content, buffers)``: delivers a message as it is (the widget's ``send``)."""
Send = Callable[..., None]
"""``send(kind, buffers=(), **fields)``: builds a message with :func:`protocol.make` and sends it."""


class TileServer:
    """Answers one endpoint's tile requests on a thread pool, from its image and label map.

    Parameters
    ----------
    send_message
        Delivers a built message (tile replies are built here, not by :func:`protocol.make`).
    send
        Builds and delivers a message by kind (errors of failed requests).
    image, labels
        The image source and the authoritative label map (same shape).
    workers
        Threads serving tile requests.
    label_cache_bytes, image_cache_bytes
        Optional bounds of the computed coarse label blocks and of the decoded image chunks (all
        levels), within the kernel-wide budget (:func:`voxwidget.set_chunk_cache_budget`).

    Attributes
    ----------
    levels : list of ImageLevel
        The image's levels, finest first (the image's own objects).
    downsamples : list of tuple of int
        Each level's integer factors versus level 0.
    image_cache : CacheView
        This server's namespace of the kernel-wide chunk cache for decoded image chunks, keyed
        ``(level, key)`` (never shared with another endpoint).
    coarse : CoarseLabels
        The label tiles of the coarse levels (their versions, and their blocks in their own namespace).
    stats : dict
        What was sent in tile replies (see :class:`~voxwidget.comm.endpoint.Endpoint`).
    """

    def __init__(
        self,
        send_message: SendMessage,
        send: Send,
        image: ImageSource,
        labels: LabelMap,
        workers: int = 2,
        label_cache_bytes: int | None = None,
        image_cache_bytes: int | None = None,
    ) -> None:
        self._send_message = send_message
        self._send = send
        self.image = image
        self.labels = labels
        self.levels = list(image.levels)
        self._image_dtype = (np.dtype(image.dtype), np.dtype(image.dtype).name)
        self._label_dtype = (np.dtype(labels.dtype), np.dtype(labels.dtype).name)
        self.coarse = CoarseLabels(labels, self.levels, label_cache_bytes)
        self.downsamples = self.coarse.downsamples
        self.image_cache = chunkcache.view(image_cache_bytes)
        self.stats: dict[str, Any] = {}
        self.reset_stats()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voxwidget-tiles")
        self._live: set[str] = set()  # tile requests not yet finished or cancelled
        self._lock = threading.Lock()  # guards _live and stats

    def reset_stats(self) -> None:
        """Zero :attr:`stats`."""
        self.stats = {
            "requests": 0,
            "messages": 0,
            "tiles": 0,
            "bytes": 0,
            "unchanged": 0,
            "levels": {},
            "seconds": 0.0,
        }

    def level_shape(self, level: int) -> tuple[int, int, int]:
        """The (z, y, x) shape of ``level``."""
        return tuple(self.levels[level].shape)  # type: ignore[return-value]

    @property
    def pending(self) -> int:
        """Tile requests accepted and not yet finished or cancelled."""
        with self._lock:
            return len(self._live)

    def caches(self) -> list[Any]:
        """This server's namespaces of the kernel-wide cache: image chunks, coarse label blocks and,
        when the image source opened it for this endpoint (not a ``MultiscaleImage`` given by the user,
        which other widgets may share), the computed pyramid's blocks and planes."""
        caches: list[Any] = [self.image_cache, self.coarse.cache]
        if getattr(self.image, "owns_multiscale", False):
            caches.append(self.image.multiscale.cache)
        return caches

    def close(self) -> None:
        """Cancel pending tile work, wait for the workers and drop this server's cached chunks."""
        with self._lock:
            self._live.clear()
        # cancelled requests stop at their next tile; wait for that so nothing refills the caches
        self._pool.shutdown(wait=True, cancel_futures=True)
        for cache in self.caches():
            cache.clear()

    # -- handlers (the endpoint's thread) ----------------------------------------------------
    def get(self, msg: dict, buffers: Sequence[Any]) -> None:
        """``chunks.get``: check the request against the level and the grid, then queue it."""
        if msg["layer"] not in protocol.LAYERS:
            raise protocol.ProtocolError(f"chunks.get.layer {msg['layer']!r} is not one of {protocol.LAYERS}")
        level = msg["level"]
        if not 0 <= level < len(self.levels):
            raise protocol.ProtocolError(
                f"chunks.get.level {level} does not exist; levels: 0…{len(self.levels) - 1}"
            )
        if len(msg["known"]) != len(msg["keys"]):
            raise protocol.ProtocolError(
                f"chunks.get.known has {len(msg['known'])} entries for {len(msg['keys'])} keys"
            )
        shape, chunks = self.level_shape(level), self.labels.chunk_shape
        grid = grid_shape(shape, chunks)
        keys = []
        for i, k in enumerate(msg["keys"]):
            try:
                keys.append(check_key(k, grid))
            except ValueError as exc:
                raise protocol.ProtocolError(f"chunks.get.keys[{i}]: {exc} (level {level})") from None
        plane = None
        if msg.get("axis") is not None or msg.get("index") is not None:
            axis, index = msg.get("axis"), msg.get("index")
            if axis not in (0, 1, 2) or index is None or not 0 <= index < shape[axis]:
                raise protocol.ProtocolError(
                    f"chunks.get plane axis={axis} index={index} is outside level {level}'s shape "
                    f"{list(shape)}"
                )
            plane = (axis, index)
            for i, k in enumerate(keys):
                try:
                    plane_region(k, shape, chunks, axis, index)
                except ValueError as exc:
                    raise protocol.ProtocolError(f"chunks.get.keys[{i}]: {exc}") from None
        with self._lock:
            self._live.add(msg["id"])
            self.stats["requests"] += 1
        self._pool.submit(self._serve_or_report, msg, keys, plane).add_done_callback(_log_failure)

    def cancel(self, msg: dict, buffers: Sequence[Any]) -> None:
        """``chunks.cancel``: the requests named stop at their next tile."""
        with self._lock:
            self._live.difference_update(msg["ids"])

    # -- tile serving (worker threads) -------------------------------------------------------
    def _serve_or_report(self, msg: dict, keys: list[Key], plane: tuple[int, int] | None) -> None:
        t0 = time.perf_counter()
        try:
            self._serve(msg, keys, plane)
        except Exception as exc:
            with self._lock:
                self._live.discard(msg["id"])
            self._send(
                "error", error=f"reading tiles failed: {type(exc).__name__}: {exc}", reply_to=msg["id"]
            )
            raise
        finally:
            with self._lock:
                self.stats["seconds"] += time.perf_counter() - t0

    def _serve(self, msg: dict, keys: list[Key], plane: tuple[int, int] | None) -> None:
        """Encode the tiles of one request and send them in messages of at most ``REPLY_BYTES``, each
        with one buffer holding all its payloads (:class:`~voxwidget.comm.tiles.ReplyPacker`).

        The hot path of scrolling: per tile one cache lookup, a view of the plane (no copy for
        C-contiguous cuts), a zero test and one LZ4 call (which releases the GIL, so the other
        worker encodes or sends meanwhile), one copy into the message buffer; records are plain
        dicts, and the reply envelope is built here rather than through :func:`protocol.make` (whose
        per-record schema walk cost more than the encoding; the tests validate every message the
        endpoint sends).
        """
        rid, layer, level = msg["id"], msg["layer"], msg["level"]
        extra = {"axis": plane[0], "index": plane[1]} if plane else {}
        known = msg["known"]
        if layer == "image" and not (plane is not None and self.levels[level].computed):
            # (a computed level serves planes from its own plane tiles, without 3D blocks: _tile)
            self._prefetch(level, [k for k, kn in zip(keys, known, strict=True) if kn != 0], rid)
        packer = ReplyPacker(REPLY_BYTES)
        sent_any = False
        for key, kn in zip(keys, known, strict=True):
            if not self._is_live(rid):  # a cancelled request stops reading chunks at once
                return
            version, codec, shape, dtype, payload = self._tile(layer, level, key, kn, plane)
            record = {"key": list(key), "version": version, "shape": shape, "dtype": dtype, "codec": codec}
            full = packer.add(record, payload)
            if full is not None:
                self._reply(rid, layer, level, *full, False, extra)
                sent_any = True
        records, bufs = packer.take()
        if self._is_live(rid) and (records or not sent_any):
            self._reply(rid, layer, level, records, bufs, True, extra)
        with self._lock:
            self._live.discard(rid)

    def _reply(
        self, rid: str, layer: str, level: int, records: list[dict], bufs: list, done: bool, extra: dict
    ) -> None:
        self._count(level, records)
        msg = {"kind": "chunks.data", "reply_to": rid, "layer": layer, "level": level, "tiles": records}
        msg["done"] = done
        msg.update(extra)
        self._send_message(msg, bufs)

    def _is_live(self, rid: str) -> bool:
        with self._lock:
            return rid in self._live

    def _count(self, level: int, records: list[dict]) -> None:
        with self._lock:
            st = self.stats
            st["messages"] += 1
            st["tiles"] += len(records)
            st["bytes"] += sum(r["nbytes"] for r in records)  # payload bytes (without the padding)
            st["unchanged"] += sum(r["codec"] == "unchanged" for r in records)
            st["levels"][level] = st["levels"].get(level, 0) + len(records)

    def _tile(
        self, layer: str, level: int, key: Key, known: int, plane: tuple[int, int] | None
    ) -> tuple[int, str, list[int], str, Any]:
        """``(version, codec, shape, dtype name, payload or None)`` of one tile."""
        box = chunk_box(key, self.level_shape(level), self.labels.chunk_shape)
        if plane is not None:
            axis, index = plane
            cut: tuple = tuple(index - b.start if i == axis else slice(None) for i, b in enumerate(box))
            tile_shape = [b.stop - b.start for i, b in enumerate(box) if i != axis]
            region = tuple(slice(index, index + 1) if i == axis else b for i, b in enumerate(box))
        else:
            cut, region = (), box
            tile_shape = [b.stop - b.start for b in box]
        if layer == "image":
            dtype, name = self._image_dtype
            if known == 0:  # image tiles are always version 0: the browser holds it, no read at all
                return 0, "unchanged", tile_shape, name, None
            lv = self.levels[level]
            if plane is not None and lv.computed:  # the level computes and caches plane tiles itself
                return (0, *encode_array(lv.read(region).reshape(tile_shape), dtype, tile_shape, name))
            chunk = self.image_cache.get_or_compute((level, key), lambda: _compact(lv.read(box)))
            if chunk.size == 0:  # an all-zero chunk (see _compact)
                return 0, "zero", tile_shape, name, None
            return (0, *encode_array(chunk[cut], dtype, tile_shape, name))
        dtype, name = self._label_dtype
        if level == 0:
            if known >= 0 and known == self.labels.version(key):
                return known, "unchanged", tile_shape, name, None
            version, data = self.labels.snapshot_chunk(key, cut)  # only the plane is copied
        else:
            version = self.coarse.version(level, key)
            if known == version:
                return version, "unchanged", tile_shape, name, None
            data = self.coarse.tile(level, key, region, version)
            if data is not None:
                data = data.reshape(tile_shape)
        if data is None:
            return version, "zero", tile_shape, name, None
        return (version, *encode_array(data, dtype, tile_shape, name, labels=True))

    def _prefetch(self, level: int, keys: list[Key], rid: str) -> None:
        """Read the image chunks of ``keys`` missing from the cache, a few regions at a time."""
        shape, c = self.level_shape(level), self.labels.chunk_shape
        missing = [k for k in keys if (level, k) not in self.image_cache]
        if len(missing) < 2:
            return
        itemsize = self.image.dtype.itemsize
        budget = max(1, min(64 * 2**20, self.image_cache.max_bytes // 2) // (int(np.prod(c)) * itemsize))
        # rows of keys along the last axis that varies, batched up to the budget
        lo = [min(k[a] for k in missing) for a in range(3)]
        hi = [max(k[a] for k in missing) + 1 for a in range(3)]
        sizes = [h - x for x, h in zip(lo, hi, strict=True)]
        if int(np.prod(sizes)) > 2 * len(missing):
            return  # scattered keys: read them one by one
        a = int(np.argmax(sizes))
        per = max(1, budget // max(1, int(np.prod(sizes)) // sizes[a]))
        for start in range(lo[a], hi[a], per):
            if not self._is_live(rid):
                return
            blo, bhi = list(lo), list(hi)
            blo[a], bhi[a] = start, min(hi[a], start + per)
            region = tuple(
                slice(x * cc, min(h * cc, n)) for x, h, cc, n in zip(blo, bhi, c, shape, strict=True)
            )
            data = self.levels[level].read(region)
            for key in np.ndindex(*[h - x for x, h in zip(blo, bhi, strict=True)]):
                key = tuple(int(k + x) for k, x in zip(key, blo, strict=True))
                box = chunk_box(key, shape, c)  # type: ignore[arg-type]
                local = tuple(
                    slice(b.start - r.start, b.stop - r.start) for b, r in zip(box, region, strict=True)
                )
                self.image_cache.put((level, key), _compact(np.ascontiguousarray(data[local])))


def _compact(chunk: np.ndarray) -> np.ndarray:
    """An image chunk as kept in the decoded-chunk LRU: all-zero chunks (the fill value of sparse
    volumes, never written to disk) as an empty array, so they cost no memory and evict nothing."""
    return chunk if np.count_nonzero(chunk) else np.empty((0, 0, 0), chunk.dtype)


def _log_failure(fut: Future) -> None:
    exc = fut.exception()
    if exc is not None:
        log.error("voxwidget: tile request failed:\n%s", "".join(traceback.format_exception(exc)))


__all__ = ["TileServer"]
