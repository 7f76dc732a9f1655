"""Batch review as a grid: every photo of the batch as a before/after thumbnail, split where the mouse is.

Finding the few photos that need a touch-up in a table of file names is slow; here each cell shows the
input on the left and the written output on the right of a split line that follows the mouse over the
cell (at the middle otherwise), so a sweep across the grid compares them all. "Show:" narrows it to
faces found but no mask, failed or no face. Double-click opens the photo in the editor. The grid shares
the batch dialog's rows (``BatchModel``); its thumbnails, larger than the table's, load on the batch's
"thumbs" lane, only for the cells that are painted.

It follows a running batch: a photo's cell gets its after half as soon as the photo is written, and the
filter takes in each new status. A thumbnail is known by the output file's size and modification time,
so an output written again (a batch run again with Overwrite, a Save from the editor) is loaded again;
while it loads, the cell keeps what it showed. A new table (Start, Resume, Review) forgets every
thumbnail: loads in flight then belong to the old table and are dropped by the batch's JobRunner.
"""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (QComboBox, QDialog, QHBoxLayout, QLabel, QListView, QStyle, QStyledItemDelegate,
                               QVBoxLayout)

from unmask_studio.app.batch.status_text import STATUS_TEXT
from unmask_studio.app.batch.table import STATUS_COLOURS, BatchModel, StatusFilter
from unmask_studio.app.workers import JobRunner, Outcome
from unmask_studio.core.batch import Status

PAIR_W, PAIR_H = 240, 180  # thumbnail box
TEXT_H = 36  # file name and status under it
REVIEW_FILTERS = [("All photos", None), ("Faces found but no mask", (Status.NO_MASK,)),
                  ("Failed", (Status.FAILED,)), ("No face", (Status.NO_FACES,)),
                  ("Masks removed", (Status.DONE, Status.SKIPPED))]


def _fit(path: str, box: QSize) -> QImage:
    """The photo at ``path`` scaled to fit ``box`` (a null QImage when unreadable). Any thread."""
    from PIL import Image, ImageOps
    try:
        with Image.open(path) as im:
            im.draft("RGB", (box.width() * 2, box.height() * 2))  # JPEG: decode at a fraction of the size
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((box.width(), box.height()), Image.Resampling.LANCZOS)
            data = im.tobytes()
            return QImage(data, im.width, im.height, 3 * im.width, QImage.Format.Format_RGB888).copy()
    except Exception:  # noqa: BLE001 - an unreadable file just has no thumbnail; its row says why
        return QImage()


def load_pair(src: str, output: str | None, box: QSize = QSize(PAIR_W, PAIR_H)) -> tuple[QImage, QImage]:
    """Before and after thumbnails of the same size (the output scaled onto the input's box)."""
    before = _fit(src, box)
    after = _fit(output, box) if output else QImage()
    if not before.isNull() and not after.isNull() and after.size() != before.size():
        after = after.scaled(before.size(), Qt.AspectRatioMode.IgnoreAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    return before, after


class CompareDelegate(QStyledItemDelegate):
    def __init__(self, grid: "ReviewGrid"):
        super().__init__(grid)
        self.grid = grid

    def sizeHint(self, option, index) -> QSize:  # noqa: N802
        return QSize(PAIR_W + 12, PAIR_H + TEXT_H + 12)

    def paint(self, p: QPainter, option, index: QModelIndex) -> None:
        row = self.grid.row_at(index)
        cell = option.rect.adjusted(6, 6, -6, -6)
        box = QRect(cell.topLeft(), QSize(PAIR_W, PAIR_H))
        p.save()
        if option.state & QStyle.StateFlag.State_Selected:
            p.fillRect(option.rect, QColor(60, 90, 140))
        p.fillRect(box, QColor(30, 31, 34))
        before, after = self.grid.pair(row)
        if before is not None and not before.isNull():
            img = QRect(QPoint(0, 0), before.size())
            img.moveCenter(box.center())
            split = self.grid.split_x(index, img)
            p.drawImage(img.topLeft(), before)
            if after is not None and not after.isNull():
                right = QRect(split, img.top(), img.right() - split + 1, img.height())
                p.drawImage(right, after, right.translated(-img.topLeft()))
                p.setPen(QPen(QColor(255, 255, 255, 220), 2))
                p.drawLine(split, img.top(), split, img.bottom())
        p.setPen(QColor(220, 222, 228))
        text = QRect(cell.left(), box.bottom() + 4, PAIR_W, TEXT_H - 4)
        p.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                   p.fontMetrics().elidedText(row.label, Qt.TextElideMode.ElideMiddle, PAIR_W))
        p.setPen(STATUS_COLOURS.get(row.status, QColor(200, 200, 200)))
        p.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom,
                   STATUS_TEXT.get(row.status, row.status))
        p.restore()


class ReviewGrid(QDialog):
    open_requested = Signal(str, object)  # input photo, its output (or None)

    def __init__(self, model: BatchModel, runner: JobRunner, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Review the batch — Unmask Studio")
        self.model, self.runner = model, runner
        self.proxy = StatusFilter(self)
        self.proxy.setSourceModel(model)
        self._pairs: dict[tuple, tuple[QImage, QImage] | None] = {}  # (input, output, stat) -> pair; None: loading
        self._shown: dict[str, tuple[QImage, QImage]] = {}  # input -> last pair loaded: drawn while a newer loads
        model.modelReset.connect(self._forget)
        for sig in (model.modelReset, model.dataChanged):
            sig.connect(self._update_count)
        self._hover: tuple[int, int] | None = None  # (proxy row, x in view pixels)

        self.view = QListView()
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSpacing(4)
        self.view.setMouseTracking(True)
        self.view.viewport().setMouseTracking(True)  # hover moves the split without a button held
        self.view.setModel(self.proxy)
        self.view.setItemDelegate(CompareDelegate(self))
        self.view.doubleClicked.connect(self._open)
        self.view.viewport().installEventFilter(self)

        self.filter_combo = QComboBox()
        for text, statuses in REVIEW_FILTERS:
            self.filter_combo.addItem(text, statuses)
        self.filter_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_statuses(self.filter_combo.currentData()))
        top = QHBoxLayout()
        hint = QLabel("Move the mouse over a photo to compare before | after; double-click opens it in the editor.")
        hint.setStyleSheet("color: #9aa0aa;")
        top.addWidget(hint, 1)
        self.count_label = QLabel()  # "2 of 3 photos finished": the grid fills in while a batch runs
        top.addWidget(self.count_label)
        top.addSpacing(12)
        top.addWidget(QLabel("Show:"))
        top.addWidget(self.filter_combo)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        self.resize(1060, 720)
        self._update_count()

    # ------------------------------------------------------------------------------ data
    def row_at(self, index: QModelIndex):
        return self.model.rows[self.proxy.mapToSource(index).row()]

    def pair(self, row) -> tuple[QImage | None, QImage | None]:
        """The row's thumbnails (asked for on first paint); while they load, the ones it showed before,
        or (None, None)."""
        src, output = str(row.job.src), row.output
        try:
            st = os.stat(output) if output else None
        except OSError:  # not written (yet), or gone
            st = None
        key = (src, output if st else None, (st.st_mtime_ns, st.st_size) if st else None)
        if key not in self._pairs:
            self._pairs[key] = None
            self.runner.submit("review_thumb", lambda _p, _c: load_pair(key[0], key[1]),
                               lambda out: self._loaded(key, out), lane="thumbs")
        got = self._pairs[key]
        return got if got is not None else self._shown.get(src, (None, None))

    def _loaded(self, key, out: Outcome) -> None:
        if key not in self._pairs:
            return  # asked for by a table that has since been replaced
        got = out.value if out.error is None and out.value else (QImage(), QImage())
        self._pairs[key] = self._shown[key[0]] = got
        self.view.viewport().update()

    def _update_count(self, *_args) -> None:
        rows = self.model.rows
        self.count_label.setText(f"{sum(r.finished for r in rows)} of {len(rows)} photos finished" if rows else "")

    def _forget(self) -> None:
        self._pairs.clear()
        self._shown.clear()

    @property
    def loading(self) -> bool:
        return any(v is None for v in self._pairs.values())

    def split_x(self, index: QModelIndex, img: QRect) -> int:
        """Where the before | after line is drawn in this cell: under the mouse, or in the middle."""
        if self._hover is not None and self._hover[0] == index.row():
            return max(img.left(), min(img.right() + 1, self._hover[1]))
        return img.center().x()

    # ------------------------------------------------------------------------------ input
    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseMove:
            pos = event.position().toPoint()
            index = self.view.indexAt(pos)
            old, self._hover = self._hover, (index.row(), pos.x()) if index.isValid() else None
            if old != self._hover:
                self.view.viewport().update()
        elif event.type() == QEvent.Type.Leave and self._hover is not None:
            self._hover = None
            self.view.viewport().update()
        return False

    def _open(self, index: QModelIndex) -> None:
        r = self.row_at(index)
        output = r.output if r.output and Path(r.output).exists() else None
        self.open_requested.emit(str(r.job.src), output)
