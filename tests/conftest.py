"""Shared fixtures. Tests run on real pixels from ../shared/data where it exists (skipped otherwise)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("GLOG_minloglevel", "2")

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))


def data_path(*parts: str) -> Path:
    p = DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data not available: {p}")
    return p


@pytest.fixture(scope="session")
def engine():
    from unmask_studio.core.pipeline import Engine

    return Engine()


@pytest.fixture(scope="session")
def pair_107():
    """A real photo with a surgical mask and the same photo without it (pixel-aligned)."""
    from unmask_studio.core.io import load_image

    masked = load_image(data_path("pairs_dev", "masked", "107.png")).rgb
    clean = load_image(data_path("pairs_dev", "clean", "107.png")).rgb
    return masked, clean


def covered_region(masked: np.ndarray, clean: np.ndarray) -> np.ndarray:
    """Where a pair differs: the pasted mask (bool)."""
    import cv2

    # The pairs also differ by re-compression noise (up to ~30 levels at hair edges), so only a
    # strong difference counts, and only blobs big enough to be a mask or its ear loops.
    diff = cv2.medianBlur(np.abs(masked.astype(np.int16) - clean).max(-1).astype(np.uint8), 5)
    diff = (diff > 40).astype(np.uint8)
    diff = cv2.morphologyEx(diff, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
    n, lab, stats, _ = cv2.connectedComponentsWithStats(diff)
    keep = np.zeros(n, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] > 0.002 * diff.size
    return keep[lab]
