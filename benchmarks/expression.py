"""Expression: does the fill keep the person's lips closed, or draw a grin on everyone?

    python -m benchmarks.expression [--n 300] [--real 120] [--model CANDIDATE.onnx] [--out benchmarks/out]

CelebA, which the inpainter learns from, is a set of smiling celebrities: 37 % of its faces show their
lips apart (most of them a smile with teeth). People photographed in a mask mostly keep their lips
closed, and the model drew a grin on nearly every masked face. Measured with the face mesh
(``training.landmarks``) run on the output: mouth gap = inner lips' distance (mesh 13-14) over the
eyes-to-chin distance; "lips apart" = gap > 0.05 (CelebA's 63rd percentile).

- held-out ``celeba/val`` faces (the training validation set, synthetic coverings, 256² crops): on
  faces whose true lips are closed (gap < 0.03), the share of fills with lips apart (a grin that was
  not there) and on faces with lips apart, the share filled closed; PSNR per group;
- ``real_masked`` photos through the whole engine: the share of restored faces with lips apart (the
  truth is unknown, but a mask is rarely worn with a grin).

The shipped ``inpainter.onnx`` and ``--model`` (a candidate, same contract) are measured in the same
run on the same holes. Writes expression.json and expression.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

from evaluation.models import with_model
from unmask_studio.core.io import load_image
from unmask_studio.core.onnx_models import OnnxModel
from unmask_studio.core.pipeline import Engine
from unmask_studio.core.resources import models_dir

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))
APART, CLOSED = 0.05, 0.03


def mouth_gap(lm: np.ndarray) -> float:
    from training.data import mouth_gap as gaps

    return float(gaps(lm[None])[0])


def on_val(models: dict[str, str], n: int, log) -> dict:
    from training.data import InpaintSet
    from training.landmarks import _mesh, mesh_landmarks

    mesh = _mesh()
    ds = InpaintSet("val", 256, seed=1234, epoch=0, train=False, limit=n)
    nets = {name: OnnxModel("inpainter", d) for name, d in models.items()}
    rows = []
    for i in range(len(ds)):
        img, mask = ds[i]
        x, m = img.numpy()[None], mask.numpy()[None]
        true_gap = mouth_gap(ds.lms[i])
        gt = np.round(x[0].transpose(1, 2, 0) * 255).astype(np.uint8)
        row = {"i": i, "true_gap": true_gap}
        for name, net in nets.items():
            comp = x * (1 - m) + net(image=x * (1 - m), mask=m) * m
            out = np.clip(np.round(comp[0].transpose(1, 2, 0) * 255), 0, 255).astype(np.uint8)
            lm = mesh_landmarks(mesh, out)
            row[name] = {"gap": None if lm is None else mouth_gap(lm),
                         "psnr": float(peak_signal_noise_ratio(gt, out, data_range=255))}
        rows.append(row)
        if i % 50 == 0:
            log(f"val {i}/{len(ds)}")
    summary = {}
    for name in models:
        closed = [r for r in rows if r["true_gap"] < CLOSED and r[name]["gap"] is not None]
        apart = [r for r in rows if r["true_gap"] > APART and r[name]["gap"] is not None]
        summary[name] = {
            "closed_faces": len(closed),
            "grin_added": float(np.mean([r[name]["gap"] > APART for r in closed])),
            "psnr_closed": float(np.mean([r[name]["psnr"] for r in closed])),
            "apart_faces": len(apart),
            "closed_instead": float(np.mean([r[name]["gap"] < CLOSED for r in apart])),
            "psnr_apart": float(np.mean([r[name]["psnr"] for r in apart])),
            "psnr_all": float(np.mean([r[name]["psnr"] for r in rows])),
        }
    return {"rows": rows, "summary": summary}


def on_real(models: dict[str, str], n: int, log) -> dict:
    photos = sorted((DATA / "real_masked").glob("*"))[:n]
    engines = {name: Engine(models_dir=d) for name, d in models.items()}
    first = next(iter(engines.values()))
    out = {name: [] for name in models}
    for k, p in enumerate(photos):
        rgb = load_image(p).rgb
        faces = first.detect(rgb)
        if not faces:
            continue
        mask, _ = first.segment(rgb, faces)
        if not mask.any():
            continue
        for name, e in engines.items():
            res = e.run(rgb, mask=mask, faces=faces)
            for f in first.detect(res.image):
                if len(f.landmarks) == 468 and f.size >= 60:
                    out[name].append(mouth_gap(f.landmarks))
        if k % 20 == 0:
            log(f"real {k}/{len(photos)}")
    return {name: {"faces": len(g), "lips_apart": float(np.mean(np.array(g) > APART)) if g else None}
            for name, g in out.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--real", type=int, default=120, help="first N real_masked photos (0: skip)")
    ap.add_argument("--model", type=Path, default=None, help="a candidate inpainter, measured beside the shipped one")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)
    models = {"shipped": str(models_dir())}
    if args.model:
        models["candidate"] = with_model("inpainter", args.model, Path(tempfile.mkdtemp(prefix="unmask_models_")))
    t0 = time.time()
    log = lambda m: print(f"[{time.time() - t0:6.0f}s] {m}", file=sys.stderr, flush=True)  # noqa: E731
    res = {"val": on_val(models, args.n, log)}
    if args.real:
        res["real_masked"] = on_real(models, args.real, log)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "expression.json").write_text(json.dumps(res, indent=1))
    lines = ["| model | val: grin added on closed lips | val: closed on lips apart | PSNR closed / apart / all"
             " | real_masked: restored faces with lips apart |", "|---|---|---|---|---|"]
    for name in models:
        s = res["val"]["summary"][name]
        r = res.get("real_masked", {}).get(name, {})
        lines.append(f"| {name} | {s['grin_added']:.1%} of {s['closed_faces']} | {s['closed_instead']:.1%} of "
                     f"{s['apart_faces']} | {s['psnr_closed']:.2f} / {s['psnr_apart']:.2f} / {s['psnr_all']:.2f} | "
                     + (f"{r['lips_apart']:.1%} of {r['faces']}" if r.get("faces") else "-") + " |")
    (args.out / "expression.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
