"""Where bundled resources live, in a source checkout and inside a PyInstaller bundle."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    if os.environ.get("UNMASK_RESOURCES"):
        return Path(os.environ["UNMASK_RESOURCES"])
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def models_dir() -> Path:
    return resources_dir() / "models"
