"""The heal brush's pixel code (core/heal.py) on real photos with straps across the cheek."""
from __future__ import annotations

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
