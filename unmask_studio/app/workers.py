"""Running slow work (loading, detection, segmentation, inpainting, saving, batches, thumbnails) off the
GUI thread: the app's one threading idiom.

A job is a plain function ``fn(progress, cancel) -> value``. It runs on a QThreadPool; its outcome
comes back to the GUI thread through a queued signal and is handed to the job's callback only if the
document generation it was started for is still the open one: a result computed for a photo the user
has since closed is dropped instead of being painted onto the new one. A job that reports more than
progress (a batch: each photo started and finished) is submitted with ``on_event`` and is called as
``fn(progress, cancel, emit)``; every ``emit(obj)`` reaches ``on_event(obj)`` on the GUI thread, in
order, filtered by generation like the outcome (superqt's ``yielded``, with napari-style staleness).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

from unmask_studio.core.pipeline import Cancelled

# Loads create the new generation and saves have written a file: the user hears about them regardless.
ALWAYS_DELIVERED = ("load", "save", "save_mask", "warmup")

ProgressFn = Callable[[float, str], None]
CancelFn = Callable[[], bool]


_thread_state = threading.local()


def lower_thread_priority() -> None:
    """Run pool threads (and the ONNX/MediaPipe threads they start, which inherit it) at a lower
    scheduling priority, so on a busy 2-core machine the GUI thread gets the CPU when it needs it."""
    if getattr(_thread_state, "lowered", False):
        return
    _thread_state.lowered = True
    if sys.platform.startswith("linux"):  # setpriority on a thread id affects only that thread there
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 8)
        except (OSError, AttributeError):
            pass


@dataclass
class Outcome:
    job_id: int
    generation: int
    value: Any = None
    error: BaseException | None = None
    details: str = ""  # traceback text, for the log
    cancelled: bool = False


class _Signals(QObject):
    # Emitted from pool threads; the receiver lives in the GUI thread, so delivery is queued.
    progress = Signal(int, float, str)
    event = Signal(int, object)  # job id, what the job emitted
    done = Signal(object)


class _Job(QRunnable):
    def __init__(self, job_id: int, generation: int, fn, signals: _Signals, stop: threading.Event,
                 with_events: bool = False):
        super().__init__()
        self.job_id, self.generation, self.fn, self.signals, self.stop = job_id, generation, fn, signals, stop
        self.with_events = with_events
        self._last_progress = 0.0

    def _emit(self, event: Any) -> None:
        try:
            self.signals.event.emit(self.job_id, event)
        except RuntimeError:  # receiver gone (window closed): the job goes on to its cancel check
            pass
        self._last_message = ""

    def _progress(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        # No point flooding the event loop, but a new phase ("Pasting back…") is always shown.
        if now - self._last_progress > 0.05 or fraction >= 1.0 or message != self._last_message:
            self._last_progress, self._last_message = now, message
            try:
                self.signals.progress.emit(self.job_id, float(fraction), message)
            except RuntimeError:  # receiver gone (window closed): just keep going to the cancel check
                pass

    def run(self) -> None:
        out = Outcome(self.job_id, self.generation)
        lower_thread_priority()
        try:
            if self.stop.is_set():
                raise Cancelled()
            extra = (self._emit,) if self.with_events else ()
            out.value = self.fn(self._progress, self.stop.is_set, *extra)
        except Cancelled:
            out.cancelled = True
        except BaseException as e:  # noqa: BLE001 - every failure must reach the GUI, never kill the pool
            out.error, out.details = e, traceback.format_exc()
        try:
            self.signals.done.emit(out)
        except RuntimeError:  # the window was closed and destroyed meanwhile: nobody is listening
            pass


@dataclass
class _Pending:
    kind: str
    on_done: Callable[[Outcome], None]
    stop: threading.Event
    cancellable: bool
    generation: int = 0
    on_event: Callable[[Any], None] | None = None


class JobRunner(QObject):
    """Queues jobs per lane ("io", "engine", or any other name): each lane runs one job at a time, lanes
    run in parallel.

    One engine job at a time keeps memory predictable and the two CPU cores for the model; file I/O has
    its own lane so opening another photo never waits behind a slow inpaint. The batch dialog runs its
    batch on a "batch" lane and its thumbnails on a "thumbs" lane.
    """

    started = Signal(int, str)  # job id, kind
    progress = Signal(int, float, str)
    finished = Signal(int, str)  # job id, kind (also after errors and cancellation)

    def __init__(self, current_generation: Callable[[], int], parent=None):
        super().__init__(parent)
        self._generation = current_generation
        self._signals = _Signals(self)
        self._signals.progress.connect(self.progress)
        self._signals.done.connect(self._on_done)
        self._signals.event.connect(self._on_event)
        self._pools: dict[str, QThreadPool] = {}
        for lane in ("io", "engine"):
            self._pool(lane)
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0

    def _pool(self, lane: str) -> QThreadPool:
        if lane not in self._pools:
            pool = self._pools[lane] = QThreadPool(self)
            pool.setMaxThreadCount(1)
            pool.setThreadPriority(QThread.Priority.LowPriority)  # effective on Windows and macOS
        return self._pools[lane]

    def submit(self, kind: str, fn: Callable[..., Any], on_done: Callable[[Outcome], None],
               lane: str = "engine", cancellable: bool = True, on_event: Callable[[Any], None] | None = None) -> int:
        """Run ``fn(progress, cancel)`` (with ``on_event``: ``fn(progress, cancel, emit)``) on ``lane``."""
        self._next_id += 1
        stop = threading.Event()
        generation = self._generation()
        self._pending[self._next_id] = _Pending(kind, on_done, stop, cancellable, generation, on_event)
        self._pool(lane).start(_Job(self._next_id, generation, fn, self._signals, stop, on_event is not None))
        self.started.emit(self._next_id, kind)
        return self._next_id

    def busy(self, kinds: tuple[str, ...] | None = None) -> bool:
        return any(kinds is None or p.kind in kinds for p in self._pending.values())

    def cancel(self, kinds: tuple[str, ...] | None = None) -> None:
        """Ask running/queued jobs to stop at their next check (saving is never interrupted)."""
        for p in self._pending.values():
            if p.cancellable and (kinds is None or p.kind in kinds):
                p.stop.set()

    def wait(self, msecs: int = -1, lane: str | None = None) -> bool:
        pools = self._pools.values() if lane is None else [self._pool(lane)]
        return all(pool.waitForDone(msecs) for pool in pools)

    def _on_event(self, job_id: int, event: Any) -> None:
        pending = self._pending.get(job_id)
        if pending is not None and pending.on_event is not None and (
                pending.generation == self._generation() or pending.kind in ALWAYS_DELIVERED):
            pending.on_event(event)

    def _on_done(self, out: Outcome) -> None:
        pending = self._pending.pop(out.job_id, None)
        if pending is None:
            return
        try:
            if out.generation == self._generation() or pending.kind in ALWAYS_DELIVERED:
                pending.on_done(out)
        finally:
            self.finished.emit(out.job_id, pending.kind)
