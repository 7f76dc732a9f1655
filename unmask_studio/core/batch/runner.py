"""Running a planned batch: ``run_batch(engine, jobs, opts, listener, control=..., manifest=...)``.

Three schedulers, which write byte-identical files (tests/test_cli.py): sequential (the reference,
one photo at a time), one pipeline (the next photo decoded and the previous one encoded while the
engine works: a machine with one core) and lanes (``lanes`` photos each going through load -> process
-> write on its own thread: two or more cores). Reports always come in job order.
"""
from __future__ import annotations

import os
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from unmask_studio.core.batch.manifest import Manifest, precheck
from unmask_studio.core.batch.options import BatchOptions
from unmask_studio.core.batch.planning import Job
from unmask_studio.core.batch.references import BatchReferences
from unmask_studio.core.batch.report import BatchReport, FileReport, Status
from unmask_studio.core.batch.stages import PhotoInFlight, load, process, write
from unmask_studio.core.pipeline import Engine, Options


def batch_threads() -> int:
    """onnxruntime threads for a pipelined batch: the decoder and the encoder of the neighbouring photos
    get a core each, the model the rest. On 2 cores this is 1, measured faster than 2 by
    benchmarks/batch_speed.py (2 threads also spin-wait, burning CPU the other stages need)."""
    return max(1, (os.cpu_count() or 1) - 2)


def batch_lanes() -> int:
    """Photos in flight at once for a pipelined batch: two on two or more cores. One pipeline keeps
    only ~1.5 of 2 cores busy (its stages are unequal and partly hold the GIL); two lanes keep ~1.8
    busy, for ~1.25x the photos per minute (benchmarks/batch_speed.py). Each lane holds one photo, so
    memory stays bounded (a 100-photo batch of 24 MP JPEGs peaked at 853 MB)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def batch_engine(grow_px: float | None = None) -> Engine:
    """The engine a batch runs on, for the CLI and the dialog alike: onnxruntime threads sized for
    the pipeline (same outputs, faster next to the decoders and encoders of the other photos)."""
    options = Options(threads=batch_threads())
    if grow_px is not None:
        options.grow_px = grow_px
    return Engine(options)


class BatchControl:
    """Cancel or pause a running batch, from any thread. Cancel: no new photo starts, those in
    progress finish (or stop at the engine's next check) and nothing half-written remains. Pause: no
    new photo starts until ``resume``; those in progress finish and are written."""

    def __init__(self):
        self._cancel, self._pause = threading.Event(), threading.Event()

    def cancel(self) -> None:
        self._cancel.set()
        self._pause.clear()

    def pause(self) -> None:
        self._pause.set()

    def resume(self) -> None:
        self._pause.clear()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    @property
    def pause_requested(self) -> bool:
        return self._pause.is_set()


class BatchListener:
    """What a running batch tells its caller. Override what you need. Every call comes from a batch
    thread (the one that called run_batch, or a lane), never from a GUI thread: hand the news over,
    do not block."""

    def started(self, i: int, job: Job) -> None:
        """The engine starts on ``jobs[i]``."""

    def image(self, i: int, rgb: np.ndarray) -> None:
        """``jobs[i]``'s written image (or the photo itself when nothing changed); do not keep ``rgb``."""

    def finished(self, i: int, report: FileReport) -> None:
        """``jobs[i]`` is over (skipped ones too), in job order; the manifest already knows."""

    def paused(self, paused: bool) -> None:
        """The batch has stopped for a pause (True) or goes on (False)."""


@dataclass
class Callbacks(BatchListener):
    """A listener made of plain functions (None: not interested)."""

    on_start: Callable[[int, Job], None] | None = None
    on_image: Callable[[int, np.ndarray], None] | None = None
    on_file: Callable[[int, FileReport], None] | None = None
    on_paused: Callable[[bool], None] | None = None

    def started(self, i, job):
        if self.on_start:
            self.on_start(i, job)

    def image(self, i, rgb):
        if self.on_image:
            self.on_image(i, rgb)

    def finished(self, i, report):
        if self.on_file:
            self.on_file(i, report)

    def paused(self, paused):
        if self.on_paused:
            self.on_paused(paused)


def run_batch(engine: Engine, jobs: list[Job], opts: BatchOptions, listener: BatchListener | None = None, *,
              control: BatchControl | None = None, manifest: Manifest | None = None, lanes: int = 1,
              pipelined: bool = True, references: BatchReferences | None = None) -> BatchReport:
    """Process ``jobs`` (from ``plan``/``prepare_batch``) and return the report.

    ``listener`` hears each photo start and finish (see BatchListener for threads); ``control``
    cancels or pauses it from another thread. ``manifest``: photos it lists as finished are skipped,
    every outcome is recorded as it comes, and it is marked complete at the end. ``lanes`` > 1: that
    many photos in flight at once, each lane with its own face finder and the shared ONNX sessions;
    ``pipelined=False``: the plain sequential reference. Raises nothing for a bad photo (its report
    says failed); a full disk or unwritable output folder stops the batch (``report.stop_reason``).
    ``references``: the batch's reference photos, when the caller has aligned ``opts.reference``
    already (to say up front that it cannot be used); made here otherwise, once for the batch.
    """
    if references is None and (opts.reference is not None or opts.references_dir is not None):
        references = BatchReferences(opts, engine)  # before any lane starts: the finder is not shared
    run = _Run(jobs, opts, manifest, listener or BatchListener(), control or BatchControl(), references)
    if not pipelined:
        _run_sequential(engine, run)
    elif lanes > 1:
        _run_lanes(engine, run, lanes)
    else:
        _run_pipelined(engine, run)
    return run.close()


@dataclass
class _Run:
    """One run's state and the bookkeeping the three schedulers share."""

    jobs: list[Job]
    opts: BatchOptions
    manifest: Manifest | None
    listener: BatchListener
    control: BatchControl
    refs: BatchReferences | None = None
    report: BatchReport = field(default_factory=BatchReport)

    def cancelled(self) -> bool:
        return self.control.cancelled

    def precheck(self, job: Job) -> FileReport | None:
        return precheck(job, self.opts, self.manifest)

    def finish(self, i: int, rep: FileReport, fatal: str = "") -> bool:
        """Record and announce ``jobs[i]``'s outcome; False when the batch must stop."""
        self.report.files.append(rep)
        if self.manifest is not None:
            self.manifest.record(self.jobs[i], rep)
        self.listener.finished(i, rep)
        if rep.status == Status.CANCELLED:
            self.report.interrupted = True
        if fatal and not self.report.stop_reason:
            self.report.stop_reason, self.report.interrupted = fatal, True
        return not self.report.interrupted

    def wait_while_paused(self) -> None:
        if not self.control.pause_requested or self.cancelled():
            return
        self.listener.paused(True)
        while self.control.pause_requested and not self.cancelled():
            time.sleep(0.05)
        self.listener.paused(False)

    def one_photo(self, engine: Engine, i: int, job: Job, detect_while_loading: bool) -> PhotoInFlight:
        self.listener.started(i, job)
        w = load(job, self.opts, i, engine if detect_while_loading else None, self.refs)
        return write(process(engine, w, self.cancelled, self.opts, self.refs), self.opts, self.listener.image)

    def close(self) -> BatchReport:
        if self.cancelled():
            self.report.interrupted = True
        if self.manifest is not None:
            self.manifest.finish(complete=not self.report.interrupted and len(self.report.files) == len(self.jobs))
        return self.report


def _run_sequential(engine: Engine, run: _Run) -> None:
    for i, job in enumerate(run.jobs):
        pre = run.precheck(job)
        if pre is not None:
            if not run.finish(i, pre):
                break
            continue
        run.wait_while_paused()
        if run.cancelled():
            run.report.interrupted = True
            break
        w = run.one_photo(engine, i, job, detect_while_loading=False)
        if not run.finish(i, w.rep, w.fatal):
            break


def _run_pipelined(engine: Engine, run: _Run) -> None:
    """One pipeline: the next photo is decoded (and its faces found) on a loader thread and the
    previous one encoded on a writer thread while the engine works on the current one (decoders,
    encoders and onnxruntime all release the GIL). One photo is decoded ahead and at most two wait
    for the encoder (as results only), which bounds memory."""
    with ThreadPoolExecutor(1, thread_name_prefix="unmask-load") as loader, \
            ThreadPoolExecutor(1, thread_name_prefix="unmask-write") as writer:
        loads: deque = deque()  # (i, job, future, or the report of a job not to process)
        writes: deque = deque()
        it = iter(enumerate(run.jobs))

        def top_up():
            # One photo decoded ahead is enough (decoding + detection take less time than the rest
            # of the engine); a second would only hold another full-size image in memory.
            while not any(isinstance(f, Future) for _, _, f in loads) and len(loads) < 64:
                nxt = next(it, None)
                if nxt is None:
                    return
                i, job = nxt
                pre = run.precheck(job)
                loads.append((i, job, pre if pre is not None
                              else loader.submit(load, job, run.opts, i, engine, run.refs)))

        def drain(limit: int) -> bool:
            while len(writes) > limit:
                i, fut = writes.popleft()
                w = fut.result()
                if not run.finish(i, w.rep, w.fatal):
                    return False
            return True

        top_up()
        while loads:
            if run.cancelled():
                run.report.interrupted = True
                break
            i, job, fut = loads[0]
            if isinstance(fut, FileReport):
                loads.popleft()
                top_up()
                if not drain(0) or not run.finish(i, fut):
                    break
                continue
            if run.control.pause_requested:
                if not drain(0):  # everything started is written and reported before pausing
                    break
                run.wait_while_paused()
                continue  # re-check cancel
            loads.popleft()
            top_up()
            run.listener.started(i, job)
            w = process(engine, fut.result(), run.cancelled, run.opts, run.refs)
            writes.append((i, writer.submit(write, w, run.opts, run.listener.image)))
            if w.rep.status == Status.CANCELLED or not drain(1):
                break
        drain(0)
        for _, _, fut in loads:  # decoded but never processed: nothing was written for them
            if isinstance(fut, Future):
                fut.cancel()


def _run_lanes(engine: Engine, run: _Run, lanes: int) -> None:
    """``lanes`` photos in flight. At most ``lanes`` photos hold pixels at a time; one more job per
    lane waits in the pool's queue (no pixels) so a lane never idles while the oldest photo is still
    being reported."""
    engines: queue.SimpleQueue = queue.SimpleQueue()
    engines.put(engine)
    for _ in range(lanes - 1):
        engines.put(engine.lane())
    halt = threading.Event()  # a failure that will repeat (disk full): lanes start nothing more

    def chain(i: int, job: Job) -> PhotoInFlight | None:
        if run.cancelled() or halt.is_set():
            return None  # stopped before this lane got to it: not started, not reported
        eng = engines.get()
        try:
            w = run.one_photo(eng, i, job, detect_while_loading=True)
            if w.fatal:
                halt.set()
            return w
        finally:
            engines.put(eng)

    pending = deque(enumerate(run.jobs))  # not handed to a lane yet
    inflight: deque = deque()  # (i, job, future, or the report of a job not to process), in job order
    with ThreadPoolExecutor(lanes, thread_name_prefix="unmask-lane") as pool:
        def report_oldest() -> bool:
            i, job, fut = inflight.popleft()
            if isinstance(fut, FileReport):
                return run.finish(i, fut)
            w = fut.result()
            return w is not None and run.finish(i, w.rep, w.fatal)

        running = True
        while running and (pending or inflight):
            if run.cancelled():
                run.report.interrupted = True
                break
            if run.control.pause_requested:
                # Take back what no lane has started (it holds nothing), finish what has started.
                while inflight and (isinstance(inflight[-1][2], FileReport) or inflight[-1][2].cancel()):
                    i, job, _ = inflight.pop()
                    pending.appendleft((i, job))
                while inflight and running:
                    running = report_oldest()
                if running:
                    run.wait_while_paused()
                continue
            while pending and len(inflight) < 2 * lanes:
                i, job = pending.popleft()
                pre = run.precheck(job)
                inflight.append((i, job, pre if pre is not None else pool.submit(chain, i, job)))
            running = report_oldest()
        # Stopped early: jobs no lane has started are dropped (nothing was written for them); photos
        # being processed finish (or see the cancel) and are reported, so no output goes unrecorded.
        for _, _, fut in inflight:
            if isinstance(fut, Future):
                fut.cancel()
        for i, job, fut in inflight:
            if isinstance(fut, Future) and not fut.cancelled():
                w = fut.result()
                if w is not None:
                    run.finish(i, w.rep, w.fatal)
