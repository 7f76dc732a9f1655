"""Where training reads data and keeps its caches.

The data set lives beside the repository (``../shared/data``) and is read-only; derived caches
(landmarks, aligned crops) go to ``training/.cache`` which is git-ignored and rebuilt on demand.
Each can be moved with an environment variable (``UNMASK_DATA``, ``UNMASK_CACHE``, ``UNMASK_RUNS`` for
the run folders), which is how the tests train in a temporary directory.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))
CACHE = Path(os.environ.get("UNMASK_CACHE", REPO / "training" / ".cache"))
RUNS = Path(os.environ.get("UNMASK_RUNS", REPO / "training" / "runs"))
MODELS = REPO / "unmask_studio" / "resources" / "models"


def celeba_files(split: str) -> list[Path]:
    return sorted((DATA / "celeba" / split).glob("*.webp"))
