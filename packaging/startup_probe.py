"""Test hooks for the bundled editor, active only when one of these is set (packaging/entry.py checks):

  UNMASK_EXIT_AFTER_SHOWN=1  quit right after the first top-level window has been painted and print
                             ``UNMASK_SHOWN <unix time> <window class>`` to stderr: a script can time a
                             cold start to a usable window (packaging/measure_startup.sh).
  UNMASK_QUIT_AFTER=SECONDS  after that long, print ``UNMASK_TITLE <main window title>`` to stderr and
                             leave the event loop with exit code 0 (packaging/smoke_test.sh).

Both wrap ``QApplication.exec`` from the outside, so the app needs no change for them. (Better in the
long run: ``run_app`` honours the variables itself; this is the packaging stand-in.)
"""
from __future__ import annotations

import os
import sys
import time


def install() -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

    real_exec = QApplication.exec
    exit_after_shown = bool(os.environ.get("UNMASK_EXIT_AFTER_SHOWN"))
    quit_after = float(os.environ.get("UNMASK_QUIT_AFTER") or 0)

    class _FirstPaint(QObject):
        def __init__(self, app):
            super().__init__(app)
            self.done = False

        def eventFilter(self, obj, event):  # noqa: N802 - Qt naming
            if (not self.done and event.type() == QEvent.Type.Paint and isinstance(obj, QWidget)
                    and obj.isWindow() and obj.isVisible()):
                self.done = True
                print(f"UNMASK_SHOWN {time.time():.3f} {type(obj).__name__}", file=sys.stderr, flush=True)
                QTimer.singleShot(0, QApplication.quit)  # after this paint has finished
            return False

    def _report_and_exit():
        titles = [w.windowTitle() for w in QApplication.topLevelWidgets()
                  if isinstance(w, QMainWindow) and w.isVisible()]
        print(f"UNMASK_TITLE {titles[0] if titles else ''}", file=sys.stderr, flush=True)
        QApplication.exit(0)

    def exec_with_probe(*_self):  # called as app.exec() or QApplication.exec()
        app = QApplication.instance()
        if exit_after_shown:
            app.installEventFilter(_FirstPaint(app))
        if quit_after > 0:
            QTimer.singleShot(int(quit_after * 1000), _report_and_exit)
        return real_exec()

    QApplication.exec = exec_with_probe
