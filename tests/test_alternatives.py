"""Alternative fills (issue 15 item 3, ``core/variants.py``): variant 0 is the fill as it always was, bit
for bit; another variant fills the face differently, only under its mask, and only on the faces asked for.
On real masked photos from ../shared/data."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from unmask_studio.core import blend
from unmask_studio.core.io import load_image
from unmask_studio.core.pipeline import MIN_ZOOM
from unmask_studio.core.reference import Reference
from unmask_studio.core.variants import COUNT, variant_matrix, vary_reference

# benchmarks/alternatives.py: the closest two variants of any of 40 pairs_dev faces differ by 5.7 levels
# (mean |difference| inside the hole); variant 1 (the mirror) by 8.7 on average.
MIN_DIFFERENCE = 3.0


@pytest.fixture(scope="module")
def photo(engine):
    rgb = load_image(data_path("pairs_dev", "masked", "107.png")).rgb
    faces = engine.detect(rgb)
    mask, _ = engine.segment(rgb, faces)
    assert len(faces) == 1 and (mask > 127).sum() > 2000
    return rgb, faces, mask


def far_from(mask: np.ndarray, px: float) -> np.ndarray:
    """Pixels more than ``px`` away from any mask pixel."""
    return cv2.distanceTransform((mask == 0).astype(np.uint8), cv2.DIST_L2, 5) > px


def feather_reach(engine, face) -> float:
    """How far the paste-back's soft edge may reach beyond the mask (maskops.feather_outward: 3 radii),
    at the scale of the widest crop a face may be filled through (MIN_ZOOM of its own)."""
    return 3 * np.ceil(engine.options.feather_px / (blend.crop_scale(face.matrix) * MIN_ZOOM)) + 1


def test_variant_0_is_the_usual_fill_bit_for_bit(engine, photo):
    rgb, faces, mask = photo
    usual, before = engine.inpaint(rgb, faces, mask)
    same, results = engine.inpaint(rgb, faces, mask, variants={0: 0})
    np.testing.assert_array_equal(same, usual)
    np.testing.assert_array_equal(engine.run(rgb, faces=faces, variants={0: 0}).image,
                                  engine.run(rgb, faces=faces).image)
    assert results[0].face is faces[0]
    np.testing.assert_array_equal(results[0].crop_output, before[0].crop_output)


def test_another_variant_fills_differently_and_only_under_the_mask(engine, photo):
    rgb, faces, mask = photo
    usual, _ = engine.inpaint(rgb, faces, mask)
    hole, far = mask > 127, far_from(mask, feather_reach(engine, faces[0]))
    for v in range(1, COUNT):
        alt, results = engine.inpaint(rgb, faces, mask, variants={0: v})
        diff = np.abs(alt.astype(np.int16) - usual)
        assert diff[hole].mean() > MIN_DIFFERENCE, v
        np.testing.assert_array_equal(alt[far], rgb[far])  # untouched beyond the mask's feathered edge
        assert results[0].face is faces[0]  # the caller's face, not the varied view
    again, _ = engine.inpaint(rgb, faces, mask, variants={0: 1})
    first, _ = engine.inpaint(rgb, faces, mask, variants={0: 1})
    np.testing.assert_array_equal(again, first)  # deterministic: a variant can be come back to


def test_only_the_faces_asked_for_change(engine):
    a = load_image(data_path("pairs_dev", "masked", "107.png")).rgb
    b = load_image(data_path("pairs_dev", "masked", "148.png")).rgb
    b = cv2.resize(b, (round(b.shape[1] * a.shape[0] / b.shape[0]), a.shape[0]), interpolation=cv2.INTER_AREA)
    # Two masked people, far enough apart that neither's widest crop (the reach window, twice the face's
    # crop) takes in the other's mask: nearer, the diffusion fill beyond one face's crop runs into the other.
    gap = np.full((a.shape[0], 2 * engine.crop_size, 3), 128, np.uint8)
    rgb = np.ascontiguousarray(np.concatenate([a, gap, b], axis=1))
    faces = sorted(engine.detect(rgb), key=lambda f: f.box[0])
    assert len(faces) == 2
    mask, _ = engine.segment(rgb, faces)
    usual, _ = engine.inpaint(rgb, faces, mask)
    half = a.shape[1] + gap.shape[1] // 2
    left, right = np.s_[:, :half], np.s_[:, half:]
    for i, changed, kept in ((0, left, right), (1, right, left)):
        alt, _ = engine.inpaint(rgb, faces, mask, variants={i: 1})
        np.testing.assert_array_equal(alt[kept], usual[kept])
        hole = mask[changed] > 127
        assert np.abs(alt[changed].astype(np.int16) - usual[changed])[hole].mean() > MIN_DIFFERENCE


def test_the_mirror_variant_sees_the_mirrored_crop_and_reference(engine, photo):
    rgb, faces, _ = photo
    S = engine.crop_size
    crop = blend.to_crop(rgb, faces[0].matrix, S)
    mirrored = blend.to_crop(rgb, variant_matrix(faces[0].matrix, 1, S), S)
    diff = np.abs(mirrored.astype(np.int16) - crop[:, ::-1])
    assert (diff == 0).mean() > 0.99 and diff.mean() < 0.02  # the same pixels, flipped (but for the warp's rounding)
    valid = np.ones((S, S), np.float32)
    valid[:, :40] = 0
    ref = Reference(crop=crop, valid=valid, box=faces[0].box, source="107.png")
    flipped = vary_reference(ref, 1, S)
    np.testing.assert_array_equal(flipped.crop, crop[:, ::-1])
    np.testing.assert_array_equal(flipped.valid, valid[:, ::-1])
    assert vary_reference(ref, 0, S) is ref
