"""A heal can be cancelled: Esc (the window's Cancel) stops a running heal and drops the queued ones, with no
undo step and no pixel changed, and opening another photo stops it too; while it runs, the status bar
says so and offers Cancel. Real heal on a real photo (real_masked/006.webp)."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.conftest import data_path
from tests.gui.test_editor import make_window, open_photo, wait_idle  # noqa: F401
from tests.gui.test_heal_tools import STRAP, drag, strap_pixels, window  # noqa: F401

pytestmark = pytest.mark.gui
# A wide stroke round the whole lower face: a heal of ~300x250 px, the kind that takes a while.
WIDE = [(250, 430), (330, 560), (430, 600), (520, 560), (560, 450)]


def test_esc_cancels_a_running_heal_and_the_queued_one(qtbot, window):
    w = window
    w.set_tool("heal")
    w.brush.set_size(90)
    before = w.doc.result.copy()
    drag(qtbot, w, WIDE)
    drag(qtbot, w, STRAP)  # queued behind the first
    assert w.edit_tools.heal.busy
    # The window shows that a heal runs and offers to stop it.
    assert w.progress.isVisible() and w.cancel_btn.isVisible() and w.act_cancel.isEnabled()
    w.act_cancel.trigger()  # Esc, at once (the wide heal takes ~0.3 s on this photo)
    assert not w.edit_tools.heal.busy
    wait_idle(qtbot, w)
    qtbot.wait(200)  # any late outcome has been delivered by now
    assert w.stack.count() == 0
    np.testing.assert_array_equal(w.doc.result, before)
    assert not w.doc.result_state.has_result and not w.doc.has_retouch
    assert "Heal cancelled" in w.banner.text
    assert not w.cancel_btn.isVisible()

    # The tool still heals afterwards.
    w.brush.set_size(20)
    drag(qtbot, w, STRAP)
    qtbot.waitSignal(w.edit_tools.heal.healed, timeout=20000).wait()
    wait_idle(qtbot, w)
    assert w.stack.count() == 1 and strap_pixels(w.doc.output_image()) == 0


def test_opening_another_photo_stops_the_running_heal(qtbot, window, monkeypatch, tmp_path):
    from unmask_studio.app import heal_tool

    real_heal, stopped, started = heal_tool.heal, [], threading.Event()

    def long_heal(rgb, mask, method, cancel):  # a heal that takes up to 30 s unless cancelled
        started.set()
        t0 = time.monotonic()
        while not cancel() and time.monotonic() - t0 < 30:
            time.sleep(0.02)
        stopped.append(cancel())
        return real_heal(rgb, mask, method, cancel)

    monkeypatch.setattr(heal_tool, "heal", long_heal)
    w = window
    w.set_tool("heal")
    w.brush.set_size(20)
    drag(qtbot, w, STRAP)
    assert started.wait(10)
    qtbot.waitUntil(lambda: w.status_text.text() == "Healing… (Esc cancels)", timeout=5000)
    assert w.progress.isVisible() and w.cancel_btn.isVisible()
    w.grab().save(str(tmp_path / "healing.png"))
    t0 = time.monotonic()
    open_photo(qtbot, w, data_path("real_masked", "002.webp"))
    qtbot.waitUntil(lambda: not w.runner.busy(("heal",)), timeout=5000)  # not 30 s
    assert stopped == [True] and time.monotonic() - t0 < 5
    assert w.stack.count() == 0 and not w.edit_tools.heal.busy
