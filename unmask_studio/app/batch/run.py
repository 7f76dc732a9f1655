"""The batch dialog's controller: ``BatchRun`` runs one batch at a time as a JobRunner job on the
"batch" lane (thumbnails go on the "thumbs" lane), owns the lazily made engine, the BatchControl and
the BatchClock, and turns what the core batch reports (on its own threads) into Qt signals on the GUI
thread. ``state`` says where the batch stands, in one value."""
from __future__ import annotations

import logging
import threading
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage

from unmask_studio.app.batch.status_text import RunState
from unmask_studio.app.batch.table import thumb_from_file, thumb_image
from unmask_studio.app.workers import JobRunner, Outcome
from unmask_studio.core.batch import (BatchClock, BatchControl, BatchInputError, BatchListener, BatchPlan,
                                      BatchReport, Status, batch_lanes, run_batch)
from unmask_studio.core.pipeline import Engine

log = logging.getLogger(__name__)


class _Events(BatchListener):
    """Core listener -> the job's event channel (called on batch threads; emit is thread-safe)."""

    def __init__(self, emit):
        self.emit = emit

    def started(self, i, job):
        self.emit(("started", i))

    def image(self, i, rgb):
        try:
            self.emit(("thumb", i, thumb_image(rgb)))  # made here: the GUI thread only takes a QImage
        except Exception:  # noqa: BLE001 - a missing preview is not worth stopping for
            log.exception("thumbnail failed")

    def finished(self, i, report):
        self.emit(("file", i, report))

    def paused(self, paused):
        self.emit(("paused", paused))


class BatchRun(QObject):
    """Runs the dialog's batches, one at a time. Signals arrive on the GUI thread."""

    file_started = Signal(int)
    file_done = Signal(int, object)  # row, FileReport
    thumb_ready = Signal(int, QImage)  # row, thumbnail of its written image
    lazy_thumb = Signal(int, QImage)  # row, thumbnail asked for with load_thumb
    paused_changed = Signal(bool)
    planned = Signal(object)  # what start()'s prepare() returned, before the first photo starts
    refused = Signal(str)  # prepare() refused the inputs (BatchInputError): nothing ran
    failed = Signal(str)  # the batch could not run at all (e.g. a model is missing)
    finished = Signal()

    def __init__(self, engine_factory: Callable[[], Engine], parent=None):
        super().__init__(parent)
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self.generation = 0  # bumps with every table reset: late events and thumbnails of an old table are dropped
        self.runner = JobRunner(lambda: self.generation, self)
        self.control = BatchControl()
        self.clock: BatchClock | None = None
        self.report: BatchReport | None = None
        self.lanes = batch_lanes()
        self._job: int | None = None  # the running batch's job id
        self._paused = False
        self._failed = False

    # --- the engine: made on the batch thread the first time (loading must not block the GUI), then kept
    def engine(self) -> Engine:
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    # --- state
    @property
    def state(self) -> RunState:
        if self._job is not None:
            if self.control.cancelled:
                return RunState.CANCELLING
            if self._paused:
                return RunState.PAUSED
            if self.control.pause_requested:
                return RunState.PAUSING
            return RunState.STARTING if self.clock is None else RunState.RUNNING
        if self._failed:
            return RunState.FAILED
        if self.report is None:
            return RunState.IDLE
        return RunState.STOPPED if self.report.stop_reason else RunState.OVER

    @property
    def running(self) -> bool:
        return self._job is not None

    def new_table(self) -> None:
        """The table is rebuilt: forget the last run; its late thumbnails no longer apply."""
        self.generation += 1
        self.clock, self.report, self._failed, self._paused = None, None, False, False

    # --- control
    def start(self, prepare: Callable[[], tuple[BatchPlan, object]]) -> None:
        """Run a batch. ``prepare()`` runs first, on the batch thread too (listing a photo library and
        reading its manifest took 2.3 s for 3,000 photos): it returns the BatchPlan and whatever else the
        dialog wants computed there, which ``planned`` delivers before the first photo starts."""
        self.new_table()
        self.control = BatchControl()
        control, lanes = self.control, self.lanes

        def work(_progress, _cancel, emit) -> BatchReport:
            prepared, extra = prepare()
            emit(("planned", (prepared, extra)))
            engine = self.engine()
            if hasattr(engine, "warm_up"):  # load the models now, not inside the first photo's time
                engine.warm_up()
            return run_batch(engine, prepared.jobs, prepared.opts, _Events(emit), control=control,
                             manifest=prepared.manifest, lanes=lanes)

        self._job = self.runner.submit("batch", work, self._on_done, lane="batch", on_event=self._on_event)

    def toggle_pause(self) -> None:
        if not self.running:
            return
        if self.control.pause_requested:
            self.control.resume()
            self._paused = False
            if self.clock:
                self.clock.resume()
        else:
            self.control.pause()

    def cancel(self) -> None:
        self.control.cancel()

    def load_thumb(self, row: int, path: str) -> None:
        self.runner.submit("thumb", lambda _p, _c: thumb_from_file(path),
                           lambda out: self._on_lazy_thumb(row, out), lane="thumbs")

    def shutdown(self, timeout_ms: int = 60000) -> None:
        """The app is closing: stop after the photos in progress (the manifest makes it resumable) and wait."""
        self.control.cancel()
        self.runner.wait(timeout_ms, lane="batch")
        self.runner.wait(5000, lane="thumbs")

    # --- from the job (GUI thread)
    def _on_event(self, event: tuple) -> None:
        kind, *args = event
        if kind == "planned":
            self.planned.emit(args[0])
        elif kind == "started":
            if self.clock is None:
                self.clock = BatchClock()
            self.file_started.emit(args[0])
        elif kind == "file":
            i, rep = args
            if self.clock is not None and rep.status not in (Status.SKIPPED, Status.CANCELLED):
                self.clock.file_processed()
            self.file_done.emit(i, rep)
        elif kind == "thumb":
            self.thumb_ready.emit(*args)
        elif kind == "paused":
            self._paused = args[0]
            if self.clock:
                self.clock.pause() if args[0] else self.clock.resume()
            self.paused_changed.emit(args[0])

    def _on_done(self, out: Outcome) -> None:
        self._job = None
        if isinstance(out.error, BatchInputError):  # a message for the user, not a failure
            self.refused.emit(str(out.error))
        elif out.error is not None:
            log.error("batch failed:\n%s", out.details)
            self._failed = True
            self.failed.emit(f"The batch could not run: {out.error}")
        else:
            self.report = out.value
        self.finished.emit()

    def _on_lazy_thumb(self, row: int, out: Outcome) -> None:
        if out.value is not None and not out.value.isNull():
            self.lazy_thumb.emit(row, out.value)


