"""Painting on the full-resolution removal mask (pure numpy: easy to test, no Qt).

A stroke paints live, dab by dab, only inside each dab's box. Before a region is first touched the
stroke keeps a copy of its 256x256 tile, so when the stroke ends it hands back one trimmed patch per
changed tile (together one undo step) without ever copying the whole mask, and an aborted stroke
(Esc, opening another photo) puts those tiles back.
"""
from __future__ import annotations

import math

import numpy as np

from unmask_studio.core.maskops import Rect, union
from unmask_studio.app.patches import Patch, tile_rect, tiles_in, trimmed


def dab(cx: float, cy: float, radius: float, hardness: float, shape: tuple[int, int]):
    """(rect, uint8 coverage) of one round dab centred at (cx, cy), clipped to ``shape`` (h, w).

    Coverage is 255 inside ``hardness * radius`` and falls smoothly to 0 at ``radius``; even at full
    hardness there is a one-pixel soft edge so strokes do not look jagged.
    """
    h, w = shape
    r = max(0.5, radius)
    x0, y0 = max(0, int(math.floor(cx - r))), max(0, int(math.floor(cy - r)))
    x1, y1 = min(w, int(math.ceil(cx + r)) + 1), min(h, int(math.ceil(cy + r)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None, None
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dist = np.sqrt((xx + 0.5 - cx) ** 2 + (yy + 0.5 - cy) ** 2)
    soft = max(1.0, r * (1.0 - hardness))
    t = np.clip((r - dist) / soft, 0.0, 1.0)
    cov = t * t * (3 - 2 * t)  # smoothstep: no visible ring at the start of the falloff
    return (x0, y0, x1, y1), np.round(cov * 255).astype(np.uint8)


class Stroke:
    def __init__(self, mask: np.ndarray, size: float, hardness: float, erase: bool = False):
        self.mask, self.radius, self.hardness, self.erase = mask, size / 2.0, hardness, erase
        self.rect: Rect | None = None
        self._saved: dict[tuple[int, int], np.ndarray] = {}
        self._last: tuple[float, float] | None = None

    def to(self, x: float, y: float) -> Rect | None:
        """Continue the stroke to image point (x, y); returns the box that changed (or None)."""
        if self._last is None:
            points = [(x, y)]
        else:
            lx, ly = self._last
            spacing = max(1.0, self.radius * 0.25)  # close enough that the edge shows no beads
            n = int(math.ceil(math.hypot(x - lx, y - ly) / spacing))
            points = [(lx + (x - lx) * i / n, ly + (y - ly) * i / n) for i in range(1, n + 1)]
        self._last = (x, y)
        changed = None
        for px, py in points:
            rect, cov = dab(px, py, self.radius, self.hardness, self.mask.shape)
            if rect is None:
                continue
            self._save_tiles(rect)
            x0, y0, x1, y1 = rect
            region = self.mask[y0:y1, x0:x1]
            if self.erase:
                np.minimum(region, 255 - cov, out=region)
            else:
                np.maximum(region, cov, out=region)
            changed = union(changed, rect)
        self.rect = union(self.rect, changed)
        return changed

    def _save_tiles(self, rect: Rect) -> None:
        for key in tiles_in(rect):
            if key not in self._saved:
                x0, y0, x1, y1 = tile_rect(key, self.mask.shape)
                self._saved[key] = self.mask[y0:y1, x0:x1].copy()

    def finish(self) -> list[Patch]:
        """One patch per tile the stroke changed (trimmed to what changed); empty when it changed nothing."""
        patches = []
        for key, before in sorted(self._saved.items()):
            x0, y0, x1, y1 = tile_rect(key, self.mask.shape)
            p = trimmed("mask", (x0, y0, x1, y1), before, self.mask[y0:y1, x0:x1])
            if p is not None:
                patches.append(p)
        self._saved.clear()
        return patches

    def abort(self) -> Rect | None:
        """Put back every tile the stroke touched; returns the box that changed back (None: nothing)."""
        for key, before in self._saved.items():
            x0, y0, x1, y1 = tile_rect(key, self.mask.shape)
            self.mask[y0:y1, x0:x1] = before
        self._saved.clear()
        rect, self.rect = self.rect, None
        return rect
