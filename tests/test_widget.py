"""VoxWidget's Python API: construction, trait validation, the data API, uint64-safe label sync."""

import numpy as np
import pytest
import traitlets

from voxwidget import LabelMap, VoxWidget

IMAGE = np.arange(12 * 20 * 16, dtype=np.uint16).reshape(12, 20, 16)


def test_defaults_describe_the_volume():
    w = VoxWidget(IMAGE)
    assert w.shape == [12, 20, 16] and w.position == [6, 10, 8]
    assert w.image_dtype == "uint16" and w.label_dtype == "uint32"
    lo, hi = w.contrast_limits
    assert IMAGE.min() <= lo < hi <= IMAGE.max()
    assert w.tool == "brush" and w.axis == "z" and w.label == 1
    assert isinstance(w.labels, LabelMap) and w.labelmap_id == w.labels.id


@pytest.mark.parametrize(
    ("image", "text"),
    [
        (np.zeros((4, 5)), "shape (4, 5)"),
        (np.zeros((2, 3, 4, 5)), "pass channel= (0…1)"),
        (np.zeros((2, 2, 2), bool), "'bool'"),
    ],
)
def test_bad_images_are_refused_with_the_reason(image, text):
    with pytest.raises(ValueError, match=None) as err:
        VoxWidget(image)
    assert text in str(err.value)


def test_label_array_of_wrong_shape_is_refused():
    with pytest.raises(
        ValueError, match=r"labels shape \(12, 20, 15\) differs from the image shape \(12, 20, 16\)"
    ):
        VoxWidget(IMAGE, labels=np.zeros((12, 20, 15), np.uint8))


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="'brushradius'"):
        VoxWidget(IMAGE, brushradius=3)


@pytest.mark.parametrize(
    ("trait", "value", "text"),
    [
        ("label", 256, "label 256 is outside the label dtype's range 0 … 255"),
        ("label", -1, "label -1"),
        ("position", [12, 0, 0], "position [12, 0, 0] is outside the volume [12, 20, 16]"),
        ("brush_radius", -2, "brush_radius -2"),
        ("opacity", 1.5, "opacity 1.5"),
        ("contrast_limits", [5.0, 5.0], "high > low"),
        ("tool", "lasso", "lasso"),
    ],
)
def test_bad_trait_values_name_the_value_and_change_nothing(trait, value, text):
    w = VoxWidget(IMAGE, labels=np.zeros(IMAGE.shape, np.uint8))
    before = getattr(w, trait)
    with pytest.raises(traitlets.TraitError) as err:
        setattr(w, trait, value)
    assert text in str(err.value)
    assert getattr(w, trait) == before


def test_existing_labels_are_used_and_numpy_edits_are_visible():
    start = np.zeros(IMAGE.shape, np.uint16)
    start[1, 2, 3] = 9
    w = VoxWidget(IMAGE, labels=start)
    assert w.label_dtype == "uint16" and w.labels[1, 2, 3] == 9
    w.labels[10:12, 5, :] = 7
    out = w.to_numpy()
    assert out.dtype == np.uint16 and (out[10:12, 5, :] == 7).all() and out.sum() == 9 + 7 * 32
    out[0, 0, 0] = 1  # a copy: the map does not change
    assert w.labels[0, 0, 0] == 0
    assert w.mask(7).sum() == 32 and w.mask([7, 9]).sum() == 33
    assert start[10, 5, 0] == 0  # the caller's array is not written through


def test_uint64_labels_travel_as_exact_strings():
    w = VoxWidget(IMAGE, label_dtype="uint64")
    w.label = 2**64 - 1
    assert w.get_state()["label"] == "18446744073709551615"
    w.set_state({"label": "18446744073709551614"})
    assert w.label == 2**64 - 2


def test_label_store_path_is_created_then_reopened(tmp_path):
    path = tmp_path / "labels.zarr"
    w = VoxWidget(IMAGE, labels=path, chunks=(8, 8, 8))
    w.labels[3, 4, 5] = 11
    first_id = w.labelmap_id
    w.labels.close()
    w2 = VoxWidget(IMAGE, labels=path)
    assert w2.labels[3, 4, 5] == 11 and w2.labelmap_id == first_id
    assert w2.chunk_shape == [8, 8, 8]
    w2.labels.close()


def test_channel_picks_the_volume_of_a_4d_image():
    stack = np.stack([IMAGE, IMAGE + 1000])  # (c, z, y, x)
    w = VoxWidget(stack, channel=1)
    assert w.shape == [12, 20, 16]
    assert w.labels.shape == (12, 20, 16)
    assert np.array_equal(
        np.asarray(w._source.read((slice(0, 1), slice(0, 2), slice(0, 2)))), IMAGE[:1, :2, :2] + 1000
    )


def test_closing_a_widget_releases_its_decoded_chunks():
    """A re-run cell leaves the old widget referenced by the output history (``Out``); its kernel
    chunk caches must not stay behind with it."""
    import time

    rng = np.random.default_rng(1)
    w = VoxWidget(rng.integers(1, 60000, (128, 128, 128), dtype=np.uint16))
    ep = w._endpoint
    keys = [[0, 0, 0], [1, 1, 1]]
    for layer in ("image", "labels"):
        ep.handle(
            {"kind": "chunks.get", "id": layer, "layer": layer, "level": 0, "keys": keys, "known": [-1, -1]}
        )
    deadline = time.monotonic() + 10
    while w.stream_stats["requests"] < 2 or ep.tile_server.pending:
        assert time.monotonic() < deadline, "the tile requests were not served"
        time.sleep(0.01)
    assert w.stream_stats["cached_bytes"] >= 2 * 64**3 * 2  # the two image chunks at least
    w.close()
    assert w.stream_stats["cached_bytes"] == 0
    assert w.labels.shape == (128, 128, 128)  # the label map stays usable


def test_pending_edits_and_discard_pending(monkeypatch):
    """``pending_edits()`` reads what the view reported (creation times as UTC datetimes);
    ``discard_pending()`` sends the view a schema-valid ``pending.discard`` (it asks the user)."""
    import datetime

    from voxwidget.comm import protocol

    w = VoxWidget(IMAGE)
    assert w.pending_edits() == [] and w.pending_max_age_days == 30
    w.pending_batches = [{"id": "b1", "stroke": "s1", "created": 1.7e12, "chunks": 2, "voxels": 40}]
    (b,) = w.pending_edits()
    assert b["id"] == "b1" and b["voxels"] == 40
    assert b["created"] == datetime.datetime.fromtimestamp(1.7e9, datetime.UTC)
    sent = []
    monkeypatch.setattr(w, "send", lambda msg, buffers=None: sent.append(msg))
    w.discard_pending()
    assert [m["kind"] for m in sent] == ["pending.discard"]
    protocol.validate(sent[0], [], sender="kernel")


def test_a_closed_widget_and_its_label_map_are_freed():
    """anywidget keeps a widget whose ``_esm`` is a file Path alive for good (its file watcher holds
    it, manzt/anywidget#929); ours is a string, so a closed, unreferenced widget is collected."""
    import gc
    import weakref

    w = VoxWidget(np.zeros((8, 8, 8), np.uint8))
    assert "voxwidget.bundles" in w._esm and len(w._esm) < 10_000  # the loader, not the bundle
    assert len(w._bundle) > 100_000 and len(w._bundle_key) == 16
    alive = weakref.ref(w), weakref.ref(w.labels)
    w.close()
    del w
    gc.collect()
    assert [r() is None for r in alive] == [True, True]


def test_a_missing_browser_build_is_said_in_the_view_not_raised(tmp_path, monkeypatch):
    """Without voxwidget/static/ (a source checkout never built) a widget still builds, and its
    entry module tells the user how to build the bundle."""
    import voxwidget.widget as vw

    monkeypatch.setattr(vw, "_STATIC", tmp_path)
    vw._bundle_text.cache_clear()
    try:
        assert "npm run build" in vw._loader_text()
        assert vw._bundle_text() == ("", "")
        assert VoxWidget(np.zeros((4, 4, 4), np.uint8))._bundle == ""
    finally:
        vw._bundle_text.cache_clear()
