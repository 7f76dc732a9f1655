"""File ▸ Batch…: remove masks from whole folders, watch it happen, review the results.

Two pages. **Setup**: photos and folders to process, the output folder, the naming pattern and the
options (the same ones as ``unmask-studio batch``). **Progress**: a row per photo (thumbnail, file,
status, faces, seconds, message), elapsed and remaining time, Pause / Resume / Cancel; when the batch
is over the same table is the review: double-click a row to open that photo in the editor with its
result, ready to refine.

The batch runs ``core.batch.run_batch`` on a QThread (never on the GUI thread). Every batch writes
``OUT/.unmask-batch.json`` after each photo; choosing an output folder that holds an unfinished one
offers to resume it (after Cancel, a crash or closing the app), a finished one can be reviewed.
"""
from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import (QAbstractTableModel, QModelIndex, QObject, QRunnable, QSize, QSortFilterProxyModel, Qt,
                            QThread, QThreadPool, QTimer, QUrl, Signal)
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QImage, QPainter, QPixmap
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDialog, QFileDialog, QFormLayout, QFrame,
                               QGroupBox, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QListWidget, QListWidgetItem,
                               QMessageBox, QProgressBar, QPushButton, QSpinBox, QStackedWidget, QStyle, QTableView,
                               QVBoxLayout, QWidget)

from unmask_studio.core.batch import (FINISHED, REPORT_NAME, STATUS_TEXT, BatchClock, BatchInputError, BatchOptions,
                                      BatchReport, FileReport, Job, Manifest, batch_lanes, batch_threads,
                                      check_name_pattern, format_duration, is_done, output_name, plan, run_batch,
                                      thumbnail)
from unmask_studio.core.io import SUPPORTED_EXTENSIONS
from unmask_studio.core.pipeline import Engine, Options
from unmask_studio.app.settings import Settings

log = logging.getLogger(__name__)

THUMB_W, THUMB_H = 72, 54
FORMATS = [("Same as each photo", None), ("JPEG (.jpg)", "jpg"), ("PNG (.png)", "png"), ("WebP (.webp)", "webp"),
           ("TIFF (.tif)", "tif")]
STATUS_TEXT = {**STATUS_TEXT, "saving": "Saving…"}
STATUS_COLOURS = {"done": QColor(120, 200, 130), "skipped": QColor(120, 200, 130), "failed": QColor(255, 110, 120),
                  "working": QColor(110, 175, 250), "saving": QColor(110, 175, 250), "no_faces": QColor(225, 190, 100),
                  "no_mask": QColor(225, 190, 100), "cancelled": QColor(160, 163, 170),
                  "pending": QColor(140, 143, 150)}
PROBLEMS = ("failed", "no_faces", "no_mask")
FILTERS = [("All photos", None), ("Problems (failed, no face, no mask)", PROBLEMS), ("Done", ("done", "skipped")),
           ("Not done yet", ("pending", "working", "saving", "cancelled"))]
BUSY = ("working", "saving")


def batch_engine() -> Engine:
    return Engine(Options(threads=batch_threads()))


# Native choosers, kept as module functions so tests can replace them.
def ask_folder(parent: QWidget, title: str, start: str) -> str | None:
    return QFileDialog.getExistingDirectory(parent, title, start) or None


def ask_photos(parent: QWidget, start: str) -> list[str]:
    filt = "Images ({})".format(" ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS))
    files, _ = QFileDialog.getOpenFileNames(parent, "Add photos", start, f"{filt};;All files (*)")
    return files


def _qimage(rgb: np.ndarray) -> QImage:
    """A fixed-size (THUMB_W x THUMB_H) QImage with ``rgb`` fitted and centred: rows line up."""
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


def row_message(r: "Row") -> str:
    """What the Message column says: what happened to the output, or why the photo failed."""
    out = Path(r.output).name if r.output else ""
    if r.status == "done":
        return f"Saved {out}"
    if r.status == "skipped":
        return f"Done in an earlier run ({out})" if out else "Done in an earlier run"
    if r.status in ("no_faces", "no_mask"):
        why = "Faces found, but no face covering" if r.status == "no_mask" else ""
        what = f"copied unchanged as {out}" if out else "nothing written"
        return f"{why}: {what}" if why else what[0].upper() + what[1:]
    if r.status == "failed":
        msg = r.message
        prefix = f'Cannot open "{r.job.src.name}": '
        if msg.startswith(prefix):  # the row already names the file
            msg = msg[len(prefix)].upper() + msg[len(prefix) + 1:]
        return msg
    return ""


# =============================================================================================== model
@dataclass
class Row:
    job: Job
    label: str  # path shown: relative to the input folder it came from
    status: str = "pending"
    faces: int | None = None
    seconds: float | None = None
    message: str = ""
    output: str | None = None
    thumb: QPixmap | None = None
    thumb_asked: bool = False

    def thumb_source(self) -> str | None:
        """The written output, or the photo itself when it was finished without one."""
        if self.output and Path(self.output).exists():
            return self.output
        if self.status in ("no_faces", "no_mask") and self.job.src.exists():
            return str(self.job.src)
        return None


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

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        r, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return r.label
            if col == 1:
                return STATUS_TEXT.get(r.status, r.status)
            if col == 2:
                return "" if r.faces is None or r.status == "failed" else str(r.faces)
            if col == 3:
                return "" if r.seconds is None else f"{r.seconds:.1f}"
            return row_message(r)
        if role == Qt.ItemDataRole.DecorationRole and col == 0:
            if r.thumb is None and not r.thumb_asked and r.status in FINISHED:
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
            if r.message and r.status == "failed":
                tip += f"\n\n{r.message}"
            return tip
        if role == Qt.ItemDataRole.UserRole:
            return r.status
        return None


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


# =============================================================================================== threads
class _ThumbSignals(QObject):
    done = Signal(int, int, QImage)  # generation, row, image


class _ThumbJob(QRunnable):
    def __init__(self, generation: int, row: int, path: str, signals: _ThumbSignals):
        super().__init__()
        self.generation, self.row, self.path, self.signals = generation, row, path, signals

    def run(self) -> None:
        from PIL import Image, ImageOps
        try:
            with Image.open(self.path) as im:
                im.draft("RGB", (THUMB_W * 2, THUMB_H * 2))  # JPEG: decode at 1/2..1/8 scale, enough for a thumb
                im = ImageOps.exif_transpose(im).convert("RGB")
                im.thumbnail((THUMB_W * 2, THUMB_H * 2))
                img = _qimage(np.asarray(im))
        except Exception:  # noqa: BLE001 - a missing preview is not worth a message
            img = QImage()
        try:
            self.signals.done.emit(self.generation, self.row, img)
        except RuntimeError:  # dialog gone
            pass


class BatchThread(QThread):
    """Runs one batch. Signals arrive in the GUI thread (queued)."""

    file_started = Signal(int)
    file_done = Signal(int, object)  # row, FileReport
    thumb_ready = Signal(int, QImage)
    paused_changed = Signal(bool)
    failed = Signal(str)  # the batch could not run at all (e.g. a model is missing)

    def __init__(self, engine_provider, jobs: list[Job], opts: BatchOptions, manifest: Manifest | None, parent=None):
        super().__init__(parent)
        self._engine_provider, self.jobs, self.opts, self.manifest = engine_provider, jobs, opts, manifest
        self.cancel_event, self.pause_event = threading.Event(), threading.Event()
        self.report: BatchReport | None = None
        self.lanes = batch_lanes()

    def run(self) -> None:
        from unmask_studio.app.workers import _yield_cpu_to_gui
        _yield_cpu_to_gui()  # the batch (and the threads it starts) gives way to the GUI
        try:
            engine = self._engine_provider()
            if hasattr(engine, "warm_up"):  # load the models now, not inside the first photo's time
                engine.warm_up()
            self.report = run_batch(
                engine, self.jobs, self.opts, on_file=lambda i, r: self.file_done.emit(i, r),
                cancel=self.cancel_event.is_set, pause=self.pause_event.is_set, manifest=self.manifest,
                on_start=lambda i, j: self.file_started.emit(i), on_image=self._thumb,
                on_paused=self.paused_changed.emit, lanes=self.lanes)
        except Exception as e:  # noqa: BLE001 - reported in the dialog, never kills the app
            log.exception("batch failed")
            self.failed.emit(f"The batch could not run: {e}")

    def _thumb(self, i: int, rgb: np.ndarray) -> None:
        try:
            self.thumb_ready.emit(i, _qimage(rgb))
        except Exception:  # noqa: BLE001
            log.exception("thumbnail failed")


class InputList(QListWidget):
    """Photos and folders to process; accepts files and folders dropped from a file manager."""

    dropped = Signal(list)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setAlternatingRowColors(False)

    def dragEnterEvent(self, e) -> None:  # noqa: N802
        e.acceptProposedAction() if e.mimeData().hasUrls() else super().dragEnterEvent(e)

    def dragMoveEvent(self, e) -> None:  # noqa: N802
        e.acceptProposedAction() if e.mimeData().hasUrls() else super().dragMoveEvent(e)

    def dropEvent(self, e) -> None:  # noqa: N802
        if e.mimeData().hasUrls():
            self.dropped.emit([u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()])
            e.acceptProposedAction()
        else:
            super().dropEvent(e)


# =============================================================================================== dialog
class BatchDialog(QDialog):
    open_requested = Signal(str, object)  # input photo, its output (or None): open in the editor
    running_changed = Signal(bool)

    def __init__(self, settings: Settings, engine_factory=batch_engine, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Batch — Unmask Studio")
        self.setModal(False)
        self.settings = settings
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self.worker: BatchThread | None = None
        self.inputs: list[str] = []
        self.opts: BatchOptions | None = None
        self.manifest: Manifest | None = None
        self.clock: BatchClock | None = None
        self._left = 0  # photos still to process (not counting ones already done earlier)
        self._generation = 0  # bumps with every table reset: late thumbnails of an old table are dropped
        self._close_after_stop = False
        self._found_manifest: Manifest | None = None
        self._is_paused = False
        self._active = False
        self._count_cache: tuple | None = None
        self.model = BatchModel(self)
        self.proxy = StatusFilter(self)
        self.proxy.setSourceModel(self.model)
        self._thumb_pool = QThreadPool(self)
        self._thumb_pool.setMaxThreadCount(1)
        self._thumb_signals = _ThumbSignals(self)
        self._thumb_signals.done.connect(self._on_lazy_thumb)
        self.model.thumb_wanted.connect(self._load_thumb)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._make_setup_page())
        self.pages.addWidget(self._make_progress_page())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addWidget(self.pages)
        self._tick = QTimer(self, interval=1000, timeout=self._update_times)
        self._restore_form()
        self.resize(980, 680)

    # ------------------------------------------------------------------------------------ setup page
    def _make_setup_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)

        box = QGroupBox("Photos and folders")
        h = QHBoxLayout(box)
        self.input_list = InputList()
        self.input_list.dropped.connect(self.add_inputs)
        self.input_list.itemSelectionChanged.connect(self._update_setup)
        h.addWidget(self.input_list, 1)
        btns = QVBoxLayout()
        self.add_folder_btn = QPushButton("Add Folder…")
        self.add_folder_btn.clicked.connect(self._add_folder)
        self.add_files_btn = QPushButton("Add Photos…")
        self.add_files_btn.clicked.connect(self._add_files)
        self.remove_btn = QPushButton("Remove")
        self.remove_btn.clicked.connect(self._remove_selected)
        for b in (self.add_folder_btn, self.add_files_btn, self.remove_btn):
            btns.addWidget(b)
        btns.addStretch(1)
        h.addLayout(btns)
        v.addWidget(box, 1)
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)
        v.addWidget(self.count_label)

        box = QGroupBox("Output")
        form = QFormLayout(box)
        row = QHBoxLayout()
        self.out_edit = QLineEdit()
        self.out_edit.setPlaceholderText("Folder for the results (the originals are never changed)")
        self.out_edit.textChanged.connect(self._on_output_changed)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_output)
        row.addWidget(self.out_edit, 1)
        row.addWidget(choose)
        form.addRow("Folder:", row)
        row = QHBoxLayout()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("{stem}")
        self.name_edit.setToolTip("Output file name without extension. {stem} is the photo's name, {ext} its "
                                  "extension, {folder} the name of its folder.")
        self.name_edit.textChanged.connect(self._update_setup)
        self.name_example = QLabel()
        self.name_example.setStyleSheet("color: #9aa0aa;")
        row.addWidget(self.name_edit, 1)
        row.addWidget(self.name_example, 1)
        form.addRow("File names:", row)
        row = QHBoxLayout()
        self.format_combo = QComboBox()
        for text, ext in FORMATS:
            self.format_combo.addItem(text, ext)
        self.format_combo.currentIndexChanged.connect(self._update_setup)
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(1, 100)
        self.quality_spin.setValue(95)
        self.quality_spin.setToolTip("JPEG and WebP quality")
        row.addWidget(self.format_combo)
        row.addSpacing(16)
        row.addWidget(QLabel("Quality:"))
        row.addWidget(self.quality_spin)
        row.addStretch(1)
        form.addRow("Format:", row)
        v.addWidget(box)

        box = QGroupBox("Options")
        g = QVBoxLayout(box)
        self.recursive_check = QCheckBox("Include subfolders (their structure is kept in the output folder)")
        self.metadata_check = QCheckBox("Keep metadata (EXIF, colour profile)")
        self.masks_check = QCheckBox("Also save each removal mask as <name>.mask.png")
        self.skip_check = QCheckBox("Skip photos without masked faces (otherwise they are copied unchanged)")
        self.recursive_check.toggled.connect(self._update_setup)
        for c in (self.recursive_check, self.metadata_check, self.masks_check, self.skip_check):
            g.addWidget(c)
        v.addWidget(box)

        self.resume_frame = QFrame()
        self.resume_frame.setObjectName("resumeFrame")
        self.resume_frame.setStyleSheet("#resumeFrame { background: #2d4a66; border-radius: 4px; }"
                                        "#resumeFrame QLabel { color: white; }")
        h = QHBoxLayout(self.resume_frame)
        h.setContentsMargins(12, 6, 6, 6)
        self.resume_label = QLabel()
        self.resume_label.setWordWrap(True)
        self.resume_btn = QPushButton("Resume")
        self.resume_btn.clicked.connect(self.resume_from_manifest)
        self.review_btn = QPushButton("Review")
        self.review_btn.clicked.connect(self.review_manifest)
        h.addWidget(self.resume_label, 1)
        h.addWidget(self.review_btn)
        h.addWidget(self.resume_btn)
        self.resume_frame.hide()
        v.addWidget(self.resume_frame)

        self.setup_error = QLabel()
        self.setup_error.setStyleSheet("color: #ff7a85;")
        self.setup_error.setWordWrap(True)
        self.setup_error.hide()
        v.addWidget(self.setup_error)

        row = QHBoxLayout()
        row.addStretch(1)
        self.start_btn = QPushButton("Start Batch")
        self.start_btn.setDefault(True)
        self.start_btn.setObjectName("primaryPush")
        self.start_btn.setStyleSheet("#primaryPush { background: #2f6fb4; color: white; font-weight: bold; "
                                     "padding: 5px 16px; border-radius: 4px; }"
                                     "#primaryPush:disabled { background: #3a3c42; color: #80838a; }")
        self.start_btn.clicked.connect(self.start)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        row.addWidget(self.start_btn)
        row.addWidget(close)
        v.addLayout(row)
        return page

    # ------------------------------------------------------------------------------------ progress page
    def _make_progress_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        self.title_label = QLabel()
        self.title_label.setStyleSheet("font-size: 15px; font-weight: bold;")
        v.addWidget(self.title_label)
        self.bar = QProgressBar()
        self.bar.setTextVisible(True)
        v.addWidget(self.bar)
        row = QHBoxLayout()
        self.time_label = QLabel()
        self.counts_label = QLabel()
        self.counts_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.time_label, 1)
        row.addWidget(self.counts_label, 1)
        v.addLayout(row)
        self.stop_banner = QLabel()
        self.stop_banner.setWordWrap(True)
        self.stop_banner.setStyleSheet("background: #7a2630; color: white; border-radius: 4px; padding: 6px 10px;")
        self.stop_banner.hide()
        v.addWidget(self.stop_banner)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setIconSize(QSize(THUMB_W, THUMB_H))
        self.table.verticalHeader().setDefaultSectionSize(THUMB_H + 6)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setStyleSheet("QTableView { background: #232427; alternate-background-color: #28292d; "
                                 "border: 1px solid #3c3e44; }")
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 300)
        self.table.setColumnWidth(1, 110)
        self.table.setColumnWidth(2, 55)
        self.table.setColumnWidth(3, 70)
        self.table.doubleClicked.connect(self._on_double_click)
        v.addWidget(self.table, 1)

        row = QHBoxLayout()
        self.hint_label = QLabel("Double-click a photo to open it in the editor and refine it.")
        self.hint_label.setStyleSheet("color: #9aa0aa;")
        row.addWidget(self.hint_label, 1)
        row.addWidget(QLabel("Show:"))
        self.filter_combo = QComboBox()
        for text, statuses in FILTERS:
            self.filter_combo.addItem(text, statuses)
        self.filter_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_statuses(self.filter_combo.currentData()))
        row.addWidget(self.filter_combo)
        v.addLayout(row)

        row = QHBoxLayout()
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Finish the current photo, then wait")
        self.pause_btn.clicked.connect(self.toggle_pause)
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setToolTip("Stop after the current photo; the batch can be resumed later")
        self.cancel_btn.clicked.connect(self.cancel)
        self.resume_run_btn = QPushButton("Resume")
        self.resume_run_btn.setToolTip("Continue with the photos not done yet")
        self.resume_run_btn.clicked.connect(self.resume_run)
        self.open_folder_btn = QPushButton("Open Output Folder")
        self.open_folder_btn.clicked.connect(self._open_output_folder)
        self.new_btn = QPushButton("New Batch")
        self.new_btn.clicked.connect(self.new_batch)
        self.close_btn = QPushButton("Close")
        self.close_btn.clicked.connect(self.close)
        for b in (self.pause_btn, self.cancel_btn, self.resume_run_btn):
            row.addWidget(b)
        row.addStretch(1)
        for b in (self.open_folder_btn, self.new_btn, self.close_btn):
            row.addWidget(b)
        v.addLayout(row)
        return page

    # ------------------------------------------------------------------------------------ form
    def _restore_form(self) -> None:
        q = self.settings.q

        def flag(key, default):
            v = q.value(key, default)
            return v.lower() in ("true", "1") if isinstance(v, str) else bool(v)

        self.recursive_check.setChecked(flag("batch/recursive", True))
        self.metadata_check.setChecked(flag("batch/keep_metadata", True))
        self.masks_check.setChecked(flag("batch/save_masks", False))
        self.skip_check.setChecked(flag("batch/skip_unmasked", False))
        self.name_edit.setText(str(q.value("batch/name_pattern", "{stem}_unmasked")))
        i = self.format_combo.findData(q.value("batch/format", None) or None)
        self.format_combo.setCurrentIndex(max(0, i))
        try:
            self.quality_spin.setValue(int(q.value("batch/quality", 95)))
        except (TypeError, ValueError):
            pass
        self.out_edit.setText(str(q.value("batch/output", "") or ""))
        self._update_setup()

    def _save_form(self) -> None:
        s = self.settings
        for key, value in (("recursive", self.recursive_check.isChecked()),
                           ("keep_metadata", self.metadata_check.isChecked()),
                           ("save_masks", self.masks_check.isChecked()),
                           ("skip_unmasked", self.skip_check.isChecked()),
                           ("name_pattern", self.name_edit.text()), ("format", self.format_combo.currentData() or ""),
                           ("quality", self.quality_spin.value()), ("output", self.out_edit.text())):
            s.set_value(f"batch/{key}", value)

    def form_options(self) -> BatchOptions:
        return BatchOptions(out_dir=Path(self.out_edit.text().strip()).expanduser(),
                            recursive=self.recursive_check.isChecked(),
                            save_masks=self.masks_check.isChecked(), out_format=self.format_combo.currentData(),
                            quality=self.quality_spin.value(), skip_unmasked=self.skip_check.isChecked(),
                            name_pattern=self.name_edit.text().strip() or "{stem}",
                            keep_metadata=self.metadata_check.isChecked())

    def set_form(self, inputs: list[str], opts: BatchOptions) -> None:
        self.input_list.clear()
        self.inputs = []
        self.add_inputs(inputs)
        self.out_edit.setText(str(opts.out_dir))
        self.recursive_check.setChecked(opts.recursive)
        self.metadata_check.setChecked(opts.keep_metadata)
        self.masks_check.setChecked(opts.save_masks)
        self.skip_check.setChecked(opts.skip_unmasked)
        self.name_edit.setText(opts.name_pattern)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(opts.out_format)))
        self.quality_spin.setValue(opts.quality)

    def add_inputs(self, paths) -> None:
        style = self.style()
        for p in paths:
            p = str(Path(p).expanduser())
            if not p or p in self.inputs:
                continue
            self.inputs.append(p)
            is_dir = Path(p).is_dir()
            item = QListWidgetItem(style.standardIcon(QStyle.StandardPixmap.SP_DirIcon if is_dir
                                                      else QStyle.StandardPixmap.SP_FileIcon), p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.input_list.addItem(item)
        if paths and not self.out_edit.text().strip() and self.inputs:
            first = Path(self.inputs[0])
            base = first if first.is_dir() else first.parent
            self.out_edit.setText(str(base.parent / f"{base.name}-unmasked"))
        self._update_setup()

    def _add_folder(self) -> None:
        folder = ask_folder(self, "Add a folder of photos", self.settings.last_dir())
        if folder:
            self.add_inputs([folder])

    def _add_files(self) -> None:
        files = ask_photos(self, self.settings.last_dir())
        if files:
            self.add_inputs(files)

    def _remove_selected(self) -> None:
        for item in self.input_list.selectedItems():
            self.inputs.remove(item.data(Qt.ItemDataRole.UserRole))
            self.input_list.takeItem(self.input_list.row(item))
        self._update_setup()

    def _choose_output(self) -> None:
        folder = ask_folder(self, "Output folder", self.out_edit.text() or self.settings.last_dir())
        if folder:
            self.out_edit.setText(folder)

    def _on_output_changed(self) -> None:
        self._check_manifest()
        self._update_setup()

    def _check_manifest(self) -> None:
        """Offer to resume (or review) the batch recorded in the chosen output folder."""
        text = self.out_edit.text().strip()
        m = Manifest.load(Path(text).expanduser()) if text else None
        self._found_manifest = m if m is not None and m.inputs else None
        if self._found_manifest is None:
            self.resume_frame.hide()
            return
        m = self._found_manifest
        when = str(m.data.get("updated", ""))[:16].replace("T", " ")
        if m.complete:
            self.resume_label.setText(f"This folder holds a finished batch ({m.finished_count()} photos, {when} UTC).")
        else:
            self.resume_label.setText(f"This folder holds an unfinished batch: {m.finished_count()} of {m.total} "
                                      f"photos done (last change {when} UTC). Resume it to do the rest.")
        self.resume_btn.setVisible(not m.complete)
        self.resume_frame.show()

    def _update_setup(self) -> None:
        self.remove_btn.setEnabled(bool(self.input_list.selectedItems()))
        opts = self.form_options()
        try:
            check_name_pattern(opts.name_pattern)
            first = Path(self.inputs[0]) if self.inputs else None
            example = first if first is not None and not first.is_dir() else Path("IMG_0042.jpg")
            self.name_example.setText(f"e.g. {example.name} → {output_name(example, opts)}")
            error = ""
        except BatchInputError as e:
            self.name_example.setText("")
            error = str(e)
        n = None
        if not error and self.inputs:
            key = (tuple(self.inputs), opts.recursive, self.out_edit.text().strip())
            if self._count_cache is None or self._count_cache[0] != key:
                try:  # globbing a big tree on every keystroke would be slow: cached per inputs/output
                    counted = len(plan(self.inputs, opts if key[2] else BatchOptions(
                        **{**opts.__dict__, "out_dir": Path("/nonexistent/unmask-out")})))
                    self._count_cache = (key, counted, "")
                except BatchInputError as e:
                    self._count_cache = (key, None, str(e))
            n, error = self._count_cache[1], self._count_cache[2]
        if n is not None:
            folders = sum(Path(p).is_dir() for p in self.inputs)
            files = len(self.inputs) - folders
            parts = [f"{folders} folder{'s' * (folders != 1)}"] * bool(folders) + \
                    [f"{files} photo{'s' * (files != 1)}"] * bool(files)
            self.count_label.setText(f"{n} photo{'s' * (n != 1)} to process from " + " and ".join(parts) + ".")
        else:
            self.count_label.setText("Add folders or photos (or drop them here)." if not self.inputs else "")
        self.setup_error.setText(error)
        self.setup_error.setVisible(bool(error))
        self.quality_spin.setEnabled(self.format_combo.currentData() in (None, "jpg", "webp"))
        self.start_btn.setEnabled(bool(n) and bool(self.out_edit.text().strip()) and not self.running)

    # ------------------------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        """From Start until the dialog has taken in the end of the batch (not just the thread's end)."""
        return self._active

    def engine(self) -> Engine:
        with self._engine_lock:  # created on the batch thread the first time: loading must not block the GUI
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    def start(self) -> bool:
        """Start a batch with the form's settings. Returns False (with a message) if it cannot."""
        if self.running:
            return False
        opts = self.form_options()
        if not self.inputs:
            return self._setup_failed("Add at least one folder or photo.")
        if not self.out_edit.text().strip():
            return self._setup_failed("Choose an output folder.")
        try:
            jobs = plan(self.inputs, opts)
        except BatchInputError as e:
            return self._setup_failed(str(e))
        if not jobs:
            return self._setup_failed("No supported photos (JPEG, PNG, WebP, TIFF, BMP) in these inputs.")
        try:
            opts.out_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            return self._setup_failed(f"Cannot create the output folder {opts.out_dir}: {e.strerror or e}.")
        if not os.access(opts.out_dir, os.W_OK):
            return self._setup_failed(f"Cannot write to {opts.out_dir}: permission denied. Choose another folder.")
        manifest = Manifest.load(opts.out_dir) or Manifest(opts.out_dir)
        manifest.begin(self.inputs, opts, len(jobs))
        if manifest.save_error:
            return self._setup_failed(f"Cannot write to {opts.out_dir}: {manifest.save_error}")
        self._save_form()
        self.settings.set_last_dir(Path(self.inputs[0]).parent)
        self._run(jobs, opts, manifest)
        return True

    def _setup_failed(self, message: str) -> bool:
        self.setup_error.setText(message)
        self.setup_error.show()
        return False

    def _rows_for(self, jobs: list[Job], inputs: list[str]) -> list[Row]:
        roots = [Path(p) for p in inputs if Path(p).is_dir()]
        rows = []
        for j in jobs:
            label = j.src.name
            for r in roots:
                try:
                    label = str(j.src.relative_to(r))
                    break
                except ValueError:
                    continue
            rows.append(Row(j, label))
        return rows

    def _run(self, jobs: list[Job], opts: BatchOptions, manifest: Manifest) -> None:
        self.opts, self.manifest = opts, manifest
        self._generation += 1
        rows = self._rows_for(jobs, self.inputs)
        self._left = 0
        for r in rows:
            if not is_done(r.job, opts, manifest):
                self._left += 1
        self.model.set_rows(rows)
        self.table.setCurrentIndex(QModelIndex())
        self.filter_combo.setCurrentIndex(0)
        self.clock = None  # starts with the first photo: loading the models is not part of the rate
        self._is_paused = False
        self.stop_banner.hide()
        self.pages.setCurrentIndex(1)
        if self.worker is not None:
            self.worker.deleteLater()  # the previous run's thread (finished)
        self.worker = BatchThread(self.engine, jobs, opts, manifest, self)
        self.worker.file_started.connect(self._on_started)
        self.worker.file_done.connect(self._on_file)
        self.worker.thumb_ready.connect(self._on_thumb)
        self.worker.paused_changed.connect(self._on_paused)
        self.worker.failed.connect(self._on_failed)
        self.worker.finished.connect(self._on_finished)
        self.pause_btn.setText("Pause")
        self._tick.start()
        self._active = True
        self.worker.start()
        self._update_buttons()
        self._update_times()
        self.running_changed.emit(True)

    def _on_started(self, i: int) -> None:
        if self.clock is None:
            self.clock = BatchClock()
        # One pipeline: the previous photo is now with the encoder. With lanes, every photo in flight
        # is still being worked on by its own lane (each lane writes before it starts the next).
        if self.worker is not None and self.worker.lanes == 1:
            for k, r in enumerate(self.model.rows):
                if r.status == "working" and k != i:
                    self.model.update_row(k, status="saving")
        self.model.update_row(i, status="working", message="")
        if self.table.isVisible():
            self.table.scrollTo(self.proxy.mapFromSource(self.model.index(i, 0)))

    def _on_file(self, i: int, rep: FileReport) -> None:
        skipped = rep.status == "skipped"
        values = dict(status=rep.status, message=rep.message, output=rep.output)
        if skipped and self.manifest is not None and (e := self.manifest.entry(rep.input)):
            values.update(faces=e.get("faces"), seconds=e.get("seconds"), output=e.get("output"),
                          message="done in an earlier run")
        elif rep.status != "cancelled":
            values.update(faces=rep.faces, seconds=rep.seconds)
        if rep.status == "cancelled":
            values.update(status="pending", message="")
        self.model.update_row(i, **values)
        if not skipped and rep.status != "cancelled" and self.clock is not None:
            self.clock.file_processed()
            self._left = max(0, self._left - 1)
        self._update_times()

    def _on_thumb(self, i: int, img: QImage) -> None:
        if 0 <= i < len(self.model.rows) and not img.isNull():
            self.model.update_row(i, thumb=QPixmap.fromImage(img), thumb_asked=True)

    def _load_thumb(self, row: int, path: str) -> None:
        self._thumb_pool.start(_ThumbJob(self._generation, row, path, self._thumb_signals))

    def _on_lazy_thumb(self, generation: int, row: int, img: QImage) -> None:
        if generation == self._generation and not img.isNull() and row < len(self.model.rows):
            self.model.update_row(row, thumb=QPixmap.fromImage(img))

    def toggle_pause(self) -> None:
        if not self.running:
            return
        ev = self.worker.pause_event
        if ev.is_set():
            ev.clear()
            self._is_paused = False
            self.pause_btn.setText("Pause")
            if self.clock:
                self.clock.resume()
        else:
            ev.set()
            self.pause_btn.setText("Pausing…")  # the current photo finishes first
            self.pause_btn.setEnabled(False)
        self._update_times()

    @property
    def paused(self) -> bool:
        return self.running and self.worker.pause_event.is_set()

    def _on_paused(self, paused: bool) -> None:
        self._is_paused = paused
        if paused:
            if self.clock:
                self.clock.pause()
            self.pause_btn.setText("Resume")
            self.pause_btn.setToolTip("Continue with the next photo")
        else:
            self.pause_btn.setText("Pause")
            self.pause_btn.setToolTip("Finish the current photo, then wait")
        self.pause_btn.setEnabled(True)
        self._update_times()

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel_event.set()
            self.worker.pause_event.clear()
            self.cancel_btn.setText("Cancelling…")
            self.cancel_btn.setEnabled(False)
            self.pause_btn.setEnabled(False)
            self.title_label.setText("Cancelling: finishing the current photo…")

    def _on_failed(self, message: str) -> None:
        self.stop_banner.setText(message)
        self.stop_banner.show()

    def _on_finished(self) -> None:
        self._active = False
        self._tick.stop()
        thread = self.worker
        report = thread.report if thread is not None else None
        self.cancel_btn.setText("Cancel")
        for r in self.model.rows:  # prefetched but never started
            if r.status in BUSY:
                r.status = "pending"
        if report is not None:
            if report.stop_reason:
                self.stop_banner.setText(report.stop_reason)
                self.stop_banner.show()
            try:
                report.write(self.opts.out_dir / REPORT_NAME)
            except OSError as e:
                log.warning("could not write the batch report: %s", e)
        self._update_times()
        self._update_buttons()
        self.running_changed.emit(False)
        if self._close_after_stop:
            self._close_after_stop = False
            self.hide()

    # ------------------------------------------------------------------------------------ status text
    def _counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for r in self.model.rows:
            c[r.status] = c.get(r.status, 0) + 1
        return c

    def _update_times(self) -> None:
        rows = self.model.rows
        total = len(rows)
        c = self._counts()
        finished = sum(v for k, v in c.items() if k not in ("pending", *BUSY))
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(finished)
        self.bar.setFormat(f"{finished} of {total}")
        running = self.running
        clock = self.clock
        if running:
            if self.worker.cancel_event.is_set():
                title = "Cancelling: finishing the current photo…"
            elif self._is_paused:
                title = f"Paused — {finished} of {total} photos"
            elif self.worker.pause_event.is_set():
                title = "Pausing after the current photo…"
            elif clock is None:
                title = f"Starting: loading the models… ({total} photo{'s' * (total != 1)})"
            else:
                title = f"Removing masks — photo {min(total, finished + 1)} of {total}"
        elif self.worker is None and self.manifest is not None:
            title = f"Batch in {self.opts.out_dir}" if self.opts else "Batch"
        else:
            left = c.get("pending", 0)
            report = self.worker.report if self.worker is not None else None
            if self.worker is not None and report is None:
                title = "The batch could not run"
            elif report is not None and report.stop_reason:
                title = f"Stopped — {left} photo{'s' * (left != 1)} not done"
            elif left:
                title = f"Cancelled — {finished} of {total} photos done; Resume does the rest"
            else:
                took = f" in {format_duration(clock.elapsed())}" if clock is not None else ""
                title = f"Finished — {total} photo{'s' * (total != 1)}{took}"
        self.title_label.setText(title)
        parts = []
        if clock is not None:
            parts.append(f"Elapsed {format_duration(clock.elapsed())}")
            if running:
                rem = clock.remaining(self._left)
                parts.append("Remaining " + (f"about {format_duration(rem)}" if rem is not None else "estimating…"))
            rate = clock.per_minute()
            if rate:
                parts.append(f"{rate:.1f} photos/min")
        self.time_label.setText("    ".join(parts))
        names = [("done", "done"), ("skipped", "done earlier"), ("no_faces", "no face"), ("no_mask", "no mask"),
                 ("failed", "failed")]
        self.counts_label.setText("  ·  ".join(f"{c[k]} {label}" for k, label in names if c.get(k)))

    def _update_buttons(self) -> None:
        running = self.running
        self.pause_btn.setVisible(running)
        self.cancel_btn.setVisible(running)
        self.pause_btn.setEnabled(running and not self.worker.cancel_event.is_set())
        self.cancel_btn.setEnabled(running and not self.worker.cancel_event.is_set())
        left = any(r.status in ("pending", "failed") for r in self.model.rows)
        self.resume_run_btn.setVisible(not running and left and self.opts is not None)
        self.resume_run_btn.setText("Resume" if any(r.status == "pending" for r in self.model.rows)
                                    else "Retry Failed")
        self.new_btn.setVisible(not running)
        self.open_folder_btn.setEnabled(self.opts is not None and self.opts.out_dir.exists())
        self.close_btn.setText("Hide" if running else "Close")
        self.close_btn.setToolTip("The batch keeps running; File ▸ Batch… shows it again" if running else "")

    # ------------------------------------------------------------------------------------ resume / review
    def resume_run(self) -> None:
        """Run the same batch again: finished photos are skipped, the rest (and failed ones) are done."""
        if self.running or self.opts is None:
            return
        try:
            jobs = plan(self.inputs, self.opts)
        except BatchInputError as e:
            self.stop_banner.setText(str(e))
            self.stop_banner.show()
            return
        manifest = Manifest.load(self.opts.out_dir) or Manifest(self.opts.out_dir)
        manifest.begin(self.inputs, self.opts, len(jobs))
        self._run(jobs, self.opts, manifest)

    def _manifest_jobs(self, m: Manifest) -> tuple[list[Job], BatchOptions] | None:
        opts = m.options()
        missing = [p for p in m.inputs if not Path(p).exists()]
        if missing:
            self._setup_failed(f"Cannot continue: {missing[0]} is no longer there.")
            return None
        try:
            return plan(m.inputs, opts), opts
        except BatchInputError as e:
            self._setup_failed(str(e))
            return None

    def resume_from_manifest(self) -> bool:
        """Continue the unfinished batch recorded in the output folder, with its own inputs and options."""
        m = getattr(self, "_found_manifest", None)
        if m is None or self.running:
            return False
        planned = self._manifest_jobs(m)
        if planned is None:
            return False
        jobs, opts = planned
        self.set_form(m.inputs, opts)
        m.begin(m.inputs, opts, len(jobs))
        self._run(jobs, opts, m)
        return True

    def review_manifest(self) -> None:
        """Show the batch recorded in the output folder (no processing): statuses, thumbnails, open in editor."""
        m = getattr(self, "_found_manifest", None)
        if m is None or self.running:
            return
        planned = self._manifest_jobs(m)
        if planned is None:
            return
        jobs, opts = planned
        self.set_form(m.inputs, opts)
        self.opts, self.manifest, self.worker, self.clock = opts, m, None, None
        self._generation += 1
        rows = self._rows_for(jobs, m.inputs)
        for r in rows:
            e = m.entry(r.job.src)
            if e:
                r.status = e.get("status") if e.get("status") != "cancelled" else "pending"
                r.faces, r.seconds = e.get("faces"), e.get("seconds")
                r.message, r.output = e.get("message", ""), e.get("output")
        self.model.set_rows(rows)
        self.stop_banner.hide()
        self.pages.setCurrentIndex(1)
        self._update_times()
        self._update_buttons()

    def new_batch(self) -> None:
        if self.running:
            return
        self.pages.setCurrentIndex(0)
        self._check_manifest()
        self._update_setup()

    # ------------------------------------------------------------------------------------ review
    def _on_double_click(self, index) -> None:
        self.open_row(self.proxy.mapToSource(index).row())

    def open_row(self, i: int) -> None:
        r = self.model.rows[i]
        output = r.output if r.output and Path(r.output).exists() else None
        self.open_requested.emit(str(r.job.src), output)

    def _open_output_folder(self) -> None:
        if self.opts is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.opts.out_dir)))

    # ------------------------------------------------------------------------------------ closing
    def closeEvent(self, event) -> None:  # noqa: N802
        if self.running and not self._close_after_stop:
            box = QMessageBox(QMessageBox.Icon.Question, "Batch still running",
                              "The batch is still running.", parent=self)
            box.setInformativeText("Keep it running in the background (File ▸ Batch… shows it again), or stop it "
                                   "after the current photo? A stopped batch can be resumed later.")
            keep = box.addButton("Keep Running", QMessageBox.ButtonRole.AcceptRole)
            stop = box.addButton("Stop Batch", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton(QMessageBox.StandardButton.Cancel)
            box.setDefaultButton(keep)
            box.exec()
            if box.clickedButton() is stop:
                self._close_after_stop = True
                self.cancel()
            elif box.clickedButton() is not keep:
                event.ignore()
                return
        event.accept()

    def reject(self) -> None:  # Esc: same as the close button
        self.close()

    def shutdown(self, timeout_ms: int = 60000) -> None:
        """The app is closing: stop after the current photo (the manifest makes it resumable) and wait."""
        if self.worker is not None and self.worker.isRunning():
            self.worker.cancel_event.set()
            self.worker.pause_event.clear()
            self.worker.wait(timeout_ms)
        self._thumb_pool.clear()
        self._thumb_pool.waitForDone(5000)
