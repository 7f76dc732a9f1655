"""The batch dialog on real widgets with the real engine: File ▸ Batch…, a folder of two real photos and a
corrupt file, progress table, thumbnails, cancel + resume (also from a new dialog, via the manifest),
pause, double-click to refine in the editor, and outputs byte-identical to the command line's."""
from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt

from unmask_studio.app import dialogs
from unmask_studio.app.main_window import MainWindow
from unmask_studio.app.settings import Settings
from unmask_studio.core.batch import MANIFEST_NAME
from tests.conftest import DATA
from unmask_studio.core.resources import models_dir

pytestmark = pytest.mark.gui

MASKED = DATA / "pairs_dev" / "masked"  # ../shared/data beside the repo (or $UNMASK_DATA)


@pytest.fixture
def photos(tmp_path):
    if not (MASKED / "107.png").exists() or not (models_dir() / "inpainter.onnx").exists():
        pytest.skip("real photos or models not available")
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(MASKED / "107.png", src / "a107.png")
    shutil.copy(MASKED / "152.png", src / "b152.png")
    (src / "c_broken.jpg").write_bytes((MASKED / "117.png").read_bytes()[:3000])  # a PNG cut short, named .jpg
    return src


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from tests.gui.test_editor import FakeEngine  # the editor's own engine is not what is tested here

    monkeypatch.setattr(dialogs, "ask_unsaved", lambda *a: "discard")
    settings = Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    w = MainWindow(settings, engine_factory=FakeEngine, warm_up=False)
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    yield w
    if w.batch_dialog is not None:
        w.batch_dialog.shutdown()


def statuses(dlg) -> dict[str, str]:
    m = dlg.model
    return {r.label: m.data(m.index(i, 1)) for i, r in enumerate(m.rows)}


def wait_done(qtbot, dlg, timeout=60000) -> None:
    qtbot.waitUntil(lambda: not dlg.running, timeout=timeout)


def images(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())
            if p.suffix in (".png", ".jpg") and not p.name.startswith(".")}


def test_batch_from_main_window_review_and_refine(qtbot, window, photos, tmp_path):
    from unmask_studio.cli import main

    w = window
    w.act_batch.trigger()  # File ▸ Batch… (Ctrl+B)
    dlg = w.batch_dialog
    assert dlg is not None and dlg.isVisible() and w.act_batch.shortcut().toString() == "Ctrl+B"
    out = tmp_path / "out"
    dlg.add_inputs([str(photos)])
    dlg.out_edit.setText(str(out))
    assert dlg.name_edit.text() == "{stem}"  # the same default naming as the command line
    dlg.name_edit.setText("{stem}_unmasked")
    qtbot.waitUntil(lambda: "3 photos" in dlg.count_label.text() and dlg.start_btn.isEnabled())  # counted in the background
    qtbot.mouseClick(dlg.start_btn, Qt.MouseButton.LeftButton)
    assert dlg.running and dlg.pages.currentIndex() == 1  # worker thread; the GUI goes on
    wait_done(qtbot, dlg)

    assert statuses(dlg) == {"a107.png": "Done", "b152.png": "Done", "c_broken.jpg": "Failed"}
    rows = dlg.model.rows
    assert rows[0].faces == 1 and rows[0].seconds > 0
    assert "c_broken.jpg" in rows[2].message
    assert (out / "a107_unmasked.png").exists() and (out / "b152_unmasked.png").exists()
    assert not list(out.glob("*.part")) and not list(out.glob(".*.part"))
    qtbot.waitUntil(lambda: rows[0].thumb is not None and rows[1].thumb is not None, timeout=5000)
    assert rows[0].thumb.width() <= 72 and rows[0].thumb.height() <= 54
    assert dlg.title_label.text().startswith("Finished") and "1 failed" in dlg.counts_label.text()
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert manifest["complete"] and manifest["options"]["name_pattern"] == "{stem}_unmasked"
    assert dlg.resume_run_btn.text() == "Retry Failed"

    # The problems filter shows only the failed photo.
    dlg.filter_combo.setCurrentIndex(1)
    assert dlg.proxy.rowCount() == 1
    dlg.filter_combo.setCurrentIndex(0)

    # The command line with the same options writes the same bytes.
    cli_out = tmp_path / "cli_out"
    assert main(["batch", str(photos), "-o", str(cli_out), "--name", "{stem}_unmasked", "--quiet"]) == 1
    assert images(cli_out) == images(out) and len(images(out)) == 2

    # Review: double-click a row opens the input in the editor, re-runs it, Save goes to the batch output.
    view = dlg.table
    rect = view.visualRect(dlg.proxy.index(0, 1))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # a real double-click
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())  # starts with a press
    qtbot.waitUntil(lambda: w.doc.is_open and w.doc.path == photos / "a107.png", timeout=20000)
    qtbot.waitUntil(lambda: not w.runner.busy() and w.doc.result_state.has_result, timeout=20000)
    assert w.doc.save_path == out / "a107_unmasked.png"
    dlg.close()
    assert not dlg.isVisible()


def test_cancel_then_resume_and_pause(qtbot, window, photos, tmp_path):
    w = window
    for name in ("d107.png", "e107.png", "f107.png"):  # more photos than the two lanes hold at once
        shutil.copy(photos / "a107.png", photos / name)
    dlg = w.open_batch_dialog()
    out = tmp_path / "out"
    dlg.add_inputs([str(photos)])
    dlg.out_edit.setText(str(out))
    dlg.name_edit.setText("{stem}_unmasked")
    assert dlg.start()
    # Cancel as soon as the first photo is finished.
    dlg.worker.file_done.connect(lambda i, r: dlg.worker.cancel())
    wait_done(qtbot, dlg)
    st = statuses(dlg)
    assert list(st.values()).count("Waiting") >= 1, st
    assert dlg.title_label.text().startswith("Cancelled") and dlg.resume_run_btn.isVisible()
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert not manifest["complete"]
    done_first = [r.label for r in dlg.model.rows if r.status == "done"]
    assert done_first

    # The app is closed and opened again: a new dialog on the same output folder offers Resume.
    dlg.close()
    w.batch_dialog = None
    dlg2 = w.open_batch_dialog()
    dlg2.out_edit.setText("")
    dlg2.out_edit.setText(str(out))
    assert dlg2.resume_frame.isVisible() and dlg2.resume_btn.isVisible()
    assert "unfinished" in dlg2.resume_label.text()
    qtbot.mouseClick(dlg2.resume_btn, Qt.MouseButton.LeftButton)
    assert dlg2.running

    # Pause (pressed while the engine loads): nothing new starts until Resume.
    dlg2.toggle_pause()
    qtbot.waitUntil(lambda: dlg2.pause_btn.text() == "Resume", timeout=30000)
    assert dlg2.running and dlg2.title_label.text().startswith("Paused")
    before = [r.status for r in dlg2.model.rows]
    t0 = time.monotonic()
    qtbot.waitUntil(lambda: time.monotonic() - t0 > 0.8, timeout=3000)
    assert [r.status for r in dlg2.model.rows] == before and "working" not in before
    assert "pending" in before
    qtbot.mouseClick(dlg2.pause_btn, Qt.MouseButton.LeftButton)
    wait_done(qtbot, dlg2)
    st = statuses(dlg2)
    for label in done_first:
        assert st[label] == "Already done"  # finished in the first run: not redone
    assert sorted(st.values()).count("Failed") == 1 and "Waiting" not in st.values()
    assert json.loads((out / MANIFEST_NAME).read_text())["complete"]
    assert (out / "a107_unmasked.png").exists() and (out / "b152_unmasked.png").exists()
    # The finished batch can be reviewed from its folder later.
    dlg2.new_batch()
    dlg2._check_manifest()
    assert dlg2.review_btn.isVisible() and not dlg2.resume_btn.isVisible()
    dlg2.review_manifest()
    assert dlg2.pages.currentIndex() == 1 and statuses(dlg2)["a107.png"] == "Done"


def test_setup_errors_and_a_batch_that_cannot_start(qtbot, window, photos, tmp_path):
    from unmask_studio.core.onnx_models import ModelError

    def broken_engine():
        raise ModelError("The inpainter model is missing (test).")

    w = window
    w.batch_engine_factory = broken_engine
    dlg = w.open_batch_dialog()
    dlg.add_inputs([str(photos)])
    dlg.out_edit.setText(str(photos))  # the input folder itself: refused, Start disabled
    assert not dlg.start_btn.isEnabled()
    qtbot.waitUntil(lambda: "input folder" in dlg.setup_error.text())  # the plan (in the background) refuses it
    assert not dlg.start_btn.isEnabled()
    dlg.out_edit.setText(str(tmp_path / "out"))
    dlg.name_edit.setText("result")  # no {stem}: every photo would get the same name
    assert not dlg.start_btn.isEnabled() and "{stem}" in dlg.setup_error.text()
    dlg.name_edit.setText("{stem}-clean")
    qtbot.waitUntil(lambda: dlg.start_btn.isEnabled() and not dlg.setup_error.isVisible())
    assert "a107-clean.png" in dlg.name_example.text() or "IMG_0042-clean.jpg" in dlg.name_example.text()
    assert dlg.start()
    wait_done(qtbot, dlg, timeout=20000)
    assert dlg.stop_banner.isVisible() and "inpainter model is missing" in dlg.stop_banner.text()
    assert dlg.title_label.text() == "The batch could not run"
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix in (".png", ".jpg")]


def test_the_dialog_reads_the_same_option_descriptions_as_the_cli(qtbot, window):
    from unmask_studio.core.batch import OUTPUT_FORMATS, option_default, option_info

    dlg = window.open_batch_dialog()
    assert dlg.name_edit.text() == option_default("name_pattern") == "{stem}"  # one default, CLI and dialog
    assert [dlg.format_combo.itemData(i) for i in range(dlg.format_combo.count())] == [None, *OUTPUT_FORMATS]
    assert (dlg.quality_spin.minimum(), dlg.quality_spin.maximum()) == option_info("quality").range
    assert dlg.quality_spin.value() == option_default("quality")
    for box, name in ((dlg.recursive_check, "recursive"), (dlg.metadata_check, "keep_metadata"),
                      (dlg.masks_check, "save_masks"), (dlg.skip_check, "skip_unmasked"),
                      (dlg.overwrite_check, "overwrite")):
        assert box.text() == option_info(name).label and box.isChecked() == option_default(name)
        if not option_info(name).negated:  # (the help of --no-recursive describes the flag, not the box)
            assert box.toolTip().lower() == option_info(name).help.lower()


def test_the_setup_page_names_files_it_cannot_process(qtbot, window, photos):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(photos / "anim.gif")
    dlg = window.open_batch_dialog()
    dlg.add_inputs([str(photos)])
    qtbot.waitUntil(lambda: dlg.count_label.text().startswith("3 photos to process"))
    text = dlg.count_label.text()
    assert text.startswith("3 photos to process") and "anim.gif" in text and dlg.start_btn.isEnabled()


def test_a_file_the_batch_did_not_write_is_kept_unless_redo_every_photo(qtbot, window, photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "a107.png").write_bytes(b"someone else's file")
    (photos / "b152.png").unlink()
    (photos / "c_broken.jpg").unlink()
    dlg = window.open_batch_dialog()
    dlg.add_inputs([str(photos)])
    dlg.out_edit.setText(str(out))
    assert not dlg.overwrite_check.isChecked()  # never on by itself
    assert dlg.start()
    wait_done(qtbot, dlg)
    assert statuses(dlg) == {"a107.png": "Failed"} and "already exists" in dlg.model.rows[0].message
    assert (out / "a107.png").read_bytes() == b"someone else's file"
    dlg.new_batch()
    dlg.overwrite_check.setChecked(True)
    assert dlg.start()
    wait_done(qtbot, dlg)
    assert statuses(dlg) == {"a107.png": "Done"} and (out / "a107.png").read_bytes() != b"someone else's file"
