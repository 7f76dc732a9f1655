"""Healing: replace the pixels under a painted stroke from their surroundings (pure numpy + OpenCV, no Qt).

Like Photoshop's spot-healing brush, the fill has two parts:
- **shading** from the surroundings by diffusion (OpenCV's Telea or Navier-Stokes inpainting), which
  follows the light across the hole and is what makes thin structures (a strap, an ear loop, a hair)
  disappear; on its own it is too smooth and shows as a blurred band at 100 % zoom;
- **texture** (the fine grain: pores, noise, JPEG grain) copied from a nearby piece of the photo the
  size of the stroke, chosen as the shifted copy of the stroke that lies outside it and whose colours
  best match the diffused fill, so the grain comes from the same kind of surface.
``method="fsr"`` uses opencv-contrib's frequency-selective reconstruction instead (slower, for larger
textured areas).

Everything works on a region of interest around the stroke (the caller cuts it out: the stroke's box
plus ``margin_for(radius)``), never the whole photo. Pixels where the mask is 0 are returned unchanged,
bit for bit; the mask's soft edge (brush hardness) blends the fill in.
"""
from __future__ import annotations

import cv2
import numpy as np

METHODS = ("auto", "telea", "ns", "fsr")


def margin_for(radius: float) -> int:
    """Context around a stroke the fill needs: diffusion reads a few pixels, texture search a stroke width
    or two beyond the stroke in every direction."""
    return int(max(24, 4 * radius + 8))


def heal(rgb: np.ndarray, mask: np.ndarray, method: str = "auto", cancel=lambda: False) -> np.ndarray:
    """The ROI ``rgb`` (H×W×3 uint8) with the pixels under ``mask`` (H×W uint8, 0..255 coverage) replaced.

    Returns a new array; pixels where ``mask == 0`` equal the input exactly.
    """
    if method not in METHODS:
        raise ValueError(f"unknown heal method {method!r} (one of {', '.join(METHODS)})")
    if rgb.shape[:2] != mask.shape or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError("heal needs an H×W×3 image and an H×W mask of the same size")
    hole = (mask > 0).astype(np.uint8)
    if not hole.any():
        return rgb.copy()
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    if method == "fsr":
        filled = _fsr(bgr, hole)
    else:
        # Diffuse from a ring just outside the hole: the soft edge of the stroke still holds strap pixels.
        wide = cv2.dilate(hole, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
        flag = cv2.INPAINT_NS if method == "ns" else cv2.INPAINT_TELEA
        filled = cv2.inpaint(bgr, wide * 255, 5, flag)
        if cancel():
            return rgb.copy()
        if method == "auto":
            filled = _add_texture(bgr, filled, wide)
    out_bgr = _blend(bgr, filled, mask)
    out = np.ascontiguousarray(out_bgr[..., ::-1])
    out[mask == 0] = rgb[mask == 0]  # exactly untouched outside the stroke (no rounding drift)
    return out


def _blend(bgr: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    a = (mask.astype(np.float32) / 255.0)[..., None]
    return np.clip(bgr * (1 - a) + filled.astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)


def _fsr(bgr: np.ndarray, hole: np.ndarray) -> np.ndarray:
    # xphoto.inpaint wants the mask as "valid pixels" (non-zero = known).
    dst = np.zeros_like(bgr)
    cv2.xphoto.inpaint(bgr, (1 - hole).astype(np.uint8), dst, cv2.xphoto.INPAINT_FSR_FAST)
    return dst


def _grain_sigma(hole: np.ndarray) -> float:
    """Blur scale separating shading from grain: a quarter of the stroke's width, at least 1.5 px."""
    half_width = float(cv2.distanceTransform(hole, cv2.DIST_L2, 3).max())
    return max(1.5, half_width / 2)


def _add_texture(bgr: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Diffused fill plus the fine grain of the best-matching nearby copy of the hole (if there is one)."""
    shift = _donor_shift(bgr, filled, hole)
    if shift is None:
        return filled
    sigma = _grain_sigma(hole)
    f = bgr.astype(np.float32)
    grain = f - cv2.GaussianBlur(f, (0, 0), sigma)
    dy, dx = shift
    moved = np.roll(grain, (-dy, -dx), axis=(0, 1))  # moved[y, x] = grain[y + dy, x + dx]
    # The donor may cross an edge (hair, an ear's rim) whose grain would draw streaks on skin: keep the
    # copied grain within the strength of the grain right around the hole.
    near = cv2.dilate(hole, np.ones((3, 3), np.uint8), iterations=max(3, int(2 * sigma)))
    ring = near.astype(bool) & ~hole.astype(bool)
    limit = 2.5 * float(grain[ring].std()) if ring.any() else 0.0
    np.clip(moved, -limit, limit, out=moved)
    # Fade the grain in over a few pixels at the hole's edge so no seam is drawn by the texture itself.
    fade = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0)[..., None]
    return np.clip(filled.astype(np.float32) + moved * fade, 0, 255).astype(np.uint8)


def _donor_shift(bgr: np.ndarray, filled: np.ndarray, hole: np.ndarray) -> tuple[int, int] | None:
    """(dy, dx) such that the hole moved by it lies inside the ROI and clear of the hole, with the colours
    there closest to the diffused fill; None when no such place exists."""
    h, w = hole.shape
    ys, xs = np.nonzero(hole)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    width = max(2.0, 2 * float(cv2.distanceTransform(hole, cv2.DIST_L2, 3).max()))
    keep_clear = cv2.dilate(hole, np.ones((3, 3), np.uint8), iterations=2).astype(bool)
    best, best_cost = None, np.inf
    for dist in (1.5 * width, 2.5 * width, 4 * width):
        for ang in np.arange(0, 2 * np.pi, np.pi / 8):
            dy, dx = int(round(dist * np.sin(ang))), int(round(dist * np.cos(ang)))
            if not (0 <= y0 + dy and y1 + dy <= h and 0 <= x0 + dx and x1 + dx <= w):
                continue
            sy, sx = ys + dy, xs + dx
            if keep_clear[sy, sx].any():
                continue
            cost = float(np.abs(bgr[sy, sx].astype(np.int16) - filled[ys, xs].astype(np.int16)).mean())
            if cost < best_cost:
                best, best_cost = (dy, dx), cost
        if best is not None:
            return best  # the nearest ring with a clear place: nearer texture is more alike
    return None


Rect = tuple[int, int, int, int]  # x0, y0, x1, y1


def stroke_region(points, size: float, shape: tuple[int, ...]) -> tuple[Rect, np.ndarray] | None:
    """(rect, mask) of a brush stroke through ``points`` (x, y image pixels) of diameter ``size``: rect is
    the stroke's box plus the heal margin, clipped to ``shape`` (h, w, ...); mask covers rect, 0..255
    with an anti-aliased edge. None when the stroke misses the image."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    r = max(1.0, size / 2)
    m = margin_for(r)
    h, w = shape[:2]
    x0, y0 = max(0, int(np.floor(pts[:, 0].min() - r - m))), max(0, int(np.floor(pts[:, 1].min() - r - m)))
    x1, y1 = min(w, int(np.ceil(pts[:, 0].max() + r + m)) + 1), min(h, int(np.ceil(pts[:, 1].max() + r + m)) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    shift = 4  # sub-pixel precision for OpenCV's drawing (coordinates × 16)
    local = np.round((pts - (x0, y0)) * (1 << shift)).astype(np.int32)
    thickness = max(1, int(round(size)))
    if len(local) == 1:
        cv2.circle(mask, tuple(int(v) for v in local[0]), int(round(r * (1 << shift))), 255, -1, cv2.LINE_AA, shift)
    else:
        cv2.polylines(mask, [local.reshape(-1, 1, 2)], False, 255, thickness, cv2.LINE_AA, shift)
    if not mask.any():
        return None
    return (x0, y0, x1, y1), mask


def heal_stroke(rgb: np.ndarray, points, size: float, method: str = "auto") -> tuple[np.ndarray, Rect | None]:
    """A copy of ``rgb`` healed along a stroke, and the box that was worked on (for scripts and tests;
    the editor heals the region in a worker and stores only the changed tiles)."""
    out = rgb.copy()
    region = stroke_region(points, size, rgb.shape)
    if region is None:
        return out, None
    (x0, y0, x1, y1), mask = region
    out[y0:y1, x0:x1] = heal(rgb[y0:y1, x0:x1], mask, method)
    return out, (x0, y0, x1, y1)
