"""Segmenter quality and speed, measured through the shipped app engine (detect, align, ONNX, warp back).

    python benchmarks/segmenter.py [--out benchmarks/out] [--compare OLD_SEGMENTER.onnx]

With ``--compare`` both segmenters are measured in the same run on the same faces (the other model
files and contract.json are the shipped ones).

- IoU and boundary F-score at full resolution on the held-out MaskedFace-Net faces (every fifth face
  of the aligned list written by ``python -m training.contract``; the others were used in training).
- False-positive rate on bare faces, two ways: (a) the ``celeba/val`` photos end to end as the app
  sees them (detect, align into the segmenter's loose framing, segment, keep what touches the mouth;
  a photo where no face is found counts as untouched, and the count is given); (b) the same crops fed
  straight to the segmenter (CelebA's tight framing, not what the network sees in the app: stricter,
  kept for comparison with earlier runs), share with any cleaned pixel and mean covered fraction.
- Real faces with image-level labels (``mask_presence``, the held-out fifth: index % 5 == 0 in each
  folder, never trained on), end to end on the photo: with_mask recall = share of photos where a
  covering is found on the largest detected face (a photo without a detected face counts as a miss),
  without_mask false positives = share where one is found; also the recall over detected faces only.
- MaskedFace-Net IoU/BF are given with the full-resolution edge snapping (``Options.snap_edges``, what
  the app does) and without it (the network's own boundary).
- Milliseconds per aligned face on this machine (batch of 1 and of 8).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.metrics import boundary_f1  # noqa: E402
from evaluation.models import with_segmenter  # noqa: E402,F401 - re-exported for callers
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


def presence_held_out() -> list[tuple[Path, int]]:
    out = []
    for label, folder in ((1, "with_mask"), (0, "without_mask")):
        files = sorted((DATA / "mask_presence" / folder).glob("*.webp"))
        out += [(f, label) for i, f in enumerate(files) if i % 5 == 0]
    return out


def measure_presence(engine: Engine) -> dict:
    found, labels, detected = [], [], []
    for f, label in presence_held_out():
        rgb = load_image(f).rgb
        faces = engine.detect(rgb)
        hit = False
        if faces:
            face = max(faces, key=lambda fc: fc.size)
            hit = bool(engine.segment(rgb, [face])[1][0].any())
        found.append(hit)
        labels.append(label)
        detected.append(bool(faces))
    found, labels, detected = map(np.array, (found, labels, detected))
    w, wo = labels == 1, labels == 0
    return {"with_mask": int(w.sum()), "without_mask": int(wo.sum()),
            "with_mask_recall": float(found[w].mean()),
            "with_mask_recall_detected_faces": float(found[w & detected].mean()),
            "without_mask_false_positives": float(found[wo].mean()),
            "no_face_detected": {"with_mask": int((w & ~detected).sum()), "without_mask": int((wo & ~detected).sum())}}


def measure_maskedface(engine: Engine) -> dict:
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
    return {"faces": len(ious), "iou": float(np.mean(ious)), "boundary_f": float(np.mean(bfs)), "not_detected": missed}


def measure_bare(engine: Engine, n: int) -> dict:
    S = engine.crop_size
    files = sorted((DATA / "celeba" / "val").glob("*.webp"))[:n]
    fp, frac = 0, []
    for i in range(0, len(files), 16):
        batch = np.stack([np.asarray(Image.open(f).convert("RGB").resize((S, S), Image.BICUBIC))
                          for f in files[i:i + 16]]).astype(np.float32).transpose(0, 3, 1, 2) / 255
        for prob in engine.segmenter(image=batch)[:, 0]:
            m = maskops.clean(prob, engine.options.threshold)
            fp += bool(m.any())
            frac.append(float(m.mean()))
    return {"faces": len(frac), "false_positive_rate": fp / len(frac), "mean_covered_fraction": float(np.mean(frac))}


def measure_bare_end_to_end(engine: Engine, n: int) -> dict:
    files = sorted((DATA / "celeba" / "val").glob("*.webp"))[:n]
    fp, detected = 0, 0
    for f in files:
        rgb = load_image(f).rgb
        faces = engine.detect(rgb)
        if faces:
            detected += 1
            fp += bool(engine.segment(rgb, [max(faces, key=lambda fc: fc.size)])[0].any())
    return {"photos": len(files), "face_found": detected, "false_positive_rate": fp / len(files)}


def speed(engine: Engine) -> dict:
    S, seg = engine.crop_size, engine.segmenter
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
    return {"batch1": ms1, "batch8": (time.perf_counter() - t) / 5 / 8 * 1000}


def measure(models_dir: str | None, bare: int) -> dict:
    # No growing: this measures the segmenter's own boundary (the app grows the mask by default so
    # the inpainter never sees fabric at the edge).
    snapped = Engine(Options(grow_px=0), models_dir=models_dir)
    raw = Engine(Options(grow_px=0, snap_edges=False), models_dir=models_dir)
    return {"maskedface_heldout": measure_maskedface(snapped), "maskedface_heldout_no_snap": measure_maskedface(raw),
            "mask_presence_heldout": measure_presence(Engine(models_dir=models_dir)),
            "celeba_val_bare_end_to_end": measure_bare_end_to_end(Engine(models_dir=models_dir), bare),
            "celeba_val_bare": measure_bare(raw, bare), "ms_per_face": speed(raw), "provider": raw.segmenter.provider}


def table(results: dict) -> str:
    names = list(results)
    rows = [("MaskedFace-Net held-out IoU (full res, end to end, edge snapped)", "maskedface_heldout", "iou", "{:.4f}"),
            ("MaskedFace-Net held-out boundary F (edge snapped)", "maskedface_heldout", "boundary_f", "{:.4f}"),
            ("MaskedFace-Net held-out IoU (network's own edge)", "maskedface_heldout_no_snap", "iou", "{:.4f}"),
            ("MaskedFace-Net held-out boundary F (network's own edge)", "maskedface_heldout_no_snap", "boundary_f", "{:.4f}"),
            ("false positives on bare CelebA val photos (end to end, as the app)", "celeba_val_bare_end_to_end",
             "false_positive_rate", "{:.2%}"),
            ("false positives on bare CelebA val crops fed straight to the network", "celeba_val_bare",
             "false_positive_rate", "{:.2%}"),
            ("mask_presence held-out with_mask: covering found (recall, end to end)", "mask_presence_heldout",
             "with_mask_recall", "{:.2%}"),
            ("same, over faces the detector found", "mask_presence_heldout", "with_mask_recall_detected_faces", "{:.2%}"),
            ("mask_presence held-out without_mask: covering found (false positives)", "mask_presence_heldout",
             "without_mask_false_positives", "{:.2%}"),
            ("ms per aligned face, batch 1", "ms_per_face", "batch1", "{:.1f}"),
            ("ms per aligned face, batch 8", "ms_per_face", "batch8", "{:.1f}")]
    md = "| metric | " + " | ".join(names) + " |\n|---|" + "---|" * len(names) + "\n"
    for label, group, key, fmt in rows:
        md += f"| {label} | " + " | ".join(fmt.format(results[n][group][key]) for n in names) + " |\n"
    first = results[names[0]]
    md += (f"\n{first['maskedface_heldout']['faces']} MaskedFace-Net faces, {first['celeba_val_bare']['faces']} bare "
           f"CelebA faces, mask_presence held-out {first['mask_presence_heldout']['with_mask']} with / "
           f"{first['mask_presence_heldout']['without_mask']} without a mask (no face detected: "
           f"{first['mask_presence_heldout']['no_face_detected']}).\n")
    return md


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    ap.add_argument("--bare", type=int, default=1000)
    ap.add_argument("--compare", help="another segmenter.onnx to measure in the same run")
    args = ap.parse_args(argv)
    results = {"shipped": measure(None, args.bare)}
    if args.compare:
        with tempfile.TemporaryDirectory() as tmp:
            results[Path(args.compare).name] = measure(with_segmenter(args.compare, Path(tmp)), args.bare)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "segmenter.json").write_text(json.dumps(results, indent=1))
    md = table(results)
    (out / "segmenter.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
