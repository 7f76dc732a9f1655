"""Training data for the 256² refinement stage with an optional reference photo of the same person.

Each sample is (image, mask, reference, reference_valid), all aligned to the inpainter's crop:

- ``image``: the clean face in [0,1] (the loss target; the model only sees it outside ``mask``);
- ``mask``: the synthetic covering's hole (as ``data.hole_mask`` draws it for the app);
- ``reference``: another photo of the person aligned to the same crop with the same similarity fit
  the app uses (face-mesh points of eyes, brows, nose bridge, cheeks, chin, lips), or zeros;
- ``reference_valid``: 1 where the reference holds photo pixels, 0 outside its frame; all 0 when there
  is no reference (the model then has to behave exactly like the no-reference inpainter).

Sources, mixed per sample from a deterministic per-(seed, epoch, index) generator:

- CelebA with no reference (the app's default case);
- CelebA with an augmented *self*-reference: the same face mirrored, re-posed (similarity + a smooth
  elastic warp of the lower face, like an expression change), relit and blurred, so the model learns
  to take texture and shape from the reference while it fits the target's pose and light;
- LFW people: a target photo and a *different* photo of the same person (real pose, expression,
  lighting and age changes). Every 10th person (sorted by name) is held out for validation.
"""
from __future__ import annotations

import json
from functools import lru_cache

import cv2
import numpy as np
import torch
from PIL import Image

from training.data import SOURCE_SIZE, hole_mask, landmarks, load_face, sample_rng
from training.paths import CACHE, DATA, MODELS

CROP = 256
LFW_DIR = DATA / "lfw_people"
HELD_OUT_EVERY = 10  # every 10th LFW person (sorted) is never trained on


@lru_cache(maxsize=None)
def template() -> tuple[list[int], np.ndarray]:
    c = json.loads((MODELS / "contract.json").read_text())
    return c["template"]["mesh_indices"], np.array(c["template"]["points"], np.float32)


def align_matrix(lm: np.ndarray) -> np.ndarray:
    """Similarity (2x3) from a photo's face-mesh landmarks to the inpainter's crop, as the app fits it."""
    idx, pts = template()
    M, _ = cv2.estimateAffinePartial2D(lm[idx].astype(np.float32), pts, method=cv2.LMEDS)
    return M


def warp_to_crop(rgb: np.ndarray, M: np.ndarray, border=cv2.BORDER_REFLECT101) -> np.ndarray:
    return cv2.warpAffine(rgb, M, (CROP, CROP), flags=cv2.INTER_CUBIC if M[0, 0] > 1 else cv2.INTER_AREA,
                          borderMode=border)


def valid_region(shape, M) -> np.ndarray:
    """1 where the crop pixel comes from inside the photo (references are not mirrored: no fake face)."""
    ones = np.ones(shape[:2], np.uint8)
    return cv2.warpAffine(ones, M, (CROP, CROP), flags=cv2.INTER_NEAREST, borderValue=0)


# --- LFW: landmarks cache and people -------------------------------------------------------------

def build_lfw_landmarks() -> None:
    """Face mesh on every LFW photo (≈3 min), cached in training/.cache/lfw_people.npz."""
    out = CACHE / "lfw_people.npz"
    if out.exists():
        return
    from training.landmarks import _mesh, mesh_landmarks

    files = sorted(LFW_DIR.glob("*/*.jpg"))
    mesh = _mesh()
    lms = np.full((len(files), 468, 2), np.nan, np.float32)
    for i, f in enumerate(files):
        pts = mesh_landmarks(mesh, np.asarray(Image.open(f).convert("RGB")))
        if pts is not None:
            lms[i] = pts
    CACHE.mkdir(parents=True, exist_ok=True)
    rel = np.array([str(f.relative_to(LFW_DIR)) for f in files])
    np.savez_compressed(out, files=rel, landmarks=lms)
    print(f"lfw: {int((~np.isnan(lms[:, 0, 0])).sum())}/{len(files)} photos with landmarks -> {out}")


@lru_cache(maxsize=None)
def lfw_people(split: str) -> list[list[tuple[str, np.ndarray]]]:
    """People with ≥ 2 photos that have landmarks: [[(relative path, 468x2 landmarks), ...], ...]."""
    d = np.load(CACHE / "lfw_people.npz")
    by_person: dict[str, list] = {}
    for f, lm in zip(d["files"], d["landmarks"]):
        if not np.isnan(lm[0, 0]):
            by_person.setdefault(str(f).split("/")[0], []).append((str(f), lm.astype(np.float32)))
    names = sorted(by_person)
    held = {n for i, n in enumerate(names) if i % HELD_OUT_EVERY == 0}
    keep = [n for n in names if (n in held) == (split == "val") and len(by_person[n]) >= 2]
    return [by_person[n] for n in keep]


def lfw_aligned(rel: str, lm: np.ndarray, border=cv2.BORDER_REFLECT101):
    rgb = np.asarray(Image.open(LFW_DIR / rel).convert("RGB"))
    M = align_matrix(lm)
    crop_lm = lm @ M[:, :2].T + M[:, 2]
    return warp_to_crop(rgb, M, border), valid_region(rgb.shape, M), crop_lm


# --- self-reference augmentation ----------------------------------------------------------------

def self_reference(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A plausible 'other photo' of the same face: mirrored, re-posed, re-expressed, relit, blurred."""
    h, w = img.shape[:2]
    ref = img[:, ::-1] if rng.random() < 0.5 else img
    # Smooth elastic warp, strongest on the lower face (mouth and jaw move with expression).
    grid = rng.normal(0, 1, (2, 5, 5)).astype(np.float32) * rng.uniform(2, 7)
    fx, fy = (cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC) for g in grid)
    weight = np.clip((np.arange(h, dtype=np.float32)[:, None] / h - 0.35) * 2.5, 0.2, 1.0)
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    ref = cv2.remap(np.ascontiguousarray(ref), xs + fx * weight, ys + fy * weight, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REFLECT101)
    M = cv2.getRotationMatrix2D((w / 2 + rng.normal(0, 5), h / 2 + rng.normal(0, 5)), rng.normal(0, 6),
                                rng.uniform(0.9, 1.1))
    ref = cv2.warpAffine(ref, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    valid = cv2.warpAffine(np.ones((h, w), np.uint8), M, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    f = ref.astype(np.float32) / 255
    f = f ** rng.uniform(0.75, 1.3) * rng.uniform(0.8, 1.2, 3)  # exposure and white balance
    ramp = np.linspace(-1, 1, w, dtype=np.float32)[None, :, None] * rng.uniform(-0.15, 0.15)
    f = f * (1 + ramp)  # light from one side
    if rng.random() < 0.5:
        f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.5))
    return np.clip(f * 255, 0, 255).astype(np.uint8), valid


# --- the dataset --------------------------------------------------------------------------------

def _tensor(a: np.ndarray) -> torch.Tensor:
    a = np.array(a)  # a writable, C-ordered copy (flipped views and cached arrays are neither)
    if a.ndim == 2:
        return torch.from_numpy(a)[None].float()
    return torch.from_numpy(a).permute(2, 0, 1).float() / 255


class RefInpaintSet(torch.utils.data.Dataset):
    """Mixed CelebA / LFW samples; ``mix`` = probabilities of (no reference, self-reference, LFW pair)."""

    def __init__(self, split: str, seed: int = 0, epoch: int = 0, train: bool = True,
                 mix=(0.4, 0.3, 0.3), limit=None):
        self.files, self.lms = landmarks(split)
        self.people = lfw_people("val" if split == "val" else "train")
        self.seed, self.epoch, self.train, self.mix = seed, epoch, train, np.cumsum(mix)
        self.n = limit or len(self.files)

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        rng = sample_rng(self.seed + 31, self.epoch, i)
        u = rng.random()
        if u < self.mix[1]:
            img = load_face(self.files[i % len(self.files)], CROP)
            lm = self.lms[i % len(self.lms)] * (CROP / SOURCE_SIZE)
            if u < self.mix[0]:
                ref, valid = np.zeros_like(img), np.zeros(img.shape[:2], np.uint8)
            else:
                ref, valid = self_reference(img, rng)
        else:
            photos = self.people[int(rng.integers(len(self.people)))]
            a, b = rng.choice(len(photos), 2, replace=False)
            img, _, lm = lfw_aligned(*photos[a])
            ref, valid, _ = lfw_aligned(*photos[b], border=cv2.BORDER_CONSTANT)
        mask = hole_mask(lm, CROP, rng)
        if self.train and rng.random() < 0.5:  # flip target and reference together
            img, mask, ref, valid = img[:, ::-1], mask[:, ::-1], ref[:, ::-1], valid[:, ::-1]
        return _tensor(img), _tensor(mask), _tensor(ref), _tensor(valid)


class LfwPairSet(torch.utils.data.Dataset):
    """Fixed evaluation pairs on held-out people: (target, mask, reference, valid) per person."""

    def __init__(self, split: str = "val", limit=None, seed: int = 1234):
        self.people = lfw_people(split)[:limit]
        self.seed = seed

    def __len__(self):
        return len(self.people)

    def __getitem__(self, i):
        rng = sample_rng(self.seed, 0, i)
        photos = self.people[i]
        img, _, lm = lfw_aligned(*photos[0])
        ref, valid, _ = lfw_aligned(*photos[1], border=cv2.BORDER_CONSTANT)
        mask = hole_mask(lm, CROP, rng)
        return _tensor(img), _tensor(mask), _tensor(ref), _tensor(valid)


if __name__ == "__main__":
    build_lfw_landmarks()
