"""File ▸ Batch…: remove masks from whole folders, watch it happen, review the results.

Two pages. **Setup**: photos and folders to process, the output folder, the naming pattern and the
options (the same ones as ``unmask-studio batch``, described once in ``core.batch.options``).
**Progress**: a row per photo (thumbnail, file, status, faces, seconds, message), elapsed and
remaining time, Pause / Resume / Cancel; when the batch is over the same table is the review:
double-click a row to open that photo in the editor with its result, ready to refine.

The batch runs as a JobRunner job (``BatchRun``), never on the GUI thread. Every batch writes
``OUT/.unmask-batch.json`` after each photo; choosing an output folder that holds an unfinished one
offers to resume it (after Cancel, a crash or closing the app), a finished one can be reviewed.
"""
from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QModelIndex, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QPixmap
from PySide6.QtWidgets import (QDialog, QFileDialog, QListWidgetItem, QMessageBox, QStackedWidget, QStyle, QVBoxLayout,
                               QWidget)

from unmask_studio.app.batch import status_text
from unmask_studio.app.batch.pages import BatchPages
from unmask_studio.app.batch.run import BatchRun
from unmask_studio.app.batch.status_text import BUSY, SAVING, RunState
from unmask_studio.app.batch.table import BatchModel, Row, StatusFilter
from unmask_studio.app.settings import Settings
from unmask_studio.app.workers import JobRunner
from unmask_studio.core.batch import (REPORT_NAME, BatchInputError, BatchOptions, FileReport, Job, Manifest, Status,
                                      batch_engine, check_name_pattern, is_done, option_default, output_name, plan,
                                      prepare_batch)
from unmask_studio.core.io import SUPPORTED_EXTENSIONS

log = logging.getLogger(__name__)

# Native choosers, kept as module functions so tests can replace them.
def ask_folder(parent: QWidget, title: str, start: str) -> str | None:
    return QFileDialog.getExistingDirectory(parent, title, start) or None


def ask_photos(parent: QWidget, start: str) -> list[str]:
    filt = "Images ({})".format(" ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS))
    files, _ = QFileDialog.getOpenFileNames(parent, "Add photos", start, f"{filt};;All files (*)")
    return files


class BatchDialog(BatchPages, QDialog):
    open_requested = Signal(str, object)  # input photo, its output (or None): open in the editor
    running_changed = Signal(bool)

    def __init__(self, settings: Settings, engine_factory=batch_engine, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Batch — Unmask Studio")
        self.setModal(False)
        # A window of its own, not one tied to the editor: a dialog transient for its parent is kept above
        # it by the window manager (and by Windows/macOS for an owned window), so a photo double-clicked
        # here would open behind the table. The parent still owns (and deletes) it.
        self.winId()
        self.windowHandle().setTransientParent(None)
        self.settings = settings
        self.worker = BatchRun(engine_factory, self)
        self.worker.file_started.connect(self._on_started)
        self.worker.file_done.connect(self._on_file)
        self.worker.thumb_ready.connect(self._on_thumb)
        self.worker.lazy_thumb.connect(self._on_thumb)
        self.worker.paused_changed.connect(self._on_paused)
        self.worker.failed.connect(self._on_failed)
        self.worker.planned.connect(self._on_planned)
        self.worker.refused.connect(self._on_refused)
        self._on_refusal = self._setup_failed  # where the running start's refusal goes
        self.worker.finished.connect(self._on_finished)
        self.inputs: list[str] = []
        self.opts: BatchOptions | None = None
        self.manifest: Manifest | None = None
        self._not_processed: list = []  # what the last plan left out of the inputs, for the report
        self._left = 0  # photos still to process (not counting ones already done earlier)
        self._close_after_stop = False
        self._found_manifest: Manifest | None = None
        self._count_cache: tuple | None = None  # (key, photos or None, error, left out) of the last count
        # Counting walks the input folders (seconds for a photo library): on a JobRunner lane of its own,
        # started once typing pauses (the output folder is part of the plan), one count at a time.
        self._planner = JobRunner(lambda: 0, self)
        self._count_wanted: tuple | None = None  # (key, options) the form needs counted
        self._counting = False
        self._count_timer = QTimer(self, singleShot=True, interval=150, timeout=self._submit_count)
        self.model = BatchModel(self)
        self.proxy = StatusFilter(self)
        self.proxy.setSourceModel(self.model)
        self.model.thumb_wanted.connect(self.worker.load_thumb)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._make_setup_page())
        self.pages.addWidget(self._make_progress_page())
        lay = QVBoxLayout(self)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.addWidget(self.pages)
        self._tick = QTimer(self, interval=1000, timeout=self._update_times)
        self._restore_form()
        self.resize(980, 680)

    @property
    def clock(self):
        return self.worker.clock

    # ------------------------------------------------------------------------------------ form
    def _restore_form(self) -> None:
        q = self.settings.q

        def flag(key, default):
            v = q.value(key, default)
            return v.lower() in ("true", "1") if isinstance(v, str) else bool(v)

        for box, name in ((self.recursive_check, "recursive"), (self.metadata_check, "keep_metadata"),
                          (self.masks_check, "save_masks"), (self.skip_check, "skip_unmasked")):
            box.setChecked(flag(f"batch/{name}", option_default(name)))
        self.name_edit.setText(str(q.value("batch/name_pattern", option_default("name_pattern"))))
        i = self.format_combo.findData(q.value("batch/format", None) or None)
        self.format_combo.setCurrentIndex(max(0, i))
        try:
            self.quality_spin.setValue(int(q.value("batch/quality", option_default("quality"))))
        except (TypeError, ValueError):
            pass
        self.out_edit.setText(str(q.value("batch/output", "") or ""))
        self.references_edit.setText(str(q.value("batch/references_dir", "") or ""))
        self._update_setup()

    def _save_form(self) -> None:
        s = self.settings
        for key, value in (("recursive", self.recursive_check.isChecked()),
                           ("keep_metadata", self.metadata_check.isChecked()),
                           ("save_masks", self.masks_check.isChecked()),
                           ("skip_unmasked", self.skip_check.isChecked()),
                           ("name_pattern", self.name_edit.text()), ("format", self.format_combo.currentData() or ""),
                           ("quality", self.quality_spin.value()), ("output", self.out_edit.text()),
                           ("references_dir", self.references_edit.text())):
            s.set_value(f"batch/{key}", value)

    def form_options(self) -> BatchOptions:
        return BatchOptions(out_dir=Path(self.out_edit.text().strip()).expanduser(),
                            recursive=self.recursive_check.isChecked(),
                            save_masks=self.masks_check.isChecked(), out_format=self.format_combo.currentData(),
                            quality=self.quality_spin.value(), skip_unmasked=self.skip_check.isChecked(),
                            name_pattern=self.name_edit.text().strip() or option_default("name_pattern"),
                            keep_metadata=self.metadata_check.isChecked(), overwrite=self.overwrite_check.isChecked(),
                            references_dir=Path(refs).expanduser() if (refs := self.references_edit.text().strip())
                            else None)

    def set_form(self, inputs: list[str], opts: BatchOptions) -> None:
        self.input_list.clear()
        self.inputs = []
        self.add_inputs(inputs)
        self.out_edit.setText(str(opts.out_dir))
        self.recursive_check.setChecked(opts.recursive)
        self.metadata_check.setChecked(opts.keep_metadata)
        self.masks_check.setChecked(opts.save_masks)
        self.skip_check.setChecked(opts.skip_unmasked)
        self.overwrite_check.setChecked(opts.overwrite)
        self.name_edit.setText(opts.name_pattern)
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(opts.out_format)))
        self.quality_spin.setValue(opts.quality)
        self.references_edit.setText(str(opts.references_dir or ""))

    def add_inputs(self, paths) -> None:
        style = self.style()
        for p in paths:
            p = str(Path(p).expanduser())
            if not p or p in self.inputs:
                continue
            self.inputs.append(p)
            icon = QStyle.StandardPixmap.SP_DirIcon if Path(p).is_dir() else QStyle.StandardPixmap.SP_FileIcon
            item = QListWidgetItem(style.standardIcon(icon), p)
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

    def _choose_references(self) -> None:
        folder = ask_folder(self, "Reference photos folder (one per photo, same file name)",
                            self.references_edit.text() or self.settings.last_dir())
        if folder:
            self.references_edit.setText(folder)

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
        when = status_text.local_time(m.data.get("updated", ""))  # stored in UTC, shown in local time
        if m.complete:
            self.resume_label.setText(f"This folder holds a finished batch ({m.finished_count()} photos, {when}).")
        else:
            self.resume_label.setText(f"This folder holds an unfinished batch: {m.finished_count()} of {m.total} "
                                      f"photos done (last change {when}). Resume it to do the rest.")
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
        n, left_out = None, []
        if not error and self.inputs:
            n, error, left_out = self._count(opts)
        if n is not None:
            self.count_label.setText(status_text.inputs_summary(self.inputs, n, left_out))
        elif not self.inputs:
            self.count_label.setText("Add folders or photos (or drop them here).")
        else:
            self.count_label.setText("" if error else "Counting photos…")
        self.setup_error.setText(error)
        self.setup_error.setVisible(bool(error))
        self.quality_spin.setEnabled(self.format_combo.currentData() in (None, "jpg", "webp"))
        self.start_btn.setEnabled(bool(n) and bool(self.out_edit.text().strip()) and not self.running)

    def _count(self, opts: BatchOptions) -> tuple[int | None, str, list]:
        """Photos the inputs hold, an error, and what cannot be processed; (None, "", []) while counting.
        Cached per inputs, recursion and output folder; a new count runs in the background."""
        key = (tuple(self.inputs), opts.recursive, self.out_edit.text().strip())
        if self._count_cache is not None and self._count_cache[0] == key:
            self._count_wanted = None
            return self._count_cache[1:]
        self._count_wanted = (key, opts)
        self._count_timer.start()  # restarts on every keystroke
        return None, "", []

    def _submit_count(self) -> None:
        if self._count_wanted is None or self._counting:
            return  # _on_counted counts what is wanted by then
        key, opts = self._count_wanted
        probe = opts if key[2] else BatchOptions(**{**opts.__dict__, "out_dir": Path("/nonexistent/unmask-out")})

        def work(_progress, _cancel):
            left_out: list = []
            try:
                return key, len(plan(list(key[0]), probe, left_out)), "", left_out
            except BatchInputError as e:
                return key, None, str(e), []

        self._counting = True
        self._planner.submit("plan", work, self._on_counted, lane="plan")

    def _on_counted(self, out) -> None:
        self._counting = False
        if out.value is not None:
            self._count_cache = out.value
        elif out.error is not None:  # not a bad input but a failure (e.g. an I/O error): say it, in one line
            self._count_cache = (self._count_wanted[0] if self._count_wanted else None, None,
                                 f"Cannot list the photos: {out.error}", [])
        if self._count_wanted is not None and self._count_cache is not None \
                and self._count_cache[0] == self._count_wanted[0]:
            self._count_wanted = None
        self._submit_count()  # the form changed meanwhile
        self._update_setup()

    # ------------------------------------------------------------------------------------ running
    @property
    def running(self) -> bool:
        """From Start until the dialog has taken in the end of the batch."""
        return self.worker.running

    def start(self) -> bool:
        """Start a batch with the form's settings. Returns False (with a message) if it cannot; inputs
        the planning refuses (on the batch thread) bring the setup page back with the message."""
        if self.running:
            return False
        if not self.inputs:
            return self._setup_failed("Add at least one folder or photo.")
        if not self.out_edit.text().strip():
            return self._setup_failed("Choose an output folder.")
        if not self._prepare_and_run(self.inputs, self.form_options(), self._setup_failed):
            return False
        self._save_form()
        self.settings.set_last_dir(Path(self.inputs[0]).parent)
        return True

    def _setup_failed(self, message: str) -> bool:
        self.setup_error.setText(message)
        self.setup_error.show()
        return False

    def _prepare_and_run(self, inputs: list[str], opts: BatchOptions, on_error) -> bool:
        """The one way a batch starts (Start, Resume, Retry, resume from a folder): prepare_batch, then run,
        both on the batch thread (prepare_batch lists every photo: 2.3 s on the GUI thread for a
        3,000-photo library). The table fills in once the photos are known; a refusal of the inputs
        goes to ``on_error``."""
        inputs = list(inputs)

        def prepare():
            prepared = prepare_batch(inputs, opts)
            rows = self._rows_for(prepared.jobs, inputs)
            return prepared, (rows, sum(not is_done(r.job, opts, prepared.manifest) for r in rows))

        self.inputs, self.opts, self.manifest, self._left = inputs, opts, None, 0
        self._on_refusal = on_error
        self.worker.start(prepare)
        self._show_table([])
        self.pause_btn.setText("Pause")
        self._tick.start()
        self._update_buttons()
        self._update_times()
        self.running_changed.emit(True)
        return True

    def _on_planned(self, value) -> None:
        prepared, (rows, left) = value
        self._not_processed, self.manifest, self._left = prepared.not_processed, prepared.manifest, left
        self.model.set_rows(rows)
        self._update_buttons()
        self._update_times()

    def _on_refused(self, message: str) -> None:
        if self._on_refusal == self._setup_failed:
            self.pages.setCurrentIndex(0)
        self._on_refusal(message)

    def _rows_for(self, jobs: list[Job], inputs: list[str]) -> list[Row]:
        roots = [Path(p) for p in inputs if Path(p).is_dir()]
        rows = []
        for j in jobs:
            label = j.src.name
            for r in roots:
                if r in j.src.parents:
                    label = str(j.src.relative_to(r))
                    break
            rows.append(Row(j, label))
        return rows

    def _show_table(self, rows: list[Row]) -> None:
        self.model.set_rows(rows)
        self.table.setCurrentIndex(QModelIndex())
        self.filter_combo.setCurrentIndex(0)
        self.stop_banner.hide()
        self.pages.setCurrentIndex(1)

    def _on_started(self, i: int) -> None:
        # One pipeline: the previous photo is now with the encoder. With lanes, every photo in flight
        # is still being worked on by its own lane (each lane writes before it starts the next).
        if self.worker.lanes == 1:
            for k, r in enumerate(self.model.rows):
                if r.status == Status.WORKING and k != i:
                    self.model.update_row(k, status=SAVING)
        self.model.update_row(i, status=Status.WORKING, message="")
        if self.table.isVisible():
            self.table.scrollTo(self.proxy.mapFromSource(self.model.index(i, 0)))

    def _on_file(self, i: int, rep: FileReport) -> None:
        values = dict(status=rep.status, message=rep.message, output=rep.output, notes=rep.notes)
        if rep.status == Status.SKIPPED and self.manifest is not None and (e := self.manifest.entry(rep.input)):
            values.update(faces=e.get("faces"), seconds=e.get("seconds"), output=e.get("output"),
                          message="done in an earlier run")
        elif rep.status == Status.CANCELLED:
            values.update(status=Status.PENDING, message="")
        else:
            values.update(faces=rep.faces, seconds=rep.seconds)
        if rep.status not in (Status.SKIPPED, Status.CANCELLED):  # it was one of the photos left to do
            self._left = max(0, self._left - 1)
        self.model.update_row(i, **values)
        self._update_times()

    def _on_thumb(self, i: int, img: QImage) -> None:
        if 0 <= i < len(self.model.rows) and not img.isNull():
            self.model.update_row(i, thumb=QPixmap.fromImage(img), thumb_asked=True)

    def toggle_pause(self) -> None:
        if not self.running:
            return
        self.worker.toggle_pause()
        if self.worker.state == RunState.PAUSING:
            self.pause_btn.setText("Pausing…")  # the current photo finishes first
            self.pause_btn.setEnabled(False)
        else:
            self.pause_btn.setText("Pause")
        self._update_times()

    @property
    def paused(self) -> bool:
        return self.worker.state in (RunState.PAUSING, RunState.PAUSED)

    def _on_paused(self, paused: bool) -> None:
        self.pause_btn.setText("Resume" if paused else "Pause")
        self.pause_btn.setToolTip("Continue with the next photo" if paused else "Finish the current photo, then wait")
        self.pause_btn.setEnabled(True)
        self._update_times()

    def cancel(self) -> None:
        if self.running:
            self.worker.cancel()
            self.cancel_btn.setText("Cancelling…")
            self.cancel_btn.setEnabled(False)
            self.pause_btn.setEnabled(False)
            self._update_times()

    def _on_failed(self, message: str) -> None:
        self.stop_banner.setText(message)
        self.stop_banner.show()

    def _on_finished(self) -> None:
        self._tick.stop()
        report = self.worker.report
        self.cancel_btn.setText("Cancel")
        for r in self.model.rows:  # prefetched but never started
            if r.status in BUSY:
                r.status = Status.PENDING
        if report is not None:
            if report.stop_reason:
                self.stop_banner.setText(report.stop_reason)
                self.stop_banner.show()
            report.not_processed = self._not_processed
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
    def _update_times(self) -> None:
        c, total = self.model.counts(), len(self.model.rows)
        finished = total - sum(c.get(k, 0) for k in (Status.PENDING, *BUSY))
        self.bar.setRange(0, max(1, total))
        self.bar.setValue(finished)
        self.bar.setFormat(f"{finished} of {total}")
        clock = self.clock
        self.title_label.setText(status_text.title(
            self.worker.state, finished, total, left=c.get(Status.PENDING, 0),
            elapsed=clock.elapsed() if clock is not None else None,
            folder=self.opts.out_dir if self.opts is not None else None))
        self.time_label.setText(status_text.times_line(clock, self._left, self.running))
        self.counts_label.setText(status_text.counts_line(c))

    def _update_buttons(self) -> None:
        running, cancelling = self.running, self.worker.control.cancelled
        self.pause_btn.setVisible(running)
        self.cancel_btn.setVisible(running)
        self.pause_btn.setEnabled(running and not cancelling)
        self.cancel_btn.setEnabled(running and not cancelling)
        left = any(r.status in (Status.PENDING, Status.FAILED) for r in self.model.rows)
        self.resume_run_btn.setVisible(not running and left and self.opts is not None)
        self.resume_run_btn.setText("Resume" if any(r.status == Status.PENDING for r in self.model.rows)
                                    else "Retry Failed")
        self.new_btn.setVisible(not running)
        self.open_folder_btn.setEnabled(self.opts is not None and self.opts.out_dir.exists())
        self.close_btn.setText("Hide" if running else "Close")
        self.close_btn.setToolTip("The batch keeps running; File ▸ Batch… shows it again" if running else "")

    # ------------------------------------------------------------------------------------ resume / review
    def _banner(self, message: str) -> None:
        self.stop_banner.setText(message)
        self.stop_banner.show()

    def resume_run(self) -> None:
        """Run the same batch again: finished photos are skipped, the rest (and failed ones) are done."""
        if not self.running and self.opts is not None:
            self._prepare_and_run(self.inputs, self.opts, self._banner)

    def _recorded_options(self, m: Manifest) -> BatchOptions | None:
        missing = [p for p in m.inputs if not Path(p).exists()]
        if missing:
            self._setup_failed(f"Cannot continue: {missing[0]} is no longer there.")
            return None
        return m.options()

    def resume_from_manifest(self) -> bool:
        """Continue the unfinished batch recorded in the output folder, with its own inputs and options."""
        m = self._found_manifest
        if m is None or self.running or (opts := self._recorded_options(m)) is None:
            return False
        self.set_form(m.inputs, opts)
        return self._prepare_and_run(m.inputs, opts, self._setup_failed)

    def review_manifest(self) -> None:
        """Show the batch recorded in the output folder (no processing): statuses, thumbnails, open in editor."""
        m = self._found_manifest
        if m is None or self.running or (opts := self._recorded_options(m)) is None:
            return
        try:
            jobs = plan(m.inputs, opts)
        except BatchInputError as e:
            self._setup_failed(str(e))
            return
        self.set_form(m.inputs, opts)
        self.opts, self.manifest = opts, m
        self.worker.new_table()
        rows = self._rows_for(jobs, m.inputs)
        for r in rows:
            if e := m.entry(r.job.src):
                r.status = e.get("status") if e.get("status") != Status.CANCELLED else Status.PENDING
                r.faces, r.seconds = e.get("faces"), e.get("seconds")
                r.message, r.output, r.notes = e.get("message", ""), e.get("output"), e.get("notes", [])
        self._show_table(rows)
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

    def show_review_grid(self):
        """Before | after thumbnails of this batch's photos (app/batch/review_grid.py)."""
        from unmask_studio.app.batch.review_grid import ReviewGrid
        if getattr(self, "review_grid", None) is None:
            self.review_grid = ReviewGrid(self.model, self.worker.runner, self)
            self.review_grid.open_requested.connect(self.open_requested)
        self.review_grid.show()
        self.review_grid.raise_()
        return self.review_grid

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
        self.worker.shutdown(timeout_ms)
