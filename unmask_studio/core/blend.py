"""Moving pixels between the photo and a face's aligned crop, and pasting results back seamlessly.

Following facexlib's align-then-paste-back: a face is warped into the model's crop, inpainted there,
warped back with the inverse transform and blended through a feathered mask. Only the region of the
face's crop is touched (so a 24 MP photo never gets warped whole), and every pixel whose blend weight
is zero is copied from the input bit for bit.
"""
from __future__ import annotations

import cv2
import numpy as np

from unmask_studio.core.maskops import bbox, feather_outward
from unmask_studio.core import detail


def crop_roi(matrix: np.ndarray, size: int, shape: tuple[int, int], margin: int = 2):
    """Bounding box (x0, y0, x1, y1) in the image of the crop's footprint, clipped to the image."""
    inv = cv2.invertAffineTransform(matrix)
    c = np.array([[0, 0], [size, 0], [size, size], [0, size]], np.float64) @ inv[:, :2].T + inv[:, 2]
    h, w = shape[:2]
    x0, y0 = np.floor(c.min(0)).astype(int) - margin
    x1, y1 = np.ceil(c.max(0)).astype(int) + margin
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)


def crop_scale(matrix: np.ndarray) -> float:
    """Crop pixels per image pixel of an image -> crop similarity (2x3)."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def to_crop(image: np.ndarray, matrix: np.ndarray, size: int, interp=cv2.INTER_LINEAR,
            border=cv2.BORDER_REFLECT101) -> np.ndarray:
    """Warp ``image`` into the ``size``² crop. Large faces are first reduced with area averaging,
    because a plain affine warp would alias when shrinking a 1500 px face to 256 px."""
    x0, y0, x1, y1 = crop_roi(matrix, size, image.shape, margin=4)
    if x1 <= x0 or y1 <= y0:
        return np.zeros((size, size) + image.shape[2:], image.dtype)
    roi = image[y0:y1, x0:x1]
    M = matrix.astype(np.float64).copy()
    M[:, 2] += M[:, :2] @ np.array([x0, y0], np.float64)  # ROI pixel -> crop pixel
    scale = crop_scale(M)
    if scale < 0.5 and interp != cv2.INTER_NEAREST:
        f = min(1.0, 2 * scale)
        roi = cv2.resize(roi, (max(1, round(roi.shape[1] * f)), max(1, round(roi.shape[0] * f))),
                         interpolation=cv2.INTER_AREA)
        M[:, :2] /= f
    return cv2.warpAffine(roi, M, (size, size), flags=interp, borderMode=border)


def paste_back(image: np.ndarray, crop: np.ndarray, matrix: np.ndarray, alpha_roi: np.ndarray,
               roi: tuple[int, int, int, int], grain_seed: int | None = 0, skin_detail: bool = False,
               ramp: int | None = None) -> None:
    """Blend ``crop`` (aligned, already composited) into ``image`` *in place* through ``alpha_roi``
    (float 0..1 over ``roi`` = crop_roi(matrix, ...)). Pixels with alpha == 0 are not written.

    Working on the face's region only keeps a 24 MP photo cheap: nothing full-size is allocated."""
    size = crop.shape[0]
    x0, y0, x1, y1 = roi
    if x1 <= x0 or y1 <= y0 or not alpha_roi.any():
        return
    # Only the mask's box changes (plus room for the ring of skin around the hole that the fine
    # detail is taken from).
    margin = detail.ring_width(alpha_roi > 0) + 2 if grain_seed is not None and skin_detail else GRAIN_RING + 2
    (by0, by1), (bx0, bx1) = bbox(alpha_roi > 0, margin)
    alpha_roi = alpha_roi[by0:by1, bx0:bx1]
    x0, y0, x1, y1 = x0 + bx0, y0 + by0, x0 + bx1, y0 + by1
    inv = cv2.invertAffineTransform(matrix)
    inv[:, 2] -= [x0, y0]
    roi_size = (x1 - x0, y1 - y0)
    warped = cv2.warpAffine(crop, inv, roi_size, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    # Keep blending inside the crop, fading out over ``ramp`` (EDGE_RAMP) crop pixels where it ends: mask
    # that runs on past the crop has already been filled by ``fill_outside_crop``, and the two fills
    # cross-fade over the band instead of meeting at a straight seam.
    a = alpha_roi.astype(np.float32) * cv2.warpAffine(edge_ramp(size, ramp), inv, roi_size, flags=cv2.INTER_LINEAR,
                                                      borderMode=cv2.BORDER_CONSTANT)
    region = image[y0:y1, x0:x1]
    orig = region.astype(np.float32)
    filled = warped.astype(np.float32)
    if grain_seed is not None:
        # The skin's own texture (core/detail.py), or white-noise grain matched in strength.
        grain = detail.transfer_detail if skin_detail else match_grain
        filled = grain(orig, filled, a, grain_seed)
    blended = orig + (filled - orig) * a[..., None]
    touched = a > 0
    region[touched] = np.clip(np.round(blended[touched]), 0, 255).astype(np.uint8)


EDGE_RAMP = 12  # crop pixels over which a pasted crop fades out at its border


def edge_ramp(size: int, width: int | None = None) -> np.ndarray:
    """Crop-size weight: 0 at the crop's border rising to 1 at ``width`` (EDGE_RAMP) pixels in (a
    linear ramp)."""
    d = np.minimum(np.arange(size, dtype=np.float32) + 0.5, size - 0.5 - np.arange(size, dtype=np.float32))
    r = np.clip((d - 1) / (width or EDGE_RAMP), 0, 1)
    return np.minimum(r[:, None], r[None, :])


def fill_outside_crop(image: np.ndarray, mask: np.ndarray, frame: np.ndarray, region: np.ndarray, size: int,
                      feather_px: float, grain_seed: int | None = 0) -> None:
    """Fill, in place, the mask inside ``region`` (a wider crop around the face, 2x3) that the face's
    inpainter crop ``frame`` does not fully cover: past its edge and in its fading border band (see
    ``paste_back``), with Telea diffusion at the face's scale. Call before pasting the crop. No-op when
    the mask stays inside the crop."""
    x0, y0, x1, y1 = crop_roi(region, size, mask.shape)
    if x1 <= x0 or y1 <= y0:
        return
    hole = mask[y0:y1, x0:x1] > 127
    if not hole.any():
        return
    inv = cv2.invertAffineTransform(frame)
    inv[:, 2] -= [x0, y0]
    core = cv2.warpAffine(edge_ramp(size), inv, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT) > 0.999
    rest = hole & ~core
    if rest.sum() < 16:
        return
    scale = min(1.0, crop_scale(frame))
    # Work on the residual's neighbourhood only: Telea's reach plus the feathered edge.
    margin = int(np.ceil((12 + 3 * feather_px) / max(scale, 1e-6)))
    (by0, by1), (bx0, bx1) = bbox(rest, margin)
    rest = rest[by0:by1, bx0:bx1]
    region_px = image[y0 + by0:y0 + by1, x0 + bx0:x0 + bx1]
    small = cv2.resize(region_px, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else region_px
    m_small = cv2.resize(rest.astype(np.uint8), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_NEAREST)
    m_small = cv2.dilate(m_small, np.ones((3, 3), np.uint8))
    filled = cv2.inpaint(np.ascontiguousarray(small), m_small, 5, cv2.INPAINT_TELEA)
    if scale < 1:
        filled = cv2.resize(filled, (region_px.shape[1], region_px.shape[0]), interpolation=cv2.INTER_CUBIC)
    a = feather_outward(rest.astype(np.float32), feather_px / max(scale, 1e-6))
    orig = region_px.astype(np.float32)
    fill = filled.astype(np.float32)
    if grain_seed is not None:
        fill = match_grain(orig, fill, a, grain_seed)
    touched = a > 0
    blended = orig + (fill - orig) * a[..., None]
    region_px[touched] = np.clip(np.round(blended[touched]), 0, 255).astype(np.uint8)


GRAIN_RING = 8  # the ring where the photo's grain is measured reaches this far past the hole
MAX_GRAIN = 6.0  # grey levels; more than this is texture, not grain


def _highpass_std(img: np.ndarray, where: np.ndarray) -> float:
    if where.sum() < 16:
        return 0.0
    (y0, y1), (x0, x1) = bbox(where, 4)
    lum = cv2.transform(img[y0:y1, x0:x1], np.full((1, 3), 1 / 3, np.float32))
    hp = (lum - cv2.GaussianBlur(lum, (0, 0), 1.2))[where[y0:y1, x0:x1]]
    # Median absolute deviation: hair, eyebrows and edges in the ring must not count as grain.
    return float(1.4826 * np.median(np.abs(hp - np.median(hp))))


def match_grain(orig: np.ndarray, filled: np.ndarray, alpha: np.ndarray, seed: int) -> np.ndarray:
    """Add the photo's grain to the filled region.

    A face crop is 256² while the face in a 12 MP photo may be 1500 px wide: upscaled model output is
    smoother than the sensor noise and JPEG grain around it, which shows as a flat patch. Measure the
    fine-detail energy in a ring around the hole and in the fill, and add luminance noise for the
    difference. Seeded, so the same photo always gives the same file.
    """
    hole = alpha > 0.99
    if not hole.any():
        return filled
    k = np.ones((GRAIN_RING + 1, GRAIN_RING + 1), np.uint8)
    ring = (cv2.dilate(hole.astype(np.uint8), k, iterations=2) > 0) & ~(alpha > 0)
    s_orig, s_fill = _highpass_std(orig, ring), _highpass_std(filled, hole)
    add = min(MAX_GRAIN, np.sqrt(max(0.0, s_orig ** 2 - s_fill ** 2)))
    if add < 0.3:
        return filled
    (y0, y1), (x0, x1) = bbox(alpha > 0)  # noise only where it will be blended in
    noise = np.random.default_rng(seed).normal(0.0, add, (y1 - y0, x1 - x0)).astype(np.float32)
    noise = noise - cv2.GaussianBlur(noise, (0, 0), 1.2) * 0.5  # sensor grain is fine, not blotchy
    out = filled.copy()
    out[y0:y1, x0:x1] += noise[..., None]
    return out
