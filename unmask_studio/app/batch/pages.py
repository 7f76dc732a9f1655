"""The batch dialog's two pages, built from small boxes: ``BatchPages`` makes the widgets (and names
them, e.g. ``start_btn``, ``out_edit``, ``table``) and connects them to the dialog's handlers, which
``dialog.BatchDialog`` defines. Wording and limits come from the options' own descriptions."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QFrame, QGroupBox, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QListWidget, QProgressBar, QPushButton, QSpinBox,
                               QTableView, QVBoxLayout, QWidget)

from unmask_studio.app.batch.status_text import FILTERS
from unmask_studio.app.batch.table import THUMB_H, THUMB_W
from unmask_studio.core.batch import FORMAT_LABELS, OUTPUT_FORMATS, option_default, option_info

FORMATS = [("Same as each photo", None)] + [(FORMAT_LABELS[f], f) for f in OUTPUT_FORMATS]


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


def _check(name: str) -> QCheckBox:
    """A checkbox for the boolean option ``name``, worded and explained as the option describes itself."""
    info = option_info(name)
    box = QCheckBox(info.label)
    if not info.negated:  # a negated option's help describes the command line's "off" flag
        box.setToolTip(info.help[0].upper() + info.help[1:])
    return box


class BatchPages:
    """The setup page and the progress page of BatchDialog (a mixin: the handlers are the dialog's)."""

    # ------------------------------------------------------------------------------------ setup page
    def _make_setup_page(self) -> QWidget:
        page = QWidget()
        v = QVBoxLayout(page)
        v.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self._make_inputs_box(), 1)
        self.count_label = QLabel()
        self.count_label.setWordWrap(True)
        v.addWidget(self.count_label)
        v.addWidget(self._make_output_box())
        v.addWidget(self._make_options_box())
        v.addWidget(self._make_resume_banner())
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

    def _make_inputs_box(self) -> QGroupBox:
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
        return box

    def _make_output_box(self) -> QGroupBox:
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
        self.name_edit.setPlaceholderText(option_default("name_pattern"))
        help_ = option_info("name_pattern").help
        self.name_edit.setToolTip(help_[0].upper() + help_[1:] + ".")
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
        self.format_combo.setToolTip(option_info("out_format").help.capitalize())
        self.format_combo.currentIndexChanged.connect(self._update_setup)
        self.quality_spin = QSpinBox()
        self.quality_spin.setRange(*option_info("quality").range)
        self.quality_spin.setValue(option_default("quality"))
        self.quality_spin.setToolTip(option_info("quality").help)
        row.addWidget(self.format_combo)
        row.addSpacing(16)
        row.addWidget(QLabel("Quality:"))
        row.addWidget(self.quality_spin)
        row.addStretch(1)
        form.addRow("Format:", row)
        return box

    def _make_options_box(self) -> QGroupBox:
        box = QGroupBox("Options")
        g = QVBoxLayout(box)
        self.recursive_check = _check("recursive")
        self.metadata_check = _check("keep_metadata")
        self.masks_check = _check("save_masks")
        self.skip_check = _check("skip_unmasked")
        self.overwrite_check = _check("overwrite")  # never remembered: replacing outputs is a choice each time
        self.recursive_check.toggled.connect(self._update_setup)
        for c in (self.recursive_check, self.metadata_check, self.masks_check, self.skip_check, self.overwrite_check):
            g.addWidget(c)
        g.addLayout(self._make_references_row())
        return box

    def _make_references_row(self) -> QHBoxLayout:
        """``references_dir``: a reference photo per photo, same file name (issue 12)."""
        info = option_info("references_dir")
        row = QHBoxLayout()
        self.references_edit = QLineEdit()
        self.references_edit.setPlaceholderText("none: faces are restored without a reference photo")
        self.references_edit.setToolTip(info.help[0].upper() + info.help[1:] + ".")
        self.references_edit.textChanged.connect(self._update_setup)
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose_references)
        row.addWidget(QLabel(info.label + ":"))
        row.addWidget(self.references_edit, 1)
        row.addWidget(choose)
        return row

    def _make_resume_banner(self) -> QFrame:
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
        return self.resume_frame

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
        v.addWidget(self._make_table(), 1)
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
        self.grid_btn = QPushButton("Review as Grid…")
        self.grid_btn.setToolTip("Before | after thumbnails of every photo, to find the ones to touch up")
        self.grid_btn.clicked.connect(self.show_review_grid)
        row.addWidget(self.grid_btn)
        v.addLayout(row)
        v.addLayout(self._make_run_buttons())
        return page

    def _make_table(self) -> QTableView:
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
        for col, width in enumerate((300, 110, 55, 70)):
            self.table.setColumnWidth(col, width)
        self.table.doubleClicked.connect(self._on_double_click)
        return self.table

    def _make_run_buttons(self) -> QHBoxLayout:
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
        return row

