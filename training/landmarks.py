"""Precompute face-mesh landmarks for the training images (one pass, cached).

The mask synthesiser places coverings from landmarks so they follow pose and jaw line. MediaPipe's
face mesh is deterministic, so the cache is a pure function of the data and can be rebuilt any time.
CelebA crops are tight, so each image is padded before the mesh runs (the mesh needs some context).

    python -m training.landmarks            # celeba train + val + maskedface_seg
"""
from __future__ import annotations

import argparse
import sys

import numpy as np
from PIL import Image

from training.paths import CACHE, DATA, celeba_files

PAD_FRACTION = 0.33


def _mesh():
    import mediapipe as mp

    return mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1,
                                           refine_landmarks=False, min_detection_confidence=0.3)


def mesh_landmarks(mesh, rgb: np.ndarray) -> np.ndarray | None:
    """468x2 pixel coordinates in ``rgb`` or None when no face is found."""
    h, w = rgb.shape[:2]
    pad = int(round(max(h, w) * PAD_FRACTION))
    padded = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    res = mesh.process(padded)
    if not res.multi_face_landmarks:
        return None
    pts = np.array([(p.x, p.y) for p in res.multi_face_landmarks[0].landmark], np.float32)
    pts *= np.array([padded.shape[1], padded.shape[0]], np.float32)
    return pts - pad


def build(files, out_name: str) -> None:
    out = CACHE / f"{out_name}.npz"
    if out.exists():
        print(f"{out} exists, skipping")
        return
    mesh = _mesh()
    lms = np.full((len(files), 468, 2), np.nan, np.float32)
    for i, f in enumerate(files):
        rgb = np.asarray(Image.open(f).convert("RGB"))
        pts = mesh_landmarks(mesh, rgb)
        if pts is not None:
            lms[i] = pts
        if i % 2000 == 0:
            print(f"{out_name}: {i}/{len(files)}", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    ok = ~np.isnan(lms[:, 0, 0])
    np.savez_compressed(out, names=np.array([f.name for f in files]), landmarks=lms.astype(np.float16))
    print(f"{out_name}: {ok.sum()}/{len(files)} faces with landmarks -> {out}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sets", nargs="*", default=["val", "seg", "train"])
    args = ap.parse_args(argv)
    for s in args.sets:
        if s in ("train", "val"):
            build(celeba_files(s), f"celeba_{s}")
        elif s == "seg":
            build(sorted((DATA / "maskedface_seg" / "images").glob("*.webp")), "maskedface_seg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
