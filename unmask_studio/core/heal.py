"""Healing: replace the pixels under a painted stroke from their surroundings (pure numpy + OpenCV, no Qt).

Like Photoshop's spot-healing brush, the fill has two parts:
- **shading** from the surroundings by diffusion (OpenCV's Telea or Navier-Stokes inpainting), which
  follows the light across the hole and is what makes thin structures (a strap, an ear loop, a hair)
  disappear; on its own it is too smooth and shows as a blurred band at 100 % zoom;
- **texture** (the fine grain: pores, noise, JPEG grain) copied from nearby: for each neighbourhood of
  the stroke, from the shifted copy of it (outside the stroke) whose colours best match the diffused
  fill there, so the grain comes from the same kind of surface (hair grain on hair, skin on skin).
When the stroke covers something that stands out from its surroundings (a strap), only that thing and
its soft edge are replaced and the skin under the rest of the stroke is kept; where the strap goes on
past the stroke's ends it is never a source (it would come back as a blob), and a wide region the
stroke's end overlaps (the mask the strap is sewn to, a hairnet) is left as it is (``_what_to_fill``).
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
    alpha = mask
    if method == "fsr":
        filled = _fsr(bgr, hole)
    else:
        target, unknown = _what_to_fill(bgr, mask)
        if cancel():
            return rgb.copy()
        flag = cv2.INPAINT_NS if method == "ns" else cv2.INPAINT_TELEA
        filled = cv2.inpaint(bgr, unknown * 255, 5, flag)
        if cancel():
            return rgb.copy()
        if method == "auto":
            filled = _add_texture(bgr, filled, target, unknown, cancel)
            if cancel():  # the grain search checks between its rings of places, and gives up
                return rgb.copy()
        # The target in full, fading out over two pixels past it, within the stroke's own coverage (where
        # the target is the whole stroke this is the mask itself).
        soft = cv2.GaussianBlur((cv2.dilate(target, _disc(3)) & hole).astype(np.float32), (0, 0), 1.0)
        alpha = np.clip(mask.astype(np.float32) * np.maximum(soft, target), 0, 255).astype(np.uint8)
    out_bgr = _blend(bgr, filled, alpha)
    out = np.ascontiguousarray(out_bgr[..., ::-1])
    out[mask == 0] = rgb[mask == 0]  # exactly untouched outside the stroke (no rounding drift)
    return out


def _disc(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def _kmeans(pixels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(centres, share of pixels in each) of ``pixels`` (N×3 float32), on at most 4000 of them."""
    if len(pixels) > 4000:
        pixels = pixels[np.random.default_rng(0).choice(len(pixels), 4000, replace=False)]
    k = min(k, len(pixels))
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)  # k-means++ draws from OpenCV's per-thread generator: the same stroke, the same fill
    _, labels, centres = cv2.kmeans(np.ascontiguousarray(pixels), k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    return centres, np.bincount(labels.ravel(), minlength=k) / len(labels)


def _nearest(lab: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.min([np.linalg.norm(lab - c, axis=2) for c in centres], axis=0)


def _what_to_fill(bgr: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(target, unknown), 0/1 uint8: the pixels of the stroke to replace, and those the fill must not be
    made from (the target and what carries it on past the stroke).

    A user drags a brush wider than the strap along it, and past its ends: into the hair, over an ear,
    onto the mask the strap is sewn to. Filling the whole stroke from its surroundings would
    - pull the strap's colour back in as a blob wherever the strap goes on past the stroke's end, and
    - bite a round dent, in skin colour, into the mask or hairnet where the stroke's end overlaps it.
    So when the stroke covers a thing that stands out from its surroundings, only that thing (plus a few
    pixels for its soft edge and shadow) is replaced; the skin under the rest of the stroke is kept as it
    is and is what the fill is made from; the thing's thin run on past the stroke is never a source; and
    a large region of the same colour that the stroke clips (wider than the stroke: the mask, a hairnet)
    is left alone.

    What the stroke covers is told from its surroundings by colour (Lab): its pixels that a diffusion from
    the ring round the stroke mispredicts are its content; of their colours (k-means), the one farthest
    from the ring's majority colours is the structure's, and pixels closer to it than half-way to the
    majority are the structure. With nothing that stands out (a blemish in textured skin), or when most of
    the ring looks like it, the whole stroke is filled from the ring as before."""
    hole = (mask > 0).astype(np.uint8)
    wide = cv2.dilate(hole, _disc(5))  # the stroke's soft edge still holds strap pixels
    whole = (hole, wide)
    half_width = _half_width(hole)
    from_wide = cv2.distanceTransform(1 - wide, cv2.DIST_L2, 3)
    ring = (from_wide > 0) & (from_wide <= half_width)
    if (mask == 255).sum() < 16 or ring.sum() < 16:
        return whole
    lab = cv2.cvtColor(bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    guess = cv2.cvtColor(_coarse_inpaint(bgr, wide, half_width), cv2.COLOR_BGR2Lab)
    content = hole.astype(bool) & (np.linalg.norm(lab - guess, axis=2) > 20)
    if content.sum() < 16:
        return whole
    inner, _ = _kmeans(lab[content], 3)
    outer, share = _kmeans(lab[ring], 3)
    order = np.argsort(-share)
    majority = outer[order[: int(np.searchsorted(np.cumsum(share[order]), 0.6)) + 1]]
    apart = [float(np.linalg.norm(majority - c, axis=1).min()) for c in inner]
    if max(apart) < 25:  # nothing stands out from around it
        return whole
    structure = inner[int(np.argmax(apart))]
    like = (np.linalg.norm(lab - structure, axis=2) < 0.5 * _nearest(lab, majority)).astype(np.uint8)
    if like[ring].mean() > 0.5:  # most of the surroundings look like it: it is the background
        return whole
    # Edges, shadows and a mask's dots scale with the photo: so do the margins round them (3 px on a
    # 1 MP photo, ~10 px where the same strap is five times as wide).
    margin = max(3, int(round(half_width / 6)))
    solid = cv2.morphologyEx(like, cv2.MORPH_CLOSE, _disc(2 * margin + 1))  # a mask's dots, a hairnet's folds
    # Wider than the stroke: a region the stroke clips, not a strap under it. (A square for the opening:
    # OpenCV erodes with rectangles fast, an ellipse this big takes seconds on a 24 MP photo's stroke; a
    # strap narrower than the stroke holds no square as wide as the stroke.)
    side = int(2 * half_width) + 3
    square = cv2.getStructuringElement(cv2.MORPH_RECT, (side, side))
    wide_region = cv2.morphologyEx(solid, cv2.MORPH_OPEN, square)
    run_on = solid & (1 - wide_region)  # the structure itself: thin, a strap
    # Only the structure is replaced, with a few pixels round it for its soft edge and shadow: whatever
    # else the stroke covers (the edge of a grey mask, a hairline) is real and stays as it is.
    target = cv2.dilate(run_on & hole, _disc(2 * margin + 1)) & hole & (1 - wide_region)
    # The strap's edge blends into what it lies on (a white strap's edge over dark hair is mid-grey, not
    # strap-coloured): what the diffusion mispredicts right beside it is its edge too.
    edge = cv2.dilate(target, _disc(2 * margin + 1)) & content.astype(np.uint8) & (1 - wide_region)
    target = cv2.dilate(target | edge, _disc(3)) & hole & (1 - wide_region)
    if target.sum() < 8:
        return whole
    # The structure's thin run on past the stroke: the part of it connected to the stroke's, within two
    # stroke widths of it.
    _, labels = cv2.connectedComponents(run_on | target)
    touching = np.unique(labels[target > 0])
    from_target = cv2.distanceTransform(1 - target, cv2.DIST_L2, 3)
    grown = (np.isin(labels, touching[touching > 0]) & (from_target <= 4 * half_width)).astype(np.uint8)
    grown |= target
    unknown = cv2.dilate(grown, _disc(margin + 2 | 1))  # with the soft edges of both
    # Nor is the clipped region near the stroke a source: its colour would bleed into the fill beside it
    # as a stub sticking out of the mask. (It is filled but never written: its own pixels are kept.)
    unknown |= wide_region & (from_wide <= half_width)
    return target, unknown


def _coarse_inpaint(bgr: np.ndarray, hole: np.ndarray, half_width: float) -> np.ndarray:
    """A diffusion fill of ``hole``, worked out on a copy scaled so the stroke is ~16 px wide (it only has to
    tell the strap from the skin; a 24 MP photo's wide stroke would otherwise spend a quarter second)."""
    k = max(1, int(half_width // 8))
    if k == 1:
        return cv2.inpaint(bgr, hole * 255, 3, cv2.INPAINT_TELEA)
    h, w = hole.shape
    size = (max(1, w // k), max(1, h // k))
    small_hole = cv2.resize(hole.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0
    small = cv2.inpaint(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), small_hole.astype(np.uint8) * 255,
                        3, cv2.INPAINT_TELEA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _blend(bgr: np.ndarray, filled: np.ndarray, mask: np.ndarray) -> np.ndarray:
    a = (mask.astype(np.float32) / 255.0)[..., None]
    return np.clip(bgr * (1 - a) + filled.astype(np.float32) * a + 0.5, 0, 255).astype(np.uint8)


def _fsr(bgr: np.ndarray, hole: np.ndarray) -> np.ndarray:
    # xphoto.inpaint wants the mask as "valid pixels" (non-zero = known).
    dst = np.zeros_like(bgr)
    cv2.xphoto.inpaint(bgr, (1 - hole).astype(np.uint8), dst, cv2.xphoto.INPAINT_FSR_FAST)
    return dst


def _half_width(hole: np.ndarray) -> float:
    """Half the stroke's width: its deepest pixel's distance from its edge (at most half the ROI's size,
    when the stroke covers all of it)."""
    return min(float(cv2.distanceTransform(hole, cv2.DIST_L2, 3).max()), max(hole.shape) / 2)


def _grain_sigma(hole: np.ndarray) -> float:
    """Blur scale separating shading from grain: a quarter of the stroke's width, at least 1.5 px."""
    half_width = _half_width(hole)
    return max(1.5, half_width / 2)


def _add_texture(bgr: np.ndarray, filled: np.ndarray, hole: np.ndarray, unknown: np.ndarray,
                 cancel=lambda: False) -> np.ndarray:
    """Diffused fill plus fine grain copied from nearby, each pixel's grain from the candidate place (the
    hole shifted by one of a few offsets round it) whose colours there best match the diffused fill in
    that pixel's neighbourhood. One shift for the whole stroke would carry, along a long stroke, hair
    grain onto skin or an ear's rim across a cheek, drawn as streaks; choosing per neighbourhood keeps
    hair grain on hair and skin grain on skin. ``unknown`` (the hole and the strap going on past it)
    is never copied from."""
    sigma = _grain_sigma(hole)
    f = bgr.astype(np.float32)
    grain = f - cv2.GaussianBlur(f, (0, 0), sigma)
    blocked = cv2.dilate(unknown, np.ones((3, 3), np.uint8), iterations=2)
    shift = _donor_shifts(f, filled, hole, blocked, cancel)
    if shift is None:
        return filled
    dy, dx, found = shift
    ys, xs = np.nonzero(hole & found)
    moved = np.zeros_like(f)
    moved[ys, xs] = grain[ys + dy[ys, xs], xs + dx[ys, xs]]
    # The donor may still cross an edge (hair, an ear's rim) whose grain would draw streaks on skin: keep
    # the copied grain within the strength of the grain right around the hole.
    near = cv2.dilate(hole, np.ones((3, 3), np.uint8), iterations=max(3, int(2 * sigma)))
    ring = near.astype(bool) & ~unknown.astype(bool)
    limit = 2.5 * float(grain[ring].std()) if ring.any() else 0.0
    np.clip(moved, -limit, limit, out=moved)
    # Fade the grain in over a few pixels at the hole's edge so no seam is drawn by the texture itself.
    fade = cv2.GaussianBlur(hole.astype(np.float32), (0, 0), 1.0)[..., None]
    return np.clip(filled.astype(np.float32) + moved * fade, 0, 255).astype(np.uint8)


def _donor_shifts(f: np.ndarray, filled: np.ndarray, hole: np.ndarray, blocked: np.ndarray, cancel):
    """Per pixel of the ROI, (dy, dx, found): the offset to the place to copy grain from, among the hole
    shifted by 1.5, 2.5 or 4 stroke widths in 16 directions, the one whose colours best match the diffused
    fill over a neighbourhood of half a stroke width; the donor lies in the ROI and off ``blocked``.
    Compared on a copy scaled so the stroke is ~16 px wide: the cost is an average over a neighbourhood
    anyway, and a 24 MP photo's wide stroke would otherwise take seconds. None when nothing was found."""
    h, w = hole.shape
    width = max(2.0, 2 * _half_width(hole))
    k = max(1, int(width // 16))
    sh, sw = max(1, h // k), max(1, w // k)

    def small(a, interpolation=cv2.INTER_AREA):
        return cv2.resize(a, (sw, sh), interpolation=interpolation) if k > 1 else a

    f_s, fill_s = small(f), small(filled.astype(np.float32))
    hole_s = small(hole.astype(np.float32)) > 0
    free_s = (small(blocked.astype(np.float32)) == 0).astype(np.float32)  # wholly clear of the strap
    ys, xs = np.nonzero(hole_s)
    if not len(ys):
        return None
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box_fill = fill_s[y0:y1, x0:x1]
    best_cost = np.full((y1 - y0, x1 - x0), np.inf, np.float32)
    best = np.zeros((y1 - y0, x1 - x0, 2), np.int32)
    box = max(3, int(width / k / 2) | 1)  # the neighbourhood compared: half a stroke width
    for dist in (1.5 * width, 2.5 * width, 4 * width):
        if cancel():
            return None
        for ang in np.arange(0, 2 * np.pi, np.pi / 8):
            dy, dx = int(round(dist * np.sin(ang) / k)), int(round(dist * np.cos(ang) / k))
            # The donor box, clipped to the ROI; outside it (or on the strap) the cost is infinite.
            sy0, sy1, sx0, sx1 = max(0, y0 + dy), min(sh, y1 + dy), max(0, x0 + dx), min(sw, x1 + dx)
            if sy1 <= sy0 or sx1 <= sx0:
                continue
            ty, tx = sy0 - dy - y0, sx0 - dx - x0  # where the clipped donor box lands in the hole's box
            region = np.s_[ty:ty + sy1 - sy0, tx:tx + sx1 - sx0]
            ok = np.zeros(best_cost.shape, np.float32)
            ok[region] = free_s[sy0:sy1, sx0:sx1]
            if not ok.any():
                continue
            diff = np.zeros(best_cost.shape, np.float32)
            diff[region] = np.abs(f_s[sy0:sy1, sx0:sx1] - box_fill[region]).mean(axis=2)
            # Mean colour difference over the neighbourhood, where the donor is usable; a place partly
            # blocked counts as worse, and a farther place pays a little for being farther.
            den = cv2.boxFilter(ok, -1, (box, box))
            cost = cv2.boxFilter(diff * ok, -1, (box, box)) / np.maximum(den, 1e-3)
            cost += 30 * (1 - den) + 0.05 * dist
            cost[ok == 0] = np.inf
            take = cost < best_cost
            best_cost[take] = cost[take]
            best[take] = (dy * k, dx * k)
    found_s = np.zeros((sh, sw), np.uint8)
    found_s[y0:y1, x0:x1] = np.isfinite(best_cost)
    if not found_s.any():
        return None
    full = np.zeros((sh, sw, 2), np.int32)
    full[y0:y1, x0:x1] = best
    if k > 1:  # back to full size: each pixel takes its small pixel's choice
        full = cv2.resize(full.astype(np.float32), (w, h), interpolation=cv2.INTER_NEAREST).astype(np.int32)
        found_s = cv2.resize(found_s, (w, h), interpolation=cv2.INTER_NEAREST)
    dy, dx = full[..., 0], full[..., 1]
    yy, xx = np.mgrid[0:h, 0:w]
    # A donor pixel must lie in the ROI (the small grid rounds): those that would not keep no grain.
    inside = (yy + dy >= 0) & (yy + dy < h) & (xx + dx >= 0) & (xx + dx < w)
    return np.where(inside, dy, 0), np.where(inside, dx, 0), (found_s > 0) & inside


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
