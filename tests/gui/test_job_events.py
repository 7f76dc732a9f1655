"""JobRunner's event channel (what the batch dialog runs on): a job's emits reach the GUI thread in order,
while it runs, and are dropped (like its outcome) once the generation it was started for is gone."""
from __future__ import annotations

import threading

import pytest

from unmask_studio.app.workers import JobRunner

pytestmark = pytest.mark.gui


def test_events_arrive_in_order_on_the_gui_thread_and_stale_ones_are_dropped(qtbot):
    generation = [1]
    runner = JobRunner(lambda: generation[0])
    gui = threading.get_ident()
    seen, threads, done = [], set(), []
    release = threading.Event()

    def job(_progress, _cancel, emit):
        for k in range(5):
            emit(k)
        release.wait(10)
        emit("late")  # the user has moved on by now
        return "value"

    def on_event(e):
        seen.append(e)
        threads.add(threading.get_ident())

    runner.submit("batch", job, done.append, lane="batch", on_event=on_event)
    qtbot.waitUntil(lambda: len(seen) == 5, timeout=5000)
    assert seen == [0, 1, 2, 3, 4] and threads == {gui} and not done  # delivered while the job still runs
    generation[0] += 1
    release.set()
    assert runner.wait(5000, lane="batch")
    qtbot.wait(100)
    assert seen == [0, 1, 2, 3, 4] and done == []  # neither the late event nor the outcome of a stale job


def test_jobs_without_events_keep_their_two_argument_form(qtbot):
    runner = JobRunner(lambda: 0)
    out = []
    runner.submit("load", lambda progress, cancel: 42, out.append, lane="io")
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    assert out[0].value == 42 and out[0].error is None
