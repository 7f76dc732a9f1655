"""Alternative fills in the editor (issue 15 item 3), with the real engine on real masked photos: "Try another
fill" refills only the chosen face, differently; undo brings back the previous pixels bit for bit and
redo the new ones; "Previous fill" steps back to the same pixels as before; Fill again keeps each face's
fill; the Layers panel's face menu offers it; Esc cancels it like Fill again."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path
from tests.gui.test_editor import make_window, open_photo, wait_idle  # noqa: F401
from unmask_studio.app.commands import EditCommand
from unmask_studio.app.heal_tool import _with_result
from unmask_studio.app.layers_panel import ROLE_FACE
from unmask_studio.app.patches import tile_patches, tiles_in
from unmask_studio.core.pipeline import Engine

pytestmark = pytest.mark.gui
CROP = 256


@pytest.fixture(scope="module")
def two_people(tmp_path_factory):
    """Two real masked photos side by side with a grey gap (each face's widest crop stays on its side)."""
    a = np.asarray(Image.open(data_path("pairs_dev", "masked", "107.png")).convert("RGB"))
    b = np.asarray(Image.open(data_path("pairs_dev", "masked", "148.png")).convert("RGB"))
    b = cv2.resize(b, (round(b.shape[1] * a.shape[0] / b.shape[0]), a.shape[0]), interpolation=cv2.INTER_AREA)
    gap = np.full((a.shape[0], 2 * CROP, 3), 128, np.uint8)
    path = tmp_path_factory.mktemp("two") / "two_people.png"
    Image.fromarray(np.concatenate([a, gap, b], axis=1)).save(path)
    return path, a.shape[1] + CROP  # the middle of the gap


@pytest.fixture
def window(qtbot, make_window, two_people):
    w = make_window(Engine)
    open_photo(qtbot, w, two_people[0])
    w.act_remove.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert len(w.doc.faces) == 2 and w.doc.result_state.has_result
    return w


def _face_rows(w):
    tree = w.layers_panel.tree
    return [tree.topLevelItem(t).child(c) for t in range(tree.topLevelItemCount())
            for c in range(tree.topLevelItem(t).childCount())
            if tree.topLevelItem(t).child(c).data(0, ROLE_FACE) is not None]


def test_try_another_changes_only_that_face_and_undo_redo_are_exact(qtbot, window, two_people):
    w, middle = window, two_people[1]
    right = max(range(2), key=lambda i: w.doc.faces[i].box[0])
    face = w.doc.faces[right]
    before, state = w.doc.result.copy(), w.doc.result_state
    steps = w.stack.count()
    assert not w.alternatives.act_next.isEnabled()  # two faces, none selected: which one?
    w.doc.select_face(right)
    assert w.alternatives.act_next.isEnabled() and w.alternatives.next_btn.isEnabled()
    w.alternatives.act_next.trigger()
    assert w.processing.busy and not w.alternatives.act_next.isEnabled()  # a worker job, like Fill again
    wait_idle(qtbot, w, timeout=120000)

    after = w.doc.result.copy()
    assert w.stack.count() == steps + 1 and w.stack.command(steps).text() == "Try another fill (2 of 4)"
    changed = (after != before).any(2)
    assert changed.any() and not changed[:, :middle].any()  # the other face and the gap: untouched
    hole = (w.doc.mask > 127) & (np.arange(w.doc.mask.shape[1]) >= middle)
    assert np.abs(after.astype(np.int16) - before)[hole].mean() > 3  # a really different fill
    assert w.alternatives.store.get(face) == 1
    assert _face_rows(w)[right].text(0).endswith("fill 2 of 4")

    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, before)  # bit for bit
    assert w.doc.result_state == state and w.alternatives.store.get(face) == 0
    assert not _face_rows(w)[right].text(0).endswith("of 4")
    w.act_redo.trigger()
    np.testing.assert_array_equal(w.doc.result, after)
    assert w.alternatives.store.get(face) == 1

    # Fill again and Remove masks keep the face's fill (nothing changes: same mask, same view).
    assert w.processing.variants_for(w.doc.faces) == {right: 1}
    for action in (w.act_reinpaint, w.act_remove):
        action.trigger()
        wait_idle(qtbot, w, timeout=120000)
        np.testing.assert_array_equal(w.doc.result, after)

    # Previous fill goes back to the usual fill: the same pixels as before, as a new step.
    w.alternatives.act_previous.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.command(w.stack.count() - 1).text() == "Previous fill (1 of 4)"
    np.testing.assert_array_equal(w.doc.result, before)
    assert w.alternatives.store.get(face) == 0


def test_a_retouch_elsewhere_survives_try_another(qtbot, window, two_people):
    """Try another refills one face, not the photo: a retouch on the other face (pushed as the heal tool
    does, so its tiles count as changed) is kept, where a Fill again would redo it from the engine."""
    w, middle = window, two_people[1]
    left, right = sorted(range(2), key=lambda i: w.doc.faces[i].box[0])
    x0, y0, x1, y1 = w.doc.faces[left].box
    new = w.doc.result.copy()
    new[y0:y0 + 40, x0:x0 + 40] = 200
    patches = tile_patches("result", w.doc.result, new, tiles_in((x0, y0, x0 + 40, y0 + 40)))
    w.stack.push(EditCommand(w.doc, "Heal", patches, result_state=_with_result(w.doc, patches)))
    retouched = w.doc.result.copy()
    w.doc.select_face(right)
    w.alternatives.act_next.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert (w.doc.result[:, middle:] != retouched[:, middle:]).any()
    np.testing.assert_array_equal(w.doc.result[:, :middle], retouched[:, :middle])


def test_the_face_menu_in_layers_offers_it_and_esc_cancels(qtbot, window, two_people):
    w = window
    left = min(range(2), key=lambda i: w.doc.faces[i].box[0])
    before = w.doc.result.copy()
    steps = w.stack.count()
    tree = w.layers_panel.tree
    w.dock_layers.raise_()
    row = _face_rows(w)[left]
    tree.customContextMenuRequested.emit(tree.visualItemRect(row).center())
    assert w.doc.selected_face == left
    menu = w.alternatives.menu
    texts = [a.text() for a in menu.actions()]
    assert "Try another fill (2 of 4)" in texts and "Previous fill (4 of 4)" in texts and "Fill again" in texts
    menu.close()

    # Esc while it runs: nothing changes, no step.
    next(a for a in menu.actions() if a.text() == "Try another fill (2 of 4)").trigger()
    assert w.processing.busy
    w.act_cancel.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.count() == steps and np.array_equal(w.doc.result, before)
    assert w.alternatives.store.get(w.doc.faces[left]) == 0

    # Previous fill from the usual one wraps round to the last of the fills.
    w.alternatives.act_previous.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.command(steps).text() == "Previous fill (4 of 4)"
    changed = (w.doc.result != before).any(2)
    assert changed.any() and not changed[:, two_people[1]:].any()
    assert w.alternatives.store.get(w.doc.faces[left]) == 3
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, before)


def test_without_a_face_it_says_what_to_do(qtbot, make_window):
    w = make_window(Engine)
    open_photo(qtbot, w, data_path("pairs_dev", "masked", "107.png"))
    assert not w.alternatives.act_next.isEnabled()
    messages = []
    w.alternatives.message.connect(lambda level, text: messages.append((level, text)))
    w.alternatives.step(+1)
    assert messages and "Remove masks" in messages[0][1] and w.stack.count() == 0
