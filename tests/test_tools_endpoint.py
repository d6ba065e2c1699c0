"""The view's tools on the kernel side: their ``command`` messages run the LabelMap methods (same
result as the Python call, errors answered and nothing changed), ``preserve`` batches keep labels,
and ``labels.counts`` tells the views the counts (whole on hello, the changes after edits)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import traitlets
from test_server import CHUNKS, SHAPE, Wire, edits_msg

from voxwidget import VoxWidget
from voxwidget.comm.endpoint import Endpoint
from voxwidget.labelmap import LabelMap
from voxwidget.multiscale.sources import ImageSource


@pytest.fixture
def setup(tmp_path):
    wire = Wire()
    labels = LabelMap(SHAPE, dtype="uint8", chunks=CHUNKS, path=tmp_path / "labels.zarr")
    ep = Endpoint(wire, ImageSource(np.zeros(SHAPE, np.uint8)), labels, "fp")
    yield ep, wire, labels
    ep.close()
    labels.close()


def command(ep, wire, cid: str, **fields) -> dict:
    ep.handle({"kind": "command", "id": cid, **fields})
    return wire.reply("command.result", cid)


def test_preserve_batches_set_only_background(setup):
    ep, wire, labels = setup
    labels[0:8, 0:4, 0:20] = 5  # across chunks (0,0,0) and (0,0,1)
    before = labels.to_numpy()
    # row y = 3 (labelled) and y = 4 (background) at z = 1, x = 0..19, in both chunks; and the edge
    # chunk (2, 2, 2): z 16..19 (4 deep), y 32..39 (8), x 32..35 (4), where the chunk is clipped
    offsets = [1 * 256 + y * 16 + x for y in (3, 4) for x in range(16)]
    edge = [0 * 256 + 0 * 16 + 0, 3 * 256 + 7 * 16 + 3]
    labels[19, 39, 35] = 9
    msg, bufs = edits_msg(
        "p1",
        [
            ([0, 0, 0], offsets, [7] * 32),
            ([0, 0, 1], offsets[:4] + offsets[16:20], [7] * 8),
            ([2, 2, 2], edge, [7, 7]),
        ],
    )
    msg["preserve"] = True
    ep.handle(msg, bufs)
    assert wire.reply("edits.ack", "p1")["keys"]
    after = labels.to_numpy()
    assert (after[1, 3, 0:20] == 5).all()  # labelled voxels kept
    assert (after[1, 4, 0:16] == 7).all() and (after[1, 4, 16:20] == 7).all()
    assert after[16, 32, 32] == 7 and after[19, 39, 35] == 9  # the edge chunk: background only
    changed = after != before
    changed[19, 39, 35] = False
    assert changed.sum() == 16 + 4 + 1
    # the same batch without preserve overwrites
    msg, bufs = edits_msg("p2", [([0, 0, 0], offsets[:16], [7] * 16)])
    ep.handle(msg, bufs)
    wire.reply("edits.ack", "p2")
    assert (labels.to_numpy()[1, 3, 0:16] == 7).all()
    # every voxel already labelled: an empty batch, acknowledged, no undo step of its own
    labels.undo()
    msg, bufs = edits_msg("p3", [([0, 0, 0], offsets[:16], [8] * 16)])
    msg["preserve"] = True
    ep.handle(msg, bufs)
    assert wire.reply("edits.ack", "p3")["keys"] == []
    assert (labels.to_numpy()[1, 3, 0:16] == 5).all()


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"name": "fill", "label": "3"}, "command 'fill' needs the field 'seed'"),
        ({"name": "fill", "seed": [1, 2, 3]}, "command 'fill' needs the field 'label'"),
        ({"name": "fill", "seed": [1, 2], "label": "3"}, "seed [1, 2] must be 3 integers"),
        ({"name": "fill", "seed": [1, 2, 3], "label": "-3"}, "label '-3' is not a non-negative decimal"),
        (
            {"name": "fill_polygon", "points": [[0, 0], [0, 5], [5, 0]], "label": "3"},
            "needs the field 'index'",
        ),
        ({"name": "replace", "old": "3"}, "needs the field 'new'"),
        ({"name": "explode"}, "unknown command 'explode'"),
    ],
)
def test_bad_commands_name_the_problem_and_change_nothing(setup, fields, text):
    ep, wire, labels = setup
    labels[2, 2, 2] = 4
    before = labels.to_numpy()
    reply = command(ep, wire, "c", **fields)
    assert reply["ok"] is False and text in reply["error"], reply
    assert (labels.to_numpy() == before).all()


def test_fill_command_equals_the_python_call_and_is_one_undo_step(setup, tmp_path):
    ep, wire, labels = setup
    labels[0:10, 5:30, 3:20] = 2
    labels[4, :, :] = 0  # a plane of background splits the box in two along z
    ref = LabelMap.from_array(labels.to_numpy(), chunks=CHUNKS)
    for cid, fields, kwargs in [
        ("f1", {"seed": [2, 10, 10], "label": "6", "dims": 3, "axis": 0}, {"dims": 3, "axis": 0}),
        ("f2", {"seed": [7, 10, 10], "label": "8", "dims": 2, "axis": 1}, {"dims": 2, "axis": 1}),
        (
            "f3",
            {"seed": [15, 0, 0], "label": "9", "dims": 2, "axis": 0, "preserve_labels": True},
            {"dims": 2, "preserve_labels": True},
        ),
    ]:
        reply = command(ep, wire, cid, name="fill", **fields)
        want = ref.fill(tuple(fields["seed"]), int(fields["label"]), **kwargs)
        assert reply["ok"] and reply["changed"] == want > 0, reply
        assert (labels.to_numpy() == ref.to_numpy()).all(), cid
    assert command(ep, wire, "u", name="undo")["changed"] == 1
    ref.undo()
    assert (labels.to_numpy() == ref.to_numpy()).all()


def test_fill_over_the_limit_is_refused_naming_it_and_changes_nothing(setup):
    ep, wire, labels = setup
    before = labels.to_numpy()
    reply = command(ep, wire, "f", name="fill", seed=[0, 0, 0], label="3", dims=3, max_voxels=1000)
    assert reply["ok"] is False and "max_voxels=1,000" in reply["error"], reply
    assert (labels.to_numpy() == before).all()
    assert not labels.undo()  # no undo step either


def test_polygon_interpolate_and_replace_commands(setup):
    ep, wire, labels = setup
    pts = [[2, 3], [2, 30], [20, 16]]
    reply = command(ep, wire, "p", name="fill_polygon", points=pts, label="4", axis=0, index=6)
    ref = LabelMap(SHAPE, dtype="uint8", chunks=CHUNKS)
    ref.fill_polygon(pts, 4, axis=0, index=6)
    assert reply["ok"] and (labels.to_numpy() == ref.to_numpy()).all()
    assert reply["changed"] == (ref.to_numpy() == 4).sum()
    labels[10, 5:15, 5:15] = 4
    reply = command(ep, wire, "i", name="interpolate", label="4", axis=0)
    ref[10, 5:15, 5:15] = 4
    want = ref.interpolate(4, axis=0)
    assert reply["ok"] and reply["changed"] == want > 0
    assert (labels.to_numpy() == ref.to_numpy()).all()
    n4 = int((labels.to_numpy() == 4).sum())
    reply = command(ep, wire, "r", name="replace", old="4", new="0")
    assert reply["ok"] and not (labels.to_numpy() == 4).any()
    assert command(ep, wire, "u", name="undo")["changed"] == 1
    assert int((labels.to_numpy() == 4).sum()) == n4


def counts_messages(wire) -> list[dict]:
    return [m for m, _ in wire.messages if m["kind"] == "labels.counts"]


def test_label_counts_reach_the_views_whole_then_as_changes(setup):
    ep, wire, labels = setup
    labels[0, 0, 0:5] = 3
    ep.handle({"kind": "hello", "id": "h", "protocol": 4})
    full = wire.wait(lambda m: m["kind"] == "labels.counts")[0][0]
    assert full == {"kind": "labels.counts", "labels": ["3"], "counts": [5], "full": True}
    labels[1, 0, 0:2] = 7
    labels[0, 0, 0] = 0
    ep.flush()
    delta = counts_messages(wire)[-1]
    assert delta == {"kind": "labels.counts", "labels": ["3", "7"], "counts": [4, 2], "full": False}
    n = len(counts_messages(wire))
    labels.undo()  # label 3 back to 5
    labels.undo()  # label 7 gone
    time.sleep(0.1)
    ep.flush()
    got = {}
    for m in counts_messages(wire)[n:]:
        got.update(zip(m["labels"], m["counts"], strict=True))
    assert got == {"3": 5, "7": 0}
    # a view that joins now gets every id in use
    ep.handle({"kind": "hello", "id": "h2", "protocol": 4})
    assert counts_messages(wire)[-1] == {
        "kind": "labels.counts",
        "labels": ["3"],
        "counts": [5],
        "full": True,
    }


@pytest.mark.parametrize(
    ("trait", "value", "text"),
    [
        ("brush_dims", 4, "brush_dims 4 must be 2 or 3"),
        ("fill_max_voxels", 0, "fill_max_voxels 0 must be at least 1"),
        ("label_names", {300: "x"}, "label_names id 300 is outside the label dtype's range 0 … 255"),
        ("label_names", {"2": "x"}, "must map an int label id to a str"),
        ("hidden_labels", [256], "hidden_labels id 256"),
        ("tool", "lasso", "lasso"),
    ],
)
def test_tool_traits_refuse_bad_values_naming_them(trait, value, text):
    w = VoxWidget(np.zeros((4, 5, 6), np.uint8), label_dtype="uint8")
    before = getattr(w, trait)
    with pytest.raises(traitlets.TraitError) as err:
        setattr(w, trait, value)
    assert text in str(err.value)
    assert getattr(w, trait) == before


def test_tool_traits_defaults_and_uint64_safe_json():
    w = VoxWidget(np.zeros((4, 5, 6), np.uint8), label_dtype="uint64")
    assert (w.brush_dims, w.preserve_labels, w.fill_max_voxels) == (2, False, 50_000_000)
    assert (w.label_names, w.hidden_labels, w.show_selected_only) == ({}, [], False)
    w.label_names = {2**64 - 1: "last"}
    w.hidden_labels = [2**63 + 1]
    state = w.get_state(["label_names", "hidden_labels"])
    assert state == {"label_names": {str(2**64 - 1): "last"}, "hidden_labels": [str(2**63 + 1)]}
    w.set_state({"hidden_labels": ["5", str(2**64 - 1)], "label_names": {"7": "seven"}})
    assert w.hidden_labels == [5, 2**64 - 1] and w.label_names == {7: "seven"}
    w.tool = "fill"
    w.tool = "polygon"


def test_label_count_changes_are_coalesced_and_end_right(setup):
    ep, wire, labels = setup
    ep.handle({"kind": "hello", "id": "h", "protocol": 4})
    wire.wait(lambda m: m["kind"] == "labels.counts")
    t0 = time.monotonic()
    for i in range(30):  # 30 edits within ~0.1 s, each flushed at once
        labels[0, 0, i] = 1 + i % 3
        ep.notices.flush()
    elapsed = time.monotonic() - t0
    ep.flush()
    deltas = counts_messages(wire)[1:]
    assert len(deltas) <= 2 + int(elapsed / 0.1), (len(deltas), elapsed)
    got: dict[str, int] = {}
    for m in deltas:
        got.update(zip(m["labels"], m["counts"], strict=True))
    assert got == {"1": 10, "2": 10, "3": 10}
