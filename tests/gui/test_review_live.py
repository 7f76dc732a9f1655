"""The batch review grid follows a running batch (issue 15 item 4, "after or during"): opened while a real
batch of three small real photos runs, it shows each photo's before | after as soon as that photo is
written, and its "Show:" filter takes in statuses as they arrive, all before the batch ends.

The batch runs for real (real engine, real files); only the loading of the last photo is held back until
the test has looked at the grid, so "before the end" does not depend on timing.
"""
from __future__ import annotations

import shutil
import threading

import pytest

from tests.conftest import data_path
from tests.gui.test_batch_dialog import window  # noqa: F401
from tests.gui.test_batch_review import cell_pixels, colourful
from unmask_studio.app.batch.review_grid import load_pair
from unmask_studio.core.batch import Status, stages

pytestmark = pytest.mark.gui
PHOTOS = ("000.webp", "005.webp", "008.webp")  # small real masked photos (348x378, 600x338, 493x335)


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in PHOTOS:
        shutil.copy(data_path("real_masked", name), src / name)
    return src


class Gate:
    """Loading the last photo waits until ``open()`` (at most a minute): the batch is still running then."""

    def __init__(self):
        self.event = threading.Event()

    def open(self):
        self.event.set()

    def close(self):
        self.event = threading.Event()


@pytest.fixture
def hold_last(monkeypatch):
    gate = Gate()
    real_load = stages.load_image

    def load_image(path, *args, **kwargs):
        if str(path).endswith(PHOTOS[-1]):
            gate.event.wait(60)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(stages, "load_image", load_image)
    yield gate
    gate.open()


def labels(grid) -> list[str]:
    return [grid.row_at(grid.proxy.index(i, 0)).label for i in range(grid.proxy.rowCount())]


def shown_after(grid, row):
    grid.view.viewport().repaint()  # painting a cell is what asks for its thumbnails
    return grid.pair(row)[1]


def test_grid_shows_finished_photos_while_the_batch_runs(qtbot, window, folder, hold_last, tmp_path):
    out = tmp_path / "out"
    dlg = window.open_batch_dialog()
    dlg.add_inputs([str(folder)])
    dlg.out_edit.setText(str(out))
    qtbot.waitUntil(lambda: dlg.start_btn.isEnabled(), timeout=20000)
    assert dlg.start()
    grid = dlg.show_review_grid()  # opened at once, while nothing has finished yet
    qtbot.waitExposed(grid)
    qtbot.waitUntil(lambda: grid.proxy.rowCount() == 3, timeout=20000)
    grid.filter_combo.setCurrentText("Failed")  # narrowed before anything is finished
    assert labels(grid) == []
    grid.filter_combo.setCurrentText("All photos")
    first = grid.model.rows[0]

    # The first photo is written while the last one is held: its cell gets the after half.
    qtbot.waitUntil(lambda: first.finished and grid.model.rows[1].finished, timeout=120000)
    assert dlg.running
    qtbot.waitUntil(lambda: shown_after(grid, first) is not None and not shown_after(grid, first).isNull(),
                    timeout=20000)
    assert dlg.running  # still before the end of the batch
    assert grid.count_label.text() == "2 of 3 photos finished"
    run1 = shown_after(grid, first).copy()
    px = cell_pixels(grid, 0)
    assert colourful(px) > 5 and px.std() > 10
    # The filters take in the statuses as they arrive.
    finished = {r.label: r.status for r in grid.model.rows if r.finished}
    assert set(finished) == {"000.webp", "005.webp"} and grid.model.rows[2].status == Status.WORKING
    for text, statuses in (("Masks removed", (Status.DONE, Status.SKIPPED)), ("Faces found but no mask", (Status.NO_MASK,))):
        grid.filter_combo.setCurrentText(text)
        assert labels(grid) == [k for k, v in finished.items() if v in statuses]
    grid.filter_combo.setCurrentText("All photos")
    for _ in range(20):  # let the second cell's thumbnails arrive, for the screenshot
        qtbot.wait(50)
        grid.view.viewport().repaint()
    grid.grab().save(str(tmp_path / "live_grid.png"))
    hold_last.open()
    qtbot.waitUntil(lambda: not dlg.running, timeout=120000)
    assert grid.count_label.text() == "3 of 3 photos finished"

    # Run again over the same outputs (Overwrite, WebP quality 8): the cell shows the new output as soon
    # as it is written, not the first run's thumbnail.
    hold_last.close()
    dlg.overwrite_check.setChecked(True)
    dlg.quality_spin.setValue(8)
    assert dlg.start()
    qtbot.waitUntil(lambda: bool(grid.model.rows) and grid.model.rows[0].finished, timeout=120000)
    first = grid.model.rows[0]
    assert dlg.running
    fresh = load_pair(str(first.job.src), first.output)[1]
    assert fresh != run1  # the file really is different
    qtbot.waitUntil(lambda: shown_after(grid, first) == fresh, timeout=20000)
    assert dlg.running
    hold_last.open()
    qtbot.waitUntil(lambda: not dlg.running, timeout=120000)
