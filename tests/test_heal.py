"""The heal brush's pixel code (core/heal.py) on real photos with straps across the cheek."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from unmask_studio.core.heal import heal, heal_stroke, margin_for, stroke_region

# A white strap across the cheek in real_masked/006.webp, and a stroke drawn along it (as in
# docs/make_heal_crops.py); the skin is brown (B < 120), the strap white (B > 140).
STROKE = [(272, 470), (311, 500), (324, 510), (335, 522)]  # the part over the cheek
SKIN = np.s_[440:470, 310:345]  # cheek above the strap


@pytest.fixture(scope="module")
def photo_006():
    from unmask_studio.core.io import load_image

    return load_image(data_path("real_masked", "006.webp")).rgb


def strap_pixels(rgb):
    """Strap-coloured pixels in the stroke's core (the hairnet and the mask at its ends are white too)."""
    (x0, y0, x1, y1), mask = stroke_region(STROKE, 20, rgb.shape)
    region = rgb[y0:y1, x0:x1].astype(int)
    return int(((region[..., 1] > 150) & (region[..., 2] > 140) & (mask == 255)).sum())


@pytest.mark.parametrize("method", ["auto", "telea", "ns", "fsr"])
def test_heal_removes_the_strap_and_changes_only_the_stroke(photo_006, method):
    assert strap_pixels(photo_006) > 80  # the strap is there to begin with
    healed, rect = heal_stroke(photo_006, STROKE, 20, method)
    # FSR reconstructs texture from the nearby white hairnet too, so a few bright pixels remain there.
    assert strap_pixels(healed) <= (20 if method == "fsr" else 0), "strap still visible after healing"
    (x0, y0, x1, y1), mask = stroke_region(STROKE, 20, photo_006.shape)
    changed = np.zeros(photo_006.shape[:2], bool)
    changed[y0:y1, x0:x1] = mask > 0
    np.testing.assert_array_equal(healed[~changed], photo_006[~changed])  # bit for bit outside the stroke
    # The fill looks like the skin around it: mean colour within a few levels of a ring beside the strap.
    inside = healed[y0:y1, x0:x1][mask == 255].astype(float).mean(0)
    beside = photo_006[SKIN].reshape(-1, 3).astype(float).mean(0)
    assert np.abs(inside - beside).max() < 25


# The strap's whole visible run across the cheek, from the hairnet to the N95, as a user drags it (the
# stroke docs/make_heal_crops.py derives from the strap's pixels): both ends stop where the strap goes on,
# white, into the white hairnet and the white mask.
FULL_RUN = [(263, 458), (268, 464), (274, 469), (280, 475), (286, 480), (292, 485), (298, 491), (304, 496),
            (310, 501), (317, 506), (323, 511), (329, 516), (335, 521), (341, 526), (348, 531), (354, 536),
            (360, 541), (363, 546)]
FULL_RUN_SIZE = 23


def white(rgb):
    return (rgb[..., 1] > 150) & (rgb[..., 2] > 140)


def test_heal_of_the_whole_strap_leaves_no_trace_at_its_ends(photo_006):
    """What the heal paints is skin: no cluster of the strap's white where the strap goes on past the stroke
    (the heal used to pull the strap, hairnet and mask back into the fill: 173 white pixels painted, in a
    blob of 171 at the mask), the painted pixels' mean colour is the skin's round the stroke (was 16-23
    levels lighter), and the N95 and hairnet the stroke's ends overlap keep their outline (a fill from the
    skin alone painted 109 of their pixels skin-coloured)."""
    healed, _ = heal_stroke(photo_006, FULL_RUN, FULL_RUN_SIZE)
    (x0, y0, x1, y1), mask = stroke_region(FULL_RUN, FULL_RUN_SIZE, photo_006.shape)
    before, after = photo_006[y0:y1, x0:x1].astype(int), healed[y0:y1, x0:x1].astype(int)
    painted = (np.abs(after - before).max(axis=2) > 8) & (mask > 0)
    assert painted.sum() > 1500  # the strap (~9 px wide, ~130 px long) was painted over

    # The hairnet and the N95: white regions wider than the brush, which the stroke's ends overlap.
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (31, 31))
    regions = cv2.morphologyEx(white(before).astype(np.uint8), cv2.MORPH_OPEN, disc)
    assert (regions.astype(bool) & (mask > 0)).sum() > 50
    # White painted beside them (their own anti-aliased edge, 3 px, aside) is the strap pulled back in.
    beside = ~cv2.dilate(regions, np.ones((7, 7), np.uint8)).astype(bool)
    strap_white = (white(after) & painted & beside).astype(np.uint8)
    _, _, stats, _ = cv2.connectedComponentsWithStats(strap_white)
    largest = int(stats[1:, cv2.CC_STAT_AREA].max()) if len(stats) > 1 else 0
    painted_white = int(strap_white.sum())
    assert painted_white <= 12 and largest <= 6, f"{painted_white} white pixels painted, blob of {largest}"

    ring = (cv2.dilate((mask > 0).astype(np.uint8), np.ones((17, 17), np.uint8)) > 0) & (mask == 0)
    skin = before[ring & ~white(before)].mean(axis=0)
    inside = after[painted & (mask == 255)].mean(axis=0)
    assert np.abs(inside - skin).max() < 6, f"painted {inside.round(1)} vs skin round it {skin.round(1)}"

    # And no skin-coloured bite was painted into the hairnet or the N95 (inside their edge).
    inner = cv2.erode(regions, np.ones((7, 7), np.uint8)).astype(bool)
    bite = int((inner & painted & ~white(after)).sum())
    assert bite <= 10, f"{bite} pixels of the hairnet and the N95 painted over"


def test_a_cancelled_heal_stops_and_changes_nothing(photo_006):
    """``cancel`` is asked between the steps and inside the grain search; once it says yes, the heal returns
    the ROI as it was (the editor drops it), however far it had got."""
    (x0, y0, x1, y1), mask = stroke_region(FULL_RUN, FULL_RUN_SIZE, photo_006.shape)
    roi = photo_006[y0:y1, x0:x1]
    asked = []
    heal(roi, mask, cancel=lambda: asked.append(1) and False)
    assert len(asked) >= 4  # asked more than once per step: inside the search too
    for after in range(len(asked)):
        calls = []
        out = heal(roi, mask, cancel=lambda: calls.append(1) is None and len(calls) > after)
        np.testing.assert_array_equal(out, roi)
        assert len(calls) <= after + 2  # it stopped at the first yes (the step that saw it asks once more)


def test_stroke_region_is_the_stroke_box_plus_margin_only():
    r = stroke_region([(1000, 1000), (1100, 1040)], 30, (4000, 6000, 3))
    (x0, y0, x1, y1), mask = r
    m = margin_for(15)
    assert (x0, y0) == (1000 - 15 - m, 1000 - 15 - m)
    assert x1 - x0 < 100 + 30 + 2 * m + 3 and mask.shape == (y1 - y0, x1 - x0)
    assert stroke_region([(-500, -500)], 10, (100, 100, 3)) is None  # off the photo
    (x0, y0, _, _), _ = stroke_region([(2, 3)], 10, (100, 100, 3))  # clipped at the edge
    assert (x0, y0) == (0, 0)


def test_empty_mask_and_bad_input():
    rgb = np.random.default_rng(0).integers(0, 255, (40, 50, 3), np.uint8)
    np.testing.assert_array_equal(heal(rgb, np.zeros((40, 50), np.uint8)), rgb)
    with pytest.raises(ValueError, match="unknown heal method"):
        heal(rgb, np.zeros((40, 50), np.uint8), "magic")
    with pytest.raises(ValueError, match="same size"):
        heal(rgb, np.zeros((40, 49), np.uint8))


def test_the_same_stroke_heals_the_same_way_every_time(photo_006):
    """k-means++ in the fill's colour analysis drew from OpenCV's per-thread random generator: healing
    the same stroke again gave another fill (1,759 pixels of FULL_RUN differed by the third time)."""
    runs = [heal_stroke(photo_006, FULL_RUN, FULL_RUN_SIZE)[0] for _ in range(3)]
    assert all((r == runs[0]).all() for r in runs[1:])
