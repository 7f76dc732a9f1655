"""Datasets over CelebA with synthetic coverings, deterministic per (seed, epoch, index).

Every sample's randomness comes from its own generator seeded by (seed, epoch, index), so a run that
resumes at data position k sees exactly the samples it would have seen without the interruption.
"""
from __future__ import annotations

import json
from functools import lru_cache

import cv2
import numpy as np
import torch
from PIL import Image

from training.framing import tight_to_loose
from training.paths import CACHE, DATA, MODELS, celeba_files
from training.synth import CHIN, covering_mask, synthesize, texture_layer

SOURCE_SIZE = 192  # CelebA crops on disk


@lru_cache(maxsize=None)
def landmarks(split: str) -> tuple[list, np.ndarray]:
    """(files, 468x2 landmarks in SOURCE_SIZE pixels) for the images that have a face mesh."""
    d = np.load(CACHE / f"celeba_{split}.npz")
    lms = d["landmarks"].astype(np.float32)
    by_name = {f.name: f for f in celeba_files(split)}
    ok = ~np.isnan(lms[:, 0, 0])
    files = [by_name[n] for n, k in zip(d["names"], ok) if k]
    return files, lms[ok]


def mouth_gap(lms: np.ndarray) -> np.ndarray:
    """How open each face's mouth is: the inner lips' distance (face mesh 13-14) over the eyes-to-chin
    distance. CelebA: median 0.03; 37 % of faces above 0.05 (lips apart, mostly a smile with teeth)."""
    eyes = lms[:, [33, 133, 362, 263]].mean(1)
    scale = np.linalg.norm(lms[:, 152] - eyes, axis=1) + 1e-6
    return np.linalg.norm(lms[:, 13] - lms[:, 14], axis=1) / scale


CLOSED_MOUTH_GAP = 0.03


def _subset(files, lms, limit):
    """``limit`` faces spread evenly over the split (celeba/val is ordered by head pose, so the first
    N would be nearly all profiles)."""
    if not limit or limit >= len(files):
        return files, lms
    idx = np.linspace(0, len(files) - 1, limit).round().astype(int)
    return [files[i] for i in idx], lms[idx]


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, index])


def load_face(path, size: int) -> np.ndarray:
    im = Image.open(path).convert("RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BICUBIC)
    return np.asarray(im)


def hole_mask(lm: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Binary hole as the app will hand it to the inpainter: the covering, grown a little."""
    soft, _ = covering_mask(lm, size, size, rng)
    m = (soft > 0.5).astype(np.uint8)
    grow = int(rng.integers(0, max(2, size // 32)))
    if grow:
        m = cv2.dilate(m, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    return m


class InpaintSet(torch.utils.data.Dataset):
    """(image, mask) pairs: clean face in [0,1] and the hole to fill."""

    def __init__(self, split: str, size: int, seed: int = 0, epoch: int = 0, train: bool = True, limit=None):
        self.files, self.lms = _subset(*landmarks(split), limit)
        self.size, self.seed, self.epoch, self.train = size, seed, epoch, train

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        rng = sample_rng(self.seed, self.epoch, i)
        img = load_face(self.files[i], self.size)
        lm = self.lms[i] * (self.size / SOURCE_SIZE)
        mask = hole_mask(lm, self.size, rng)
        if self.train and rng.random() < 0.5:  # flip after synthesis: the landmarks stay consistent
            img, mask = img[:, ::-1], mask[:, ::-1]
        img = torch.from_numpy(img.copy()).permute(2, 0, 1).float() / 255
        mask = torch.from_numpy(np.ascontiguousarray(mask))[None].float()
        return img, mask


class SegmentSet(torch.utils.data.Dataset):
    """(photographed masked face, covering mask) pairs; some faces stay bare (target: empty mask)."""

    def __init__(self, split: str, size: int, seed: int = 0, epoch: int = 0, train: bool = True,
                 bare_fraction: float = 0.15, limit=None, kinds: tuple[str, ...] | None = None,
                 hard_bare: np.ndarray | None = None, hard_share: float = 0.5):
        self.files, self.lms = _subset(*landmarks(split), limit)
        self.size, self.seed, self.epoch, self.train, self.bare = size, seed, epoch, train, bare_fraction
        self.kinds = kinds  # None: the synthesiser's own five kinds (the fixed validation set uses these)
        # Bare faces a model was fooled by (``training.hard_negatives``): ``hard_share`` of the bare
        # draws show one of these (indices into ``self.files``) instead.
        self.hard_bare, self.hard_share = hard_bare, hard_share

    def __len__(self):
        return len(self.files)

    def _render(self, i, rng, big):
        # The segmenter's crop is looser than CelebA's: what lies beyond the photo is mirrored in,
        # and the covering is drawn over it like over the real neck.
        A = tight_to_loose(big)
        img = cv2.warpAffine(load_face(self.files[i], big), A, (big, big), flags=cv2.INTER_AREA,
                             borderMode=cv2.BORDER_REFLECT101)
        lm = self.lms[i] * (big / SOURCE_SIZE) @ A[:, :2].T + A[:, 2]
        if rng.random() < CLOTHING_RATE:
            img = paint_clothing(img, lm, rng)
        return img, lm

    def __getitem__(self, i):
        rng = sample_rng(self.seed, self.epoch, i)
        big = 256  # render at crop size, then resize to the net's size like the app does
        img, lm = self._render(i, rng, big)
        if rng.random() < self.bare:
            from training.synth import jpeg
            if self.hard_bare is not None and len(self.hard_bare):
                # A separate stream, so runs without hard faces draw exactly what they always did.
                hard_rng = np.random.default_rng([self.seed, self.epoch, i, 7])
                if hard_rng.random() < self.hard_share:
                    img, lm = self._render(int(self.hard_bare[hard_rng.integers(len(self.hard_bare))]), hard_rng, big)
            out, mask = jpeg(img, int(rng.integers(60, 96))), np.zeros((big, big), np.uint8)
        else:
            kind = self.kinds[rng.integers(len(self.kinds))] if self.kinds else None
            out, mask, _ = synthesize(img, lm, rng, kind=kind)
        return to_seg_tensors(out, mask, self.size, rng if self.train else None)


CLOTHING_RATE = 0.4
# Shirt colours, weighted to where real photos fooled the segmenter: white and pale clothes right
# under a white or light-blue mask (CelebA's mirrored necks never showed that).
CLOTHING_COLOURS = [(245, 245, 245), (230, 232, 235), (215, 225, 240), (250, 250, 240), (200, 200, 205),
                    (30, 30, 35), (60, 70, 90), (150, 40, 45), (90, 110, 80), (170, 140, 110)]


def paint_clothing(img: np.ndarray, lm: np.ndarray, rng) -> np.ndarray:
    """A collar, shirt or scarf-less coat below the jaw, painted *under* the covering that comes next.
    Plain colour (mostly light) or a fabric texture, with a U/V neckline, soft shading and a soft edge."""
    h, w = img.shape[:2]
    cx, cy = lm[CHIN]
    face_w = float(np.ptp(lm[:, 0]))
    top = cy + rng.uniform(-0.05, 0.35) * face_w
    depth = rng.uniform(0.0, 0.35) * face_w  # how far the neckline dips in the middle
    half = rng.uniform(0.3, 0.8) * face_w
    xs = np.arange(w, dtype=np.float32)
    dip = depth * np.clip(1 - np.abs(xs - cx - rng.normal(0, 0.05) * face_w) / half, 0, 1) ** rng.uniform(0.7, 2.0)
    yy = np.arange(h, dtype=np.float32)[:, None]
    region = (yy > top + dip[None, :]).astype(np.float32)
    if not region.any():
        return img
    if rng.random() < 0.3:
        layer = texture_layer(h, w, rng)
    else:
        c = np.array(CLOTHING_COLOURS[rng.integers(len(CLOTHING_COLOURS))], np.float32) + rng.normal(0, 8, 3)
        layer = np.empty((h, w, 3), np.float32)
        layer[:] = c
    # Folds and light: low-frequency shading plus a little fabric noise.
    shade = cv2.GaussianBlur(rng.normal(0, 1, (h // 8 + 1, w // 8 + 1)).astype(np.float32), (0, 0), 2)
    shade = cv2.resize(shade, (w, h))
    layer = layer * (1 + 0.08 * shade[..., None]) + rng.normal(0, 2.5, (h, w, 1))
    a = cv2.GaussianBlur(region, (0, 0), rng.uniform(0.6, 2.0))[..., None]
    out = img.astype(np.float32) * (1 - a) + np.clip(layer, 0, 255) * a
    # C order: a recoloured texture (channel-permuted view) would otherwise pass its layout on, and
    # OpenCV's drawing functions refuse non-contiguous images.
    return np.ascontiguousarray(np.clip(out, 0, 255), dtype=np.uint8)


def to_seg_tensors(rgb, mask, size, rng):
    if rng is not None:
        rgb, mask = augment_photo(rgb, mask, rng)
    rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask.astype(np.float32), (size, size), interpolation=cv2.INTER_AREA)
    return (torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255,
            torch.from_numpy(np.ascontiguousarray(mask))[None].float())


def augment_photo(rgb, mask, rng):
    """Flip, small similarity jitter (alignment is never perfect) and colour/lighting jitter."""
    if rng.random() < 0.5:
        rgb, mask = rgb[:, ::-1], mask[:, ::-1]
    h, w = mask.shape[:2]  # a mask may carry several channels (target and weight)
    M = cv2.getRotationMatrix2D((w / 2 + rng.normal(0, 4), h / 2 + rng.normal(0, 4)),
                                rng.normal(0, 6), rng.uniform(0.92, 1.08))
    rgb = cv2.warpAffine(np.ascontiguousarray(rgb), M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    mask = cv2.warpAffine(np.ascontiguousarray(mask).astype(np.float32), M, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
    f = rgb.astype(np.float32) * rng.uniform(0.7, 1.25) + rng.normal(0, 12, 3)
    if rng.random() < 0.15:
        f = f.mean(-1, keepdims=True).repeat(3, -1)
    rgb = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < LOWRES_RATE:
        rgb = as_small_face(rgb, int(rng.integers(*LOWRES_SIDES)))
    return rgb, mask


# Faces of 12-60 px are most of the misses on everyday photos (wild_dev): the app enlarges such a
# face into its crop, so the network sees a few blurry pixels, never seen in training on ~190 px faces.
LOWRES_RATE = 0.25
LOWRES_SIDES = (20, 72)  # crop side the face had in the photo (the face itself is about half of it)


def as_small_face(rgb: np.ndarray, side: int) -> np.ndarray:
    """The crop as the app would get it from a face ``side`` px across: area-reduced, then enlarged
    back with the bilinear warp the app uses."""
    h, w = rgb.shape[:2]
    small = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


class MaskedFaceSegSet(torch.utils.data.Dataset):
    """MaskedFace-Net faces with real pixel labels, aligned to the canonical crop (label 2 = mask)."""

    def __init__(self, size: int, split: str, seed: int = 0, epoch: int = 0, train: bool = True):
        d = np.load(CACHE / "maskedface_seg_aligned_loose.npz")
        n = len(d["images"])
        idx = np.arange(n)
        held = idx % 5 == 0  # every fifth face is held out for evaluation
        keep = held if split == "test" else ~held
        self.images, self.masks = d["images"][keep], d["masks"][keep]
        self.size, self.seed, self.epoch, self.train = size, seed, epoch, train

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        rng = sample_rng(self.seed + 7, self.epoch, i)
        return to_seg_tensors(self.images[i], self.masks[i], self.size, rng if self.train else None)


def contract() -> dict:
    return json.loads((MODELS / "contract.json").read_text())
