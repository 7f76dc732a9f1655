"""The Masked-Faces generator: binary masks that match what is drawn, every kind, reproducible."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path

synth = pytest.importorskip("training.synth")


@pytest.fixture(scope="module")
def faces():
    """A few CelebA validation faces at 256² with their face-mesh landmarks (computed here)."""
    from training.landmarks import _mesh, mesh_landmarks

    mesh = _mesh()
    out = []
    for f in sorted(data_path("celeba", "val").glob("*.webp"))[20:40]:
        rgb = np.asarray(Image.open(f).convert("RGB").resize((256, 256), Image.BICUBIC))
        lm = mesh_landmarks(mesh, rgb)
        if lm is not None:
            out.append((rgb, lm))
        if len(out) == 6:
            break
    assert len(out) >= 4
    return out


@pytest.mark.parametrize("kind", synth.SEG_KINDS)
def test_mask_is_binary_and_matches_the_drawing(faces, kind):
    rng = np.random.default_rng(7)
    for rgb, lm in faces[:3]:
        out, mask, got = synth.synthesize(rgb, lm, rng, kind=kind)
        assert got == kind
        assert mask.dtype == np.uint8 and set(np.unique(mask)) <= {0, 1}
        assert 0.05 < mask.mean() < 0.7  # a covering, not a speck nor the whole picture
        diff = np.abs(out.astype(int) - rgb).mean(-1)
        # Inside the mask the photo changed a lot; well outside it only by noise/JPEG.
        far = np.ones_like(mask, bool)
        ys, xs = np.nonzero(mask)
        far[max(0, ys.min() - 12):ys.max() + 12, max(0, xs.min() - 12):xs.max() + 12] = False
        assert diff[mask > 0].mean() > 3 * diff[far].mean() + 5
        if kind in ("scarf", "gaiter"):  # scarves and gaiters run down over the neck to the bottom edge
            assert mask[-1].any()


def test_random_kinds_cover_all_five(faces):
    rng = np.random.default_rng(0)
    rgb, lm = faces[0]
    seen = {synth.synthesize(rgb, lm, rng)[2] for _ in range(40)}
    assert seen == set(synth.KINDS)


def test_same_seed_same_sample(faces):
    rgb, lm = faces[1]
    a = synth.synthesize(rgb, lm, np.random.default_rng(123))
    b = synth.synthesize(rgb, lm, np.random.default_rng(123))
    c = synth.synthesize(rgb, lm, np.random.default_rng(124))
    assert (a[0] == b[0]).all() and (a[1] == b[1]).all() and a[2] == b[2]
    assert not ((a[0] == c[0]).all() and (a[1] == c[1]).all())


def test_clothing_goes_under_the_covering_and_any_layout_is_accepted(faces):
    from training.data import paint_clothing

    rgb, lm = faces[2]
    # In the segmenter's looser framing (the face smaller, room below the chin), as SegmentSet draws it.
    rgb = np.ascontiguousarray(np.pad(rgb, ((0, 128), (64, 64), (0, 0)), mode="edge")[::2, ::2])
    lm = (lm + [64, 0]) / 2
    rng = np.random.default_rng(11)
    dressed = [paint_clothing(rgb, lm, rng) for _ in range(12)]
    for d in dressed:
        assert d.flags["C_CONTIGUOUS"] and d.dtype == np.uint8 and d.shape == rgb.shape
    changed = [np.abs(d.astype(int) - rgb).mean(-1) > 20 for d in dressed]
    chin_y = int(lm[synth.CHIN, 1])
    # Clothes are painted below the jaw line, never over the eyes and forehead.
    assert all(not c[: chin_y - 30].any() for c in changed)
    assert sum(c[chin_y + 30:].mean() > 0.3 for c in changed) >= 3
    # A photo in another memory layout (a channel-indexed view, as a recoloured texture is) is drawn
    # on like a C-ordered one: OpenCV's drawing refuses non-contiguous arrays unless they are copied.
    view = rgb[..., [0, 1, 2]]
    assert not view.astype(np.float32).flags["C_CONTIGUOUS"]
    out_a, mask_a, _ = synth.synthesize(view, lm, np.random.default_rng(5), kind="surgical", photographic=False)
    out_b, mask_b, _ = synth.synthesize(rgb, lm, np.random.default_rng(5), kind="surgical", photographic=False)
    np.testing.assert_array_equal(out_a, out_b)
    np.testing.assert_array_equal(mask_a, mask_b)


def test_mask_under_the_chin_leaves_the_mouth_free(faces):
    for k, (rgb, lm) in enumerate(faces[:4]):
        _, mask, _ = synth.synthesize(rgb, lm, np.random.default_rng(k), kind="chin")
        mouth = np.round(lm[list(synth.MOUTH)].mean(0)).astype(int)
        chin = np.round(lm[synth.CHIN]).astype(int)
        lips = np.round(lm[[0, 13, 14]]).astype(int)  # upper lip, the lips' inner edges
        assert not mask[lips[:, 1], lips[:, 0]].any() and not mask[mouth[1] - 2:mouth[1] + 3, mouth[0]].any()
        assert mask[chin[1] - 2:, chin[0] - 3:chin[0] + 4].mean() > 0.5  # the covering sits at and under the chin


def test_straps_across_the_cheeks_are_drawn_and_labelled(faces):
    """Respirator head straps run past the cheeks: what is drawn there is in the label too."""
    rgb, lm = faces[0]
    beyond = 0
    for seed in range(6):
        out, mask, _ = synth.synthesize(rgb, lm, np.random.default_rng(seed), kind="respirator", photographic=False)
        x_left, x_right = lm[synth.LEFT_CHEEK, 0], lm[synth.RIGHT_CHEEK, 0]
        cols = np.arange(mask.shape[1])
        outside = mask.astype(bool) & ((cols < x_left - 3) | (cols > x_right + 3))[None, :]
        if outside.sum() > 20:
            beyond += 1
            # Labelled strap pixels were really painted (not just a label over untouched skin).
            assert np.abs(out[outside].astype(int) - rgb[outside]).max(-1).mean() > 10
    assert beyond >= 3
