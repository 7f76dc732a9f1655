"""Heal brush, clone stamp and the mask selections (rectangle, lasso, magic wand), driven with real mouse
events on a real photo (real_masked/006.webp: a white N95 with a white strap across a brown cheek).

Each checks that a tool changes only the pixels it should, lands as one undo step, and that undo gives
back bit-identical pixels.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.conftest import data_path
from tests.gui.test_editor import make_window, open_photo, view_point, wait_idle  # noqa: F401

pytestmark = pytest.mark.gui

ALT, SHIFT = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton
STRAP = [(272, 470), (311, 500), (324, 510), (335, 522)]  # along the strap over the cheek (tests/test_heal.py)
N95 = (470, 560)  # a point on the white N95, on its lit left half


@pytest.fixture
def window(qtbot, make_window):
    w = make_window()
    open_photo(qtbot, w, data_path("real_masked", "006.webp"))
    w.canvas.actual_size()  # 100 %: one view pixel is one photo pixel
    w.canvas.centerOn(400, 500)
    return w


def drag(qtbot, w, points, modifier=Qt.KeyboardModifier.NoModifier):
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, LEFT, modifier, view_point(w, *points[0]))
    for p in points[1:]:
        qtbot.mouseMove(vp, view_point(w, *p))
    qtbot.mouseRelease(vp, LEFT, modifier, view_point(w, *points[-1]))


def near_path(shape, points, radius):
    """Pixels within ``radius`` of the polyline through ``points``."""
    m = np.zeros(shape[:2], np.uint8)
    cv2.polylines(m, [np.int32(points).reshape(-1, 1, 2)], False, 255, int(2 * radius + 1))
    return m > 0


def strap_pixels(rgb):
    core = near_path(rgb.shape, STRAP, 6)
    return int(((rgb[..., 1] > 150) & (rgb[..., 2] > 140) & core).sum())


def test_heal_stroke_removes_the_strap_in_one_undoable_step(qtbot, window):
    w = window
    w.set_tool("heal")
    assert w.edit_tools.actions["heal"].isChecked()
    w.brush.set_size(20)
    before = w.doc.result.copy()
    assert strap_pixels(w.doc.output_image()) > 60
    drag(qtbot, w, STRAP)
    with qtbot.waitSignal(w.edit_tools.heal.healed, timeout=20000):
        pass
    wait_idle(qtbot, w)
    after = w.doc.output_image().copy()
    assert w.doc.result_state.has_result  # Save writes the healed photo
    assert strap_pixels(after) == 0
    changed = (after != before).any(2)
    assert changed.sum() > 300
    assert not (changed & ~near_path(before.shape, STRAP, 10 + 2)).any(), "heal changed pixels off the stroke"
    assert w.stack.count() == 1 and w.stack.command(0).text() == "Heal"
    assert w.stack.command(0).nbytes < 2 * 3 * 120 * 110  # the stroke's tiles, not the photo
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, before)
    assert not w.doc.result_state.has_result
    w.act_redo.trigger()
    np.testing.assert_array_equal(w.doc.output_image(), after)


def test_heal_dropped_when_pixels_changed_meanwhile(qtbot, window):
    """A heal computed on pixels that an undo changed since must not paste the old ones back."""
    w = window
    w.set_tool("heal")
    w.brush.set_size(20)
    drag(qtbot, w, STRAP)
    qtbot.waitSignal(w.edit_tools.heal.healed, timeout=20000).wait()
    healed = w.doc.result.copy()
    # A second stroke over the first; before it lands the first is undone.
    drag(qtbot, w, STRAP[:2])
    w.act_undo.trigger()
    undone = w.doc.result.copy()
    wait_idle(qtbot, w)
    assert not np.array_equal(undone, healed)
    np.testing.assert_array_equal(w.doc.result, undone)
    assert "changed while healing" in w.banner.text


def test_heal_still_works_after_opening_another_photo_mid_heal(qtbot, window, monkeypatch):
    """The outcome of a heal for the previous photo is dropped; the tool must not wait for it forever."""
    import time

    from unmask_studio.app import heal_tool

    real_heal = heal_tool.heal

    def slow_heal(*args):  # a heal over a large area takes seconds: the photo is replaced meanwhile
        time.sleep(1.0)
        return real_heal(*args)

    monkeypatch.setattr(heal_tool, "heal", slow_heal)
    w = window
    w.set_tool("heal")
    w.brush.set_size(20)
    drag(qtbot, w, STRAP)  # the job is queued or running when the next photo opens
    open_photo(qtbot, w, data_path("real_masked", "006.webp"))
    wait_idle(qtbot, w)
    assert w.stack.count() == 0 and not w.edit_tools.heal.busy
    w.canvas.actual_size()
    w.canvas.centerOn(400, 500)
    drag(qtbot, w, STRAP)
    qtbot.waitSignal(w.edit_tools.heal.healed, timeout=20000).wait()
    wait_idle(qtbot, w)
    assert w.stack.count() == 1 and strap_pixels(w.doc.output_image()) == 0


def test_clone_stamp_copies_from_the_alt_clicked_source(qtbot, window):
    w = window
    w.set_tool("clone")
    w.brush.set_size(16)
    w.brush.set_hardness(1.0)
    before = w.doc.result.copy()
    vp = w.canvas.viewport()
    drag(qtbot, w, [(320, 430), (330, 430)])  # no source yet: nothing happens
    assert w.stack.count() == 0 and np.array_equal(w.doc.result, before)
    qtbot.mouseClick(vp, LEFT, ALT, view_point(w, 320, 430))  # clean cheek above the strap
    path = [(300, 495), (315, 503), (330, 515)]
    drag(qtbot, w, path)
    after = w.doc.result.copy()
    changed = (after != before).any(2)
    assert changed.any()
    assert not (changed & ~near_path(before.shape, path, 8 + 2)).any()
    # At the stroke's centre the pixels are the source's (offset = source - first point).
    dx, dy = 320 - 300, 430 - 495
    np.testing.assert_array_equal(after[503, 315], before[503 + dy, 315 + dx])
    assert w.stack.count() == 1 and w.stack.command(0).text() == "Clone stroke"
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, before)
    w.act_redo.trigger()
    np.testing.assert_array_equal(w.doc.result, after)

    # Esc in the middle of a stroke takes it back and adds no step.
    qtbot.mousePress(vp, LEFT, pos=view_point(w, 400, 600))
    qtbot.mouseMove(vp, view_point(w, 420, 610))
    assert w.stack.in_transaction
    w.cancel_jobs()
    qtbot.mouseRelease(vp, LEFT, pos=view_point(w, 420, 610))
    np.testing.assert_array_equal(w.doc.result, after)
    assert w.stack.count() == 1 and not w.stack.in_transaction


def test_rectangle_selection_replaces_adds_and_subtracts(qtbot, window):
    w = window
    w.set_tool("rect")
    w.doc.mask[100:120, 100:120] = 255  # painted earlier: a plain selection replaces it
    w.doc.touched("mask", (100, 100, 120, 120))
    states = [w.doc.mask.copy()]
    drag(qtbot, w, [(300, 400), (350, 440)])
    m = w.doc.mask
    assert m[420, 325] == 255 and m[110, 110] == 0
    assert (m > 0).sum() == pytest.approx(50 * 40, abs=2 * (50 + 40) + 4)
    states.append(m.copy())
    drag(qtbot, w, [(340, 430), (380, 470)], SHIFT)
    assert w.doc.mask[420, 325] == 255 and w.doc.mask[460, 370] == 255
    states.append(w.doc.mask.copy())
    drag(qtbot, w, [(310, 410), (330, 425)], ALT)
    assert w.doc.mask[418, 320] == 0 and w.doc.mask[435, 345] == 255
    states.append(w.doc.mask.copy())
    texts = [w.stack.command(i).text() for i in range(w.stack.count())]
    assert texts == ["Rectangle selection", "Rectangle selection (add)", "Rectangle selection (subtract)"]
    for i in (2, 1, 0):
        w.act_undo.trigger()
        np.testing.assert_array_equal(w.doc.mask, states[i])


def test_lasso_freehand_and_polygon(qtbot, window):
    w = window
    w.set_tool("lasso")
    tri = [(300, 400), (400, 400), (350, 480), (300, 400)]
    drag(qtbot, w, tri)
    m = w.doc.mask.copy()
    assert m[420, 350] == 255 and m[470, 310] == 0 and m[390, 350] == 0
    assert w.stack.count() == 1 and w.stack.command(0).text() == "Lasso selection"
    # Polygon: click corners, double-click to close; Shift adds.
    vp = w.canvas.viewport()
    corners = [(450, 600), (500, 600), (500, 650)]
    for i, c in enumerate(corners):
        qtbot.mouseClick(vp, LEFT, SHIFT if i == 0 else Qt.KeyboardModifier.NoModifier, view_point(w, *c))
        qtbot.mouseMove(vp, view_point(w, c[0] - 30, c[1] + 20))  # hovering between clicks draws nothing
    qtbot.mouseDClick(vp, LEFT, pos=view_point(w, 450, 650))
    assert w.doc.mask[630, 480] == 255 and w.doc.mask[420, 350] == 255  # added, the triangle kept
    assert w.doc.mask[640, 440] == 0 and w.doc.mask[610, 430] == 0  # where the mouse hovered
    assert w.stack.count() == 2 and w.stack.command(1).text() == "Lasso selection (add)"
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.mask, m)
    w.act_undo.trigger()
    assert not w.doc.mask.any()


def test_magic_wand_selects_the_covering_by_colour(qtbot, window):
    w = window
    w.set_tool("wand")
    vp = w.canvas.viewport()
    qtbot.mouseClick(vp, LEFT, pos=view_point(w, *N95))
    wait_idle(qtbot, w)  # the flood fill runs in a worker
    first = w.doc.mask.copy()
    m = first > 0
    assert m[N95[1], N95[0]] and m[650, 450]  # on the N95
    assert 15_000 < m.sum()
    # The shaded right half differs by more than the tolerance from the click: Shift-click adds it.
    qtbot.mouseClick(vp, LEFT, SHIFT, view_point(w, 560, 650))
    wait_idle(qtbot, w)
    m = w.doc.mask > 0
    assert m[650, 560] and m[N95[1], N95[0]]
    assert not m[470, 320] and not m[300, 400] and not m[50, 50]  # cheek, forehead, background
    assert 35_000 < m.sum() < 85_000  # the N95 is ~270 x 310 px
    both = w.doc.mask.copy()
    qtbot.mouseClick(vp, LEFT, ALT, view_point(w, *N95))  # Alt-click takes the first part away again
    wait_idle(qtbot, w)
    assert w.doc.mask[N95[1], N95[0]] == 0 and w.doc.mask[650, 560] == 255
    texts = [w.stack.command(i).text() for i in range(w.stack.count())]
    assert texts == ["Magic wand selection", "Magic wand selection (add)", "Magic wand selection (subtract)"]
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.mask, both)
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.mask, first)


def test_clone_source_marker_shows_only_with_the_clone_tool(qtbot, window):
    """The cyan source circle stayed on the photo after switching to another tool (until a photo was
    opened): it belongs to the clone stamp and shows again when the clone stamp comes back."""
    w = window
    w.set_tool("clone")
    qtbot.mouseClick(w.canvas.viewport(), LEFT, ALT, view_point(w, 320, 430))
    marker = w.edit_tools.clone.marker
    assert marker.isVisible()
    for tool in ("brush", "heal", "wand", "pan"):
        w.set_tool(tool)
        assert not marker.isVisible(), tool
    w.set_tool("clone")
    assert marker.isVisible()
