"""Whole-mask operations from the brush panel, computed only around the painted area.

The removal mask is usually a few faces on a large photo, so running grow/feather on the bounding box
of the non-zero pixels (plus the reach of the operation) gives the same result as the full image at a
fraction of the cost, and keeps the GUI thread responsive on 24 MP photos.
"""
from __future__ import annotations

import math

import numpy as np

from unmask_studio.core import maskops
from unmask_studio.core.maskops import Rect, nonzero_rect


def reach(op: str, px: float) -> int:
    """How far outside the painted area an operation can change pixels."""
    if op == "grow":
        return int(px) + 1
    if op == "feather":
        return int(math.ceil(px)) + int(math.ceil(3 * px / 1.5)) + 2
    return 1


def apply(mask: np.ndarray, op: str, px: float) -> tuple[Rect, np.ndarray] | None:
    """(rect, new pixels for rect) after ``op`` in grow | shrink | feather | clear, or None if empty."""
    rect = nonzero_rect(mask, reach(op, px))
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    region = mask[y0:y1, x0:x1]
    if op == "grow":
        new = maskops.grow(region, int(round(px)))
    elif op == "shrink":
        new = maskops.grow(region, -int(round(px)))
    elif op == "feather":
        new = maskops.feather_outward(region, float(px))
    elif op == "clear":
        new = np.zeros_like(region)
    else:
        raise ValueError(op)
    return rect, np.ascontiguousarray(new, dtype=np.uint8)


def mask_from_image(rgb: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """A mask PNG as a removal mask: white (or any bright channel) = remove; transparent = keep."""
    grey = rgb.max(-1)
    if alpha is not None:
        grey = np.minimum(grey, alpha)
    return grey.astype(np.uint8)
