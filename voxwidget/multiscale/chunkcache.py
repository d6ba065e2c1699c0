"""The kernel-wide budget of decoded chunks.

Every widget's endpoint keeps the image chunks it decoded and the coarse label blocks it computed,
and every image opened from a single scale keeps the pyramid blocks and plane tiles it computed, so
that scrolling through a chunk layer decodes each chunk once. All of them share one least-recently-used
cache bounded in bytes (:func:`shared_cache`): a notebook that re-runs ``w = VoxWidget(path); w`` leaves
the old widget alive (its comm stays open, ``Out[n]`` references it), and its chunks, no longer read,
are the first evicted when a new widget reads. Each user holds its own namespace of that cache
(:class:`~voxwidget.multiscale.blockcache.CacheView`): entries of two widgets never mix, even on the
same data, and closing a widget drops exactly its own.

:func:`set_chunk_cache_budget` and :func:`chunk_cache_budget` (also ``voxwidget.set_chunk_cache_budget``
and ``voxwidget.chunk_cache_budget``) change and read the bound.
"""

from __future__ import annotations

from .blockcache import BlockCache, CacheView, check_bytes

__all__ = ["DEFAULT_BUDGET", "chunk_cache_budget", "set_chunk_cache_budget", "shared_cache", "view"]

DEFAULT_BUDGET = 512 * 2**20
"""The default kernel-wide budget: 512 MiB (see :func:`set_chunk_cache_budget`)."""

_SHARED = BlockCache(DEFAULT_BUDGET)


def shared_cache() -> BlockCache:
    """The one cache (per kernel process) holding every widget's and image's decoded chunks."""
    return _SHARED


def view(max_bytes: int | None = None) -> CacheView:
    """A new namespace of the shared cache, optionally with its own lower bound ``max_bytes``."""
    return CacheView(_SHARED, max_bytes)


def chunk_cache_budget() -> int:
    """The kernel-wide budget of decoded chunks, in bytes (see :func:`set_chunk_cache_budget`).

    Returns
    -------
    int
        The bound on the bytes of decoded image chunks, coarse label blocks and computed pyramid
        blocks that all widgets and images of this kernel hold together.
    """
    return _SHARED.max_bytes


def set_chunk_cache_budget(nbytes: int) -> int:
    """Bound the decoded chunks that all widgets and images of this kernel hold together.

    The kernel keeps decoded image chunks (each widget), computed coarse label blocks (each widget) and
    computed pyramid blocks and plane tiles (each image opened from a single scale) in one
    least-recently-used cache, so scrolling through a chunk layer decodes each chunk once. This bounds
    the sum, however many widgets the notebook opened: the chunks of an idle widget (an old one a
    re-run cell left alive) are the first to go when another widget reads. The new bound applies at
    once (arrays are evicted down to it). Memory outside this cache (the label map's chunks, tiles in
    flight, zarr's own buffers) is not counted.

    Parameters
    ----------
    nbytes
        The budget in bytes, an int ≥ 0. 0 keeps nothing (every tile is read and decoded again).
        Default 512 MiB: a 2D view at level 0 shows at most its screen pixels (say 2048 × 1024
        voxels at zoom 1 on a large screen), and the 64-deep chunk layer under that is 256 MiB of
        uint16 (512 chunks of 64³); the coarse levels' layers under their views, the label blocks
        and a second active widget fit in the other half, and a kernel of ~400 MiB stays under 1 GiB.
        Raise it for wider views, float32 images or several widgets used side by side.

    Returns
    -------
    int
        The previous budget, in bytes.

    Raises
    ------
    TypeError
        When ``nbytes`` is not an int (a float such as ``1e9`` too; write ``10**9`` or ``2**30``).
    ValueError
        When ``nbytes`` is negative.

    Examples
    --------
    >>> import voxwidget
    >>> old = voxwidget.set_chunk_cache_budget(2 * 2**30)  # 2 GiB
    >>> voxwidget.chunk_cache_budget() == 2 * 2**30
    True
    >>> _ = voxwidget.set_chunk_cache_budget(old)
    """
    nbytes = check_bytes("the chunk cache budget", nbytes)
    old = _SHARED.max_bytes
    _SHARED.max_bytes = nbytes
    return old
