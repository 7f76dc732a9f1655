"""Ear loops and straps beside a found covering (core/straps.py) and in the engine's removal mask."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from unmask_studio.core.io import load_image
from unmask_studio.core.straps import find_straps

SIZE, WIDTH = 512, 278.0  # the engine's strap crop and the face's width in it
EARS = ((117.0, 230.0), (395.0, 230.0))
EYES = ((190.0, 200.0), (322.0, 200.0))


def _face(seed=0):
    """A skin-coloured crop with grain and a white covering over the lower face."""
    rng = np.random.default_rng(seed)
    crop = np.clip(rng.normal((196, 150, 128), 4, (SIZE, SIZE, 3)), 0, 255).astype(np.uint8)
    covering = np.zeros((SIZE, SIZE), np.uint8)
    cv2.ellipse(covering, (256, 330), (115, 95), 0, 0, 360, 1, -1)
    crop[covering > 0] = (235, 235, 232)
    return crop, covering > 0


def _line(crop, pts, colour=(240, 240, 238), width=4):
    drawn = np.zeros(crop.shape[:2], np.uint8)
    cv2.polylines(drawn, [np.array(pts, np.int32)], False, 1, width)
    crop[drawn > 0] = colour
    return drawn > 0


def test_a_loop_from_the_covering_to_the_ear_is_found():
    crop, covering = _face()
    loop = _line(crop, [(148, 290), (130, 262), (118, 236)])  # from the upper left corner up to the ear
    found = find_straps(crop, covering, EARS, EYES, WIDTH)
    assert (found & loop).sum() > 0.8 * (loop & ~covering).sum()
    assert not (found & ~cv2.dilate(loop.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)).any()


@pytest.mark.parametrize("colour", [(20, 20, 25), (230, 200, 40)], ids=["black", "yellow"])
def test_a_loop_of_another_colour_than_the_covering_is_found(colour):
    crop, covering = _face()
    loop = _line(crop, [(364, 290), (382, 262), (394, 236)], colour)  # right side
    found = find_straps(crop, covering, EARS, EYES, WIDTH)
    assert (found & loop).sum() > 0.8 * (loop & ~covering).sum()


@pytest.mark.parametrize("case", ["no covering", "at eye height", "down the neck", "curly", "thick band"])
def test_what_is_not_a_strap_is_left_alone(case):
    crop, covering = _face(1)
    if case == "no covering":
        _line(crop, [(148, 290), (130, 262), (118, 236)])
        covering[:] = False
    elif case == "at eye height":  # the arm of a pair of glasses, an eye's corner
        _line(crop, [(160, 235), (140, 222), (118, 215)], (30, 30, 30))
        covering[:236] = False
        crop[:236][crop[:236, :, 0] > 230] = (196, 150, 128)
    elif case == "down the neck":  # a collar, a necklace
        _line(crop, [(200, 420), (190, 470), (185, 505)], (30, 30, 30))
    elif case == "curly":  # hair
        pts = [(148 - 3 * i, 290 - 4 * i + (12 if i % 2 else -12)) for i in range(12)]
        _line(crop, pts, (40, 30, 25), 3)
    else:  # a scarf's edge or a hand: wider than any strap
        _line(crop, [(148, 290), (130, 262), (118, 236)], (240, 240, 238), 22)
    assert not find_straps(crop, covering, EARS, EYES, WIDTH).any()


def test_the_engine_removes_ear_loops_with_the_covering(engine):
    """real_masked/002: a grey respirator with two yellow loops across the cheek to the ear. Without
    strap tracing, 134 of the loops' bright yellow pixels were left outside the removal mask."""
    rgb = load_image(data_path("real_masked", "002.webp")).rgb
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(int)
    loops = (lab[..., 2] > 128 + 45) & (lab[..., 0] > 150)
    loops[600:] = False  # the yellow watermark at the bottom
    faces = engine.detect(rgb)
    mask, _ = engine.segment(rgb, faces)
    left = int((loops & (mask < 128)).sum())
    assert left < 40, left
    face = max(faces, key=lambda f: f.size)
    assert len(face.landmarks) == 468
    for corner in (33, 263):  # the eyes' outer corners: thin, dark, beside the loops, never a strap
        x, y = np.round(face.landmarks[corner]).astype(int)
        assert not mask[y - 3:y + 4, x - 3:x + 4].any(), corner


def test_the_lower_strand_of_an_ear_loop_is_removed(engine):
    """real_masked/192: a turned face; the loop's lower strand runs from the mask's corner up to the ear
    lobe, white on pale skin (too faint for the strap tracer). The segmenter trained on whole loops
    (training/synth.py, `segment_real5`) takes it; the one before left 243 of its 366 white pixels."""
    rgb = load_image(data_path("real_masked", "192.webp")).rgb
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0].astype(int)
    strand = np.zeros(light.shape, bool)
    strand[465:525, 330:395] = light[465:525, 330:395] > 225  # the loop (and the mask's edge below it)
    mask, _ = engine.segment(rgb, engine.detect(rgb))
    left = int((strand & (mask < 128)).sum())
    assert strand.sum() > 300 and left < 40, left


def test_a_lower_strand_below_the_ear_lobe_is_traced(engine):
    """real_masked/148: a turned face; the loop's lower strand leaves the mask's corner well below the
    ear and runs up to its lobe. The strap zone ended half a face width below the ear point and left
    all 191 of the strand's bright pixels; it now reaches 0.65 of a face width down."""
    rgb = load_image(data_path("real_masked", "148.webp")).rgb
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0]
    above_skin = light.astype(int) - cv2.medianBlur(light, 15).astype(int)
    strand = np.zeros(light.shape, bool)
    strand[300:360, 200:235] = above_skin[300:360, 200:235] > 20  # the loop, brighter than the skin round it
    mask, _ = engine.segment(rgb, engine.detect(rgb))
    left = int((strand & (mask < 128)).sum())
    assert strand.sum() > 150 and left < 20, left


def test_a_strap_leaving_the_covering_at_the_eyes_level_far_out_is_traced(engine):
    """real_masked/176: a respirator on a face in profile; its green upper strap leaves the covering's
    corner at the eyes' level, far out at the side of the face, and crosses a dark fold of hair. A
    strap had to leave the covering below the eyes and ended at 3 dark pixels: all 700 of its green
    pixels were left."""
    rgb = load_image(data_path("real_masked", "176.webp")).rgb
    green = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 1] < 110
    strap = np.zeros(green.shape, bool)
    strap[380:452, 440:600] = green[380:452, 440:600]  # the upper strap, between the covering and the hair
    mask, _ = engine.segment(rgb, engine.detect(rgb))
    left = int((strap & (mask < 128)).sum())
    assert strap.sum() > 1000 and left < 100, left


def test_a_line_through_braids_is_no_strap(engine):
    """maskedface_seg/IWM_04071: braids over the cheek beside a pasted mask (no loops). A straight run
    through them passed for a strap and 1,592 px of braids were added to the mask; a strap stands
    alone on the skin, with no thin structure all round it."""
    from unmask_studio.core.pipeline import Engine, Options

    rgb = load_image(data_path("maskedface_seg", "images", "IWM_04071.webp")).rgb
    faces = engine.detect(rgb)
    with_straps, _ = engine.segment(rgb, faces)
    without, _ = Engine(Options(find_straps=False)).segment(rgb, faces)
    assert int(((with_straps > 127) & (without <= 127)).sum()) < 50


def test_looking_only_beside_the_covering_finds_what_the_whole_crop_finds(engine, monkeypatch):
    """The thin-structure filter runs only in boxes around where a strap may run (it cost 65 ms a face
    over the whole, wider strap crop); on real photos with loops the straps found are the same."""
    from unmask_studio.core import straps

    for name in ("002.webp", "010.webp", "102.webp", "149.webp"):
        rgb = load_image(data_path("real_masked", name)).rgb
        faces = engine.detect(rgb)
        boxed, _ = engine.segment(rgb, faces)
        with monkeypatch.context() as m:
            m.setattr(straps, "_side_boxes", lambda zone, cx, margin: [(0, zone.shape[0], 0, zone.shape[1])])
            whole, _ = engine.segment(rgb, faces)
        assert (boxed == whole).all(), name


def test_the_loops_of_a_small_face_are_traced(engine):
    """wild_dev/0008_0103: a 256 px web photo, a face about 70 px wide with a white ear loop across the
    cheek. Faces under 80 px were not searched for straps and 35 of the loop's 56 bright pixels were
    left; the tracer now looks at faces from 60 px."""
    rgb = load_image(data_path("wild_dev", "0008_0103.webp")).rgb
    light = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0]
    loop = np.zeros(light.shape, bool)
    loop[92:108, 89:109] = (light.astype(int) - cv2.medianBlur(light, 9).astype(int))[92:108, 89:109] > 15
    mask, _ = engine.segment(rgb, engine.detect(rgb))
    left = int((loop & (mask < 128)).sum())
    assert loop.sum() > 40 and left < 15, left


def test_the_strap_model_takes_the_loop_round_the_ear_the_tracer_leaves(engine):
    """wild_dev/0003_0017: a black cloth mask on a turned face, its loop 8 px wide running from the
    mask's corners up and down to the ear. The tracer's rules (a loop ends where its lightness
    changes; one lightness, thin) left both strands beside the ear: the strap model
    (training/train_straps.py) takes them."""
    from unmask_studio.core.pipeline import Engine, Options

    rgb = load_image(data_path("wild_dev", "0003_0017.webp")).rgb
    dark = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)[..., 0] < 60
    faces = engine.detect(rgb)
    without, _ = engine.segment(rgb, faces)  # the app's default: the tracer only
    loop = np.zeros(dark.shape, bool)
    loop[LOOP_0003] = dark[LOOP_0003]
    loop &= without < 128  # what the tracer left of it
    mask, _ = Engine(Options(strap_model=True)).segment(rgb, faces)
    left = int((loop & (mask < 128)).sum())
    assert loop.sum() > 60 and left < 0.3 * loop.sum(), (int(loop.sum()), left)


LOOP_0003 = np.s_[120:175, 148:172]  # wild_dev/0003_0017: between the mask's right corner and the ear


def test_only_marks_that_reach_the_covering_become_straps():
    """core/straps.from_probability: of the strap model's marks, a loop from the covering's side (also
    across a short gap where its probability dips) is a strap; a line that never comes near the
    covering (a collar, a necklace) and a mark by an eye (a glasses' arm) are not."""
    from unmask_studio.core.straps import from_probability

    _, covering = _face()
    prob = np.zeros(covering.shape, np.float32)
    loop = _line(np.zeros((SIZE, SIZE, 3), np.uint8), [(148, 300), (130, 262), (118, 232)], width=4)
    prob[loop] = 0.9
    prob[270:276, 120:150] = 0  # a dip across the loop: hair over it
    collar = _line(np.zeros((SIZE, SIZE, 3), np.uint8), [(150, 470), (256, 500), (360, 470)], width=4)
    prob[collar] = 0.9
    glasses = _line(np.zeros((SIZE, SIZE, 3), np.uint8), [(190, 200), (130, 205)], width=3)
    prob[glasses] = 0.9
    found = from_probability(prob, covering, EYES, WIDTH)
    assert (found & loop).sum() > 0.8 * (loop & ~covering & (prob > 0.5)).sum()
    assert not (found & collar).any() and not (found & glasses).any()
    assert not (found & covering).any()
