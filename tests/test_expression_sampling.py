"""Expression balancing in the inpainter's training data (issue 13, item 3): with
``--closed-mouth-share`` an epoch draws faces with closed lips that often, fixed by (seed, epoch) so a
resumed run sees the same order; without it every face comes once per epoch, as before."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
train_inpaint = pytest.importorskip("training.train_inpaint")
from training.data import CLOSED_MOUTH_GAP, mouth_gap  # noqa: E402


class Faces(list):
    """Stands in for InpaintSet: a length and the landmarks."""


def dataset(n_open: int, n_closed: int) -> Faces:
    """Eyes 100 px above the chin; the inner lips 12 px apart (open) or 2 px (closed)."""
    ds = Faces(range(n_open + n_closed))
    lms = np.zeros((len(ds), 468, 2), np.float32)
    lms[:, [33, 133, 362, 263]] = (100, 50)
    lms[:, 152] = (100, 150)
    lms[:, 13] = (100, 120)
    lms[:, 14] = (100, 132)
    lms[n_open:, 14] = (100, 122)
    ds.lms = lms
    return ds



def test_mouth_gap_tells_closed_from_apart():
    gap = mouth_gap(dataset(3, 2).lms)
    assert np.allclose(gap, [0.12, 0.12, 0.12, 0.02, 0.02], atol=1e-4)
    assert ((gap < CLOSED_MOUTH_GAP) == [False, False, False, True, True]).all()


def test_closed_mouth_share_is_drawn_and_repeatable():
    ds = dataset(800, 200)  # like CelebA's smiling crowd, more so
    closed = mouth_gap(ds.lms) < CLOSED_MOUTH_GAP
    order = train_inpaint.epoch_order(ds, seed=0, epoch=3, closed_share=0.7)
    assert len(order) == len(ds)
    assert 0.66 < closed[order].mean() < 0.74
    assert (order == train_inpaint.epoch_order(ds, 0, 3, 0.7)).all()  # resume: the same order
    assert not (order == train_inpaint.epoch_order(ds, 0, 4, 0.7)).all()  # the next epoch: another


def test_without_the_option_every_face_comes_once():
    ds = dataset(8, 2)
    order = train_inpaint.epoch_order(ds, seed=0, epoch=1, closed_share=None)
    assert sorted(order.tolist()) == list(range(10))
    assert (order == np.random.default_rng([0, 1]).permutation(10)).all()  # the order runs always had
