"""The batch table's item model: ``Row`` (one photo), ``BatchModel`` (the rows as a Qt table, thumbnails
asked for lazily), ``StatusFilter`` (the "Show:" filter) and the thumbnail images. It knows nothing of
dialogs or of how the batch runs."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap

from unmask_studio.app.batch.status_text import SAVING, STATUS_TEXT, row_message
from unmask_studio.core.batch import FINISHED, Job, Status

THUMB_W, THUMB_H = 72, 54
_GREEN, _BLUE, _AMBER = QColor(120, 200, 130), QColor(110, 175, 250), QColor(225, 190, 100)
STATUS_COLOURS = {Status.DONE: _GREEN, Status.SKIPPED: _GREEN, Status.FAILED: QColor(255, 110, 120),
                  Status.WORKING: _BLUE, SAVING: _BLUE, Status.NO_FACES: _AMBER, Status.NO_MASK: _AMBER,
                  Status.CANCELLED: QColor(160, 163, 170), Status.PENDING: QColor(140, 143, 150)}


def thumbnail(rgb: np.ndarray, max_side: int = 96) -> np.ndarray:
    """A small copy for a preview: strided first (cheap on 24 MP), then area-averaged."""
    h, w = rgb.shape[:2]
    step = max(1, min(h, w) // (4 * max_side))
    if step > 1:
        rgb = rgb[::step, ::step]
        h, w = rgb.shape[:2]
    k = max_side / max(h, w)
    if k >= 1:
        return np.ascontiguousarray(rgb)
    return cv2.resize(np.ascontiguousarray(rgb), (max(1, round(w * k)), max(1, round(h * k))),
                      interpolation=cv2.INTER_AREA)


def thumb_image(rgb: np.ndarray) -> QImage:
    """A fixed-size (THUMB_W x THUMB_H) QImage with ``rgb`` fitted and centred: rows line up.
    Safe on any thread (QImage, not QPixmap)."""
    rgb = np.ascontiguousarray(thumbnail(rgb, max(THUMB_W, THUMB_H) * 2))
    h, w = rgb.shape[:2]
    src = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    fitted = src.scaled(THUMB_W, THUMB_H, Qt.AspectRatioMode.KeepAspectRatio,
                        Qt.TransformationMode.SmoothTransformation)
    out = QImage(THUMB_W, THUMB_H, QImage.Format.Format_ARGB32_Premultiplied)
    out.fill(Qt.GlobalColor.transparent)
    p = QPainter(out)
    p.drawImage((THUMB_W - fitted.width()) // 2, (THUMB_H - fitted.height()) // 2, fitted)
    p.end()
    return out


def thumb_from_file(path: str) -> QImage:
    """A thumbnail of the photo at ``path`` (a null QImage when it cannot be read: not worth a message)."""
    from PIL import Image, ImageOps
    try:
        with Image.open(path) as im:
            im.draft("RGB", (THUMB_W * 2, THUMB_H * 2))  # JPEG: decode at 1/2..1/8 scale, enough for a thumb
            im = ImageOps.exif_transpose(im).convert("RGB")
            im.thumbnail((THUMB_W * 2, THUMB_H * 2))
            return thumb_image(np.asarray(im))
    except Exception:  # noqa: BLE001
        return QImage()


_placeholder: QPixmap | None = None


def placeholder() -> QPixmap:
    """The thumbnail slot of a row without one yet: keeps the file names aligned."""
    global _placeholder
    if _placeholder is None:
        img = QImage(THUMB_W, THUMB_H, QImage.Format.Format_ARGB32_Premultiplied)
        img.fill(Qt.GlobalColor.transparent)
        p = QPainter(img)
        p.setPen(QColor(70, 72, 78))
        p.setBrush(QColor(44, 45, 49))
        p.drawRoundedRect(12, 4, THUMB_W - 25, THUMB_H - 9, 3, 3)
        p.end()
        _placeholder = QPixmap.fromImage(img)
    return _placeholder


@dataclass
class Row:
    job: Job
    label: str  # path shown: relative to the input folder it came from
    status: str = Status.PENDING
    faces: int | None = None
    seconds: float | None = None
    message: str = ""
    output: str | None = None
    notes: list[str] = field(default_factory=list)
    thumb: QPixmap | None = None
    thumb_asked: bool = False

    def thumb_source(self) -> str | None:
        """The written output, or the photo itself when it was finished without one."""
        if self.output and Path(self.output).exists():
            return self.output
        if self.status in (Status.NO_FACES, Status.NO_MASK) and self.job.src.exists():
            return str(self.job.src)
        return None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED


class BatchModel(QAbstractTableModel):
    COLUMNS = ("File", "Status", "Faces", "Seconds", "Message")
    thumb_wanted = Signal(int, str)  # row, file to make a thumbnail from

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[Row] = []

    def set_rows(self, rows: list[Row]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def update_row(self, i: int, **values) -> None:
        r = self.rows[i]
        for k, v in values.items():
            setattr(r, k, v)
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(self.COLUMNS) - 1))

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for r in self.rows:
            c[r.status] = c.get(r.status, 0) + 1
        return c

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(r, col)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            if r.thumb is None and not r.thumb_asked and r.finished:
                src = r.thumb_source()
                if src:  # loaded lazily, only for rows the view actually shows
                    r.thumb_asked = True
                    self.thumb_wanted.emit(index.row(), src)
            return r.thumb or placeholder()
        if role == Qt.ItemDataRole.ForegroundRole and col == 1:
            return QBrush(STATUS_COLOURS.get(r.status, QColor(200, 200, 200)))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = f"{r.job.src}\n→ {r.output or r.job.dst}"
            if r.message and r.status == Status.FAILED:
                tip += f"\n\n{r.message}"
            return tip + "".join(f"\n{n}" for n in r.notes)
        if role == Qt.ItemDataRole.UserRole:
            return r.status
        return None

    @staticmethod
    def _text(r: Row, col: int) -> str:
        if col == 0:
            return r.label
        if col == 1:
            return STATUS_TEXT.get(r.status, r.status)
        if col == 2:
            return "" if r.faces is None or r.status == Status.FAILED else str(r.faces)
        if col == 3:
            return "" if r.seconds is None else f"{r.seconds:.1f}"
        return row_message(r.status, r.message, r.output, r.job.src, r.notes)


class StatusFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.statuses: tuple[str, ...] | None = None

    def set_statuses(self, statuses) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.statuses = statuses
            self.endFilterChange()
        else:
            self.statuses = statuses
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent) -> bool:  # noqa: N802
        if self.statuses is None:
            return True
        return self.sourceModel().rows[row].status in self.statuses
