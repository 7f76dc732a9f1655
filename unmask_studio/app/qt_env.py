"""Environment fixes that must happen before the QApplication exists.

Importing cv2 (opencv-contrib) points QT_QPA_PLATFORM_PLUGIN_PATH at OpenCV's own, incompatible Qt
plugins; if it is still set when the QApplication starts, PySide6 loads the wrong xcb plugin and
aborts. qimage2ndarray picks its Qt binding from QT_DRIVER, so we pin it to the one we ship.
"""
from __future__ import annotations

import os


def prepare_qt_environment() -> None:
    import cv2  # noqa: F401  - import it now so it cannot set the variable again after we pop it

    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    os.environ.setdefault("QT_DRIVER", "PySide6")
