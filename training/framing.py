"""Crop framings. The inpainter works on the tight crop (CelebA framing: chin near the bottom edge).
Masks often hang below the chin, so the segmenter looks at a looser crop: the tight crop zoomed out
by 1/SEG_ZOOM around a centre moved SEG_SHIFT crop-heights down, which takes in the neck."""
from __future__ import annotations

import numpy as np

SEG_ZOOM = 0.75
SEG_SHIFT = 0.10


def tight_to_loose(size: int) -> np.ndarray:
    """2x3 affine from tight-crop pixels to loose (segmenter) crop pixels, both ``size``²."""
    cx, cy = size / 2, size / 2 + SEG_SHIFT * size
    return np.array([[SEG_ZOOM, 0, size / 2 - SEG_ZOOM * cx], [0, SEG_ZOOM, size / 2 - SEG_ZOOM * cy]])


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Affine ``a`` after ``b`` (both 2x3)."""
    return (np.vstack([a, [0, 0, 1]]) @ np.vstack([b, [0, 0, 1]]))[:2]
