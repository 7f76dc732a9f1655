"""Half-resolution copies of a full-resolution array, so the canvas never draws 24 MP to show 1 MP.

Level 0 *is* the caller's array (no copy): edits made in place to it are visible at once, and
``update(rect)`` refreshes only the matching region of the smaller levels. Each level is an exact 2x2
average of the one below (odd edges padded by replication), so a region update gives bit-identical
pixels to a full rebuild and repeated edits never drift.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from unmask_studio.core.maskops import Rect

MIN_SIDE = 384  # smallest level kept: enough for a thumbnail-sized fit-to-window view


def _half(a: np.ndarray) -> np.ndarray:
    """Exact 2x2 mean (rounded) of ``a``; an odd last row/column is replicated first."""
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        a = cv2.copyMakeBorder(a, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    return cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)


class Pyramid:
    def __init__(self, base: np.ndarray, min_side: int = MIN_SIDE):
        self.levels: list[np.ndarray] = [base]
        while max(self.levels[-1].shape[:2]) > min_side:
            self.levels.append(_half(self.levels[-1]))

    @property
    def base(self) -> np.ndarray:
        return self.levels[0]

    def level_for_scale(self, scale: float, coarser: float = 0.0) -> int:
        """Smallest level that still has at least one pixel per screen pixel at this zoom.

        ``coarser`` (0..1) accepts down to 2**-coarser pixels per screen pixel, for layers where
        speed matters more than the last bit of sharpness (the translucent mask tint).
        """
        if scale <= 0:
            return len(self.levels) - 1
        k = int(math.floor(math.log2(1.0 / scale) + coarser)) if scale * 2 ** coarser < 1 else 0
        return max(0, min(k, len(self.levels) - 1))

    def update(self, rect: Rect) -> None:
        """Recompute the smaller levels under ``rect`` after level 0 changed there."""
        x0, y0, x1, y1 = rect
        for k in range(1, len(self.levels)):
            src, dst = self.levels[k - 1], self.levels[k]
            x0, y0 = x0 // 2, y0 // 2
            x1, y1 = min(dst.shape[1], (x1 + 1) // 2), min(dst.shape[0], (y1 + 1) // 2)
            if x1 <= x0 or y1 <= y0:
                return
            dst[y0:y1, x0:x1] = _half(src[2 * y0:2 * y1, 2 * x0:2 * x1])[:y1 - y0, :x1 - x0]
