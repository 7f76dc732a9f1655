"""Weak supervision for the segmenter from real photos with image-level labels (``mask_presence``).

Three signals, all from the training part of ``training.presence`` (every fifth photo is held out):

- ``PresenceSet``: the real aligned face with a per-pixel target and weight. Bare faces: every pixel
  must be 0 (an image-level "no covering" is a full pixel label). Masked faces: the pixels the
  teacher (the model being fine-tuned, as it was before, with flip averaging) is confident about
  are targets (pseudo-labels, > ``PSEUDO_HI``), and a multiple-instance loss (``mil_loss``) asks the
  top-k mean of the probability map over the lower face to be high: somewhere there, there *is* a
  covering.
- ``CopyPasteSet``: real coverings the teacher segments confidently, cut out and pasted onto clean
  CelebA faces in the same aligned framing: real fabrics, prints, respirators and shapes with an exact
  label for the composite.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

from training import presence
from training.data import (SOURCE_SIZE, augment_photo, landmarks, load_face, sample_rng, to_seg_tensors)
from training.framing import tight_to_loose
from training.paths import CACHE, MODELS

TEACHER_FILE = CACHE / "mask_presence_teacher.npz"
PSEUDO_HI = 0.9
MIL_TOP = 0.10  # share of the lower-face box whose mean probability must be high on a masked face


def mouth_in_crop(size: int) -> tuple[float, float]:
    """The template mouth in segmenter-crop pixels (as ``Engine._mouth_in_segment_crop``)."""
    import json

    c = json.loads((MODELS / "contract.json").read_text())
    mx, my = np.array(c["template_keypoints"]["mouth"], np.float64) * size / c["crop_size"]
    A = tight_to_loose(size)
    return float(A[0, 0] * mx + A[0, 2]), float(A[1, 1] * my + A[1, 2])


def lower_face_box(size: int) -> np.ndarray:
    """Float mask of where a worn covering must show: around and below the mouth."""
    mx, my = mouth_in_crop(size)
    box = np.zeros((size, size), np.float32)
    box[int(max(0, my - 0.2 * size)):int(min(size, my + 0.2 * size)),
        int(max(0, mx - 0.25 * size)):int(min(size, mx + 0.25 * size))] = 1
    return box


@torch.no_grad()
def teacher_probs(net, images: np.ndarray, batch: int = 64, flip: bool = True) -> np.ndarray:
    """Probability maps (N, H, W) float16 of ``net`` on uint8 crops, averaged with the mirrored view
    (``flip``; measurements use the single view the app uses)."""
    net.eval()
    out = []
    for i in range(0, len(images), batch):
        x = torch.from_numpy(images[i:i + batch]).permute(0, 3, 1, 2).float() / 255
        p = torch.sigmoid(net(x))
        if flip:
            p = (p + torch.sigmoid(net(x.flip(3))).flip(3)) / 2
        out.append(p[:, 0].numpy().astype(np.float16))
    net.train()
    return np.concatenate(out)


def build_teacher(net) -> dict:
    d = presence.load("train")
    probs = teacher_probs(net, d["images"])
    np.savez(TEACHER_FILE, probs=probs, names=d["names"])
    return {"probs": probs, "names": d["names"]}


def load_teacher(net) -> np.ndarray:
    if TEACHER_FILE.exists():
        t = np.load(TEACHER_FILE)
        if list(t["names"]) == list(presence.load("train")["names"]):
            return t["probs"].astype(np.float32)
    return build_teacher(net)["probs"].astype(np.float32)


def mil_loss(logit: torch.Tensor, box: torch.Tensor, top: float = MIL_TOP) -> torch.Tensor:
    """-log of the mean of the top ``top`` share of probabilities inside ``box`` (per image, averaged)."""
    p = torch.sigmoid(logit[:, 0])
    inside = p[:, box > 0]
    k = max(1, int(inside.shape[1] * top))
    return -torch.log(inside.topk(k, dim=1).values.mean(1).clamp_min(1e-4)).mean()


class PresenceSet(torch.utils.data.Dataset):
    """(image, target, weight, has_covering) from real photos; see the module docstring."""

    def __init__(self, teacher: np.ndarray, seed: int = 0, epoch: int = 0, split: str = "train"):
        d = presence.load(split)
        self.images, self.labels, self.detected = d["images"], d["labels"], d["detected"]
        self.teacher = teacher
        self.seed, self.epoch = seed, epoch
        self.with_idx = np.flatnonzero(self.labels == 1)
        self.without_idx = np.flatnonzero(self.labels == 0)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        rng = sample_rng(self.seed + 11, self.epoch, i)
        label = int(self.labels[i])
        if label:
            p = self.teacher[i]
            target = (p > PSEUDO_HI).astype(np.float32)
            # Confident covering pixels carry a pixel loss, and so do confidently bare pixels well above
            # the mouth (eyes, forehead); the undecided rest only the multiple-instance loss.
            size = p.shape[0]
            above = np.arange(size)[:, None] < mouth_in_crop(size)[1] - 0.3 * size
            weight = np.maximum(target, ((p < 0.02) & above).astype(np.float32))
        else:
            target = np.zeros(self.images[i].shape[:2], np.float32)
            weight = np.ones_like(target)
        # Target and weight travel through the same geometric augmentation (stacked as one mask).
        rgb, tw = augment_photo(self.images[i], np.dstack([target, weight]), rng)
        x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255
        tw = torch.from_numpy(np.ascontiguousarray(tw)).permute(2, 0, 1).float()
        # The multiple-instance loss only where the detector found the face (label 1): on a photo
        # aligned from its whole frame the lower-face box may hold anything, and "find something there"
        # teaches the net to mark mouths and cheeks (label 2: pseudo-labels only).
        if label and not self.detected[i]:
            label = 2
        return x, (tw[:1] > 0.5).float(), (tw[1:] > 0.5).float(), label


def confident_coverings(teacher: np.ndarray, labels: np.ndarray, size: int) -> np.ndarray:
    """Indices of masked photos whose covering the teacher segments confidently enough to cut out:
    a plausible area, touching the mouth, and few undecided pixels."""
    from unmask_studio.core import maskops

    mouth = mouth_in_crop(size)
    good = []
    for i in np.flatnonzero(labels == 1):
        p = teacher[i]
        m = maskops.keep_touching(maskops.clean(p, 0.5), mouth, size * 0.12)
        area = m.mean()
        if not 0.06 < area < 0.5:
            continue
        undecided = ((p > 0.15) & (p < 0.85)).sum() / max(1.0, m.sum())
        if undecided < 0.3 and p[m > 0].mean() > 0.85:
            good.append(i)
    return np.array(good, int)


class CopyPasteSet(torch.utils.data.Dataset):
    """A confidently segmented real covering pasted onto a clean CelebA face (both in the segmenter's
    aligned framing, so the covering lands where it was worn), with a little geometric and colour jitter."""

    def __init__(self, teacher: np.ndarray, size: int, seed: int = 0, epoch: int = 0):
        d = presence.load("train")
        self.images = d["images"]
        self.teacher = teacher
        self.sources = confident_coverings(teacher, d["labels"], d["images"].shape[1])
        self.files, self.lms = landmarks("train")
        self.size, self.seed, self.epoch = size, seed, epoch

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        rng = sample_rng(self.seed + 13, self.epoch, i)
        s = self.images.shape[1]
        A = tight_to_loose(256)
        face = cv2.warpAffine(load_face(self.files[i], 256), A, (256, 256), flags=cv2.INTER_AREA,
                              borderMode=cv2.BORDER_REFLECT101)
        face = cv2.resize(face, (s, s), interpolation=cv2.INTER_AREA).astype(np.float32)
        j = self.sources[rng.integers(len(self.sources))]
        src = self.images[j].astype(np.float32)
        alpha = np.clip((self.teacher[j] - 0.3) / 0.4, 0, 1).astype(np.float32)
        M = cv2.getRotationMatrix2D((s / 2 + rng.normal(0, 2), s / 2 + rng.normal(0, 2)), rng.normal(0, 4),
                                    rng.uniform(0.95, 1.06))
        src = cv2.warpAffine(src, M, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        alpha = cv2.warpAffine(alpha, M, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        if rng.random() < 0.5:  # the covering in another colour or brightness
            src = src * rng.uniform(0.6, 1.3) + rng.normal(0, 15, 3)
            if rng.random() < 0.3:
                src = src[..., rng.permutation(3)]
        out = face * (1 - alpha[..., None]) + np.clip(src, 0, 255) * alpha[..., None]
        out = np.clip(out + rng.normal(0, 2, out.shape), 0, 255).astype(np.uint8)
        return to_seg_tensors(out, (alpha > 0.5).astype(np.uint8), self.size, rng)


def covering_found(probs: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Per face: does the app's post-processing (clean, keep what touches the mouth) keep any covering?
    ``probs`` (N, S, S) at any crop size."""
    from unmask_studio.core import maskops

    size = probs.shape[-1]
    mouth = mouth_in_crop(size)
    return np.array([maskops.keep_touching(maskops.clean(p.astype(np.float32), threshold), mouth,
                                           size * 0.12).any() for p in probs])


@torch.no_grad()
def presence_rates(net, split: str = "test") -> dict:
    """Recall on with_mask and false positives on without_mask of the aligned presence set at 256²."""
    d = presence.load(split)
    p = torch.from_numpy(teacher_probs(net, d["images"], flip=False).astype(np.float32))[:, None]
    p = torch.nn.functional.interpolate(p, size=256, mode="bilinear", align_corners=False)[:, 0].numpy()
    found = covering_found(p)
    w, wo = d["labels"] == 1, d["labels"] == 0
    return {"with_mask_recall": float(found[w].mean()), "without_mask_fp": float(found[wo].mean()),
            "n_with": int(w.sum()), "n_without": int(wo.sum())}


__all__ = ["PresenceSet", "CopyPasteSet", "mil_loss", "lower_face_box", "presence_rates", "SOURCE_SIZE"]
