"""Start-up probe, active only when ``UNMASK_EXIT_AFTER_SHOWN=1``: quit right after the first top-level
window has been painted and print ``UNMASK_SHOWN <unix time>`` to stderr, so a script can time a cold
start to a usable window. It wraps ``QApplication.exec`` from the outside, so no app code changes.

(Better long-term: the app honours the variable itself in ``run_app``; this is the packaging stand-in.)
"""
from __future__ import annotations

import sys
import time


def install() -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    real_exec = QApplication.exec

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

    def exec_and_quit_when_shown(*_self):  # called as app.exec() or QApplication.exec()
        app = QApplication.instance()
        app.installEventFilter(_FirstPaint(app))
        return real_exec()

    QApplication.exec = exec_and_quit_when_shown
