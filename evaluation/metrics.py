"""Mask metrics shared by the segmenter benchmark and its training loop (numpy + OpenCV only)."""
from __future__ import annotations

import cv2
import numpy as np


def boundary_f1(pred: np.ndarray, gt: np.ndarray, tol: int = 2) -> float:
    """Boundary F-score (Perazzi et al. 2016): boundary pixels matched within ``tol`` pixels."""
    def edge(m):
        return (m ^ cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)

    pe, ge = edge(pred), edge(gt)
    if not pe.any() and not ge.any():
        return 1.0
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * tol + 1, 2 * tol + 1))
    gd, pd = cv2.dilate(ge.astype(np.uint8), k) > 0, cv2.dilate(pe.astype(np.uint8), k) > 0
    p = (pe & gd).sum() / max(pe.sum(), 1)
    r = (ge & pd).sum() / max(ge.sum(), 1)
    return float(2 * p * r / max(p + r, 1e-9))
