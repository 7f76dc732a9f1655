"""Reference photos (core/reference.py): the one face is found and aligned; bad references are refused
with one line, and the engine still runs without them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.conftest import data_path
from unmask_studio.core.io import load_image
from unmask_studio.core.reference import (ReferenceError, model_inputs, reference_from_file,
                                          reference_from_image)


def lfw_pair():
    person = data_path("lfw_people", "Aaron_Peirsol")
    return sorted(person.glob("*.jpg"))[:2]


def test_reference_face_is_aligned_like_the_target(engine):
    a, b = lfw_pair()
    ref = reference_from_file(b, engine.finder, engine.crop_size)
    S = engine.crop_size
    assert ref.crop.shape == (S, S, 3) and ref.crop.dtype == np.uint8
    assert ref.valid.shape == (S, S) and set(np.unique(ref.valid)) <= {0.0, 1.0}
    assert ref.valid.mean() > 0.6  # most of the crop is photo
    assert not ref.crop[ref.valid == 0].any()  # nothing mirrored in beyond the photo's edge
    # Same person, same template: the target photo's aligned crop and the reference's line up (eyes,
    # nose and mouth rows agree), which a misaligned crop would not.
    tgt = reference_from_file(a, engine.finder, engine.crop_size)
    rows = lambda c: c.astype(np.float32).mean((1, 2))  # noqa: E731 - brightness profile down the face
    r = np.corrcoef(rows(tgt.crop)[40:220], rows(ref.crop)[40:220])[0, 1]
    assert r > 0.6, r


def test_no_face_is_refused_in_one_line(engine):
    flat = np.full((300, 300, 3), 127, np.uint8)
    with pytest.raises(ReferenceError, match="No face found") as e:
        reference_from_image(flat, engine.finder, engine.crop_size, "wall.jpg")
    assert "\n" not in str(e.value) and "wall.jpg" in str(e.value)


def test_two_people_of_similar_size_are_refused(engine):
    a, b = lfw_pair()
    one = load_image(a).rgb
    two = np.concatenate([one, load_image(b).rgb], axis=1)  # two faces side by side, same size
    with pytest.raises(ReferenceError, match="faces"):
        reference_from_image(two, engine.finder, engine.crop_size, "group.jpg")


def test_unreadable_file_is_refused(engine, tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(ReferenceError, match="broken.jpg"):
        reference_from_file(bad, engine.finder, engine.crop_size)
    with pytest.raises(ReferenceError, match="missing.jpg"):
        reference_from_file(tmp_path / "missing.jpg", engine.finder, engine.crop_size)


def test_model_inputs_are_zero_where_a_face_has_no_reference(engine):
    _, b = lfw_pair()
    ref = reference_from_file(b, engine.finder, engine.crop_size)
    x, v = model_inputs([None, ref], engine.crop_size)
    assert x.shape == (2, 3, engine.crop_size, engine.crop_size) and v.shape == (2, 1, engine.crop_size, engine.crop_size)
    assert not x[0].any() and not v[0].any()
    assert v[1].max() == 1 and 0 < x[1].mean() < 1


def test_engine_uses_a_reference_only_for_its_face(engine, pair_107):
    """With a model that takes references, the reference changes that face's fill; without one the
    result is the same as before (same pixels)."""
    masked, _ = pair_107
    if not engine.takes_references:
        pytest.skip("the shipped inpainter has no reference input")
    _, b = lfw_pair()
    ref = reference_from_file(b, engine.finder, engine.crop_size)
    plain = engine.run(masked)
    again = engine.run(masked, references={})
    with_ref = engine.run(masked, faces=[f.face for f in plain.faces], mask=plain.mask, references={0: ref})
    assert np.array_equal(plain.image, again.image)
    changed = np.abs(with_ref.image.astype(int) - plain.image.astype(int)).max(-1) > 2
    assert changed.any()
    near = cv2.dilate(plain.mask, np.ones((41, 41), np.uint8)) > 0
    assert not changed[~near].any()  # only the face's removal mask (and its soft edge) moves


def test_batch_lanes_share_one_reference_model(engine):
    """A second batch lane uses the same ONNX sessions, the reference model included (loaded once, by
    whichever lane needs it first), not a second copy of a 23 MB model per lane."""
    if not engine.takes_references:
        pytest.skip("no model takes a reference")
    from unmask_studio.core.pipeline import Engine

    first = Engine()
    twin = first.lane()
    assert twin.reference_inpainter is first.reference_inpainter is not None
    assert twin.inpainter is first.inpainter
