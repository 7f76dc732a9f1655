"""Snap a found covering's edge to the covering itself, at the photo's full resolution.

The segmenter sees a 128² view of the face, so at full resolution its edge can sit a few pixels
inside the fabric: a rim of mask is left for the inpainter to copy and for the user to see. Here the
edge is moved onto the colour edge with a guided filter (``cv2.ximgproc.guidedFilter``, opencv-contrib):
the binary mask, filtered with the photo as guide, follows the photo's edges; only a thin band around
the found edge may change, and it may only *grow*, so the mask never loses pixels the model found and
a bare face (empty mask) is never touched.
"""
from __future__ import annotations

import cv2
import numpy as np

from unmask_studio.core import maskops

WORK_BAND_PX = 8  # the band's width at the working resolution (the region is resized to get it)
EPS = 0.08 ** 2  # guided-filter regulariser on [0,1] colours: only clear colour edges (~8 % contrast) steer


def snap_to_covering(rgb: np.ndarray, mask: np.ndarray, band_px: float, passes: int = 4) -> np.ndarray:
    """``mask`` (uint8 0..255, full resolution) grown onto the covering's colour edge within
    ``band_px`` image pixels of its current edge. Returns a new uint8 mask; an empty mask comes back
    unchanged."""
    found = mask > 127
    if not found.any() or band_px < 1:
        return mask.copy()
    reach = int(np.ceil(band_px)) + 2
    (y0, y1), (x0, x1) = maskops.bbox(found, reach)
    sub_rgb, sub = rgb[y0:y1, x0:x1], found[y0:y1, x0:x1].astype(np.uint8)
    # Work where the band is about WORK_BAND_PX wide: cheap on a 12 MP face, exact on a small one.
    f = min(1.0, WORK_BAND_PX / band_px)
    h, w = sub.shape
    size = (max(1, round(w * f)), max(1, round(h * f)))
    guide = cv2.resize(sub_rgb, size, interpolation=cv2.INTER_AREA) if f < 1 else sub_rgb
    guide = guide.astype(np.float32) / 255
    m = cv2.resize(sub.astype(np.float32), size, interpolation=cv2.INTER_AREA) if f < 1 else sub.astype(np.float32)
    band = max(1, int(round(band_px * f)))
    radius = max(2, band)
    soft = m
    for _ in range(passes):  # each pass moves the edge up to ~radius along the colour edge
        soft = cv2.ximgproc.guidedFilter(guide, soft, radius, EPS)
        soft = np.maximum(soft, m)  # never give up what the model found
    grown = soft > 0.5
    # Only within the band around the found edge, and only what connects to the found region.
    allowed = maskops.grow(m.astype(np.uint8), band) > 0
    grown &= allowed
    if f < 1:
        grown = cv2.resize(grown.astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR) > 0
    out = mask.copy()
    region = out[y0:y1, x0:x1]
    region[grown & (region < 255)] = 255
    return out


def band_for_face(crop_scale: float, crop_px: float = 6.0) -> float:
    """The band's width in image pixels for a face whose crop has ``crop_scale`` crop px per image px:
    ``crop_px`` pixels of the 256² crop (about 2.5 % of the face)."""
    return crop_px / max(crop_scale, 1e-6)
