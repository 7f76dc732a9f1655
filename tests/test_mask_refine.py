"""Edge snapping (core.mask_refine) on real photos with a pasted mask and its exact outline
(pairs_dev: the same photo with and without the mask, so the covering is their difference)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path
from unmask_studio.core import maskops
from unmask_studio.core.mask_refine import snap_to_covering

PAIRS = ("107", "110", "117", "148", "157", "162", "176", "196")


def covering_of_pair(stem: str) -> tuple[np.ndarray, np.ndarray]:
    """The masked photo and its covering: the largest region where the pair differs."""
    masked = np.asarray(Image.open(data_path("pairs_dev", "masked", f"{stem}.png")).convert("RGB"))
    clean = np.asarray(Image.open(data_path("pairs_dev", "clean", f"{stem}.png")).convert("RGB"))
    diff = (np.abs(masked.astype(int) - clean).max(-1) > 40).astype(np.uint8)
    diff = cv2.morphologyEx(diff, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(diff)
    gt = (labels == 1 + np.argmax(stats[1:, cv2.CC_STAT_AREA])).astype(np.uint8)
    return masked, cv2.morphologyEx(gt, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))


def with_rim_left(gt: np.ndarray, k: int) -> np.ndarray:
    """What a segmenter typically hands over: the edge right on the upper half, ``k`` px short of the
    fabric on the lower half (a rim of covering left)."""
    cy = int(np.nonzero(gt)[0].mean())
    found = gt.copy()
    found[cy:] = maskops.grow(gt, -k)[cy:]
    return found * 255


@pytest.fixture(scope="module")
def pairs():
    return [covering_of_pair(s) for s in PAIRS]


def test_rim_of_fabric_is_taken_in_and_little_skin(pairs):
    recovered, skin, skin_dilate = [], [], []
    for rgb, gt in pairs:
        k = max(2, int(np.sqrt(gt.sum()) * 0.04))
        found = with_rim_left(gt, k)
        out = snap_to_covering(rgb, found, band_px=1.5 * k)
        rim = (gt > 0) & (found == 0)
        recovered.append((out[rim] > 127).mean())
        skin.append(((out > 127) & (gt == 0)).sum() / rim.sum())
        # The colour-blind alternative: grow everywhere by the rim's width.
        skin_dilate.append(((maskops.grow(found, k) > 127) & (gt == 0)).sum() / rim.sum())
        assert (out[found > 127] == 255).all()  # never gives up what was found
    assert np.mean(recovered) > 0.8, recovered
    # Far less skin than growing the mask would take (about a third of it).
    assert np.mean(skin) < 0.5 * np.mean(skin_dilate), (skin, skin_dilate)


def test_growth_stays_within_the_band(pairs):
    rgb, gt = pairs[0]
    found = with_rim_left(gt, 6)
    out = snap_to_covering(rgb, found, band_px=5)
    reach = maskops.grow(found, 5 + 2)
    assert not ((out > 127) & (reach == 0)).any()
    assert (out > 127).sum() > (found > 127).sum()


def test_bare_face_is_untouched():
    rgb = np.asarray(Image.open(data_path("pairs_dev", "clean", f"{PAIRS[0]}.png")).convert("RGB"))
    empty = np.zeros(rgb.shape[:2], np.uint8)
    out = snap_to_covering(rgb, empty, band_px=8)
    assert not out.any() and out is not empty


def _eye_pixels(shape: tuple[int, int], mesh: np.ndarray) -> np.ndarray:
    """The pixels inside both eyes' mesh contours (bool)."""
    from unmask_studio.core.pipeline import EYE_CONTOUR_MESH_POINTS

    eyes = np.zeros(shape, np.uint8)
    for contour in EYE_CONTOUR_MESH_POINTS:
        cv2.fillPoly(eyes, [np.round(mesh[list(contour)]).astype(np.int32)], 1)
    return eyes > 0


def test_the_snapped_edge_does_not_climb_into_the_eyes():
    """real_masked/173: above a mask's top edge the nearest colour edge is the lower lid; snapping
    moved the edge 12 px up over both lower lids (524 of the eyes' 1,933 pixels in the removal mask)
    and the eyes were repainted half-closed. Snapping may not go above the covering's top edge
    between the eyes' outer corners."""
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine, Options

    rgb = load_image(data_path("real_masked", "173.webp")).rgb
    engine = Engine()
    faces = engine.detect(rgb)
    eyes = _eye_pixels(rgb.shape[:2], faces[0].landmarks)
    mask = engine.segment(rgb, faces)[0] > 127
    unsnapped = Engine(Options(snap_edges=False)).segment(rgb, faces)[0] > 127
    assert (mask & eyes).sum() == 0, (mask & eyes).sum()
    assert mask.sum() > unsnapped.sum()  # it still snaps elsewhere


def test_a_covering_taken_with_the_upper_face_stops_below_the_eyes():
    """real_masked/069: a sport mask on a face cut by the frame's top; the segmenter took the whole
    upper face with it (all 9,049 eye pixels), and the fill painted a new pair of eyes."""
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine

    rgb = load_image(data_path("real_masked", "069.webp")).rgb
    engine = Engine()
    faces = engine.detect(rgb)
    mask = engine.segment(rgb, faces)[0] > 127
    lm = faces[0].landmarks
    assert (mask & _eye_pixels(mask.shape, lm)).sum() == 0
    x0, x1 = int(lm[33, 0]), int(lm[263, 0])  # between the eyes' outer corners, at the brows and above
    brows = lm[[33, 133, 362, 263], 1].min() - 0.3 * np.linalg.norm(lm[[33, 133]].mean(0) - lm[[362, 263]].mean(0))
    assert not mask[:int(brows) - 2, x0:x1].any()
    assert mask.sum() > 200_000  # the respirator itself is still taken


def test_the_eyes_margin_follows_a_small_faces_size():
    """wild_dev/0010_0013: a 38 px face whose white mask reaches its lower lids. The eyes' contours were
    grown by 2 px whatever the face's size (a lash's width on a large face): on this one that cut two
    notches out of the mask's top, left as white dots under the eyes. The margin is now 2 % of the
    face's size, at most 2 px; the eyes themselves are still never taken."""
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine

    rgb = load_image(data_path("wild_dev", "0010_0013.webp")).rgb
    engine = Engine()
    faces = engine.detect(rgb)
    mask = engine.segment(rgb, faces)[0] > 127
    white = np.zeros(mask.shape, bool)
    white[41:49, 137:164] = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[41:49, 137:164, 0] > 215  # under the eyes
    assert white.sum() > 50 and (white & ~mask).sum() == 0, (white & ~mask).sum()
    assert (mask & _eye_pixels(mask.shape, faces[0].landmarks)).sum() == 0
