"""Last line of defence: an unexpected exception is logged to the user's log folder and shown in a
friendly dialog, and the app keeps running (PySide6 calls sys.excepthook for exceptions in slots)."""
from __future__ import annotations

import logging
import logging.handlers
import sys
import traceback
from pathlib import Path

from unmask_studio.app.settings import log_dir

LOG_NAME = "unmask-studio.log"
log = logging.getLogger("unmask_studio")


def setup_logging() -> Path:
    """Rotating log file in platformdirs' user log dir; returns its path."""
    path = log_dir() / LOG_NAME
    if not any(isinstance(h, logging.handlers.RotatingFileHandler) for h in log.handlers):
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    return path


def install_excepthook(parent_getter=lambda: None) -> Path:
    path = setup_logging()
    showing = {"now": False}

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        log.error("unhandled exception:\n%s", "".join(traceback.format_exception(exc_type, exc, tb)))
        if showing["now"]:  # an error inside the dialog's own event loop: log only, no dialog cascade
            return
        showing["now"] = True
        try:
            from unmask_studio.app import dialogs
            dialogs.show_crash(parent_getter(), f"{exc_type.__name__}: {exc}", path)
        except Exception:  # noqa: BLE001 - never raise from the hook itself
            sys.__excepthook__(exc_type, exc, tb)
        finally:
            showing["now"] = False

    sys.excepthook = hook
    return path
