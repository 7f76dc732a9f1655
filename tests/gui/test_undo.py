"""The undo history: a brush stroke is a transaction, undo data is stored per changed tile, and the
whole history stays inside a byte budget.

Driven through real widgets (mouse events on the canvas, the worker delivering a "Remove masks"
result) on synthetic photos; the engine is the small fake from test_editor.
"""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.gui.test_editor import FakeEngine, make_window, open_photo, photo_file, view_point, wait_idle  # noqa: F401

pytestmark = pytest.mark.gui


def record_states(w):
    """Mask and result after every change of the stack's index: what one undo must bring back."""
    states = {}

    def snap(index: int) -> None:
        states[index] = (w.doc.mask.copy(), w.doc.result.copy())

    snap(w.stack.index())
    w.stack.indexChanged.connect(snap)
    return states


def test_remove_masks_result_arriving_mid_stroke_lands_after_it(qtbot, make_window, tmp_path):
    """Design review probe: a result that lands in a tile while a stroke is open used to be undone by
    undoing the stroke (its saved tile predates the result): mask[110, 210] == 0 after one undo."""
    w = make_window(lambda: FakeEngine(delay=0.5))
    open_photo(qtbot, w, photo_file(tmp_path, size=(512, 512)))
    w.set_tool("brush")
    w.brush.set_size(40)
    w.brush.set_hardness(1.0)
    states = record_states(w)
    steps_before = w.stack.count()

    w.act_remove.trigger()  # the fake's mask covers rows 256..384, columns 128..384
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 100, 100))
    qtbot.mouseMove(vp, view_point(w, 150, 150))
    wait_idle(qtbot, w, timeout=10000)  # the result has been delivered while the button is down
    assert w.stack.count() == steps_before, "an edit landed in the middle of an open stroke"
    assert not w.act_undo.isEnabled() and not w.history.isEnabled()  # no undo mid-stroke either
    qtbot.mouseMove(vp, view_point(w, 230, 300))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 230, 300))

    texts = [w.stack.command(i).text() for i in range(w.stack.count())]
    assert texts[steps_before:] == ["Brush stroke", "Remove masks"]
    assert w.doc.mask[300, 210] == 255 and w.doc.result_state.has_result
    final = (w.doc.mask.copy(), w.doc.result.copy())
    # One undo takes back exactly one step, bit for bit, all the way down; redo brings it all back.
    while w.stack.canUndo():
        w.stack.undo()
        mask, result = states[w.stack.index()]
        np.testing.assert_array_equal(w.doc.mask, mask)
        np.testing.assert_array_equal(w.doc.result, result)
    assert not w.doc.mask.any()
    while w.stack.canRedo():
        w.stack.redo()
    np.testing.assert_array_equal(w.doc.mask, final[0])
    np.testing.assert_array_equal(w.doc.result, final[1])


def test_edit_pushed_mid_stroke_is_not_undone_with_the_stroke(qtbot, make_window, tmp_path):
    """The review's probe, literally: an EditCommand pushed while the stroke is open."""
    from unmask_studio.app.commands import EditCommand, Patch

    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path, size=(512, 512)))
    w.brush.set_size(40)
    w.brush.set_hardness(1.0)
    w.brush.begin(_pt(100, 100))
    rect = (190, 90, 230, 130)
    w.stack.push(EditCommand(w.doc, "Other edit", [Patch("mask", rect, w.doc.read("mask", rect),
                                                         np.full((40, 40), 255, np.uint8))]))
    w.brush.move(_pt(230, 230))
    w.brush.end()
    assert w.doc.mask[110, 210] == 255
    w.stack.undo()  # one step back: whichever step that is, the other edit's pixels follow the stack
    other_applied = any(w.stack.command(i).text() == "Other edit" for i in range(w.stack.index()))
    assert w.doc.mask[110, 210] == (255 if other_applied else 0)
    assert w.doc.mask[200, 200] == (0 if other_applied else 255)


def _pt(x, y):
    from PySide6.QtCore import QPointF
    return QPointF(x, y)


def stroke(qtbot, w, points):
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, view_point(w, *p))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, *points[-1]))


def test_a_long_stroke_is_stored_per_changed_tile_and_undoes_bit_identically(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path, size=(2000, 1500)))
    w.set_tool("brush")
    w.brush.set_size(30)
    w.brush.set_hardness(0.5)  # soft edge: many partial values that must come back exactly
    w.doc.mask[700:760, 900:1400] = 77  # something already there, crossed by the stroke
    w.doc.touched("mask", (900, 700, 1400, 760))
    before = w.doc.mask.copy()
    stroke(qtbot, w, [(40, 40), (700, 500), (1300, 900), (1960, 1460)])
    after = w.doc.mask.copy()
    cmd = w.stack.command(0)
    assert len(cmd.patches) > 8  # one per changed tile along the diagonal
    whole_box = 2 * 1960 * 1460  # what the bounding-box scheme stored: before + after of the stroke's box
    assert cmd.nbytes < whole_box / 4
    w.stack.undo()
    np.testing.assert_array_equal(w.doc.mask, before)
    w.stack.redo()
    np.testing.assert_array_equal(w.doc.mask, after)


def test_history_keeps_within_its_byte_budget_dropping_the_oldest_steps(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path, size=(1200, 900)))
    w.set_tool("brush")
    w.brush.set_size(24)
    stroke(qtbot, w, [(50, 100), (1150, 100)])
    after_stroke = [w.doc.mask.copy()]
    one = w.stack.command(0).nbytes
    w.stack.setClean()  # saved after the first stroke
    w.stack.budget = int(3.5 * one)  # room for three such strokes
    for y in (250, 400, 550, 700, 850):
        stroke(qtbot, w, [(50, y), (1150, y)])
        after_stroke.append(w.doc.mask.copy())
    assert w.stack.total_bytes() <= w.stack.budget
    assert w.stack.count() == 3 and w.stack.dropped == 3
    assert [w.stack.command(i).text() for i in range(3)] == ["Brush stroke"] * 3
    assert not w.stack.isClean() and w.isWindowModified()  # the saved state can no longer be reached
    assert "3 older steps not kept" in w.history.emptyLabel()
    final = w.doc.mask.copy()
    # The kept steps still undo and redo exactly: back to the state after the third stroke.
    while w.stack.canUndo():
        w.stack.undo()
    np.testing.assert_array_equal(w.doc.mask, after_stroke[2])
    while w.stack.canRedo():
        w.stack.redo()
    np.testing.assert_array_equal(w.doc.mask, final)
    # A new photo starts a fresh history.
    open_photo(qtbot, w, photo_file(tmp_path, "other.png"))
    assert w.stack.count() == 0 and w.stack.dropped == 0 and w.history.emptyLabel() == "Opened photo"


def test_escape_or_opening_a_photo_aborts_the_open_stroke(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path, size=(400, 300)))
    w.set_tool("brush")
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 50, 50))
    qtbot.mouseMove(vp, view_point(w, 300, 200))
    assert w.doc.mask.any() and w.brush.stroking
    qtbot.keyClick(w.canvas, Qt.Key.Key_Escape)
    assert not w.doc.mask.any() and not w.brush.stroking and "Stroke cancelled" in w.banner.text
    qtbot.mouseMove(vp, view_point(w, 350, 250))  # the rest of the drag paints nothing
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 350, 250))
    assert not w.doc.mask.any() and w.stack.count() == 0 and w.act_undo.isEnabled() is False

    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 50, 50))
    qtbot.mouseMove(vp, view_point(w, 300, 200))
    open_photo(qtbot, w, photo_file(tmp_path, "next.png", size=(400, 300)))  # e.g. from a drop or a batch
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 300, 200))
    assert w.doc.path.name == "next.png" and not w.doc.mask.any() and w.stack.count() == 0
    assert not w.stack.in_transaction and w.history.isEnabled()


def test_at_the_budget_a_new_step_still_counts_as_a_change(qtbot, make_window, tmp_path):
    """At the budget every push also drops the oldest step, so index() stays the same while the photo
    changes: a save that finishes then must not mark the new state as saved."""
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path, size=(600, 400)))
    w.set_tool("brush")
    stroke(qtbot, w, [(20, 50), (580, 50)])
    w.stack.budget = w.stack.total_bytes()  # room for one step only
    stroke(qtbot, w, [(20, 150), (580, 150)])
    index, changes = w.stack.index(), w.stack.changes
    w.stack.setClean()  # as if a save finished here
    stroke(qtbot, w, [(20, 250), (580, 250)])
    assert w.stack.index() == index and w.stack.count() == 1  # the index alone cannot tell
    assert w.stack.changes > changes and not w.stack.isClean() and w.isWindowModified()
