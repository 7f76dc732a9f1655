"""The engine on real photos: faces found, masks found, holes filled, nothing else touched."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import covered_region, data_path
from unmask_studio.core import blend, maskops
from unmask_studio.core.faces import similarity
from unmask_studio.core.io import load_image


def test_similarity_recovers_a_known_transform():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 500, (15, 2))
    a, s, t = 0.3, 0.7, np.array([12.0, -40.0])
    R = s * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    M = similarity(src, src @ R.T + t)
    np.testing.assert_allclose(M[:, :2], R, atol=1e-9)
    np.testing.assert_allclose(M[:, 2], t, atol=1e-7)


def test_crop_and_paste_back_round_trip(pair_107):
    """Aligning a face into the crop and pasting the untouched crop back reproduces the photo."""
    masked, _ = pair_107
    h, w = masked.shape[:2]
    # A rotated, scaled crop around the face, like a tilted head gives.
    M = cv2.getRotationMatrix2D((w / 2, h / 2.5), 12, 256 / 200)
    M[:, 2] += [128 - w / 2, 128 - h / 2.5]
    crop = blend.to_crop(masked, M, 256)
    alpha = np.zeros((h, w), np.float32)
    alpha[int(h * .25):int(h * .55), int(w * .3):int(w * .7)] = 1
    out = masked.copy()
    roi = blend.crop_roi(M, 256, masked.shape)
    blend.paste_back(out, crop, M, alpha[roi[1]:roi[3], roi[0]:roi[2]], roi, grain_seed=None)
    inside = alpha > 0
    err = np.abs(out.astype(int) - masked.astype(int))[inside]
    assert err.mean() < 4.0, err.mean()  # resampling twice blurs a little, nothing more
    assert (out[~inside] == masked[~inside]).all()


def test_finds_the_face_and_its_mask(engine, pair_107):
    masked, clean = pair_107
    faces = engine.detect(masked)
    assert len(faces) == 1
    truth = covered_region(masked, clean)
    ys, xs = np.nonzero(truth)
    x0, y0, x1, y1 = faces[0].box
    assert x0 < xs.mean() < x1 and y0 < ys.mean() < y1  # the mask is on the face found
    mask, crop_masks = engine.segment(masked, faces)
    found = mask > 127
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.6, iou
    assert crop_masks[0].shape == (256, 256)


def test_only_the_masked_region_changes(engine, pair_107):
    masked, clean = pair_107
    result = engine.run(masked)
    changed = (result.image != masked).any(-1)
    assert changed.sum() > 0.5 * (result.mask > 0).sum()
    # Changes stay inside the mask plus its feathered edge; everything else is bit-identical.
    face = result.faces[0].face
    crop_px_per_image_px = np.sqrt(abs(np.linalg.det(face.matrix[:, :2])))
    reach = maskops.feather_reach(engine.options.feather_px / crop_px_per_image_px) + 1
    allowed = cv2.dilate((result.mask > 0).astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8)) > 0
    assert not (changed & ~allowed).any()
    # And the fill is closer to the real face than the mask was.
    truth = covered_region(masked, clean)
    err_before = np.abs(masked.astype(float) - clean)[truth].mean()
    err_after = np.abs(result.image.astype(float) - clean)[truth].mean()
    assert err_after < 0.6 * err_before, (err_before, err_after)


def test_user_mask_is_used_as_given(engine, pair_107):
    masked, _ = pair_107
    mask = np.zeros(masked.shape[:2], np.uint8)
    mask[250:300, 120:200] = 255
    result = engine.run(masked, mask=mask)
    changed = (result.image != masked).any(-1)
    ys, xs = np.nonzero(changed)
    assert changed[250:300, 120:200].mean() > 0.9
    assert ys.min() >= 240 and ys.max() < 310 and xs.min() >= 110 and xs.max() < 210


def test_no_face_leaves_the_photo_alone(engine):
    # A real photo region with no face in it: the background corner of a scene.
    img = load_image(data_path("real_masked", "004.webp")).rgb
    h, w = img.shape[:2]
    ramp = np.linspace(0, 255, w, dtype=np.float32)[None, :, None].repeat(h, 0).repeat(3, 2)
    plain = (0.5 * ramp + 60).astype(np.uint8)
    result = engine.run(plain)
    assert result.faces == []
    assert (result.image == plain).all()


def test_no_face_result_is_the_photo_itself_not_a_copy(engine):
    """No face: Result.image is the input (a 169 MP photo's copy was +0.5 GB at the peak), read-only so
    that nobody can change the caller's photo through it; the input itself stays writable."""
    plain = np.full((480, 640, 3), 128, np.uint8)
    plain[:, :, 0] = np.linspace(40, 220, 640, dtype=np.uint8)[None, :]
    result = engine.run(plain)
    assert result.faces == [] and not result.mask.any()
    assert np.shares_memory(result.image, plain) and result.image.shape == plain.shape
    assert not result.image.flags.writeable and plain.flags.writeable
    with pytest.raises(ValueError):
        result.image[0, 0] = 0
    assert (result.image == plain).all()


def test_bare_face_gets_no_mask(engine):
    """A face without a covering yields an empty mask, so the pipeline leaves it untouched."""
    img = load_image(data_path("pairs_dev", "clean", "110.png")).rgb
    result = engine.run(img)
    assert len(result.faces) == 1
    assert (result.mask > 127).mean() < 0.002
    assert (result.image != img).any(-1).mean() < 0.002


def test_several_faces(engine):
    """Two photos side by side: both faces found and both masks removed."""
    a = load_image(data_path("pairs_dev", "masked", "107.png")).rgb
    b = load_image(data_path("pairs_dev", "masked", "117.png")).rgb
    h = max(a.shape[0], b.shape[0])
    canvas = np.full((h, a.shape[1] + b.shape[1] + 40, 3), 235, np.uint8)
    canvas[:a.shape[0], :a.shape[1]] = a
    canvas[:b.shape[0], a.shape[1] + 40:] = b
    result = engine.run(canvas)
    assert len(result.faces) == 2
    left = (result.mask[:, :a.shape[1]] > 0).sum()
    right = (result.mask[:, a.shape[1] + 40:] > 0).sum()
    assert left > 2000 and right > 2000


def _tall_covering(engine, rgb):
    """The face, its found mask, and that mask run on down over the neck to well past the inpainter's
    crop (as a neck gaiter or a balaclava is): what issue 11 saw as a hard-edged box over the chin."""
    faces = engine.detect(rgb)[:1]
    mask, _ = engine.segment(rgb, faces)
    S = engine.crop_size
    inv = cv2.invertAffineTransform(faces[0].matrix)
    corners = np.array([[0, 0], [S, 0], [S, S], [0, S]], float) @ inv[:, :2].T + inv[:, 2]
    ys, xs = np.nonzero(mask > 127)
    bottom, height = corners[:, 1].max(), np.ptp(corners[:, 1])
    tall = mask.copy()
    tall[int(np.percentile(ys, 60)):int(min(rgb.shape[0], bottom + 0.5 * height)), xs.min():xs.max()] = 255
    return faces, tall, corners


@pytest.mark.parametrize("name", ["107.png", "117.png"])
def test_no_seam_where_the_covering_runs_past_the_crop(engine, name):
    """The texture of the result must not change abruptly along the line where the face's crop used
    to end (a straight seam): the change in fine-detail energy across that line is no larger than
    across any other line parallel to it inside the filled region (before: 1.8-4.3x larger)."""
    rgb = load_image(data_path("pairs_dev", "masked", name)).rgb
    faces, tall, corners = _tall_covering(engine, rgb)
    out = engine.run(rgb, mask=tall, faces=faces).image.astype(np.float32)
    assert (out[tall > 127] != rgb[tall > 127]).any(-1).mean() > 0.95  # the whole covering is filled
    lum = out.mean(-1)
    detail = np.abs(lum - cv2.GaussianBlur(lum, (0, 0), 1.5))
    inside = cv2.erode((tall > 127).astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    a, b = corners[3], corners[2]  # the crop's bottom edge
    t = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-t[1], t[0]]) * (1 if t[0] > 0 else -1)

    def energy(offset):
        pts = np.round(a + np.outer(np.linspace(0, 1, 300), b - a) + normal * offset).astype(int)
        ok = (pts[:, 0] >= 0) & (pts[:, 0] < rgb.shape[1]) & (pts[:, 1] >= 0) & (pts[:, 1] < rgb.shape[0])
        pts = pts[ok][inside[pts[ok, 1], pts[ok, 0]]]
        assert len(pts) > 40
        return detail[pts[:, 1], pts[:, 0]].mean()

    e = {o: energy(o) for o in range(-27, 28)}
    change = {o: abs(e[o + 3] - e[o - 3]) for o in range(-24, 25)}
    at_edge = max(change[o] for o in range(-2, 3))
    elsewhere = max(change[o] for o in list(range(-24, -8)) + list(range(9, 25)))
    # A seam made the change at the edge 1.8-4.3x the largest elsewhere. Without one the two are about
    # equal: the face's fill fades into the wide pass's over a linear ramp that ends at the edge, so
    # lines inside the ramp change as fast (session 10's smoother two-stage fill: 1.77 vs 1.76 on 107).
    assert at_edge <= 1.1 * elsewhere, (at_edge, elsewhere)


@pytest.mark.parametrize("name", ["0001_0044", "0002_0008", "0006_0017", "0006_0119", "0008_0054", "0011_0000"])
def test_real_coverings_on_small_and_patterned_faces_are_removed(engine, name):
    """Issue 11: on these everyday photos (crowds of 15-40 px faces, a pink patterned mask) faces were
    found but the segmenter trained on synthetic masks found no covering on any of them; the one
    fine-tuned on real photos (weak labels, hard bare faces, small-face augmentation) does."""
    res = engine.run(load_image(data_path("wild_dev", f"{name}.webp")).rgb)
    assert any(r.has_covering for r in res.faces), [r.face.box for r in res.faces]


def test_a_nine_pixel_masked_face_is_restored(engine):
    """A rider's face 9 px across in a foggy street (wild_dev/0008_0187) was below the 12 px floor."""
    rgb = load_image(data_path("wild_dev", "0008_0187.webp")).rgb
    res = engine.run(rgb)
    small = [r for r in res.faces if r.face.size < 12]
    assert small and any(r.has_covering for r in small), [(r.face.size, r.has_covering) for r in res.faces]
    assert np.abs(res.image.astype(int) - rgb).max() > 30  # pixels really changed


def test_no_band_where_a_face_crop_meets_its_wide_pass(engine):
    """real_masked/160: a gaiter running off the photo's bottom, filled by the face's crop and, below
    it, the wide pass. The face's crop faded into the wide fill over 12 crop pixels, and the two fills
    differ: a dark line along the crop's edge over a light strip down to the photo's edge. Along lines
    parallel to that edge the brightness dipped 10 levels and rose 14 again within 30 px of it; now it
    fades over WIDE_FADE and has no such dip."""
    rgb = load_image(data_path("real_masked", "160.webp")).rgb
    faces = engine.detect(rgb)
    result = engine.run(rgb, faces=faces)
    S = engine.crop_size
    inv = cv2.invertAffineTransform(faces[0].matrix)
    a, b = np.array([[0, S], [S, S]], float) @ inv[:, :2].T + inv[:, 2]  # the face crop's bottom edge
    t = (b - a) / np.linalg.norm(b - a)
    normal = np.array([-t[1], t[0]]) * (1 if t[0] > 0 else -1)
    lum = result.image.astype(np.float32).mean(-1)
    inside = cv2.erode((result.mask > 127).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0

    def level(offset):
        pts = np.round(a + np.outer(np.linspace(0.2, 0.8, 200), b - a) + normal * offset).astype(int)
        pts = pts[(pts[:, 0] >= 0) & (pts[:, 0] < rgb.shape[1]) & (pts[:, 1] >= 0) & (pts[:, 1] < rgb.shape[0])]
        pts = pts[inside[pts[:, 1], pts[:, 0]]]
        assert len(pts) > 20
        return lum[pts[:, 1], pts[:, 0]].mean()

    prof = np.array([level(o) for o in range(-30, 9)])
    k = int(np.argmin(prof))
    dip = min(prof[:k + 1].max() - prof[k], prof[k:].max() - prof[k])  # down, then up again
    assert dip < 6, (dip, prof.round())


def test_a_black_and_white_photo_gets_a_grey_fill(engine, pair_107):
    """The model only knows colour faces: on black-and-white photos it painted pink lips and orange
    skin (real_masked/062, 121). The same masked photo made grey must come back grey where filled,
    while the colour photo keeps a coloured fill."""
    rgb, _ = pair_107
    grey = np.repeat(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
    for photo, coloured in ((grey, False), (rgb, True)):
        res = engine.run(photo)
        filled = res.mask > 127
        assert filled.sum() > 1000
        out = res.image.astype(int)[filled]
        spread = np.percentile(out.max(1) - out.min(1), 95)
        assert (spread > 10) if coloured else (spread <= 2), (coloured, spread)
