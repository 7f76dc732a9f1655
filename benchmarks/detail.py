"""Detail ratio: does the fill carry as much fine detail as the person's skin right next to it?

    python -m benchmarks.detail [--limit N] [--big 6] [--out benchmarks/out]

detail ratio = mean |Laplacian of Gaussian (σ = 1 px)| of the grey output inside the eroded removal
mask ÷ the same over a ring of face skin just outside the mask, above the mask's vertical middle
(cheeks and nose, not the neck or clothes). A real face scores ≈ 0.84 (``truth`` below); a smooth,
enlarged fill well below.

Photos: every ``real_masked`` photo whose longer side is ≥ 700 px, and 12 MP and 24 MP copies
(bicubic upscales) of the first ``--big`` of them. Per photo the engine finds faces and masks once;
then the same mask is filled by each variant, measured in the same run:

- ``telea``: OpenCV's Telea inpainting (radius 5) on the same mask;
- ``white-noise grain``: ``Options(skin_detail=False)``, noise matched in strength where the fill
  is enlarged (``blend.match_grain``, the paste-back before the detail stage);
- ``engine``: as shipped, the skin's own texture spectrum carried into enlarged fills
  (``core/detail.py``);
- ``candidate`` (with ``--model``): the engine as shipped with a candidate ``inpainter.onnx``.

What a real face scores: ``pairs_dev`` (40 photos with a pasted surgical mask and the same photo
without, pixel-aligned) gives the ``truth`` column: the ratio of the clean photo over the engine's own
removal mask of the masked one (lips' and nostrils' edges inside, the nose's edges and lower lids in the
ring). Measured in session 10: median 0.84, not 1 — so read a variant against ``truth`` on the same
photos. These photos are small (median 380 px): their fills are not enlarged, and no texture is added.

Writes detail.json (per-photo ratios) and detail.md (medians).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from unmask_studio.core.io import load_image
from unmask_studio.core.pipeline import Engine

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))
MIN_SIDE = 700
BIG = {"12 MP": (4000, 3000), "24 MP": (6000, 4000)}


def log_abs(grey: np.ndarray) -> np.ndarray:
    return np.abs(cv2.Laplacian(cv2.GaussianBlur(grey, (0, 0), 1.0), cv2.CV_32F))


def regions(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(eroded mask, ring above the mask's vertical middle) for one photo's removal mask."""
    m = mask > 127
    if m.sum() < 400:
        return None
    ys = np.nonzero(m.any(1))[0]
    r = max(4, int(0.06 * (ys[-1] - ys[0])))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    inner = cv2.erode(m.astype(np.uint8), k) > 0
    ring = (cv2.dilate(m.astype(np.uint8), k) > 0) & ~(cv2.dilate(m.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)
    ring[(ys[0] + ys[-1]) // 2:] = False
    if inner.sum() < 100 or ring.sum() < 100:
        return None
    return inner, ring


def detail_ratio(out: np.ndarray, inner: np.ndarray, ring: np.ndarray) -> float:
    e = log_abs(cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float32))
    return float(e[inner].mean() / max(e[ring].mean(), 1e-6))


def variants(engine: Engine, rgb: np.ndarray, faces, mask, candidate: Engine | None = None) -> dict[str, np.ndarray]:
    out = {"telea": cv2.inpaint(rgb, (mask > 127).astype(np.uint8), 5, cv2.INPAINT_TELEA)}
    engine.options.skin_detail = False
    try:
        out["white-noise grain"] = engine.inpaint(rgb, faces, mask)[0]
    finally:
        engine.options.skin_detail = True
    out["engine"] = engine.inpaint(rgb, faces, mask)[0]
    if candidate is not None:  # the same faces and mask, filled by a candidate inpainter
        out["candidate"] = candidate.inpaint(rgb, faces, mask)[0]
    return out


def measure(engine: Engine, rgb: np.ndarray, candidate: Engine | None = None,
            truth: np.ndarray | None = None) -> dict | None:
    faces = engine.detect(rgb)
    if not faces:
        return None
    mask, _ = engine.segment(rgb, faces)
    reg = regions(mask)
    if reg is None:
        return None
    t = time.perf_counter()
    outs = variants(engine, rgb, faces, mask, candidate)
    if truth is not None:  # the same photo without the mask, over the same regions
        outs["truth"] = truth
    return {"ratios": {k: detail_ratio(v, *reg) for k, v in outs.items()},
            "seconds": time.perf_counter() - t, "size": list(rgb.shape[:2])}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--limit", type=int, default=0, help="at most this many photos (0: all)")
    ap.add_argument("--big", type=int, default=6, help="photos also measured as 12 MP and 24 MP copies")
    ap.add_argument("--model", type=Path, default=None,
                    help="a candidate inpainter.onnx, measured as one more variant on the same masks")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)
    engine = Engine()
    candidate = None
    if args.model:
        import tempfile

        from evaluation.models import with_model

        candidate = Engine(models_dir=with_model("inpainter", args.model, Path(tempfile.mkdtemp())))
    photos = []
    for p in sorted((DATA / "real_masked").glob("*")):
        img = load_image(p)
        if max(img.rgb.shape[:2]) >= MIN_SIDE:
            photos.append((p.name, img.rgb))
    if args.limit:
        photos = photos[:args.limit]
    rows = []
    for name, rgb in photos:
        r = measure(engine, rgb, candidate)
        if r:
            rows.append({"photo": name, "set": "real ≥700 px", **r})
    pairs = sorted((DATA / "pairs_dev" / "masked").glob("*.png"))
    for p in pairs[:args.limit or None]:
        clean = DATA / "pairs_dev" / "clean" / p.name
        if clean.exists():
            r = measure(engine, load_image(p).rgb, candidate, truth=load_image(clean).rgb)
            if r:
                rows.append({"photo": p.name, "set": "pairs_dev (truth known)", **r})
    for name, rgb in [p for p in photos if any(r["photo"] == p[0] for r in rows)][:args.big]:
        for label, (w, h) in BIG.items():
            s = np.sqrt(w * h / (rgb.shape[0] * rgb.shape[1]))
            big = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
            r = measure(engine, big, candidate)
            if r:
                rows.append({"photo": name, "set": label, **r})
    summary = {}
    for group in ["real ≥700 px", *BIG, "pairs_dev (truth known)"]:
        sub = [r for r in rows if r["set"] == group]
        if sub:
            summary[group] = {"n": len(sub), **{k: float(np.median([r["ratios"][k] for r in sub]))
                                                for k in sub[0]["ratios"]}}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "detail.json").write_text(json.dumps({"summary": summary, "photos": rows}, indent=1))
    keys = ["telea", "white-noise grain", "engine"] + (["candidate"] if candidate else []) + ["truth"]
    lines = ["| photos | n | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for g, s in summary.items():
        lines.append(f"| {g} | {s['n']} | " + " | ".join(f"{s[k]:.2f}" if k in s else "–" for k in keys) + " |")
    md = "Detail ratio (median; fill's fine detail ÷ the skin's next to it; truth: the real face under a pasted mask)\n\n" + "\n".join(lines)
    (args.out / "detail.md").write_text(md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
