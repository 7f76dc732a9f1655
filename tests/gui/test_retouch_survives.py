"""Heal and clone strokes survive later fills ("nothing is ever lost"), with the real engine on a real photo
(real_masked/006.webp: a white N95 with a white strap across a brown cheek).

A heal along the strap and a clone stroke are made after Remove masks; then the mask is shrunk and
filled again, Remove masks runs again and Try another fill refills the face. Each time the retouched
pixels the new removal mask does not cover are kept bit for bit, everything else is the engine's fresh
output (so a fill left over from the larger mask is gone), and undo/redo give back bit-identical pixels.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from tests.gui.test_editor import make_window, open_photo, view_point, wait_idle  # noqa: F401
from tests.gui.test_heal_tools import ALT, LEFT, STRAP, drag, strap_pixels
from unmask_studio.app.commands import EditCommand, diff_patches
from unmask_studio.core.pipeline import Engine

pytestmark = pytest.mark.gui
CLONE_FROM, CLONE_PATH = (120, 330), [(160, 420), (185, 430), (210, 440)]  # background, left of the face


@pytest.fixture
def window(qtbot, make_window):
    w = make_window(Engine)
    open_photo(qtbot, w, data_path("real_masked", "006.webp"))
    w.act_remove.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.doc.result_state.has_result and w.doc.faces
    w.canvas.actual_size()
    w.canvas.centerOn(400, 500)
    return w


def retouch(qtbot, w):
    """A heal along the strap and a clone stroke, as the user makes them."""
    w.set_tool("heal")
    w.brush.set_size(20)
    drag(qtbot, w, STRAP)
    qtbot.waitSignal(w.edit_tools.heal.healed, timeout=20000).wait()
    wait_idle(qtbot, w)
    w.set_tool("clone")
    w.brush.set_size(16)
    qtbot.mouseClick(w.canvas.viewport(), LEFT, ALT, view_point(w, *CLONE_FROM))
    drag(qtbot, w, CLONE_PATH)
    assert [w.stack.command(i).text() for i in range(w.stack.count())][-2:] == ["Heal", "Clone stroke"]


def expected_fill(w, mask):
    """The engine's own fill of the photo under ``mask``, computed here, outside the editor."""
    image, _ = w.processing.engine().inpaint(w.doc.original, list(w.doc.faces), mask)
    return image


def test_retouches_survive_fill_again_remove_masks_and_try_another(qtbot, window, tmp_path):
    w = window
    filled = w.doc.result.copy()
    retouch(qtbot, w)
    retouched = w.doc.result.copy()
    covered = w.doc.retouch > 0
    changed = (retouched != filled).any(2)
    assert changed.sum() > 300 and not (changed & ~covered).any()
    assert strap_pixels(retouched) == 0
    assert covered[503, 315] and covered[430, 185]  # on the heal's and the clone's paths

    # Shrink the mask to its upper half (as an eraser stroke would) and fill again.
    ys, _ = np.nonzero(w.doc.mask)
    smaller = w.doc.mask.copy()
    smaller[(ys.min() + ys.max()) // 2:] = 0
    w.stack.push(EditCommand(w.doc, "Erase mask", diff_patches(w.doc, "mask", smaller)))
    steps = w.stack.count()
    w.act_reinpaint.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.count() == steps + 1
    after = w.doc.result.copy()
    keep = covered & (smaller == 0)
    assert keep.sum() > 300
    np.testing.assert_array_equal(after[keep], retouched[keep])  # the retouches outside the new mask: kept
    assert strap_pixels(after) == 0
    fresh = expected_fill(w, smaller)
    np.testing.assert_array_equal(after[~covered], fresh[~covered])  # elsewhere: the new fill, nothing stale
    under = covered & (smaller == 255)
    np.testing.assert_array_equal(after[under], fresh[under])  # where the new mask takes a retouch: the fill
    # The old fill's lower half, now beyond the new mask's reach, is the photo again.
    far = cv2.distanceTransform((smaller == 0).astype(np.uint8), cv2.DIST_L2, 5) > 60
    old_fill = (filled != w.doc.original).any(2) & far & ~covered
    assert old_fill.sum() > 500
    np.testing.assert_array_equal(after[old_fill], w.doc.original[old_fill])

    w.set_tool("brush")  # the mask tint shows what the new fill covers
    w.canvas.centerOn(330, 480)
    w.grab().save(str(tmp_path / "retouch_after_fill_again.png"))
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, retouched)
    np.testing.assert_array_equal(w.doc.retouch > 0, covered)
    w.act_redo.trigger()
    np.testing.assert_array_equal(w.doc.result, after)

    # Remove masks finds the whole mask again: the retouches it does not cover stay.
    w.act_remove.trigger()
    wait_idle(qtbot, w, timeout=120000)
    removed = w.doc.result.copy()
    keep = covered & (w.doc.mask == 0)
    assert keep.sum() > 300
    np.testing.assert_array_equal(removed[keep], retouched[keep])
    assert strap_pixels(removed) == 0

    # Try another fill refills the face: the heal on its cheek and the clone stroke stay.
    w.doc.select_face(0)
    w.alternatives.act_next.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.command(w.stack.count() - 1).text().startswith("Try another fill")
    other = w.doc.result.copy()
    assert (other != removed).any()
    np.testing.assert_array_equal(other[keep], retouched[keep])
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, removed)
    w.act_undo.trigger()  # Remove masks
    w.act_undo.trigger()  # Fill again
    np.testing.assert_array_equal(w.doc.result, retouched)


def test_undoing_a_heal_takes_it_out_of_later_fills(qtbot, window):
    """An undone retouch is not brought back by a fill: the coverage layer is undone with it."""
    w = window
    filled = w.doc.result.copy()
    retouch(qtbot, w)
    w.act_undo.trigger()
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, filled)
    assert not w.doc.retouch.any()
    w.act_reinpaint.trigger()
    wait_idle(qtbot, w, timeout=120000)
    np.testing.assert_array_equal(w.doc.result, filled)  # same mask, same fill, no retouch
