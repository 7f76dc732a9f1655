"""Weak supervision for the segmenter from real photos with image-level labels (training.presence,
training.weak): alignment by the app's engine, the fixed held-out split, per-pixel targets and the
multiple-instance loss."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import data_path

torch = pytest.importorskip("torch")
presence = pytest.importorskip("training.presence")
weak = pytest.importorskip("training.weak")


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory):
    """The first 10 photos of each mask_presence folder, aligned like the full cache."""
    data_path("mask_presence", "with_mask")
    out = tmp_path_factory.mktemp("presence") / "aligned.npz"
    old = presence.CACHE_FILE
    presence.CACHE_FILE = out
    try:
        presence.build(out=out, limit=10, log=lambda *_: None)
        yield presence.load("all"), presence.load("train"), presence.load("test")
    finally:
        presence.CACHE_FILE = old


def test_every_photo_is_kept_and_every_fifth_held_out(small_cache):
    everything, train, test = small_cache
    assert len(everything["images"]) == 20  # faces not detected are aligned from the photo, not dropped
    assert everything["images"].shape[1:] == (presence.STORE_SIZE, presence.STORE_SIZE, 3)
    assert (test["index"] % 5 == 0).all() and not (train["index"] % 5 == 0).any()
    assert len(test["images"]) == 4 and len(train["images"]) == 16
    assert set(test["names"]).isdisjoint(train["names"])


def test_aligned_faces_are_what_the_segmenter_expects(small_cache):
    """Aligned like the app aligns them: the shipped segmenter finds the covering (touching the
    template mouth) on most masked faces and on few bare ones."""
    import cv2

    from unmask_studio.core.pipeline import Engine

    everything, _, _ = small_cache
    seg = Engine().segmenter
    x = np.stack([cv2.resize(im, (256, 256), interpolation=cv2.INTER_CUBIC) for im in everything["images"]])
    found = weak.covering_found(seg(image=x.astype(np.float32).transpose(0, 3, 1, 2) / 255)[:, 0])
    labels = everything["labels"]
    assert found[labels == 1].mean() >= 0.7 and found[labels == 0].mean() <= 0.2


def test_bare_faces_are_full_negative_labels_and_masked_faces_only_confident_pixels(small_cache):
    _, train, _ = small_cache
    s = presence.STORE_SIZE
    teacher = np.zeros((len(train["images"]), s, s), np.float32)
    masked = int(np.flatnonzero(train["labels"] == 1)[0])
    teacher[masked, s // 2:, s // 4:3 * s // 4] = 0.97  # the teacher is sure about this block
    old = presence.CACHE_FILE
    try:
        ds = weak.PresenceSet.__new__(weak.PresenceSet)
        ds.images, ds.labels, ds.teacher, ds.seed, ds.epoch = train["images"], train["labels"], teacher, 0, 0
        ds.detected = np.ones(len(train["images"]), bool)
        bare = int(np.flatnonzero(train["labels"] == 0)[0])
        x, y, w, label = ds[bare]
        assert label == 0 and y.sum() == 0 and w.min() == 1  # every pixel: no covering
        x, y, w, label = ds[masked]
        assert label == 1 and y.sum() > 0
        # Only the confident block (and the confidently bare top of the face) carries a pixel loss;
        # the undecided middle is left to the multiple-instance loss.
        assert (w >= y).all() and 0 < w.mean() < 0.9
    finally:
        presence.CACHE_FILE = old


def test_multiple_instance_loss_wants_a_covering_somewhere_in_the_lower_face():
    s = 64
    box = torch.from_numpy(weak.lower_face_box(s))
    nothing = torch.full((1, 1, s, s), -6.0, requires_grad=True)
    patch = nothing.detach().clone()
    rows, cols = np.nonzero(box.numpy())
    patch[0, 0, rows.min():rows.min() + 12, cols.min():cols.min() + 20] = 6.0  # a covering inside the box
    elsewhere = nothing.detach().clone()
    elsewhere[0, 0, :8, :] = 6.0  # high probabilities outside the box do not count
    assert weak.mil_loss(patch, box) < 0.1 < 3 < weak.mil_loss(nothing, box)
    assert weak.mil_loss(elsewhere, box) > 3
    weak.mil_loss(nothing, box).backward()
    assert nothing.grad[0, 0][box == 0].abs().max() == 0 and nothing.grad.abs().sum() > 0
