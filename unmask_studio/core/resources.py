"""Where bundled resources (models, icons) live: package data in a checkout, a wheel or a pip/pipx
install, and ``sys._MEIPASS/resources`` inside a PyInstaller bundle."""
from __future__ import annotations

import os
import sys
from importlib import resources as _ilr
from pathlib import Path


def resources_dir() -> Path:
    if os.environ.get("UNMASK_RESOURCES"):
        return Path(os.environ["UNMASK_RESOURCES"])
    bundle = getattr(sys, "_MEIPASS", None)  # PyInstaller unpacks data files here
    if bundle:
        return Path(bundle) / "resources"
    # Package data: a real directory for every install we support (checkout, wheel, pipx); zipped
    # installs are not supported because onnxruntime needs a file path.
    return Path(str(_ilr.files("unmask_studio") / "resources"))


def models_dir() -> Path:
    return resources_dir() / "models"
