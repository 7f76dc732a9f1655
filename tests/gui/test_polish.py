"""Issue 14 items 13-16: honest progress, status tips that do not hide the bar, closing while
processing, a layout that fits a laptop and an 800x600 screen, banners that leave the zoom alone,
and plain words. Real widgets on Qt's offscreen platform.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QStatusTipEvent
from PySide6.QtWidgets import QApplication, QToolButton

from unmask_studio.core.pipeline import Cancelled
from unmask_studio.core.resources import models_dir
from unmask_studio.app import dialogs
from tests.gui.test_editor import (REAL_PHOTO, FakeEngine, make_window, open_photo, photo_file,  # noqa: F401
                                   wait_idle)

pytestmark = pytest.mark.gui


class StubbornEngine(FakeEngine):
    """Like a long ONNX call: does not look at the cancel flag for ``deaf`` seconds."""

    def __init__(self, deaf: float = 1.5):
        super().__init__()
        self.deaf = deaf

    def run(self, rgb, mask=None, faces=None, progress=lambda f, m: None, cancel=lambda: False):
        time.sleep(self.deaf)
        if cancel():
            raise Cancelled()
        return super().run(rgb, mask, faces, progress, cancel)


# ----------------------------------------------------------------------------- item 13: progress
@pytest.mark.slow
def test_progress_reports_each_phase_and_reaches_100_only_at_the_end(qtbot, make_window):
    if not REAL_PHOTO.exists() or not (models_dir() / "inpainter.onnx").exists():
        pytest.skip("real photo or models not available")
    from unmask_studio.core.pipeline import Engine

    w = make_window(Engine, warm_up=True)
    wait_idle(qtbot, w)
    open_photo(qtbot, w, REAL_PHOTO)
    seen = []
    w.runner.progress.connect(lambda _id, f, m: seen.append((f, m)))
    w.act_remove.trigger()
    wait_idle(qtbot, w)
    assert w.doc.result_state.has_result
    messages = [m for _, m in seen]
    for phase in ("Finding faces", "Finding masks", "Restored", "Pasting back"):
        assert any(m.startswith(phase) for m in messages), (phase, messages)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions)  # never goes backwards
    paste = next(f for f, m in seen if m.startswith("Pasting back"))
    assert paste < 0.7  # the paste-back is a large part of the work: the bar must not be full yet


def test_a_status_tip_does_not_hide_the_progress_bar_or_cancel(qtbot, make_window, tmp_path):
    w = make_window(lambda: FakeEngine(delay=3.0))
    open_photo(qtbot, w, photo_file(tmp_path))
    w.act_remove.trigger()
    qtbot.waitUntil(lambda: w.progress.isVisible() and w.cancel_btn.isVisible())
    # What hovering a toolbar button does: its status tip goes to the status bar.
    QApplication.sendEvent(w, QStatusTipEvent(w.act_open.statusTip()))
    qtbot.wait(50)
    assert w.statusBar().currentMessage() == w.act_open.statusTip()
    assert w.progress.isVisible() and w.cancel_btn.isVisible()
    QApplication.sendEvent(w, QStatusTipEvent(""))
    w.cancel_jobs()
    wait_idle(qtbot, w)
    assert not w.progress.isVisible() and not w.cancel_btn.isVisible()


# ----------------------------------------------------------------------------- item 14: closing
def test_closing_while_processing_asks_then_cancels_without_freezing(qtbot, make_window, tmp_path, monkeypatch):
    asked = []
    monkeypatch.setattr(dialogs, "ask_stop_and_close", lambda parent: asked.append(1) or False)
    w = make_window(lambda: StubbornEngine(deaf=1.5))
    open_photo(qtbot, w, photo_file(tmp_path))
    w.act_remove.trigger()
    qtbot.waitUntil(lambda: w.processing.busy)
    # "Keep working": nothing is stopped, the window stays.
    assert not w.close() and asked and w.isVisible() and w.processing.busy

    monkeypatch.setattr(dialogs, "ask_stop_and_close", lambda parent: asked.append(2) or True)
    t0 = time.monotonic()
    w.close()
    assert time.monotonic() - t0 < 0.5, "the window froze while the job stopped"
    assert asked == [1, 2] and w.isVisible() and "Stopping" in w.status_text.text()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)  # closes once the job has stopped
    assert not w.runner.busy() and w.stack.count() == 0  # the result was not applied


# ----------------------------------------------------------------------------- item 15: layout
def _extension_visible(w) -> bool:
    ext = w.toolbar.findChild(QToolButton, "qt_toolbar_ext_button")
    return ext is not None and ext.isVisible()


@pytest.mark.parametrize("size", [(1366, 740), (800, 600)])
def test_every_tool_is_reachable_on_small_screens(qtbot, make_window, tmp_path, size):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path))
    w.resize(*size)
    qtbot.waitUntil(lambda: (w.width(), w.height()) == size, timeout=3000)
    qtbot.wait(50)
    assert not _extension_visible(w), "tools hidden behind the toolbar's » button"
    for a in w.toolbar.actions():
        if not a.isSeparator():
            button = w.toolbar.widgetForAction(a)
            assert button.isVisible() and w.toolbar.rect().contains(button.geometry()), a.text()
    for dock in (w.dock_layers, w.dock_brush):
        assert dock.isVisible() and dock.height() > 100
    assert w.canvas.width() >= size[0] // 2 and w.canvas.height() >= size[1] // 2


def test_a_banner_does_not_change_the_zoom(qtbot, make_window, tmp_path):
    w = make_window()
    open_photo(qtbot, w, photo_file(tmp_path, size=(800, 1200)))
    w.canvas.fit()
    zoom, height = w.canvas.zoom, w.canvas.viewport().height()
    w.show_message("warning", "A long message that wraps over two lines in a narrow window, so the banner is "
                              "taller than one line of text, which used to push the photo down and refit it.")
    qtbot.wait(50)
    assert w.banner.isVisible()
    assert w.canvas.zoom == zoom and w.canvas.viewport().height() == height
    # It sits over the top of the canvas, and the close button hides it again.
    assert w.banner.geometry().top() <= w.canvas.geometry().top() + 12
    w.banner.hide()
    assert w.canvas.zoom == zoom


# ----------------------------------------------------------------------------- item 16: words
def test_plain_words(qtbot, make_window, tmp_path):
    w = make_window()
    texts = []
    for a in w.findChildren(type(w.act_open)):
        texts += [a.text(), a.toolTip(), a.statusTip()]
    texts += [dialogs.SHORTCUTS_HELP, w.brush_panel.findChild(QToolButton, "primaryButton").text()]
    joined = " ".join(texts)
    assert "inpaint" not in joined.lower()
    assert w.act_reinpaint.text().replace("&", "") == "Fill again"
    assert w.act_remove.text().replace("&", "") == "Remove masks"
    assert "Remove Masks" not in joined
    about = dialogs.about_text("1.0")
    assert "non-commercial" in about and "CelebA" in about and "MaskedFace-Net" in about

    # A small photo's size is not "0.0 MP".
    open_photo(qtbot, w, photo_file(tmp_path))  # 240 x 180
    assert "0.043 MP" in w.size_label.text()

    # A photo stored sideways (EXIF orientation 6) is opened upright; the note says so in plain words.
    rgb = np.zeros((60, 90, 3), np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "sideways.jpg"
    Image.fromarray(rgb).save(path, exif=exif.tobytes())
    open_photo(qtbot, w, path)
    qtbot.waitUntil(lambda: "sideways.jpg" in w.banner.text)
    assert "EXIF" not in w.banner.text and "orientation 6" not in w.banner.text
    assert "upright" in w.banner.text
