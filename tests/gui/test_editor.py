"""End-to-end tests of the editor on real widgets: open, Remove masks through the worker, paint with
real mouse events, undo/redo, mask operations, save + reload, and the error paths.

The one test that needs the ONNX models and MediaPipe uses a real photo; the others use photos
synthesized in tmp_path and, where an engine is needed, a small fake with the Engine's interface.
"""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QSettings, Qt

from unmask_studio.core.faces import Face
from unmask_studio.core.io import load_image
from unmask_studio.core.onnx_models import ModelError
from unmask_studio.core.pipeline import Cancelled, FaceResult, Result
from tests.conftest import DATA
from unmask_studio.core.resources import models_dir
from unmask_studio.app import dialogs
from unmask_studio.app.document import ResultState
from unmask_studio.app.main_window import MainWindow
from unmask_studio.app.settings import Settings

pytestmark = pytest.mark.gui

REAL_PHOTO = DATA / "pairs_dev" / "masked" / "107.png"  # ../shared/data beside the repo
MAKE_TAG = 0x010F


def photo_file(folder: Path, name: str = "photo.png", size=(240, 180)) -> Path:
    """A smooth synthetic photo with EXIF (camera make) so save/reload can check metadata."""
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.dstack([x * 255 // w, y * 255 // h, (x + y) * 127 // (w + h) + 64]).astype(np.uint8)
    exif = Image.Exif()
    exif[MAKE_TAG] = "UnmaskTestCam"
    path = folder / name
    Image.fromarray(rgb).save(path, exif=exif.tobytes())
    return path


class FakeEngine:
    """Engine stand-in: one fixed face, a rectangular mask, and a grey fill; optionally slow."""

    def __init__(self, delay: float = 0.0, faces: bool = True, error: Exception | None = None):
        self.delay, self.with_faces, self.error = delay, faces, error

    def _face(self, rgb):
        h, w = rgb.shape[:2]
        return Face((w // 4, h // 4, w * 3 // 4, h * 3 // 4), 0.9, np.zeros((4, 2)))

    def detect(self, rgb):
        return [self._face(rgb)] if self.with_faces else []

    def face_in_box(self, rgb, box):
        return Face(tuple(int(v) for v in box), 1.0, np.zeros((4, 2)), manual=True)

    def inpaint(self, rgb, faces, mask, progress=None, cancel=lambda: False, crops=None):
        out = rgb.copy()
        out[mask > 0] = (0, 255, 0)  # a colour the synthetic photos never contain
        return out, [FaceResult(f) for f in faces]

    def run(self, rgb, mask=None, faces=None, progress=lambda f, m: None, cancel=lambda: False):
        if self.error:
            raise self.error
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.delay:
            if cancel():
                raise Cancelled()
            time.sleep(0.01)
        faces = faces or self.detect(rgb)
        if not faces:
            return Result(rgb.copy(), np.zeros(rgb.shape[:2], np.uint8), [])
        mask = np.zeros(rgb.shape[:2], np.uint8)
        x0, y0, x1, y1 = faces[0].box
        mask[(y0 + y1) // 2:y1, x0:x1] = 255
        out, results = self.inpaint(rgb, faces, mask)
        for r in results:
            r.crop_mask = np.ones((4, 4), np.float32)
        return Result(out, mask, results)


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")  # teardown must never block

    def make(engine_factory=FakeEngine, warm_up=False) -> MainWindow:
        settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
        w = MainWindow(settings, engine_factory=engine_factory, warm_up=warm_up)
        qtbot.addWidget(w)
        w.resize(1100, 760)
        w.show()
        qtbot.waitExposed(w)
        return w

    return make


def open_photo(qtbot, w: MainWindow, path: Path) -> None:
    gen = w.doc.generation
    w.open_files([str(path)])
    qtbot.waitUntil(lambda: w.doc.generation > gen, timeout=20000)


def wait_idle(qtbot, w: MainWindow, timeout=60000) -> None:
    qtbot.waitUntil(lambda: not w.runner.busy(), timeout=timeout)


def view_point(w: MainWindow, x: float, y: float) -> QPoint:
    return w.canvas.mapFromScene(QPointF(x, y))


# ----------------------------------------------------------------------------- the real pipeline
@pytest.mark.slow
def test_remove_masks_with_real_engine_changes_only_masked_pixels(qtbot, make_window, tmp_path, monkeypatch):
    if not REAL_PHOTO.exists():
        pytest.skip("real photo not available")
    if not (models_dir() / "segmenter.onnx").exists() or not (models_dir() / "inpainter.onnx").exists():
        pytest.skip("models not exported yet")
    from unmask_studio.core.pipeline import Engine

    src = tmp_path / "masked.png"  # the real photo plus EXIF, to check that saving keeps metadata
    exif = Image.Exif()
    exif[MAKE_TAG] = "UnmaskTestCam"
    Image.open(REAL_PHOTO).convert("RGB").save(src, exif=exif.tobytes())

    w = make_window(Engine, warm_up=True)
    open_photo(qtbot, w, src)
    w.act_remove.trigger()
    assert w.processing.busy and w.cancel_btn.isVisibleTo(w)  # runs in a worker; the GUI goes on
    wait_idle(qtbot, w)
    doc = w.doc
    assert doc.faces, w.banner.text
    assert doc.result_state.has_result and doc.mask.any(), w.banner.text
    changed = (doc.result != doc.original).any(2)
    assert changed.any()
    # Engine.inpaint blends with the mask feathered *outwards* by feather_px crop pixels: allow that reach.
    eng = w.processing.engine()
    scale = min(float(np.sqrt(abs(np.linalg.det(f.matrix[:, :2])))) for f in doc.faces)
    reach = int(np.ceil(3 * eng.options.feather_px / scale)) + 2
    allowed = cv2.dilate((doc.mask > 0).astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    assert not (changed & ~allowed).any(), "pixels changed outside the (feathered) removal mask"

    # Save: on an opened original, Save proposes <stem>_unmasked.<ext> instead of overwriting it.
    asked = {}
    out = tmp_path / "result.png"

    def fake_save_dialog(parent, suggestion, title=""):
        asked["suggestion"] = Path(suggestion)
        return str(out)

    monkeypatch.setattr(dialogs, "ask_save_image", fake_save_dialog)
    w.act_save.trigger()
    wait_idle(qtbot, w)
    assert asked["suggestion"] == tmp_path / "masked_unmasked.png"
    assert w.stack.isClean() and not w.isWindowModified()
    saved = load_image(out)
    np.testing.assert_array_equal(saved.rgb, doc.result)
    exif_back = Image.Exif()
    exif_back.load(saved.exif)
    assert exif_back[MAKE_TAG] == "UnmaskTestCam"
    # A second Save writes to the same file without asking again.
    asked.clear()
    w.brush.apply_op("grow", 2)
    w.act_save.trigger()
    wait_idle(qtbot, w)
    assert not asked and w.stack.isClean()


# ----------------------------------------------------------------------------- painting
def test_brush_stroke_with_mouse_is_one_undo_step_and_undo_redo_are_exact(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path))
    w.set_tool("brush")
    assert w.doc.visible["mask"]  # picking the brush reveals the mask overlay
    w.brush.set_size(16)
    w.brush.set_hardness(1.0)
    vp = w.canvas.viewport()
    pts = [view_point(w, x, 90) for x in (40, 80, 120, 160)]
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=pts[0])
    for p in pts[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=pts[-1])

    mask = w.doc.mask
    for x in (40, 60, 100, 159):  # along the stroke, including between mouse samples
        assert mask[90, x] == 255, x
    assert mask[60, 100] == 0 and mask[90, 200] == 0
    assert w.stack.count() == 1  # the whole stroke as one step (revealing the overlay is not an edit)
    assert w.stack.command(0).text() == "Brush stroke"
    after = mask.copy()
    w.act_undo.trigger()
    assert not w.doc.mask.any()
    w.act_redo.trigger()
    np.testing.assert_array_equal(w.doc.mask, after)

    # The eraser takes paint away, again as one step.
    w.set_tool("eraser")
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 100, 90))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 100, 90))
    assert w.doc.mask[90, 100] == 0 and w.doc.mask[90, 40] == 255
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.mask, after)
    # The command stores only the stroke's box, not the whole mask.
    assert w.stack.command(0).nbytes < 2 * 30 * 140


def test_mask_operations_are_undoable_and_visibility_is_not_an_edit(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path))
    w.doc.mask[80:100, 100:130] = 255
    w.doc.touched("mask", (100, 80, 130, 100))
    start = w.doc.mask.copy()
    for op in ("grow", "feather", "shrink", "clear"):
        before = w.doc.mask.copy()
        assert w.brush.apply_op(op, 3)
        assert not np.array_equal(w.doc.mask, before), op
    w.brush.invert()
    assert w.doc.mask.min() == 255
    for _ in range(5):
        w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.mask, start)

    # Hiding a layer is a view setting: no undo step, and the photo does not become "unsaved".
    steps, clean = w.stack.count(), w.stack.index()
    w.stack.setClean()
    item = w.layers_panel._top("faces")
    item.setCheckState(0, Qt.CheckState.Unchecked)
    assert not w.doc.visible["faces"]
    assert w.stack.count() == steps and w.stack.isClean() and not w.isWindowModified()
    w.layers_panel._top("faces").setCheckState(0, Qt.CheckState.Checked)
    assert w.doc.visible["faces"] and w.stack.index() == clean


# ----------------------------------------------------------------------------- workers & errors
def test_result_for_a_closed_photo_is_never_applied(qtbot, make_window, tmp_path):
    w = make_window(lambda: FakeEngine(delay=1.0))
    a, b = photo_file(tmp_path, "a.png"), photo_file(tmp_path, "b.png", size=(200, 150))
    open_photo(qtbot, w, a)
    w.act_remove.trigger()
    qtbot.wait(100)
    open_photo(qtbot, w, b)  # while A is still being processed
    wait_idle(qtbot, w)
    assert w.doc.path.name == "b.png"
    assert w.stack.count() == 0 and not w.doc.result_state.has_result and not w.doc.mask.any()


def test_cancel_stops_processing_and_changes_nothing(qtbot, make_window, tmp_path):
    w = make_window(lambda: FakeEngine(delay=5.0))
    open_photo(qtbot, w, photo_file(tmp_path))
    w.act_remove.trigger()
    qtbot.waitUntil(lambda: w.cancel_btn.isVisible())
    qtbot.mouseClick(w.cancel_btn, Qt.MouseButton.LeftButton)
    wait_idle(qtbot, w, timeout=3000)
    assert "Cancelled" in w.banner.text and w.stack.count() == 0


def test_fake_pipeline_and_reinpaint_apply_as_patches(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path))
    original = w.doc.original.copy()
    w.act_remove.trigger()
    wait_idle(qtbot, w)
    assert w.doc.result_state.has_result and len(w.doc.faces) == 1
    changed = (w.doc.result != original).any(2)
    assert np.array_equal(changed, w.doc.mask > 0)
    # Edit the mask, re-inpaint: the new result follows the edited mask; undo restores the old one.
    first = w.doc.result.copy()
    w.brush.apply_op("clear")
    w.act_reinpaint.trigger()
    wait_idle(qtbot, w)
    np.testing.assert_array_equal(w.doc.result, original)
    w.act_undo.trigger()
    np.testing.assert_array_equal(w.doc.result, first)


def test_errors_show_a_banner_and_keep_the_document(qtbot, make_window, tmp_path):
    w = make_window(lambda: FakeEngine(error=ModelError("The segmenter model is missing.")))
    good = photo_file(tmp_path)
    open_photo(qtbot, w, good)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    w.open_files([str(bad)])
    qtbot.waitUntil(lambda: "Cannot open" in w.banner.text, timeout=10000)
    assert w.banner.level == "error" and w.doc.path == good  # the open photo is untouched
    w.act_remove.trigger()
    qtbot.waitUntil(lambda: "Model problem" in w.banner.text, timeout=10000)


def test_no_faces_found_offers_add_face_box(qtbot, make_window, tmp_path):
    w = make_window(lambda: FakeEngine(faces=False))
    open_photo(qtbot, w, photo_file(tmp_path))
    w.act_remove.trigger()
    qtbot.waitUntil(lambda: "No faces found" in w.banner.text, timeout=10000)
    assert w.banner.action_btn.isVisible() and w.stack.count() == 0
    w.banner.action_btn.click()
    assert w.canvas.tool == "box"


def test_clicking_a_face_box_on_the_canvas_selects_it(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path))  # 240x180: the detected face is (60, 45)-(180, 135)
    w.act_detect.trigger()
    wait_idle(qtbot, w)
    assert len(w.doc.faces) == 1 and w.doc.selected_face == -1
    # A second face drawn by hand inside the first one's box (nested boxes: the smaller one wins).
    w.set_tool("box")
    vp = w.canvas.viewport()
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 70, 55))
    qtbot.mouseMove(vp, view_point(w, 110, 100))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 110, 100))
    wait_idle(qtbot, w)
    assert len(w.doc.faces) == 2 and w.doc.selected_face == 1
    w.set_tool("pan")
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 160, 120))  # only in face 1's box
    assert w.doc.selected_face == 0
    assert w.canvas.face_items[0].pen().width() == 3 and w.canvas.face_items[1].pen().width() == 2
    assert w.layers_panel.tree.currentItem().text(0).startswith("Face 1")  # the Layers panel follows
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 90, 80))  # inside both: the smaller
    assert w.doc.selected_face == 1
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 20, 20))  # outside every box
    assert w.doc.selected_face == -1
    # A drag pans instead of selecting.
    qtbot.mousePress(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 160, 120))
    qtbot.mouseMove(vp, view_point(w, 100, 60))
    qtbot.mouseRelease(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 100, 60))
    assert w.doc.selected_face == -1
    # With the box tool a click selects too (a tiny drag is not a new face).
    w.set_tool("box")
    qtbot.mouseClick(vp, Qt.MouseButton.LeftButton, pos=view_point(w, 160, 120))
    assert w.doc.selected_face == 0 and len(w.doc.faces) == 2


# ----------------------------------------------------------------------------- window plumbing
@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # QDragEnterEvent's only constructor
def test_drop_zoom_compare_and_settings_are_remembered(qtbot, make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    w = make_window()
    path = photo_file(tmp_path)
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(50, 50), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(w.canvas.viewport(), enter)
    assert enter.isAccepted()  # a photo is welcome
    drop = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, md, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    gen = w.doc.generation
    QApplication.sendEvent(w.canvas.viewport(), drop)
    qtbot.waitUntil(lambda: w.doc.generation > gen, timeout=10000)
    assert w.doc.path == path and "240 × 180" in w.size_label.text()

    w.canvas.setFocus()
    qtbot.keyClick(w.canvas, Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)  # fit
    fit = w.canvas.zoom
    qtbot.keyClick(w.canvas, Qt.Key.Key_Plus)
    assert w.canvas.zoom == pytest.approx(fit * 1.25)
    assert w.zoom_label.text() == f"{w.canvas.zoom * 100:.0f}%"
    qtbot.keyClick(w.canvas, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert w.canvas.zoom == pytest.approx(1.0)
    w.canvas.fit()

    # Pixel position under the cursor in the status bar.
    qtbot.mouseMove(w.canvas.viewport(), view_point(w, 30.5, 40.5))
    assert w.pos_label.text().startswith("x 30, y 40")

    # Hold C to see the original; release to come back.
    w.doc.set_result_state(ResultState(True))
    qtbot.keyPress(w.canvas, Qt.Key.Key_C)
    assert w.canvas.compare and not w.canvas.photo.show_result
    qtbot.keyRelease(w.canvas, Qt.Key.Key_C)
    assert not w.canvas.compare and w.canvas.photo.show_result

    # [ and ] change the brush size; settings and recent files persist across windows.
    size = w.brush.size
    qtbot.keyClick(w.canvas, Qt.Key.Key_BracketRight)
    assert w.brush.size > size
    w.close()
    w2 = make_window()
    assert w2.brush.size == pytest.approx(w.brush.size)
    assert w2.settings.recent_files()[0] == str(path.resolve())
    assert w2.settings.geometry() is not None


def test_unsaved_changes_prompt_on_open_can_cancel(qtbot, make_window, tmp_path, monkeypatch):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path))
    w.brush.begin(QPointF(50, 50))
    w.brush.end()
    assert w.isWindowModified()
    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "cancel")
    w.open_files([str(photo_file(tmp_path, "other.png"))])
    qtbot.wait(200)
    assert w.doc.path.name == "photo.png" and w.stack.count() == 1  # nothing lost


def test_excepthook_logs_and_shows_a_dialog(tmp_path, monkeypatch):
    import sys

    from unmask_studio.app import crash_handler

    monkeypatch.setattr(crash_handler, "log_dir", lambda: tmp_path)
    shown = []
    monkeypatch.setattr(dialogs, "show_crash", lambda parent, summary, path: shown.append((summary, path)))
    old = sys.excepthook
    try:
        log_path = crash_handler.install_excepthook()
        try:
            raise ValueError("boom")
        except ValueError:
            sys.excepthook(*sys.exc_info())
    finally:
        sys.excepthook = old
        for h in list(crash_handler.log.handlers):
            crash_handler.log.removeHandler(h)
            h.close()
    assert shown and "ValueError: boom" in shown[0][0]
    assert "ValueError: boom" in log_path.read_text()


def test_run_app_opens_files_and_returns_the_exit_code(tmp_path):
    """run_app's event loop, in a child process: once a QApplication.exec() has returned, queued
    signals from worker threads are no longer delivered in this process (every later test that
    opens a photo timed out)."""
    import subprocess
    import sys

    path = photo_file(tmp_path)
    code = f"""
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from unmask_studio.app import crash_handler, main
from unmask_studio.app.main_window import MainWindow
QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, r"{tmp_path}")
QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, r"{tmp_path}")
crash_handler.log_dir = lambda: __import__("pathlib").Path(r"{tmp_path}")
seen = {{}}

def check_and_quit():
    win = next((w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()), None)
    if win is None or not win.doc.is_open:
        QTimer.singleShot(50, check_and_quit)
        return
    seen["title"] = win.windowTitle()
    win.runner.wait(20000)  # the start-up model warm-up
    win.close()
    QApplication.exit(3)

app = QApplication(["unmask-studio"])  # run_app uses it; the timer needs it
QTimer.singleShot(100, check_and_quit)
code = main.run_app([r"{path}"])
print("TITLE", seen.get("title"))
sys.exit(code)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 3, done.stderr[-2000:]
    assert "TITLE photo.png" in done.stdout


def test_a_long_session_of_signals_does_not_abort_the_interpreter(tmp_path):
    """PySide6 6.12.0 drops a reference to True on every emit(): ~3,000 brush moves ended the editor
    with "Fatal Python error: bool_dealloc". Run in a child process, since the failure is an abort."""
    import subprocess
    import sys

    code = f"""
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from unmask_studio.app.qt_env import prepare_qt_environment
prepare_qt_environment()
from PySide6.QtCore import QPointF, QSettings
from PySide6.QtWidgets import QApplication
app = QApplication([])
from unmask_studio.app.main_window import MainWindow
from unmask_studio.app.settings import Settings
from unmask_studio.app.document import DocumentData
from unmask_studio.core.io import load_image
w = MainWindow(Settings(QSettings(r"{tmp_path / 's.ini'}", QSettings.Format.IniFormat)), warm_up=False)
w.doc.open(DocumentData.from_file(r"{photo_file(tmp_path)}"))
for i in range(30):
    w.brush.set_erase(i % 2 == 1)
    w.brush.begin(QPointF(10, 10))
    for k in range(2000):  # one long scribble: an emit per mouse move
        w.brush.move(QPointF(10 + k % 200, 10 + (k // 200) * 15))
    w.brush.end()
    app.processEvents()
print("ok", w.stack.count())
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok 30" in done.stdout
