"""Remembered preferences (QSettings) and the user's file locations (platformdirs)."""
from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QByteArray, QSettings

APP_NAME = "unmask-studio"
ORG_NAME = "Unmask Studio"
MAX_RECENT = 10


def log_dir() -> Path:
    path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def pictures_dir() -> str:
    return platformdirs.user_pictures_dir()


class Settings:
    """Typed access to QSettings; pass a QSettings (e.g. an ini file in a temp dir) in tests."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings or QSettings(ORG_NAME, APP_NAME)

    def _get(self, key: str, default, kind=None):
        value = self.q.value(key, default)
        if kind is None or value is None:
            return value
        try:
            if kind is bool and isinstance(value, str):  # ini files store booleans as text
                return value.lower() in ("true", "1")
            return kind(value)
        except (TypeError, ValueError):
            return default

    # --- recent files
    def recent_files(self) -> list[str]:
        value = self.q.value("recent_files", [])
        if isinstance(value, str):  # QSettings returns a lone string for one-element lists
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent(self, path: str | Path) -> None:
        p = str(Path(path).resolve())
        files = [p] + [f for f in self.recent_files() if f != p]
        self.q.setValue("recent_files", files[:MAX_RECENT])

    def clear_recent(self) -> None:
        self.q.setValue("recent_files", [])

    # --- window
    def geometry(self) -> QByteArray | None:
        return self.q.value("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self.q.value("window/state")

    def save_window(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    # --- simple values
    def last_dir(self) -> str:
        return self._get("last_dir", pictures_dir(), str)

    def set_last_dir(self, folder: str | Path) -> None:
        self.q.setValue("last_dir", str(folder))

    def brush_size(self) -> float:
        return self._get("brush/size", 40.0, float)

    def brush_hardness(self) -> float:
        return self._get("brush/hardness", 0.7, float)

    def overlay_opacity(self) -> float:
        return self._get("mask/opacity", 0.5, float)

    def set_value(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()
