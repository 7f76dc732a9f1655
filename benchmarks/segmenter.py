"""Segmenter quality and speed, measured through the shipped app engine (detect, align, ONNX, warp back).

    python benchmarks/segmenter.py [--out benchmarks/out]

- IoU and boundary F-score at full resolution on the held-out MaskedFace-Net faces (every fifth face
  of the aligned list written by ``python -m training.contract``; the others were used in training).
- False-positive rate on bare faces: share of ``celeba/val`` faces (already in crop framing, so they
  go straight to the segmenter) where the cleaned mask is not empty, and the mean covered fraction.
- Milliseconds per aligned face on this machine (batch of 1 and of 8).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.metrics import boundary_f1  # noqa: E402
from unmask_studio.core import maskops
from unmask_studio.core.io import load_image
from unmask_studio.core.pipeline import Engine, Options

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"


def held_out_names() -> list[str]:
    cache = REPO / "training" / ".cache" / "maskedface_seg_aligned_loose.npz"
    names = list(np.load(cache)["names"]) if cache.exists() else \
        sorted(p.stem for p in (DATA / "maskedface_seg" / "images").glob("*.webp"))
    return [n for i, n in enumerate(names) if i % 5 == 0]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    ap.add_argument("--bare", type=int, default=1000)
    args = ap.parse_args(argv)
    # No growing: this measures the segmenter's own boundary (the app grows the mask by default so
    # the inpainter never sees fabric at the edge).
    engine = Engine(Options(grow_px=0))
    S = engine.crop_size

    ious, bfs, missed = [], [], 0
    for name in held_out_names():
        rgb = load_image(DATA / "maskedface_seg" / "images" / f"{name}.webp").rgb
        lab = np.asarray(Image.open(DATA / "maskedface_seg" / "labels" / f"{name}_gt.png"))
        gt = ((lab[..., 0] if lab.ndim == 3 else lab) == 2).astype(np.uint8)
        faces = engine.detect(rgb)
        if not faces:
            missed += 1
            ious.append(0.0)
            bfs.append(0.0)
            continue
        pred = (engine.segment(rgb, faces)[0] > 127).astype(np.uint8)
        union = (pred | gt).sum()
        ious.append(float((pred & gt).sum() / union) if union else 1.0)
        bfs.append(boundary_f1(pred, gt, tol=max(2, rgb.shape[0] // 128)))

    files = sorted((DATA / "celeba" / "val").glob("*.webp"))[:args.bare]
    fp, frac = 0, []
    seg = engine.segmenter
    for i in range(0, len(files), 16):
        batch = np.stack([np.asarray(Image.open(f).convert("RGB").resize((S, S), Image.BICUBIC))
                          for f in files[i:i + 16]]).astype(np.float32).transpose(0, 3, 1, 2) / 255
        for prob in seg(image=batch)[:, 0]:
            m = maskops.clean(prob, engine.options.threshold)
            fp += bool(m.any())
            frac.append(float(m.mean()))

    x1 = np.random.rand(1, 3, S, S).astype(np.float32)
    x8 = np.random.rand(8, 3, S, S).astype(np.float32)
    seg(image=x1)
    t = time.perf_counter()
    for _ in range(20):
        seg(image=x1)
    ms1 = (time.perf_counter() - t) / 20 * 1000
    t = time.perf_counter()
    for _ in range(5):
        seg(image=x8)
    ms8 = (time.perf_counter() - t) / 5 / 8 * 1000

    res = {"maskedface_heldout": {"faces": len(ious), "iou": float(np.mean(ious)), "boundary_f": float(np.mean(bfs)),
                                  "not_detected": missed},
           "celeba_val_bare": {"faces": len(frac), "false_positive_rate": fp / len(frac),
                               "mean_covered_fraction": float(np.mean(frac))},
           "ms_per_face": {"batch1": ms1, "batch8": ms8}, "provider": seg.provider}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "segmenter.json").write_text(json.dumps(res, indent=1))
    md = (f"| metric | value |\n|---|---|\n"
          f"| MaskedFace-Net held-out IoU ({len(ious)} faces, full res, end to end) | {res['maskedface_heldout']['iou']:.4f} |\n"
          f"| MaskedFace-Net held-out boundary F | {res['maskedface_heldout']['boundary_f']:.4f} |\n"
          f"| faces not detected | {missed} |\n"
          f"| false positives on bare CelebA val faces ({len(frac)}) | {res['celeba_val_bare']['false_positive_rate']:.2%} |\n"
          f"| ms per aligned face (batch 1 / batch 8) | {ms1:.1f} / {ms8:.1f} |\n")
    (out / "segmenter.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
