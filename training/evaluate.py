"""Evaluate the shipped inpainter (unmask_studio/resources/models/inpainter.onnx, onnxruntime on the CPU) as Yang 2024 does.

    python -m training.evaluate [--n 500] [--out benchmarks/out] [--contact-sheet sheet.png]

SSIM (11-tap Gaussian window, sigma 1.5), PSNR and l1 (channel-averaged, /255) on the whole composite
(input outside the hole, prediction inside), plus dlib face-descriptor distances to the ground truth,
for the model and for three baselines on the same holes: cv2.inpaint Telea, cv2.inpaint Navier-Stokes
(radius 5) and the unfilled input. Two sets:

- ``val``: the fixed synthetic validation set of training (``InpaintSet("val", 256, seed=1234)``, first N);
- ``pairs_dev``: real photos with a pasted mask and their clean originals (hole derived from the pixel
  difference), scored at full resolution through the app's ``Engine.inpaint`` and on the aligned crop.

Writes ``quality.json`` and ``quality.md`` to --out and prints the tables. The pairs_dev part lives in
``evaluation/pairs.py`` and needs no torch (``python -m benchmarks.quality`` runs it alone).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from evaluation import pairs as pe
from training.data import InpaintSet


def evaluate_val(model, identity, n: int, batch: int = 8, n_examples: int = 8, log=print) -> dict:
    ds = InpaintSet("val", 256, seed=1234, epoch=0, train=False, limit=n)
    # The files are ordered by head pose, so examples are spread over the whole set.
    pick = set(np.linspace(0, len(ds) - 1, n_examples).round().astype(int).tolist())
    rows, holes, examples = [], [], []
    for i0 in range(0, len(ds), batch):
        items = [ds[j] for j in range(i0, min(i0 + batch, len(ds)))]
        x = np.stack([img.numpy() for img, _ in items])
        m = np.stack([mask.numpy() for _, mask in items])
        comp = x * (1 - m) + model(image=x * (1 - m), mask=m) * m
        for k in range(len(items)):
            gt, ours = (np.clip(np.round(a.transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8) for a in (x[k], comp[k]))
            hole = m[k, 0].astype(np.uint8)
            inp = gt * (1 - hole[..., None])
            outs = {"ours": ours, **{b: pe.baseline(inp, hole, b) for b in ("telea", "ns")}, "input": inp}
            rows.append(pe.score(outs, gt, identity))
            holes.append(float(hole.mean()))
            if i0 + k in pick:
                examples.append((f"val {i0 + k}", [inp, ours, outs["telea"], gt]))
        log(f"val {i0 + len(items)}/{len(ds)}")
    return {"n": len(ds), "hole_fraction": float(np.mean(holes)), "summary": pe.summarize(rows),
            "by_hole": by_hole(rows, holes), "examples": examples}


HOLE_BINS = (0.0, 0.25, 0.35, 0.45, 1.01)


def by_hole(rows: list[dict], holes: list[float]) -> list[dict]:
    """Ours and Telea by hole size: full-image metrics depend on how much of the image is filled, so
    figures from sets with other coverings (the paper's) compare only at similar hole sizes."""
    out = []
    holes = np.asarray(holes)
    for lo, hi in zip(HOLE_BINS[:-1], HOLE_BINS[1:]):
        idx = np.flatnonzero((holes >= lo) & (holes < hi))
        if len(idx):
            s = pe.summarize([rows[i] for i in idx])
            out.append({"range": [lo, min(hi, 1.0)], "n": int(len(idx)), "mean_hole": float(holes[idx].mean()),
                        **{m: {k: s[m][k] for k in ("ssim", "psnr", "l1")} for m in ("ours", "telea")}})
    return out


def hole_table(bins: list[dict]) -> str:
    lines = ["### Synthetic validation set by hole size", "",
             "| hole (share of the 256² crop) | faces | ours SSIM | ours PSNR | ours l1 | Telea SSIM | Telea PSNR |",
             "|---|---|---|---|---|---|---|"]
    for b in bins:
        lo, hi = b["range"]
        lines.append(f"| {lo:.0%}–{hi:.0%} (mean {b['mean_hole']:.1%}) | {b['n']} | {b['ours']['ssim']:.4f} | "
                     f"{b['ours']['psnr']:.2f} | {b['ours']['l1']:.4f} | {b['telea']['ssim']:.4f} | "
                     f"{b['telea']['psnr']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500, help="faces of the synthetic validation set (default 500)")
    ap.add_argument("--out", type=Path, default=pe.REPO / "benchmarks" / "out")
    ap.add_argument("--contact-sheet", type=Path, metavar="PATH",
                    help="also write a PNG grid: input | ours | Telea | ground truth")
    ap.add_argument("--pairs-limit", type=int, default=None, help="only the first K pairs (quick checks)")
    args = ap.parse_args(argv)

    from unmask_studio.core.pipeline import Engine

    engine = Engine()
    model = pe.model_info()  # hashed right before loading: training may re-export it meanwhile
    engine.inpainter  # noqa: B018 - load the session now
    identity = pe.make_identity()
    t0 = time.perf_counter()
    val = evaluate_val(engine.inpainter, identity, args.n)
    t1 = time.perf_counter()
    pairs = pe.evaluate_pairs(engine, identity, limit=args.pairs_limit)
    t2 = time.perf_counter()
    results = {"model": model, "provider": engine.inpainter.provider,
               "seconds": {"val": round(t1 - t0, 1), "pairs_dev": round(t2 - t1, 1)},
               "val": val, "pairs_dev": pairs}
    md = (f"## Inpainting quality of inpainter.onnx (sha256 {results['model']['sha256'][:12]}, "
          f"{results['provider']})\n\n"
          + pe.table("Synthetic validation set (celeba/val, 256² crops)", val["summary"],
                     f"First {val['n']} faces of InpaintSet('val', 256, seed=1234) (celeba/val is ordered by "
                     f"head pose: the first ~200 are mostly turned faces), mean hole {val['hole_fraction']:.1%}; "
                     "input = hole set to black; identity on the whole crop.")
          + "\n" + hole_table(val["by_hole"]) + "\n" + pe.pairs_tables(pairs))
    pe.write(args.out, results, md)
    if args.contact_sheet:
        pe.contact_sheet(val["examples"] + pairs["examples"], args.contact_sheet)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
