"""GUI tests drive real widgets on Qt's offscreen platform (no display needed)."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()  # cv2 would otherwise point Qt at its own plugins

# PySide6 6.12.0 bug: static void bindings (QTest.qWait, QCoreApplication.processEvents, ...) release a
# reference to None they never took. pytest-qt's waitUntil calls qWait in a loop, so a long run could
# drive None's refcount to zero and abort the interpreter ("none_dealloc"). Holding a large number of
# extra references keeps that from ever happening during a test session.
_NONE_GUARD = [None] * 2_000_000
