"""Segmenter fine-tune data: hard bare faces replace part of the bare draws (and nothing else), and the
small-face augmentation looks like a small face enlarged by the app."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path

data = pytest.importorskip("training.data")


@pytest.fixture(scope="module")
def celeba_lms(monkeypatch_module):
    """12 CelebA validation faces with face-mesh landmarks at CelebA's 192² (computed here, no cache)."""
    from training.landmarks import _mesh, mesh_landmarks

    mesh = _mesh()
    files, lms = [], []
    for f in sorted(data_path("celeba", "val").glob("*.webp"))[100:140]:
        lm = mesh_landmarks(mesh, np.asarray(Image.open(f).convert("RGB")))
        if lm is not None:
            files.append(f)
            lms.append(lm)
        if len(files) == 12:
            break
    monkeypatch_module.setattr(data, "landmarks", lambda split: (files, np.stack(lms)))
    return files


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_hard_faces_replace_only_bare_draws(celeba_lms):
    plain = data.SegmentSet("train", 128, seed=3, bare_fraction=0.5)
    hard = data.SegmentSet("train", 128, seed=3, bare_fraction=0.5, hard_bare=np.array([11]), hard_share=1.0)
    bare_changed = masked_same = 0
    for i in range(10):
        (x0, y0), (x1, y1) = plain[i], hard[i]
        if y0.sum() == 0:  # a bare draw: now face 11 (unless i is face 11), still with an empty label
            assert y1.sum() == 0
            bare_changed += int(i == 11 or not np.array_equal(x0.numpy(), x1.numpy()))
        else:  # a masked draw is exactly what a run without hard faces draws
            assert np.array_equal(x0.numpy(), x1.numpy()) and np.array_equal(y0.numpy(), y1.numpy())
            masked_same += 1
    assert bare_changed >= 1 and masked_same >= 1, (bare_changed, masked_same)


def test_small_face_augmentation_removes_fine_detail():
    rgb = np.asarray(Image.open(data_path("celeba", "val", "00004.webp")).convert("RGB").resize((256, 256)))
    small = data.as_small_face(rgb, 32)
    assert small.shape == rgb.shape
    lap = lambda im: np.abs(np.diff(im.astype(np.float32).mean(-1), 2, axis=1)).mean()  # noqa: E731
    assert lap(small) < 0.35 * lap(rgb)
    assert abs(small.astype(np.float32).mean() - rgb.astype(np.float32).mean()) < 3  # same colours
