"""Reference photos in the editor (issue 12 item 3), on real photos with the real engine: the Layers
panel's button, a photo dropped on a face box and the face's context menu set a face's reference, the
face is filled again with it (Engine.inpaint receives it for that face), the panel shows its thumbnail,
and undo brings back the previous reference and pixels bit for bit. The shipped inpainter may not take
a reference yet, so routing is checked at the engine's boundary (a recording Engine subclass)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QContextMenuEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from tests.conftest import data_path
from tests.gui.test_editor import make_window, open_photo, view_point, wait_idle  # noqa: F401
from unmask_studio.app.layers_panel import ROLE_FACE
from unmask_studio.core.pipeline import Engine

pytestmark = pytest.mark.gui
SHOTS = Path(os.environ.get("UNMASK_SHOTS", "/tmp/unmask-shots"))


class RecordingEngine(Engine):
    """The real engine; every inpaint's ``references`` is recorded (face index -> Reference.source)."""

    calls: list[dict[int, str]] = []

    def inpaint(self, rgb, faces, mask, progress=lambda f, m: None, cancel=lambda: False, crops=None,
                references=None):
        RecordingEngine.calls.append({i: r.source for i, r in (references or {}).items()})
        return super().inpaint(rgb, faces, mask, progress, cancel, crops, references)


@pytest.fixture
def window(qtbot, make_window):
    RecordingEngine.calls = []
    w = make_window(RecordingEngine)
    open_photo(qtbot, w, data_path("real_masked", "001.webp"))
    w.act_remove.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.doc.faces and w.doc.result_state.has_result
    return w


def _lfw(k=0):
    return sorted(data_path("lfw_people", "Aaron_Peirsol").glob("*.jpg"))[k]


def _face_items(w):
    tree = w.layers_panel.tree
    return [tree.topLevelItem(t).child(c) for t in range(tree.topLevelItemCount())
            for c in range(tree.topLevelItem(t).childCount())
            if tree.topLevelItem(t).child(c).data(0, ROLE_FACE) is not None]


def _widen_mask(qtbot, w):
    """A brush stroke across the lower face: the next fill then changes pixels for sure."""
    x0, y0, x1, y1 = w.doc.faces[0].box
    w.set_tool("brush")
    w.brush.set_size(max(12, (x1 - x0) // 6))
    vp = w.canvas.viewport()
    y = (y0 + 3 * y1) // 4
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, x0 + 5, y))
    qtbot.mouseMove(vp, view_point(w, (x0 + x1) // 2, y))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, x1 - 5, y))
    w.set_tool("pan")


def test_reference_from_the_layers_panel_fills_the_face_again_and_undo_restores_it(qtbot, window, monkeypatch):
    w = window
    _widen_mask(qtbot, w)
    before = (w.doc.result.copy(), w.doc.result_state)
    steps = w.stack.count()
    ra = w.reference_actions
    assert not ra.use_btn.isEnabled()  # no face selected yet
    w.doc.select_face(0)
    assert ra.use_btn.isEnabled() and not ra.remove_btn.isEnabled()
    ref = _lfw()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(ref), ""))
    RecordingEngine.calls.clear()
    qtbot.mouseClick(ra.use_btn, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, w, timeout=120000)

    assert w.stack.count() == steps + 1 and w.stack.command(steps).text() == "Reference photo for face 1"
    assert RecordingEngine.calls == [{0: ref.name}]  # filled again, with the reference on face 1
    assert ra.store.get(w.doc.faces[0]).source == ref.name
    after = w.doc.result.copy()
    assert (after != before[0]).any()  # the widened mask was filled
    item = _face_items(w)[0]
    assert not item.icon(0).isNull() and item.text(0).endswith("reference") and ref.name in item.toolTip(0)
    assert ra.remove_btn.isEnabled()
    SHOTS.mkdir(parents=True, exist_ok=True)
    w.dock_layers.raise_()
    w.layers_panel.grab().save(str(SHOTS / "layers_reference.png"))

    # Fill again and Remove masks keep using it.
    RecordingEngine.calls.clear()
    w.act_reinpaint.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert RecordingEngine.calls == [{0: ref.name}]

    for _ in range(w.stack.count() - steps):
        w.stack.undo()
    np.testing.assert_array_equal(w.doc.result, before[0])  # bit for bit
    assert w.doc.result_state == before[1] and ra.store.get(w.doc.faces[0]) is None
    assert _face_items(w)[0].icon(0).isNull()
    w.stack.redo()
    np.testing.assert_array_equal(w.doc.result, after)
    assert ra.store.get(w.doc.faces[0]).source == ref.name


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's only constructor
def test_a_photo_dropped_on_a_face_box_becomes_its_reference(qtbot, window):
    w = window
    ref = _lfw(1)
    x0, y0, x1, y1 = w.doc.faces[0].box
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(ref))])
    vp = w.canvas.viewport()
    pos = QPointF(view_point(w, (x0 + x1) / 2, (y0 + y1) / 2))
    enter = QDragEnterEvent(pos.toPoint(), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, enter)
    assert enter.isAccepted()
    drop = QDropEvent(pos, Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    generation = w.doc.generation
    RecordingEngine.calls.clear()
    QApplication.sendEvent(vp, drop)
    assert drop.isAccepted()
    wait_idle(qtbot, w, timeout=120000)
    assert w.doc.generation == generation  # not opened as a photo
    assert w.reference_actions.store.get(w.doc.faces[0]).source == ref.name
    assert RecordingEngine.calls == [{0: ref.name}] and w.doc.selected_face == 0
    # Dropped beside the faces it is a photo to open, as before.
    outside = QDropEvent(QPointF(view_point(w, 2, 2)), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                         Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(w.canvas.files_dropped, timeout=5000) as blocker:
        QApplication.sendEvent(vp, QDragEnterEvent(QPointF(view_point(w, 2, 2)).toPoint(), Qt.DropAction.CopyAction,
                                                   md, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier))
        QApplication.sendEvent(vp, outside)
    assert blocker.args == [[str(ref)]]


def test_context_menu_on_a_face_and_remove_reference(qtbot, window):
    w = window
    ra = w.reference_actions
    ra.use(0, _lfw())
    wait_idle(qtbot, w, timeout=120000)
    x0, y0, x1, y1 = w.doc.faces[0].box
    pos = view_point(w, (x0 + x1) / 2, (y0 + y1) / 2)
    QApplication.sendEvent(w.canvas.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                                  w.canvas.viewport().mapToGlobal(pos)))
    menu = ra.menu
    assert menu is not None and menu.isVisible() and w.doc.selected_face == 0
    assert [a.text() for a in menu.actions()][:3] == ["Use a reference photo…", "Fill again with the reference",
                                                      "Remove reference"]  # then app/alternatives.py's items
    menu.close()
    with_ref = w.doc.result.copy()
    steps = w.stack.count()
    RecordingEngine.calls.clear()
    next(a for a in ra.face_menu(0).actions() if a.text() == "Remove reference").trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.command(steps).text() == "Remove reference of face 1"
    assert RecordingEngine.calls == [{}] and ra.store.get(w.doc.faces[0]) is None
    assert not _face_items(w)[0].text(0).endswith("reference")
    w.stack.undo()
    np.testing.assert_array_equal(w.doc.result, with_ref)
    assert ra.store.get(w.doc.faces[0]).source == _lfw().name


@pytest.mark.parametrize("kind", ["no face", "two faces", "not a photo"])
def test_an_unusable_reference_is_one_line_and_changes_nothing(qtbot, window, tmp_path, kind):
    w = window
    bad = tmp_path / "bad.png"
    if kind == "no face":
        Image.fromarray(np.full((300, 300, 3), 127, np.uint8)).save(bad)
    elif kind == "two faces":
        a, b = (np.asarray(Image.open(_lfw(k))) for k in (0, 1))
        Image.fromarray(np.concatenate([a, b], axis=1)).save(bad)
    else:
        bad.write_bytes(b"\x89PNG not really")
    result, steps = w.doc.result.copy(), w.stack.count()
    w.reference_actions.use(0, bad)
    wait_idle(qtbot, w, timeout=120000)
    assert w.stack.count() == steps
    np.testing.assert_array_equal(w.doc.result, result)
    text = w.banner.text
    assert "bad.png" in text and "\n" not in text and "left as it was" in text


def test_the_reference_changes_the_fill_when_the_model_takes_one(qtbot, window):
    w = window
    if not w.processing.engine().takes_references:
        pytest.skip("the shipped inpainter takes no reference yet")
    _widen_mask(qtbot, w)
    w.act_reinpaint.trigger()
    wait_idle(qtbot, w, timeout=120000)
    without = w.doc.result.copy()
    w.reference_actions.use(0, _lfw())
    wait_idle(qtbot, w, timeout=120000)
    assert np.abs(w.doc.result.astype(np.int16) - without).max() > 20


def test_batch_dialog_reference_photos_folder(qtbot, make_window, tmp_path):
    """File ▸ Batch…: 'Reference photos folder' is BatchOptions.references_dir (same wording, same
    check), reaches each photo with a reference of the same name, and is remembered."""
    from unmask_studio.core.batch import option_info

    w = make_window()
    src, refs, out = tmp_path / "in", tmp_path / "refs", tmp_path / "out"
    src.mkdir()
    refs.mkdir()
    for name in ("001.webp", "004.webp"):
        shutil.copy(data_path("real_masked", name), src / name)
    Image.open(_lfw()).save(refs / "004.png")  # a reference for 004 only
    w.act_batch.trigger()
    dlg = w.batch_dialog
    try:
        assert dlg.references_edit.toolTip().lower().startswith(option_info("references_dir").help.lower()[:40])
        dlg.add_inputs([str(src)])
        dlg.out_edit.setText(str(out))
        dlg.references_edit.setText(str(tmp_path / "missing"))
        dlg.start()  # refused by prepare_batch (on the batch thread), like any bad option
        qtbot.waitUntil(lambda: "reference folder not found" in dlg.setup_error.text(), timeout=20000)
        qtbot.waitUntil(lambda: not dlg.running, timeout=20000)
        dlg.references_edit.setText(str(refs))
        assert dlg.form_options().references_dir == refs
        dlg.start()
        qtbot.waitUntil(lambda: not dlg.running, timeout=180000)
        report = {Path(f["input"]).name: f for f in json.loads((out / "unmask-report.json").read_text())["files"]}
        assert report["004.webp"]["reference"] == str(refs / "004.png")
        assert report["001.webp"]["reference"] == "" and report["001.webp"]["status"] == "done"
        manifest = json.loads((out / ".unmask-batch.json").read_text())
        assert manifest["options"]["references_dir"] == str(refs)
    finally:
        dlg.shutdown()
    dlg.close()
    w.batch_dialog = None
    w.act_batch.trigger()  # a new dialog remembers the folder
    try:
        assert w.batch_dialog.references_edit.text() == str(refs)
    finally:
        w.batch_dialog.shutdown()


def test_a_reference_set_before_remove_masks_is_used_by_it(qtbot, make_window):
    RecordingEngine.calls = []
    w = make_window(RecordingEngine)
    open_photo(qtbot, w, data_path("real_masked", "001.webp"))
    w.act_detect.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert w.doc.faces and not w.doc.result_state.has_result
    ref = _lfw()
    w.reference_actions.use(0, ref)
    wait_idle(qtbot, w, timeout=120000)
    assert RecordingEngine.calls == []  # nothing restored yet: only attached
    assert w.reference_actions.store.get(w.doc.faces[0]).source == ref.name
    assert "Remove masks" in w.banner.text
    w.act_remove.trigger()
    wait_idle(qtbot, w, timeout=120000)
    assert RecordingEngine.calls == [{0: ref.name}] and w.doc.result_state.has_result
    assert w.reference_actions.store.get(w.doc.faces[0]).source == ref.name  # the same face, still carrying it
