"""Real faces with image-level labels only (``mask_presence``), aligned into the segmenter's crop by
the app's own engine, for weak supervision and evaluation of the segmenter.

    python -m training.presence            # builds training/.cache/mask_presence_aligned.npz

Each photo goes through ``Engine.detect`` (the detector and face mesh the app uses); the largest face
is warped with ``Engine.segment_matrix`` exactly as ``Engine.segment`` does. Photos where the detector
finds no face are still kept, aligned from a box over the whole photo the way the editor aligns a face
the user boxed by hand (``face_in_box``), and flagged ``detected=False``: they are counted and reported,
never silently dropped. Every fifth photo of each folder (by sorted index) is held out for evaluation
and never trained on.
"""
from __future__ import annotations

import sys
import time

import cv2
import numpy as np

from training.paths import CACHE, DATA

CACHE_FILE = CACHE / "mask_presence_aligned.npz"
STORE_SIZE = 128  # the segmenter's own resolution: crops are area-reduced from the 256² crop like training
LABELS = ("without_mask", "with_mask")  # label index = 1 when a covering is present


def is_held_out(index: np.ndarray | int) -> np.ndarray | bool:
    """The fixed evaluation split: every fifth photo of each folder."""
    return np.asarray(index) % 5 == 0


def build(out=CACHE_FILE, limit: int | None = None, log=print) -> dict:
    from unmask_studio.core import blend
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine

    engine = Engine()
    S = engine.crop_size
    images, labels, index, detected, names = [], [], [], [], []
    t0 = time.time()
    for label, folder in enumerate(LABELS):
        files = sorted((DATA / "mask_presence" / folder).glob("*.webp"))[:limit]
        for k, f in enumerate(files):
            rgb = load_image(f).rgb
            faces = engine.finder.find(rgb)
            found = bool(faces)
            if found:
                face = max(faces, key=lambda fc: fc.size)
            else:
                h, w = rgb.shape[:2]
                face = engine.face_in_box(rgb, (0, 0, w, h))
            crop = blend.to_crop(rgb, engine.segment_matrix(face), S)
            images.append(cv2.resize(crop, (STORE_SIZE, STORE_SIZE), interpolation=cv2.INTER_AREA))
            labels.append(label)
            index.append(k)
            detected.append(found)
            names.append(f"{folder}/{f.name}")
            if len(images) % 200 == 0:
                log(f"{len(images)} photos aligned, {len(images) - sum(detected)} without a detected face, "
                    f"{time.time() - t0:.0f} s")
    data = {"images": np.stack(images), "labels": np.array(labels, np.uint8), "index": np.array(index),
            "detected": np.array(detected), "names": np.array(names)}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(out)
    for label, folder in enumerate(LABELS):
        sel = data["labels"] == label
        log(f"{folder}: {sel.sum()} photos, no face detected in {(~data['detected'][sel]).sum()} "
            f"(aligned from the whole photo instead)")
    return data


def load(split: str = "all") -> dict:
    """The cached set; ``split`` 'train', 'test' (every fifth per folder) or 'all'."""
    d = dict(np.load(CACHE_FILE))
    if split == "all":
        return d
    held = is_held_out(d["index"])
    keep = held if split == "test" else ~held
    return {k: v[keep] for k, v in d.items()}


if __name__ == "__main__":
    build(limit=int(sys.argv[1]) if len(sys.argv) > 1 else None)
