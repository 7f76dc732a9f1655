"""The ONNX contract between training and the app: crop geometry and model I/O.

The aligned crop is defined by where CelebA faces sit in their crops (median face-mesh landmarks over
celeba/train), so the app aligns real faces to exactly the framing the models were trained on.
``python -m training.contract`` writes ``unmask_studio/resources/models/contract.json``; the app reads it, and a test
pins model files against it. This is the only thing training and the app share.
"""
from __future__ import annotations

import json
import sys

import cv2
import numpy as np
from PIL import Image

from training.data import SOURCE_SIZE, landmarks
from training.framing import SEG_SHIFT, SEG_ZOOM, compose, tight_to_loose
from training.paths import CACHE, DATA, MODELS

CROP_SIZE = 256
STRAP_REACH, STRAP_CANVAS, STRAP_SIZE = 1.4, 358, 360  # training.train_straps
ALIGNED_SEG = "maskedface_seg_aligned_loose.npz"  # MaskedFace-Net in the segmenter's framing
# Landmarks that stay put whether or not a mask is worn dominate the fit (eyes, brows, nose bridge);
# a few lower ones pin the scale.
ALIGN_INDICES = [33, 133, 362, 263, 70, 300, 168, 6, 197, 1, 234, 454, 152, 13, 14]
KEYPOINTS = {"right_eye": [33, 133], "left_eye": [362, 263], "nose_tip": [1], "mouth": [13, 14]}

CONTRACT = {
    "version": 1,
    "crop_size": CROP_SIZE,
    "inpainter": {
        "file": "inpainter.onnx",
        "inputs": {"image": {"shape": ["N", 3, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                             "layout": "RGB"},
                   "mask": {"shape": ["N", 1, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                            "meaning": "1 = pixel to fill"}},
        "outputs": {"output": {"shape": ["N", 3, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                               "meaning": "raw prediction; composite with the mask yourself"}},
    },
    # Faces with a reference photo (training.train_refine, exported with --refine-run): softer than the
    # inpainter without one, so the app uses it only for those faces (core/pipeline.py).
    "reference_inpainter": {
        "file": "inpainter_reference.onnx",
        "inputs": {"image": {"shape": ["N", 3, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                             "layout": "RGB"},
                   "mask": {"shape": ["N", 1, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                            "meaning": "1 = pixel to fill"},
                   "reference": {"shape": ["N", 3, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                                 "layout": "RGB", "optional": True,
                                 "meaning": "another photo of the same person aligned to this crop; zeros "
                                            "when there is none"},
                   "reference_mask": {"shape": ["N", 1, CROP_SIZE, CROP_SIZE], "range": [0, 1],
                                      "dtype": "float32", "optional": True,
                                      "meaning": "1 = reference pixel; all 0 = no reference"}},
        "outputs": {"output": {"shape": ["N", 3, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                               "meaning": "raw prediction; composite with the mask yourself"}},
    },
    "segmenter": {
        "file": "segmenter.onnx",
        # The segmenter sees a looser crop than the inpainter (masks hang below the chin): loose pixel =
        # zoom * (tight pixel - centre) + size/2, centre = (size/2, size/2 + shift * size).
        "framing": {"zoom": SEG_ZOOM, "shift": SEG_SHIFT},
        "inputs": {"image": {"shape": ["N", 3, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                             "layout": "RGB"}},
        "outputs": {"mask": {"shape": ["N", 1, CROP_SIZE, CROP_SIZE], "range": [0, 1], "dtype": "float32",
                             "meaning": "probability that the pixel is a face covering"}},
    },
    # Ear loops and straps beside a covering (training.train_straps): the strap crop is the segmenter's
    # crop widened ``reach`` times (the ears inside), at ``canvas``² (half the engine's tracing
    # resolution), padded by repeating its last row and column to the input's size.
    "straps": {
        "file": "straps.onnx",
        "framing": {"reach": STRAP_REACH, "canvas": STRAP_CANVAS},
        "inputs": {"image": {"shape": ["N", 3, STRAP_SIZE, STRAP_SIZE], "range": [0, 1], "dtype": "float32",
                             "layout": "RGB"},
                   "covering": {"shape": ["N", 1, STRAP_SIZE, STRAP_SIZE], "range": [0, 1], "dtype": "float32",
                                "meaning": "1 = the covering already found"}},
        "outputs": {"straps": {"shape": ["N", 1, STRAP_SIZE, STRAP_SIZE], "range": [0, 1], "dtype": "float32",
                               "meaning": "probability that the pixel is a strap or loop of that covering"}},
    },
}


def template_points() -> np.ndarray:
    """Median position of every mesh landmark in a 256² crop with CelebA framing (468x2)."""
    _, lms = landmarks("train")
    return np.median(lms, axis=0) * (CROP_SIZE / SOURCE_SIZE)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, shift) mapping src onto dst, as 2x3."""
    M, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), dst.astype(np.float32), method=cv2.LMEDS)
    return M


def build_aligned_maskedface_seg(tmpl: np.ndarray) -> None:
    """Warp MaskedFace-Net images and their labels into the segmenter's crop (cached npz)."""
    d = np.load(CACHE / "maskedface_seg.npz")
    images, masks, names = [], [], []
    for name, lm in zip(d["names"], d["landmarks"].astype(np.float32)):
        if np.isnan(lm[0, 0]):
            continue
        stem = name.rsplit(".", 1)[0]
        img = np.asarray(Image.open(DATA / "maskedface_seg" / "images" / name).convert("RGB"))
        lab = np.asarray(Image.open(DATA / "maskedface_seg" / "labels" / f"{stem}_gt.png"))
        if lab.ndim == 3:
            lab = lab[..., 0]
        M = compose(tight_to_loose(CROP_SIZE), similarity(lm[ALIGN_INDICES], tmpl[ALIGN_INDICES]))
        images.append(cv2.warpAffine(img, M, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_AREA,
                                     borderMode=cv2.BORDER_REFLECT))
        masks.append(cv2.warpAffine((lab == 2).astype(np.uint8), M, (CROP_SIZE, CROP_SIZE),
                                    flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REFLECT))
        names.append(stem)
    np.savez_compressed(CACHE / ALIGNED_SEG, images=np.stack(images), masks=np.stack(masks),
                        names=np.array(names))
    print(f"aligned {len(images)} MaskedFace-Net faces")


def main() -> int:
    tmpl = template_points()
    c = dict(CONTRACT)
    c["template"] = {"mesh_indices": ALIGN_INDICES, "points": tmpl[ALIGN_INDICES].round(2).tolist()}
    c["template_keypoints"] = {k: tmpl[v].mean(0).round(2).tolist() for k, v in KEYPOINTS.items()}
    MODELS.mkdir(parents=True, exist_ok=True)
    (MODELS / "contract.json").write_text(json.dumps(c, indent=1) + "\n")
    print(f"wrote {MODELS / 'contract.json'}")
    if not (CACHE / ALIGNED_SEG).exists():
        build_aligned_maskedface_seg(tmpl)
    return 0


if __name__ == "__main__":
    sys.exit(main())
