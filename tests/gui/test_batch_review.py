"""Batch review as a grid (issue 15 item 4): before | after thumbnails of real photos with the split
following the mouse, the "Show:" filters, and double-click opening the photo in the editor.

The rows are what a finished batch leaves in the dialog's model; the outputs are grey copies of the
inputs, so which side of the split shows which is visible in the pixels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, Qt

from tests.conftest import data_path
from tests.gui.test_batch_dialog import window  # noqa: F401
from unmask_studio.app.batch.table import Row
from unmask_studio.core.batch import Job, Status

pytestmark = pytest.mark.gui


@pytest.fixture
def rows(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    made = []
    for name, status in (("002.webp", Status.DONE), ("006.webp", Status.NO_MASK), ("010.webp", Status.FAILED),
                         ("003.webp", Status.NO_FACES)):
        src = data_path("real_masked", name)
        dst = out / f"{Path(name).stem}.png"
        output = None
        if status in (Status.DONE, Status.NO_MASK):
            Image.open(src).convert("L").convert("RGB").save(dst)
            output = str(dst)
        made.append(Row(Job(src, dst), name, status, faces=1, output=output,
                        message="cannot read" if status == Status.FAILED else ""))
    return made


def cell_pixels(grid, proxy_row: int) -> np.ndarray:
    grid.view.viewport().repaint()
    img = grid.view.viewport().grab(grid.view.visualRect(grid.proxy.index(proxy_row, 0))).toImage()
    img = img.convertToFormat(img.Format.Format_RGB888)
    w, h = img.width(), img.height()
    return np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * h).reshape(h, -1)[:, :3 * w] \
        .reshape(h, w, 3)


def hover(widget, pos: QPoint) -> None:
    """A mouse move without a button (QTest's mouseMove does not reach the viewport offscreen)."""
    from PySide6.QtCore import QEvent, QPointF
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(widget.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                     Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def colourful(px: np.ndarray) -> float:
    """Mean channel spread: 0 for grey pixels."""
    return float((px.max(-1).astype(int) - px.min(-1)).mean())


def test_grid_compares_before_after_filters_and_opens_in_editor(qtbot, window, rows):
    dlg = window.open_batch_dialog()
    dlg.model.set_rows(rows)
    grid = dlg.show_review_grid()
    qtbot.waitExposed(grid)
    assert grid.proxy.rowCount() == 4
    grid.view.viewport().repaint()
    qtbot.waitUntil(lambda: bool(grid._pairs) and not grid.loading, timeout=20000)

    # Row 0 (002, restored): colour input left of the middle split, grey output right of it.
    px = cell_pixels(grid, 0)
    h, w = px.shape[:2]
    band = px[h // 4: h // 2]  # the photo, above the file name
    left, right = band[:, w // 4 - 10: w // 4 + 10], band[:, 3 * w // 4 - 10: 3 * w // 4 + 10]
    assert colourful(left) > 15 and colourful(right) < 3
    # The mouse near the cell's left edge moves the split there: the whole photo shows the output.
    rect = grid.view.visualRect(grid.proxy.index(0, 0))
    hover(grid.view.viewport(), QPoint(rect.left() + 20, rect.center().y()))
    assert grid._hover is not None
    band = cell_pixels(grid, 0)[h // 4: h // 2]
    assert colourful(band[:, w // 4 - 10: w // 4 + 10]) < 3
    # A failed photo has no output: only its input is shown.
    failed = cell_pixels(grid, 2)[h // 4: h // 2]
    assert colourful(failed[:, w // 2:]) > 5  # its right half is the input too, in colour

    for text, expected in (("Faces found but no mask", ["006.webp"]), ("Failed", ["010.webp"]),
                           ("No face", ["003.webp"]), ("All photos", ["002.webp", "006.webp", "010.webp", "003.webp"])):
        grid.filter_combo.setCurrentText(text)
        assert [grid.row_at(grid.proxy.index(i, 0)).label for i in range(grid.proxy.rowCount())] == expected

    # Double-click opens the photo in the editor (Remove masks runs again there, Save replaces the output).
    grid.filter_combo.setCurrentText("Faces found but no mask")
    rect = grid.view.visualRect(grid.proxy.index(0, 0))
    with qtbot.waitSignal(grid.open_requested) as sig:
        qtbot.mouseClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(grid.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sig.args == [str(rows[1].job.src), rows[1].output]
    qtbot.waitUntil(lambda: window.doc.is_open and window.doc.path == rows[1].job.src, timeout=20000)
    # Opening it from the batch runs Remove masks there; let it finish (closing mid-job would ask to stop).
    qtbot.waitUntil(lambda: not window.runner.busy(), timeout=60000)
