"""Alternative fills ("Try another", ``core/variants.py``): do they really differ, and stay plausible?

    python -m benchmarks.alternatives [--limit N] [--out benchmarks/out] [--sheet PATH]

On the masked/clean ``pairs_dev`` photos (hole derived from the pair as in ``evaluation/pairs.py``),
every variant fills the same hole on the face the covering is on (``Engine.inpaint(variants=...)``):

- plausibility: SSIM / PSNR of the result against the clean photo, inside the face's aligned 256² crop
  (the full-resolution result seen through the face's own crop, as benchmarks.quality does); an
  alternative should be within about 1 dB of variant 0;
- difference: mean |result − variant 0's result| over the hole's pixels (8-bit levels, all channels),
  and the smallest such difference between any two variants; for scale, variant 0's own mean
  |result − clean photo| in the hole.

Writes alternatives.json (per pair) and alternatives.md (means); ``--sheet`` writes a PNG with one row
per pair: input | variant 0..3 | clean, seen through the face's crop.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np

from evaluation.pairs import PAIRS, crop_hole, derive_mask, load_rgb, metrics
from unmask_studio.core import blend
from unmask_studio.core.pipeline import Engine
from unmask_studio.core.variants import COUNT, VARIANTS

REPO = Path(__file__).resolve().parents[1]


def run(limit: int | None, sheet_rows: int) -> tuple[dict, list]:
    engine = Engine()
    S = engine.crop_size
    names = sorted(p.name for p in (PAIRS / "masked").iterdir() if p.suffix.lower() in (".png", ".jpg", ".webp"))
    names = names[:limit] if limit else names
    rows, sheet = [], []
    for k, name in enumerate(names):
        masked, clean = load_rgb(PAIRS / "masked" / name), load_rgb(PAIRS / "clean" / name)
        mask = derive_mask(masked, clean)
        faces = engine.detect(masked)
        holes = [crop_hole(mask, f, S) for f in faces]
        if not faces or not max(h.sum() for h in holes):
            rows.append({"name": name, "skipped": "no face" if not faces else "no hole on a face"})
            continue
        main = int(np.argmax([h.sum() for h in holes]))
        face = faces[main]
        outs, secs = [], []
        for v in range(COUNT):
            t = time.perf_counter()
            out, _ = engine.inpaint(masked, faces, mask * 255, variants={main: v})
            secs.append(time.perf_counter() - t)
            outs.append(out)
        hole = mask > 0
        gt_crop = blend.to_crop(clean, face.matrix, S)
        crop = [metrics(blend.to_crop(o, face.matrix, S), gt_crop) for o in outs]
        mad = lambda a, b: float(np.abs(a[hole].astype(np.int16) - b[hole]).mean())  # noqa: E731
        row = {"name": name, "hole_px": int(hole.sum()),
               "crop": crop, "seconds": secs,
               "diff_to_v0": [mad(o, outs[0]) for o in outs],
               "min_pairwise_diff": min(mad(a, b) for a, b in itertools.combinations(outs, 2)),
               "v0_diff_to_clean": mad(outs[0], clean)}
        rows.append(row)
        if len(sheet) < sheet_rows:
            sheet.append([blend.to_crop(x, face.matrix, S) for x in [masked, *outs, clean]])
        print(f"{k + 1}/{len(names)} {name}: PSNR " + " ".join(f"{c['psnr']:.2f}" for c in crop)
              + "  |diff to v0| " + " ".join(f"{d:.1f}" for d in row["diff_to_v0"][1:]), flush=True)
    return summarize(rows), sheet


def summarize(rows: list[dict]) -> dict:
    done = [r for r in rows if "crop" in r]
    per_variant = []
    for v in range(COUNT):
        psnr = np.array([r["crop"][v]["psnr"] for r in done])
        d_psnr = psnr - np.array([r["crop"][0]["psnr"] for r in done])
        per_variant.append({
            "variant": v, "transform": dict(zip(("mirror", "zoom", "shift_x", "shift_y"), VARIANTS[v])),
            "psnr": float(psnr.mean()), "ssim": float(np.mean([r["crop"][v]["ssim"] for r in done])),
            "psnr_minus_v0": float(d_psnr.mean()), "psnr_minus_v0_worst": float(d_psnr.min()),
            "diff_to_v0": float(np.mean([r["diff_to_v0"][v] for r in done])),
            "diff_to_v0_min": float(np.min([r["diff_to_v0"][v] for r in done])),
            "seconds": float(np.median([r["seconds"][v] for r in done]))})
    return {"n": len(rows), "n_measured": len(done), "skipped": [r for r in rows if "crop" not in r],
            "variants": per_variant,
            "min_pairwise_diff": float(np.mean([r["min_pairwise_diff"] for r in done])),
            "min_pairwise_diff_worst": float(np.min([r["min_pairwise_diff"] for r in done])),
            "v0_diff_to_clean": float(np.mean([r["v0_diff_to_clean"] for r in done])), "rows": rows}


def markdown(s: dict) -> str:
    lines = [f"Alternative fills on pairs_dev: {s['n_measured']} of {s['n']} pairs (the face the covering is on), "
             "metrics inside the face's 256² crop vs the clean photo; |diff| = mean absolute difference to "
             "variant 0 inside the hole (8-bit levels).", "",
             "| variant | view | PSNR dB | Δ PSNR vs 0 (mean / worst) | SSIM | mean |diff to 0| (min) | s |",
             "|---|---|---|---|---|---|---|"]
    for v in s["variants"]:
        t = v["transform"]
        view = ("mirror " if t["mirror"] else "") + (f"zoom {t['zoom']:.2f} shift {t['shift_x']:+.2f},{t['shift_y']:+.2f}"
                                                      if t["zoom"] != 1 or t["shift_x"] or t["shift_y"] else "")
        lines.append(f"| {v['variant']} | {view.strip() or 'as shipped'} | {v['psnr']:.2f} | "
                     f"{v['psnr_minus_v0']:+.2f} / {v['psnr_minus_v0_worst']:+.2f} | {v['ssim']:.4f} | "
                     f"{v['diff_to_v0']:.1f} ({v['diff_to_v0_min']:.1f}) | {v['seconds']:.2f} |")
    lines += ["", f"Closest two variants of a face, mean over faces: {s['min_pairwise_diff']:.1f} levels "
              f"(worst face {s['min_pairwise_diff_worst']:.1f}); for scale, variant 0 vs the clean photo in the "
              f"hole: {s['v0_diff_to_clean']:.1f} levels."]
    return "\n".join(lines) + "\n"


def contact_sheet(rows: list, path: Path, cell: int = 160) -> None:
    head = np.full((26, cell * len(rows[0]), 3), 255, np.uint8)
    for i, t in enumerate(["input"] + [f"variant {v}" for v in range(COUNT)] + ["clean"]):
        cv2.putText(head, t, (i * cell + 6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    grid = np.vstack([head] + [np.hstack([cv2.resize(x, (cell, cell), interpolation=cv2.INTER_AREA) for x in r])
                               for r in rows])
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(f"wrote {path}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=None, help="first N pairs only")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    ap.add_argument("--sheet", type=Path, default=None, help="PNG: input | variants | clean for 8 pairs")
    a = ap.parse_args(argv)
    summary, sheet = run(a.limit, 8 if a.sheet else 0)
    md = markdown(summary)
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "alternatives.json").write_text(json.dumps(summary, indent=1) + "\n")
    (a.out / "alternatives.md").write_text(md)
    print(md)
    if a.sheet and sheet:
        contact_sheet(sheet, a.sheet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
