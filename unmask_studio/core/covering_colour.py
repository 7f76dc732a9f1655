"""Complete a found covering by its own colours, inside the lower face (``cv2.grabCut``).

The segmenter learnt coverings from solid and pasted masks. On a printed mask it stops where the
print changes (a grin printed on the lower half was left on the face, wild_dev/0001_0050), and on a
two-tone mask it takes one fabric and not the other (a white side panel, a rim of binding). What it
did find is a good sample of the covering's colours, and the face's skin around it a good sample of
what is not covering: GrabCut's two colour models and graph cut put the rest of the covering with
it. Only the lower face may change (the face mesh's outline below the eyes, widened and let down
below the chin, where masks hang), only pieces joined to what was found, and the found covering is
never given up. A bare face (nothing found) is never touched.
"""
from __future__ import annotations

import cv2
import numpy as np

from unmask_studio.core import maskops

# Face mesh (MediaPipe, 468 points): the face's outline, in order round the face.
FACE_OVAL_MESH_POINTS = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378,
                         400, 377, 152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54,
                         103, 67, 109)
EYE_CORNER_MESH_POINTS = (33, 133, 362, 263)
NOSE_TIP_MESH_POINT = 1
SIDES_MESH_POINTS = (234, 454)  # the outline at ear height: the face's width
TOP_CHIN_MESH_POINTS = (10, 152)  # the outline's top and the chin: its height (not shortened by a turn)

WIDEN = 0.06  # the outline (and the covering found) is widened by this share of the face's size (the
# larger of its width and height): a mask's edge past the cheek of a turned face, a mesh placed badly
LET_DOWN = 0.15  # ... and let down by this share (a mask hangs below the chin the mesh places under it)
TOP = 0.35  # the zone starts this far from the eyes' line towards the nose tip (never the eyes)
RIM_PX = 2  # what is added within this of the found edge alone is the edge's own rim (snapping's job)
MIN_BEYOND_PX = 12  # a piece must reach this many pixels beyond that rim to count as missed covering
SURE_SHRINK_PX = 3  # the found covering minus this rim is certainly covering; its rim only probably
MAX_GAIN = 1.5  # adding more than this share of the found area is a leak into hair or clothes: refuse.
# Not less: the segmenter can find under half of a covering (a glossy black mask's lower half,
# real_masked/025; a small child's pink mask in a crowd, 158), and the zone already bounds the rest
ITERATIONS = 3
RNG_SEED = 1


def lower_face_zone(shape: tuple[int, int], mesh: np.ndarray, covering: np.ndarray | None = None,
                    hull: bool = False) -> np.ndarray:
    """Where a covering may be completed (bool, ``shape``), from 468 mesh points in the same pixels;
    with the ``covering`` found, around it too, and not above its top edge between the eyes' outer
    corners (its upper hull with ``hull``: see ``below_covering_top``)."""
    size = max(float(np.linalg.norm(mesh[a] - mesh[b])) for a, b in (SIDES_MESH_POINTS, TOP_CHIN_MESH_POINTS))
    zone = np.zeros(shape, np.uint8)
    cv2.fillPoly(zone, [np.round(mesh[list(FACE_OVAL_MESH_POINTS)]).astype(np.int32)], 1)
    if covering is not None:
        zone[covering] = 1
    r = max(1, int(round(WIDEN * size)))
    zone = cv2.dilate(zone, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    drop = int(round(LET_DOWN * size))
    if 0 < drop < shape[0]:
        zone[drop:] |= zone[:-drop].copy()
    eyes_y = float(np.mean(mesh[list(EYE_CORNER_MESH_POINTS), 1]))
    top = int(round(eyes_y + TOP * (mesh[NOSE_TIP_MESH_POINT, 1] - eyes_y)))
    zone[:max(0, min(top, shape[0]))] = 0
    if covering is not None and covering.any():
        outer = mesh[[EYE_CORNER_MESH_POINTS[0], EYE_CORNER_MESH_POINTS[-1]], 0]
        zone &= below_covering_top(covering, *outer, hull=hull)
    return zone > 0


def below_covering_top(covering: np.ndarray, x0: float, x1: float, hull: bool = False) -> np.ndarray:
    """Pixels no higher than the covering's top edge (bool) in the columns between ``x0`` and ``x1``
    (the eyes' outer corners; gaps in the covering bridged), anything in the others. Under the eyes,
    above a mask's top edge, lie the nose's bridge and the cheeks, as bright as a white mask: never the
    covering's missed part. Further out, ear loops rise to the ears. The edge is the found one's upper
    hull: where the segmenter left a dip in the top (a white respirator's middle under sunglasses,
    real_masked/152), the edge runs straight across it, so the rest of the covering can be taken."""
    h, w = covering.shape
    cols = np.flatnonzero(covering.any(0))
    tops = covering.argmax(0).astype(np.float32)
    top = np.zeros(w, np.float32)
    lo, hi = max(0, int(np.floor(min(x0, x1)))), min(w, int(np.ceil(max(x0, x1))) + 1)
    if hi > lo and len(cols):
        xs = np.arange(lo, hi)
        edge = np.interp(xs, cols, tops[cols])
        top[lo:hi] = np.interp(xs, *_upper_hull(xs.astype(np.float32), edge)) if hull else edge
    return np.arange(h)[:, None] >= top[None, :]


def _upper_hull(xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The points of the upper hull (smallest row: image rows grow downwards) of ``(xs, ys)``, ``xs``
    increasing: the monotone chain's half that keeps every point on or below it."""
    hull: list[int] = []
    for i in range(len(xs)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # b lies below the line from a to i (a larger row than the line there): not on the hull
            if (ys[b] - ys[a]) * (xs[i] - xs[a]) >= (ys[i] - ys[a]) * (xs[b] - xs[a]):
                hull.pop()
            else:
                break
        hull.append(i)
    return xs[hull], ys[hull]


def complete_by_colour(crop: np.ndarray, covering: np.ndarray, zone: np.ndarray,
                       fallback: np.ndarray | None = None) -> np.ndarray:
    """``covering`` (bool, crop pixels) plus the pixels of ``zone`` (``lower_face_zone``) that GrabCut
    puts with it and that join it. ``crop``: uint8 RGB of the same size. Returns a new bool mask.
    ``fallback``: a smaller zone to try when what ``zone`` gives is refused as a leak."""
    covering = covering.astype(bool)
    if not covering.any() or not zone.any():
        return covering.copy()
    labels = np.full(covering.shape, cv2.GC_BGD, np.uint8)  # outside the zone: certainly not covering
    labels[zone] = cv2.GC_PR_BGD
    labels[covering] = cv2.GC_PR_FGD
    k = 2 * SURE_SHRINK_PX + 1
    labels[cv2.erode(covering.astype(np.uint8), np.ones((k, k), np.uint8)) > 0] = cv2.GC_FGD
    if not (labels == cv2.GC_FGD).any():
        return covering.copy()
    # Work on the zone's box and a margin: the surroundings there teach the background's colours,
    # and GrabCut's cost grows with the pixels it is given.
    ys, xs = np.nonzero(zone | covering)
    pad = max(4, int(0.05 * covering.shape[1]))
    y0, y1 = max(0, ys.min() - pad), min(covering.shape[0], ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(covering.shape[1], xs.max() + pad + 1)
    sub = np.ascontiguousarray(labels[y0:y1, x0:x1])
    bgr = np.ascontiguousarray(crop[y0:y1, x0:x1, ::-1])
    # GrabCut seeds its colour models by k-means on OpenCV's per-thread generator: fix it, or the same
    # photo gives another mask on its next run.
    cv2.setRNGSeed(RNG_SEED)
    try:
        cv2.grabCut(bgr, sub, None, np.zeros((1, 65)), np.zeros((1, 65)), ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too few pixels of one kind to fit its colour model: keep what was found
        return covering.copy()
    fg = np.zeros_like(covering)
    fg[y0:y1, x0:x1] = (sub == cv2.GC_FGD) | (sub == cv2.GC_PR_FGD)
    fg &= zone | covering
    # Keep the pieces that reach beyond the edge's rim (a print's lower half, a side panel, a loop).
    added = maskops.pieces_beyond_rim(covering, maskops.joined_to(fg, covering), RIM_PX, MIN_BEYOND_PX)
    if added.sum() > MAX_GAIN * covering.sum():
        return covering.copy() if fallback is None else complete_by_colour(crop, covering, fallback)
    return covering | added
