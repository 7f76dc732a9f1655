"""Work around a reference-count bug in PySide6 6.12.0 that aborts the interpreter.

Every ``Signal.emit()`` called from Python returns ``True`` without taking the reference it hands
back, so each emit leaves ``True`` with one reference fewer (measured: 100 emits, 100 references);
some static void bindings do the same to ``None``. On Python 3.11 these objects are not immortal:
when the count reaches zero the process dies with "Fatal Python error: bool_dealloc". A fresh
process holds only a few thousand references to ``True``, so a long brush stroke (one emit per
mouse move) or a long batch (progress emits) would end the editor.

We hold spare references and top them up from a timer, far faster than emits can use them up.
"""
from __future__ import annotations

import ctypes
import sys

TARGET = 200_000  # references kept in hand; emits run at most a few thousand a second
_spare: dict[object, list] = {True: [], False: [], None: []}
for _lst in _spare.values():
    # Never freed, not even at interpreter shutdown: freeing them would return references the bug
    # has already taken, and the count would reach zero on the way out.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(_lst))
_timer = None


def top_up() -> None:
    for obj, spare in _spare.items():
        need = TARGET - sys.getrefcount(obj)
        if need > 0:
            spare.extend([obj] * need)


def keep_alive() -> None:
    """Top up now and every half second from the GUI thread's event loop (idempotent)."""
    global _timer
    top_up()
    if _timer is None:
        from PySide6.QtCore import QTimer

        _timer = QTimer()
        _timer.timeout.connect(top_up)
        _timer.start(500)
