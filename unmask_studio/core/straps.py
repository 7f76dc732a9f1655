"""Ear loops and straps: the thin bands that run from a covering's sides to the ears.

The segmenter sees the face at 128², where a loop is a pixel wide or less, so it finds the covering
and leaves its loops on the cheeks (about a third of real close-ups show them). Here they are traced
at twice the segmenter crop's resolution, beside the covering the segmenter found:

1. thin structures: a morphological top-hat (opening and closing with a disc about as wide as a thick
   strap) on each Lab channel keeps what is thinner than the disc and stands out from both sides,
   whatever its colour (white, black, blue, yellow loops);
2. only beside the covering: in a band at ear height, lateral to the covering's sides row by row,
   away from the eyes, and leaving the covering below them or far out at the side of the face
   (glasses' arms, eyes' corners);
3. each piece that touches the covering is reduced to a line: of the paths along its skeleton from
   where it meets the covering, the longest start that is a strap: nearly straight, heading outwards
   (to the ear, not down the neck or into the face), one lightness all along (it ends where the
   material changes: at the ear, in the hair; a short shadow across it does not end it), at least a
   tenth of the face long, thin, and alone on the skin (not one line among many: braids, a knit).
   Hair, hairnets, text and collars curl, change colour, run the wrong way or are too wide.

Only pixels are added, never removed, and only next to a covering already found: a bare face, with
no covering, is never touched.
"""
from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from unmask_studio.core import maskops

STRAP_WIDTH = 0.06  # the top-hat's disc: the widest strap, as a fraction of the face's width
NOISE_SIGMA = 0.7  # pixels of the strap crop: smoothing before looking for thin structures
CONTRAST = 14.0  # Lab units a strap must stand out by (chroma weighted 1.5: a yellow loop on skin)
MIN_LENGTH = 0.10  # the shortest strap worth removing, as a fraction of the face's width
MIN_STRAIGHTNESS = 0.82  # chord / path length: a loop is a gentle curve, hair and letters are not
MAX_LIGHTNESS_STEP = 22.0  # Lab lightness: a strap is one material; where this changes, it ends
OFF_RUN = 0.03  # face widths: that long off the strap's lightness, it has ended (shorter: a shadow on it)
BAND = (-0.35, 0.65)  # rows the straps are looked for in, relative to the ear, in face widths
BELOW_EYES = 0.1  # a strap leaves the covering this far below the eyes' row at least (face widths),
PAST_EYE = 0.25  # unless it leaves this far out past the eye's centre on its side (a face looking down:
# the covering's corner is at the eyes' level, far out at the side of the face, not at a glasses' hinge)
EYE_RADIUS = 0.12  # and never comes this near an eye's centre (face widths)
MAX_STEEPNESS = 2.75  # rise over run of a strap's chord (70 degrees): steeper is an ear's rim or hair
SHADOW_CHROMA = 8.0  # Lab a*b* distance: a darker line closer than this in hue to its sides is a shadow
CLUTTER = 0.5  # share of thin structure round a strap above which it is a line through hair or braids


def find_straps(crop: np.ndarray, covering: np.ndarray, ears: tuple, eyes: tuple, face_width: float) -> np.ndarray:
    """Straps of ``covering`` (bool, the covering found in ``crop``, an upright face crop, RGB uint8)
    that run towards ``ears`` ((x, y) of the left and right ear, crop pixels). ``eyes``: (x, y) of the
    eyes' centres; a strap leaves the covering below them (or far out past them: a face looking down)
    and never comes near one (at eye height, the thin dark things beside a covering are an eye's
    corner or the arm of a pair of glasses).
    Returns a bool mask of the strap pixels (not including ``covering``)."""
    out = np.zeros(covering.shape, bool)
    if not covering.any() or face_width < 20:
        return out
    d = max(5, int(round(face_width * STRAP_WIDTH)) | 1)
    beside = _beside(covering, ears, face_width)
    thin = np.zeros(covering.shape, bool)
    for box in _side_boxes(beside, (ears[0][0] + ears[1][0]) / 2, margin=d + 4):
        y0, y1, x0, x1 = box  # only where a strap may run: the top-hat over the whole crop cost 65 ms a face
        thin[y0:y1, x0:x1] = _thin_structures(crop[y0:y1, x0:x1], d) > CONTRAST
    structure = thin.copy()  # all thin structure, to judge how cluttered a strap's surroundings are
    thin[covering] = False
    thin &= beside
    for ex, ey in eyes:
        cv2.circle(thin.view(np.uint8), (int(round(ex)), int(round(ey))), int(EYE_RADIUS * face_width), 0, -1)
    eye_y = max(ey for _, ey in eyes)
    near = cv2.dilate(covering.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 100 / 255
    lab[..., 1:] -= 128
    lab_l = lab[..., 0]
    cx = (ears[0][0] + ears[1][0]) / 2
    busy = covering | thin  # not a strap's surroundings when judging its colour against them
    n, labels, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    for i in range(1, n):
        if stats[i, cv2.CC_STAT_AREA] < MIN_LENGTH * face_width:
            continue
        x, y, w, h = stats[i, :4]
        comp = labels[y:y + h, x:x + w] == i
        touch = comp & near[y:y + h, x:x + w]
        if not touch.any():
            continue
        side = np.sign(x + w / 2 - cx)
        eye_x = max(ex * side for ex, _ in eyes) * side  # the eye on the piece's side
        high = np.arange(y, y + h)[:, None] < eye_y + BELOW_EYES * face_width
        near_eye = (np.arange(x, x + w)[None, :] - eye_x) * side < PAST_EYE * face_width
        touch &= ~(high & near_eye)
        if not touch.any():
            continue
        strap = _strap_along(comp, touch, lab_l[y:y + h, x:x + w], d, face_width, side=side)
        if strap is not None and not _a_shadow(strap, lab[y:y + h, x:x + w], busy[y:y + h, x:x + w]) \
                and not _in_clutter(strap, (y, x), structure, covering, d):
            out[y:y + h, x:x + w] |= strap
    return out


def _in_clutter(strap: np.ndarray, origin: tuple[int, int], structure: np.ndarray, covering: np.ndarray,
                d: int) -> bool:
    """True when thin structure lies all round the strap (``strap``: bool, its box at ``origin`` in the
    crop): a line picked out of hair, braids or a knit, where a strap stands alone on skin."""
    (y, x), (h, w) = origin, strap.shape
    y0, x0 = max(0, y - d - 2), max(0, x - d - 2)
    y1, x1 = min(structure.shape[0], y + h + d + 2), min(structure.shape[1], x + w + d + 2)
    s = np.zeros((y1 - y0, x1 - x0), np.uint8)
    s[y - y0:y - y0 + h, x - x0:x - x0 + w] = strap
    outer = cv2.dilate(s, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * d + 1, 2 * d + 1))) > 0
    inner = cv2.dilate(s, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))) > 0
    ring = outer & ~inner & ~covering[y0:y1, x0:x1]
    if ring.sum() < 20:
        return False
    return float(structure[y0:y1, x0:x1][ring].mean()) > CLUTTER


def _side_boxes(zone: np.ndarray, cx: float, margin: int) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) around the part of ``zone`` on each side of column ``cx``, widened by ``margin``
    (the top-hat's and the smoothing's reach, so what is computed inside a box equals the whole crop's)."""
    split = min(max(int(np.ceil(cx)), 0), zone.shape[1])  # the face's middle, inside the crop
    boxes = []
    for lo, hi in ((0, split), (split, zone.shape[1])):
        side = np.zeros_like(zone)
        side[:, lo:hi] = zone[:, lo:hi]
        if side.any():
            (y0, y1), (x0, x1) = maskops.bbox(side, margin)
            boxes.append((y0, y1, x0, x1))
    return boxes


def _a_shadow(strap: np.ndarray, lab: np.ndarray, busy: np.ndarray) -> bool:
    """True when the line is darker than what lies on both sides of it and of the same hue: a crease
    or a shadow (the rim of an ear, the edge of the jaw), not a strap. Straps are white, black, blue,
    coloured: brighter than skin, or of another chroma."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    flank = (cv2.dilate(strap.astype(np.uint8), k) > 0) & ~strap & ~busy
    if flank.sum() < 8:
        return False
    line, side = lab[strap].mean(0), lab[flank].mean(0)
    return bool(line[0] < side[0] and np.hypot(*(line[1:] - side[1:])) < SHADOW_CHROMA)


def _thin_structures(crop: np.ndarray, d: int) -> np.ndarray:
    """How much each pixel stands out as part of something thinner than ``d`` (Lab units)."""
    # Smoothed first: a strap is a few pixels wide, while single-pixel noise (a high-ISO photo, JPEG
    # blocks) would otherwise stand out as thin structure everywhere and chain into "straps".
    lab = cv2.cvtColor(cv2.GaussianBlur(crop, (0, 0), NOISE_SIGMA), cv2.COLOR_RGB2LAB).astype(np.float32)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (d, d))
    score = np.zeros(crop.shape[:2], np.float32)
    for c, weight in ((0, 100 / 255), (1, 1.5), (2, 1.5)):
        ch = lab[..., c] * weight
        bright = ch - cv2.morphologyEx(ch, cv2.MORPH_OPEN, k)
        dark = cv2.morphologyEx(ch, cv2.MORPH_CLOSE, k) - ch
        np.maximum(score, np.maximum(bright, dark), out=score)
    return score


def _beside(covering: np.ndarray, ears, face_width: float) -> np.ndarray:
    """Where a strap may run: at ear height, lateral to the covering on each side. Lateral row by row
    (beyond the covering's extent in the rows around it, less a little slack): on a turned face the
    covering's side slants, and a loop leaves from its upper corner, inside the widest point."""
    h, w = covering.shape
    cx = (ears[0][0] + ears[1][0]) / 2
    xx = np.arange(w, dtype=np.float32)[None, :]
    rows = covering.any(1)
    near_rows = max(1, int(face_width * 0.05))
    zone = np.zeros((h, w), bool)
    for sign, (ex, ey) in ((-1, ears[0]), (1, ears[1])):
        reach = np.where(covering, (xx - cx) * sign, -np.inf).max(1)  # per row, -inf where none
        if not np.isfinite(reach).any() or np.nanmax(reach) <= 0:
            continue
        # the covering's extent in nearby rows; rows far from it: its widest point
        reach = cv2.dilate(reach.astype(np.float32)[:, None], np.ones((2 * near_rows + 1, 1), np.uint8))[:, 0]
        # rows above the covering: lateral to its upper half's widest point (not to its narrow top,
        # beside which lie the eyes and the rims of glasses); rows below: to its widest point
        top, bottom = np.flatnonzero(rows)[[0, -1]]
        upper = reach[top:(top + bottom) // 2 + 1]
        reach[:top] = upper[np.isfinite(upper)].max()
        reach = np.where(np.isfinite(reach), reach, reach[rows].max())
        y0, y1 = int(max(0, ey + BAND[0] * face_width)), int(min(h, ey + BAND[1] * face_width))
        zone[y0:y1] |= (xx - cx) * sign >= (reach[y0:y1, None] - face_width * STRAP_WIDTH)
    return zone


def _strap_along(comp, touch, lightness, d: int, face_width: float, side: float):
    """The strap in one thin piece (bool arrays of its bounding box), or None if there is none: the
    longest stretch of its skeleton, from where it meets the covering, that is a strap."""
    skel = cv2.ximgproc.thinning(comp.astype(np.uint8) * 255) > 0
    if skel.sum() < MIN_LENGTH * face_width:
        return None
    start = skel & (cv2.dilate(touch.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0)
    best = None
    for path in _paths_from(skel, start):
        strap = _strap_prefix(path, lightness, face_width, side)
        if strap is not None and (best is None or len(strap) > len(best)):
            best = strap
    if best is None:
        return None
    ys, xs = best[:, 0], best[:, 1]
    dist = cv2.distanceTransform(np.pad(comp, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    half = float(np.median(dist[ys, xs]))
    if 2 * half > 0.8 * d:  # a band, not a strap (a collar, a strand of hair the width of a finger)
        return None
    line = np.zeros(comp.shape, np.uint8)
    line[ys, xs] = 1
    r = int(np.ceil(half)) + 1
    return (cv2.dilate(line, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0) & \
        (cv2.dilate(comp.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)


def _strap_prefix(path: np.ndarray, lightness: np.ndarray, face_width: float, side: float):
    """The longest start of ``path`` (N x 2, row/col, from the covering outwards) that is a strap:
    nearly straight, one lightness all along, heading outwards. None when shorter than MIN_LENGTH."""
    ys, xs = path[:, 0].astype(np.float64), path[:, 1].astype(np.float64)
    light = lightness[path[:, 0], path[:, 1]]
    k = max(5, int(face_width * 0.04))
    if len(path) < max(k, MIN_LENGTH * face_width):
        return None
    ref = float(np.median(light[:k]))
    off = np.abs(light - ref) > MAX_LIGHTNESS_STEP
    # a different material from here on: a run of pixels off the strap's lightness, longer than a
    # shadow the strap crosses (real_masked/183: a white loop over a 5 px dark fold by the ear)
    n = max(3, int(round(OFF_RUN * face_width)))
    run = np.convolve(off.astype(int), np.ones(n, int), mode="valid") >= n
    end = int(np.argmax(run)) if run.any() else len(path)
    steps = np.concatenate([[0], np.cumsum(np.hypot(np.diff(xs), np.diff(ys)))])
    chord = np.hypot(xs - xs[0], ys - ys[0])
    straight = chord >= MIN_STRAIGHTNESS * np.maximum(steps, 1)
    straight[:k] = True
    if not straight.all():
        end = min(end, int(np.argmin(straight)))
    while end > 0 and (xs[end - 1] - xs[0]) * side < 0.3 * chord[end - 1]:
        end -= 1  # towards the ear, not down the neck or back into the face
    if end < MIN_LENGTH * face_width:
        return None
    if abs(ys[end - 1] - ys[0]) > MAX_STEEPNESS * abs(xs[end - 1] - xs[0]):
        return None  # nearly vertical: the rim of an ear, a strand of hair, the jaw's edge
    return path[:end]


def _paths_from(skel: np.ndarray, start: np.ndarray):
    """Shortest paths (N x 2, row/col) through the skeleton from ``start`` to each of its ends."""
    seeds = np.argwhere(start)
    if not len(seeds):
        return
    h, w = skel.shape
    prev = -np.ones((h, w), np.int64)
    seen = np.zeros((h, w), bool)
    queue = deque()
    for y, x in seeds:
        seen[y, x] = True
        queue.append((y, x))
    while queue:
        y, x = queue.popleft()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                ny, nx = y + dy, x + dx
                if 0 <= ny < h and 0 <= nx < w and skel[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    prev[ny, nx] = y * w + x
                    queue.append((ny, nx))
    neighbours = cv2.filter2D(skel.astype(np.uint8), -1, np.ones((3, 3), np.float32),
                              borderType=cv2.BORDER_CONSTANT) - skel
    for y, x in np.argwhere(skel & seen & (neighbours <= 1) & ~start):
        path = [(y, x)]
        while prev[path[-1]] >= 0:
            p = int(prev[path[-1]])
            path.append((p // w, p % w))
        yield np.array(path[::-1])


# ------------------------------------------------------------------------------- the strap model
MODEL_THRESHOLD = 0.5  # strap probability that counts
LINK = 0.04  # face widths: a gap this small (hair across a loop, a dip in the probability) joins pieces
MODEL_MIN_LENGTH = 0.08  # face widths: a piece shorter than this is a dot (a braid's tip at the
# covering's corner, maskedface_seg/IWM_04071), not a strap


def from_probability(prob: np.ndarray, covering: np.ndarray, eyes: tuple, face_width: float) -> np.ndarray:
    """Strap pixels from the strap model's probability map (``prob``, 0..1 over the strap crop): the
    marked pixels outside ``covering`` that reach it, directly or over gaps shorter than LINK (a
    loop runs from the covering; a line that does not is a collar, a necklace or hair), never near an
    eye (glasses' arms), and at least MODEL_MIN_LENGTH long. Only adds, like ``find_straps``."""
    out = np.zeros(covering.shape, bool)
    cand = (prob > MODEL_THRESHOLD) & ~covering
    for ex, ey in eyes:
        cv2.circle(cand.view(np.uint8), (int(round(ex)), int(round(ey))), int(EYE_RADIUS * face_width), 0, -1)
    if not cand.any() or not covering.any():
        return out
    # Pieces and the covering joined across short gaps: whatever is linked to the covering is a strap.
    r = max(1, int(round(LINK * face_width / 2)))
    linked = cv2.dilate((cand | covering).astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    n, labels = cv2.connectedComponents(linked, connectivity=8)
    own = np.unique(labels[covering])
    keep = cand & np.isin(labels, own[own > 0])
    n, labels, stats, _ = cv2.connectedComponentsWithStats(keep.astype(np.uint8), connectivity=8)
    for i in range(1, n):
        if max(stats[i, cv2.CC_STAT_WIDTH], stats[i, cv2.CC_STAT_HEIGHT]) >= MODEL_MIN_LENGTH * face_width:
            out |= labels == i
    return out
