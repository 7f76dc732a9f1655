"""Issue 14 item 16, the batch dialog's part: times in local time, and a photo double-clicked in the
batch table opens in the editor in front of the batch window (which stays open behind it)."""
from __future__ import annotations

import json
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from unmask_studio.app.batch import status_text
from unmask_studio.core.batch import MANIFEST_NAME, BatchOptions
from tests.gui.test_editor import make_window, photo_file  # noqa: F401

pytestmark = pytest.mark.gui


@pytest.fixture
def india_time(monkeypatch):
    """Local time = UTC+5:30 (a POSIX TZ string: no time-zone database needed)."""
    monkeypatch.setenv("TZ", "IST-5:30")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def recorded_batch(tmp_path, updated: str):
    """An output folder holding a finished batch of one photo, as a batch records it."""
    (tmp_path / "in").mkdir()
    src = photo_file(tmp_path / "in")
    out = tmp_path / "out"
    out.mkdir()
    result = photo_file(out, "photo_done.png")
    opts = BatchOptions(out_dir=out, name_pattern="{stem}_done")
    entry = {"input": str(src), "status": "done", "output": str(result), "faces": 1, "seconds": 1.0,
             "message": "", "notes": [], "dst": str(result), "source": None}
    (out / MANIFEST_NAME).write_text(json.dumps(
        {"version": 1, "app": "unmask-studio", "created": updated, "updated": updated, "complete": True,
         "inputs": [str(src.parent)], "options": opts.to_json(), "total": 1, "files": {str(src): entry}}))
    return src, out, result


def test_manifest_times_are_shown_in_local_time(india_time):
    assert status_text.local_time("2026-11-30T09:00:00+00:00") == "2026-11-30 14:30"
    assert status_text.local_time("2026-11-30T23:50:00") == "2026-12-01 05:20"  # naive: written in UTC
    assert status_text.local_time("not a time") == "not a time"


def test_found_batch_says_when_in_local_time(qtbot, make_window, tmp_path, india_time):
    w = make_window()
    dlg = w.open_batch_dialog()
    _, out, _ = recorded_batch(tmp_path, "2026-11-30T09:00:00+00:00")
    dlg.out_edit.setText(str(out))
    text = dlg.resume_label.text()
    assert "2026-11-30 14:30" in text and "UTC" not in text and "09:00" not in text, text


def test_double_clicked_photo_opens_in_front_of_the_batch_window(qtbot, make_window, tmp_path):
    w = make_window()
    w.raise_()
    dlg = w.open_batch_dialog()
    src, out, result = recorded_batch(tmp_path, "2026-11-30T09:00:00+00:00")
    dlg.out_edit.setText(str(out))
    dlg.review_manifest()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dlg)
    assert dlg.model.rows and dlg.model.rows[0].job.src == src

    rect = dlg.table.visualRect(dlg.proxy.index(0, 1))
    qtbot.mouseClick(dlg.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(dlg.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.doc.is_open and w.doc.path == src, timeout=20000)
    # (the editor removes the masks again once the photo is open: wait for that, not just for idle)
    qtbot.waitUntil(lambda: not w.runner.busy() and w.doc.result_state.has_result, timeout=20000)
    assert w.doc.save_path == result  # Save goes to the batch's output
    # The editor is the active window, and nothing ties the batch window above it: a window transient
    # for the editor is stacked over it by the window manager whatever the editor asks.
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    assert dlg.windowHandle().transientParent() is None
    assert dlg.isVisible()  # still open, behind
    assert dlg.parent() is w  # still owned by the editor: closed and deleted with it


def test_counting_the_photos_of_a_folder_never_runs_on_the_gui_thread(qtbot, make_window, tmp_path, monkeypatch):
    """The setup page's count walks every input folder (seconds for a photo library; 1.4 s for 3,000
    photos measured by benchmarks/batch_dialog_stall.py), again for every keystroke in the output
    folder: it runs on a JobRunner lane, and typing only replans once it pauses."""
    import threading

    from unmask_studio.app.batch import dialog as dialog_mod

    real_plan, threads, release = dialog_mod.plan, [], threading.Event()

    def slow_plan(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        release.wait(5)  # a big folder tree
        return real_plan(*args, **kwargs)

    monkeypatch.setattr(dialog_mod, "plan", slow_plan)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        photo_file(folder, name)
    w = make_window()
    dlg = w.open_batch_dialog()
    dlg.add_inputs([str(folder)])
    for n in range(1, 8):  # typing the output folder, one key at a time
        dlg.out_edit.setText(str(tmp_path / "out")[:len(str(tmp_path)) + n])
    assert dlg.count_label.text() == "Counting photos…" and not dlg.start_btn.isEnabled()
    release.set()
    qtbot.waitUntil(lambda: dlg.count_label.text().startswith("2 photos to process") and dlg.start_btn.isEnabled())
    assert threads and not any(threads)  # never planned on the GUI thread
    assert len(threads) <= 3  # not once per keystroke


def test_start_plans_the_batch_on_the_batch_thread_and_a_refusal_comes_back(qtbot, make_window, tmp_path,
                                                                              monkeypatch):
    """Start lists every photo and reads the manifest (prepare_batch: 2.3 s on the GUI thread for a
    3,000-photo library): that runs on the batch thread, the table fills in when it is done, and inputs
    it refuses bring the setup page back with the message."""
    import threading

    from unmask_studio.app.batch import dialog as dialog_mod
    from unmask_studio.core.onnx_models import ModelError

    real_prepare, on_main = dialog_mod.prepare_batch, []

    def watched_prepare(*args, **kwargs):
        on_main.append(threading.current_thread() is threading.main_thread())
        return real_prepare(*args, **kwargs)

    def no_models():
        raise ModelError("The inpainter model is missing (test).")

    monkeypatch.setattr(dialog_mod, "prepare_batch", watched_prepare)
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        photo_file(folder, name)
    w = make_window()
    w.batch_engine_factory = no_models
    dlg = w.open_batch_dialog()
    dlg.add_inputs([str(folder)])
    dlg.out_edit.setText(str(tmp_path / "out"))
    assert dlg.start() and dlg.running and dlg.pages.currentIndex() == 1
    qtbot.waitUntil(lambda: not dlg.running, timeout=20000)
    assert on_main == [False]  # prepared once, never on the GUI thread
    assert [r.label for r in dlg.model.rows] == ["a.png", "b.png", "c.png"]
    assert dlg.title_label.text() == "The batch could not run"

    # An output folder that cannot be created (a file is in the way): back to the setup page, one line.
    dlg.new_batch()
    (tmp_path / "file").write_text("x")
    dlg.out_edit.setText(str(tmp_path / "file" / "out"))
    assert dlg.start()
    qtbot.waitUntil(lambda: not dlg.running, timeout=20000)
    assert dlg.pages.currentIndex() == 0 and dlg.setup_error.isVisible()
    assert "Cannot create the output folder" in dlg.setup_error.text(), dlg.setup_error.text()
    assert on_main == [False, False]
