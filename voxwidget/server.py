"""The kernel's side of the wire protocol: validates every incoming message and answers it.

``Endpoint.handle(content, buffers)`` is the one entry point (the widget forwards its custom
messages here); ``send(content, buffers)`` is the one exit. Tile requests are served by a small
thread pool so the notebook stays responsive while a view streams; cancelled requests stop early.
Edits are applied on the calling thread, in arrival order, and acknowledged only once the label
map's journal made them durable.

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
  blocks all live in the kernel-wide LRU of :mod:`voxwidget.chunkcache`
  (``voxwidget.set_chunk_cache_budget``), each endpoint in its own namespace of it.
* Label tiles at ``L > 0`` are computed on demand by :func:`~voxwidget.pyramid.downsample_mode` from
  the level-0 label voxels under them, kept in a byte-bounded LRU keyed by version. Their
  **version is the sum of the versions of the level-0 chunks under the whole level-``L`` chunk**: every
  edit bumps one level-0 chunk's version by at least one, so the sum strictly grows and any edit
  under a coarse chunk gives it a new version (undo/redo too: they also bump versions). With each
  level-0 change notice the kernel also announces the new coarse versions (``chunks.changed`` with
  ``level = L``, no origin), so browsers refetch coarse label tiles they show. A coarse tile whose
  level-0 chunks all have version 0 (never written) is all zero and costs no read.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np

from . import chunkcache, protocol
from .grid import AXES, check_key, chunk_box, grid_shape, plane_region
from .labelmap.labelmap import LabelMap
from .labelmap.types import BatchRejected, ChunkEdit
from .protocol import REPLY_BYTES
from .pyramid import downsample_mode
from .sources import ImageSource
from .tiles import ReplyPacker, encode_array

log = logging.getLogger(__name__)

Send = Callable[[dict, list], None]

CHANGE_FLUSH_SECONDS = 0.02
"""Python-side edits are announced at most this often, so a loop of small edits cannot push the
server past its 1000 messages/s limit."""


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
    """

    def __init__(
        self,
        send: Send,
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
        self.levels = list(image.levels)
        self.downsamples = [tuple(int(d) for d in lv.downsample) for lv in self.levels]
        self._image_dtype = (np.dtype(image.dtype), np.dtype(image.dtype).name)
        self._label_dtype = (np.dtype(labels.dtype), np.dtype(labels.dtype).name)
        # this endpoint's namespaces of the kernel-wide chunk cache (never shared with another endpoint)
        self._label_cache = chunkcache.view(label_cache_bytes)
        self._image_cache = chunkcache.view(image_cache_bytes)
        self._coarse_versions: dict[tuple[int, tuple[int, int, int]], int] = {}
        self.stats: dict[str, Any] = {}
        self.reset_stats()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="voxwidget-tiles")
        self._live: set[str] = set()  # tile requests not yet finished or cancelled
        self._lock = threading.Lock()
        self._changes: dict[tuple[int, int, int], tuple[int, str | None]] = {}
        self._flush_timer: threading.Timer | None = None
        self._unsubscribe = labels.subscribe(self._on_change)
        self._handlers: dict[str, Callable[[dict, Sequence[Any]], None]] = {
            "hello": self._hello,
            "chunks.get": self._chunks_get,
            "chunks.cancel": self._chunks_cancel,
            "edits.apply": self._edits_apply,
            "command": self._command,
            "ping": self._ping,
        }
        assert set(self._handlers) == {k for k, v in protocol.SCHEMA.items() if v["from"] == "browser"}

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

    def clear_browser_cache(self) -> None:
        """Tell every view to empty its persistent chunk cache (and refetch what it shows)."""
        self.send("cache.clear")

    def send(self, kind: str, buffers: Sequence[bytes] = (), **fields: Any) -> None:
        msg = protocol.make(kind, **fields)
        size = sum(len(b) for b in buffers)
        if size > protocol.MAX_MESSAGE_BYTES:  # pragma: no cover - ReplyPacker prevents it
            raise AssertionError(f"{kind} message of {size} bytes exceeds {protocol.MAX_MESSAGE_BYTES}")
        self._send(msg, list(buffers))

    def close(self) -> None:
        """Stop serving: cancel pending tile work, stop listening to the label map and drop the
        decoded chunks held for the views (a closed widget often stays referenced, e.g. by the
        notebook's output history, and its caches must not stay with it). Only this endpoint's
        entries of the kernel-wide cache go; other widgets keep theirs."""
        self._unsubscribe()
        with self._lock:
            self._live.clear()
            if self._flush_timer is not None:
                self._flush_timer.cancel()
        # cancelled requests stop at their next tile; wait for that so nothing refills the caches
        self._pool.shutdown(wait=True, cancel_futures=True)
        for cache in self._caches():
            cache.clear()

    def _caches(self) -> list[Any]:
        """This endpoint's namespaces of the kernel-wide cache: image chunks, coarse label blocks and,
        when the image source opened it for this endpoint (not a ``MultiscaleImage`` given by the user,
        which other widgets may share), the computed pyramid's blocks and planes."""
        caches: list[Any] = [self._image_cache, self._label_cache]
        if getattr(self.image, "owns_multiscale", False):
            caches.append(self.image.multiscale.cache)
        return caches

    @property
    def cached_bytes(self) -> int:
        """Bytes of decoded chunks the kernel holds for serving this endpoint's tiles (its image
        chunks, coarse label blocks and its computed pyramid's blocks and planes); not other
        endpoints' entries of the shared cache."""
        return sum(cache.nbytes for cache in self._caches())

    # -- handlers ----------------------------------------------------------------------------
    def _hello(self, msg: dict, buffers: Sequence[Any]) -> None:
        if msg["protocol"] != protocol.PROTOCOL_VERSION:
            raise protocol.ProtocolError(
                f"the view speaks protocol {msg['protocol']}, the kernel {protocol.PROTOCOL_VERSION}; "
                "reinstall voxwidget and reload the page"
            )
        self.send(
            "welcome",
            reply_to=msg["id"],
            protocol=protocol.PROTOCOL_VERSION,
            labelmap_id=self.labels.id,
            fingerprint=self.fingerprint,
        )

    def _ping(self, msg: dict, buffers: Sequence[Any]) -> None:
        self.send("pong", reply_to=msg["id"], labelmap_id=self.labels.id)

    def _chunks_get(self, msg: dict, buffers: Sequence[Any]) -> None:
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
        keys = [check_key(k, grid) for k in msg["keys"]]
        plane = None
        if msg.get("axis") is not None or msg.get("index") is not None:
            axis, index = msg.get("axis"), msg.get("index")
            if axis not in (0, 1, 2) or index is None or not 0 <= index < shape[axis]:
                raise protocol.ProtocolError(
                    f"chunks.get plane axis={axis} index={index} is outside level {level}'s shape "
                    f"{list(shape)}"
                )
            plane = (axis, index)
            for k in keys:
                plane_region(k, shape, chunks, axis, index)
        with self._lock:
            self._live.add(msg["id"])
            self.stats["requests"] += 1
        self._pool.submit(self._serve_or_report, msg, keys, plane).add_done_callback(_log_failure)

    def _chunks_cancel(self, msg: dict, buffers: Sequence[Any]) -> None:
        with self._lock:
            self._live.difference_update(msg["ids"])

    def _edits_apply(self, msg: dict, buffers: Sequence[Any]) -> None:
        batch_id = msg["id"]
        try:
            edits = self._decode_edits(msg, buffers)
            result = self.labels.apply_batch(batch_id, edits, stroke=msg["stroke"])
        except (BatchRejected, ValueError) as exc:
            self.send("edits.reject", reply_to=batch_id, error=str(exc))
            return
        keys = sorted(result.versions)

        def ack(done: Future) -> None:
            if done.exception() is not None:
                self.send("edits.reject", reply_to=batch_id, error=f"not saved: {done.exception()}")
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
        edits = []
        for i, e in enumerate(msg["edits"]):
            key = check_key(e["key"], grid)
            offsets = _as_array(buffers[e["offsets"]], np.dtype("<u4"), e["count"], f"edits[{i}].offsets")
            values = _as_array(
                buffers[e["values"]], dtype.newbyteorder("<"), e["count"], f"edits[{i}].values"
            )
            edits.append(ChunkEdit(key, offsets, values))
        return edits

    def _command(self, msg: dict, buffers: Sequence[Any]) -> None:
        name = msg["name"]
        if name not in protocol.COMMANDS:
            self.send(
                "command.result",
                reply_to=msg["id"],
                ok=False,
                error=f"unknown command {name!r}; known: {list(protocol.COMMANDS)}",
            )
            return
        changed = self.labels.undo() if name == "undo" else self.labels.redo()
        self.send("command.result", reply_to=msg["id"], ok=True, changed=int(bool(changed)))

    # -- tile serving (worker threads) -------------------------------------------------------
    def _serve_or_report(
        self, msg: dict, keys: list[tuple[int, int, int]], plane: tuple[int, int] | None
    ) -> None:
        t0 = time.perf_counter()
        try:
            self._serve(msg, keys, plane)
        except Exception as exc:
            with self._lock:
                self._live.discard(msg["id"])
            self.send("error", error=f"reading tiles failed: {type(exc).__name__}: {exc}", reply_to=msg["id"])
            raise
        finally:
            with self._lock:
                self.stats["seconds"] += time.perf_counter() - t0

    def _serve(self, msg: dict, keys: list[tuple[int, int, int]], plane: tuple[int, int] | None) -> None:
        """Encode the tiles of one request and send them in messages of at most ``REPLY_BYTES``, each
        with one buffer holding all its payloads (:class:`~voxwidget.tiles.ReplyPacker`).

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
        self._send(msg, bufs)

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
        self, layer: str, level: int, key: tuple[int, int, int], known: int, plane: tuple[int, int] | None
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
            chunk = self._image_cache.get_or_compute((level, key), lambda: _compact(lv.read(box)))
            if chunk.size == 0:  # an all-zero chunk (see _compact)
                return 0, "zero", tile_shape, name, None
            return (0, *encode_array(chunk[cut], dtype, tile_shape, name))
        dtype, name = self._label_dtype
        if level == 0:
            if known >= 0 and known == self.labels.version(key):
                return known, "unchanged", tile_shape, name, None
            version, data = self.labels.snapshot_chunk(key, cut)  # only the plane is copied
        else:
            version = self.label_version(level, key)
            if known == version:
                return version, "unchanged", tile_shape, name, None
            data = self._coarse_labels(level, key, region, version)
            if data is not None:
                data = data.reshape(tile_shape)
        if data is None:
            return version, "zero", tile_shape, name, None
        return (version, *encode_array(data, dtype, tile_shape, name, labels=True))

    def _prefetch(self, level: int, keys: list[tuple[int, int, int]], rid: str) -> None:
        """Read the image chunks of ``keys`` missing from the cache, a few regions at a time."""
        shape, c = self.level_shape(level), self.labels.chunk_shape
        missing = [k for k in keys if (level, k) not in self._image_cache]
        if len(missing) < 2:
            return
        itemsize = self.image.dtype.itemsize
        budget = max(1, min(64 * 2**20, self._image_cache.max_bytes // 2) // (int(np.prod(c)) * itemsize))
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
                self._image_cache.put((level, key), _compact(np.ascontiguousarray(data[local])))

    # -- coarse label levels -----------------------------------------------------------------
    def _level0_keys(self, level: int, region: Sequence[slice]) -> list[tuple[int, int, int]]:
        """The level-0 chunk keys under a level-``level`` region."""
        d, c, n0 = self.downsamples[level], self.labels.chunk_shape, self.labels.shape
        ranges = []
        for r, f, cc, n in zip(region, d, c, n0, strict=True):
            lo, hi = r.start * f, min(r.stop * f, n)
            ranges.append(range(lo // cc, max(lo // cc, (hi - 1) // cc) + 1))
        return [(z, y, x) for z in ranges[0] for y in ranges[1] for x in ranges[2]]

    def label_version(self, level: int, key: tuple[int, int, int]) -> int:
        """The version of label tile ``key`` at ``level``: the sum of the level-0 chunk versions under
        the whole level-``level`` chunk (see the module docstring)."""
        if level == 0:
            return self.labels.version(key)
        with self._lock:
            v = self._coarse_versions.get((level, key))
        if v is not None:
            return v
        box = chunk_box(key, self.level_shape(level), self.labels.chunk_shape)
        v = sum(self.labels.version(k) for k in self._level0_keys(level, box))
        with self._lock:
            if len(self._coarse_versions) > 200_000:
                self._coarse_versions.clear()
            self._coarse_versions[(level, key)] = v
        return v

    def _coarse_labels(
        self, level: int, key: tuple[int, int, int], region: Sequence[slice], version: int
    ) -> np.ndarray | None:
        """Mode-downsampled labels of a level-``level`` region (None when all zero), cached by version."""
        if version == 0 or not any(self.labels.version(k) for k in self._level0_keys(level, region)):
            return None
        d, n0 = self.downsamples[level], self.labels.shape
        region0 = tuple(slice(r.start * f, min(r.stop * f, n)) for r, f, n in zip(region, d, n0, strict=True))
        ck = (level, key, tuple((r.start, r.stop) for r in region), version)

        def compute() -> np.ndarray:
            return downsample_mode(self.labels.to_numpy(region0), d)

        out = self._label_cache.get_or_compute(ck, compute)
        want = tuple(r.stop - r.start for r in region)
        return out[tuple(slice(0, w) for w in want)]

    # -- change notices ----------------------------------------------------------------------
    def _on_change(self, change: Any) -> None:
        with self._lock:
            for key, version in zip(change.keys, change.versions, strict=True):
                key = tuple(key)
                origin = change.origin
                if key in self._changes and self._changes[key][1] != origin:
                    origin = None  # mixed sources in one window: every view must refresh this chunk
                self._changes[key] = (version, origin)
                for level in range(1, len(self.levels)):  # their coarse versions are recomputed
                    ck = tuple(k // f for k, f in zip(key, self.downsamples[level], strict=True))
                    self._coarse_versions.pop((level, ck), None)  # type: ignore[arg-type]
            if self._flush_timer is None:
                self._flush_timer = threading.Timer(CHANGE_FLUSH_SECONDS, self._flush_changes)
                self._flush_timer.daemon = True
                self._flush_timer.start()

    def _flush_changes(self) -> None:
        with self._lock:
            changes, self._changes, self._flush_timer = self._changes, {}, None
        by_origin: dict[str | None, list[tuple[tuple[int, int, int], int]]] = {}
        for key, (version, origin) in sorted(changes.items()):
            by_origin.setdefault(origin, []).append((key, version))
        for origin, items in by_origin.items():
            self._announce(0, items, origin)
        c = self.labels.chunk_shape
        for level in range(1, len(self.levels)):
            d = self.downsamples[level]
            coarse = sorted({tuple(k // f for k, f in zip(key, d, strict=True)) for key in changes})
            with self._lock:
                for ck in coarse:
                    self._coarse_versions.pop((level, ck), None)  # type: ignore[arg-type]
            grid = grid_shape(self.level_shape(level), c)
            coarse = [k for k in coarse if all(a < g for a, g in zip(k, grid, strict=True))]
            self._announce(level, [(k, self.label_version(level, k)) for k in coarse], None)  # type: ignore[misc]

    def _announce(self, level: int, items: list, origin: str | None) -> None:
        for start in range(0, len(items), 4096):
            part = items[start : start + 4096]
            self.send(
                "chunks.changed",
                layer="labels",
                level=level,
                keys=[list(k) for k, _ in part],
                versions=[v for _, v in part],
                origin=origin,
            )

    def flush(self) -> None:
        """Send pending change notices now (tests and shutdown)."""
        with self._lock:
            timer = self._flush_timer
        if timer is not None:
            timer.cancel()
            self._flush_changes()


def _compact(chunk: np.ndarray) -> np.ndarray:
    """An image chunk as kept in the decoded-chunk LRU: all-zero chunks (the fill value of sparse
    volumes, never written to disk) as an empty array, so they cost no memory and evict nothing."""
    return chunk if np.count_nonzero(chunk) else np.empty((0, 0, 0), chunk.dtype)


def _as_array(buf: Any, dtype: np.dtype, count: int, where: str) -> np.ndarray:
    raw = memoryview(buf).cast("B")
    if raw.nbytes != count * dtype.itemsize:
        raise ValueError(
            f"{where} has {raw.nbytes} bytes; count {count} of {dtype.name} needs {count * dtype.itemsize}"
        )
    return np.frombuffer(raw, dtype=dtype)


def _log_failure(fut: Future) -> None:
    exc = fut.exception()
    if exc is not None:
        log.error("voxwidget: tile request failed:\n%s", "".join(traceback.format_exception(exc)))


__all__ = ["AXES", "Endpoint"]
