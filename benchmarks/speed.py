"""Speed: end-to-end seconds per photo by face count and size, and batch throughput against a baseline.

    python -m benchmarks.speed [--quick] [--out benchmarks/out]

Test photos are built by pasting real masked faces (pairs_dev/masked, maskedface_seg/images) onto a
plain canvas of 1 MP or 12 MP, 1, 3 or 8 faces in a grid, each as large as its grid cell allows.
``Engine.run`` (detect -> segment -> inpaint -> paste back) is timed on the in-memory photo: median
of --repeats runs after one warm-up. The batch part writes ~10 1-MP JPEGs to a temp folder and times
``batch.plan`` + ``batch.run_batch`` (load, run, save), then the same photos through load ->
cv2.inpaint Telea (radius 5) on the mask the app found -> save. Writes speed.json and speed.md.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repo importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2
import numpy as np
from PIL import Image

from unmask_studio.core import batch
from unmask_studio.core.io import load_image, save_image
from unmask_studio.core.pipeline import Engine

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("UNMASK_DATA", REPO.parent / "shared" / "data"))
SIZES = {"1 MP": (1155, 866), "12 MP": (4000, 3000)}
FACE_COUNTS = (1, 3, 8)


def face_patches(engine: Engine, n: int = 8) -> list[tuple[np.ndarray, tuple[float, float, float]]]:
    """Masked faces as (image, (cx, cy, side)) of a square around the face, alternating the two sources."""
    pairs = sorted((DATA / "pairs_dev" / "masked").glob("*.png"))
    seg = sorted((DATA / "maskedface_seg" / "images").glob("CWM_*.webp"))
    out_a, out_b = [], []
    for p in pairs:
        if len(out_a) >= n:
            break
        rgb = np.asarray(Image.open(p).convert("RGB"))
        faces = engine.detect(rgb)
        if faces:
            x0, y0, x1, y1 = max(faces, key=lambda f: f.size).box
            out_a.append((rgb, ((x0 + x1) / 2, (y0 + y1) / 2, 2.0 * max(x1 - x0, y1 - y0))))
    for p in seg[:n]:  # 512² with the face in the middle
        out_b.append((np.asarray(Image.open(p).convert("RGB")), (256.0, 256.0, 512.0)))
    return [x for ab in zip(out_b, out_a) for x in ab]


def compose(patches, n_faces: int, size: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A photo of ``size`` (w, h) with ``n_faces`` patches in a grid on a soft gradient background."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    bg = np.dstack([120 + 60 * xx / w, 130 + 40 * yy / h, 150 - 50 * xx / w])
    canvas = bg + rng.normal(0, 3, (h, w, 3)).astype(np.float32)
    cols = min(n_faces, math.ceil(math.sqrt(n_faces * w / h)))
    rows = math.ceil(n_faces / cols)
    cw, ch = w / cols, h / rows
    side = int(min(cw, ch, 0.7 * h) * 0.92)
    yy, xx = np.mgrid[0:side, 0:side].astype(np.float32)
    r = np.hypot(xx - side / 2, yy - side / 2) / (side / 2)
    alpha = np.clip((1.0 - r) / 0.15, 0, 1)[..., None]  # round patch with a soft edge
    for i in range(n_faces):
        img, (cx, cy, s) = patches[i % len(patches)]
        k = side / s
        M = np.array([[k, 0, side / 2 - k * cx], [0, k, side / 2 - k * cy]])
        patch = cv2.warpAffine(img, M, (side, side), flags=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC,
                               borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
        x0 = int((i % cols) * cw + (cw - side) / 2)
        y0 = int((i // cols) * ch + (ch - side) / 2)
        roi = canvas[y0:y0 + side, x0:x0 + side]
        roi[:] = roi * (1 - alpha) + patch * alpha
    return np.clip(canvas, 0, 255).astype(np.uint8)


def time_run(engine: Engine, rgb: np.ndarray, repeats: int) -> dict:
    engine.run(rgb)  # warm-up
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = engine.run(rgb)
        runs.append((time.perf_counter() - t0, res.timings))
    med = lambda xs: round(statistics.median(xs), 3)  # noqa: E731
    return {"seconds": med([r[0] for r in runs]), "runs": [round(r[0], 3) for r in runs],
            **{k: med([r[1].get(k, 0.0) for r in runs]) for k in ("detect", "segment", "inpaint")},
            "faces_found": len(res.faces), "faces_with_covering": sum(f.has_covering for f in res.faces)}


def batch_throughput(engine: Engine, patches, n_photos: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="unmask-speed-") as tmp:
        src, out, base = Path(tmp, "in"), Path(tmp, "out"), Path(tmp, "telea")
        for d in (src, out, base):
            d.mkdir()
        for i in range(n_photos):  # 1 to 4 faces, different faces in each photo
            rgb = compose(patches[i % len(patches):] + patches[:i % len(patches)], 1 + i % 4, SIZES["1 MP"], seed=i)
            save_image(src / f"photo{i:02d}.jpg", rgb, quality=92)
        t0 = time.perf_counter()
        opts = batch.BatchOptions(out_dir=out)
        jobs = batch.plan([src], opts)
        report = batch.run_batch(engine, jobs, opts)
        t_ours = time.perf_counter() - t0
        masks = {}  # the masks the app found (same engine, deterministic), untimed
        for j in jobs:
            rgb = load_image(j.src).rgb
            masks[j.src] = engine.segment(rgb, engine.detect(rgb))[0]
        t0 = time.perf_counter()
        for j in jobs:
            img = load_image(j.src)
            filled = cv2.inpaint(img.rgb, (masks[j.src] > 127).astype(np.uint8), 5, cv2.INPAINT_TELEA)
            save_image(base / j.src.name, filled, like=img, quality=95)
        t_telea = time.perf_counter() - t0
    n = len(jobs)
    return {"photos": n, "statuses": report.counts(), "faces_placed": sum(1 + i % 4 for i in range(n_photos)),
            "faces_found": sum(f.faces for f in report.files),
            "ours_seconds": round(t_ours, 2), "ours_per_minute": round(60 * n / t_ours, 1),
            "telea_seconds": round(t_telea, 2), "telea_per_minute": round(60 * n / t_telea, 1),
            "ours_over_telea_time": round(t_ours / t_telea, 1)}


def markdown(r: dict) -> str:
    env = r["machine"]
    lines = ["## Speed", "",
             f"{env['cpus']} CPU cores ({env['processor'] or env['machine']}), load average "
             f"{env['load_before']} at the start, {r['provider']}; median of {r['repeats']} runs after a warm-up; "
             "Engine.run on the decoded photo (no file I/O).", "",
             "| photo | faces placed | found | with covering | s / photo | detect | segment | inpaint |",
             "|---|---|---|---|---|---|---|---|"]
    for c in r["cases"]:
        lines.append(f"| {c['size']} ({c['width']}×{c['height']}) | {c['faces']} | {c['faces_found']} | "
                     f"{c['faces_with_covering']} | {c['seconds']:.2f} | {c['detect']:.2f} | {c['segment']:.2f} | "
                     f"{c['inpaint']:.2f} |")
    b = r["batch"]
    lines += ["", f"### Batch, {b['photos']} JPEG photos of 1 MP with 1–4 faces ({b['faces_placed']} placed, "
              f"{b['faces_found']} found), including load and save", "",
              "| pipeline | seconds | photos / minute |", "|---|---|---|",
              f"| Unmask Studio (batch.plan + run_batch) | {b['ours_seconds']:.1f} | {b['ours_per_minute']:.1f} |",
              f"| cv2.inpaint Telea r=5 on the same masks (load, fill, save) | {b['telea_seconds']:.1f} | "
              f"{b['telea_per_minute']:.1f} |",
              "", f"Unmask Studio takes {b['ours_over_telea_time']}× the time of the Telea baseline "
              "(which gets the app's masks for free: no detection or segmentation).", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="one timed run per case and 5 batch photos")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per case (default 3, --quick 1)")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "out")
    args = ap.parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)

    engine = Engine()
    patches = face_patches(engine)
    r = {"machine": {"cpus": os.cpu_count(), "machine": platform.machine(), "processor": platform.processor(),
                     "load_before": [round(x, 2) for x in os.getloadavg()]},
         "provider": engine.inpainter.provider, "repeats": repeats, "cases": []}
    for label, (w, h) in SIZES.items():
        for n in FACE_COUNTS:
            rgb = compose(patches, n, (w, h), seed=n)
            c = {"size": label, "width": w, "height": h, "faces": n, **time_run(engine, rgb, repeats)}
            r["cases"].append(c)
            print(f"{label} {n} face(s): {c['seconds']:.2f} s, found {c['faces_found']}, "
                  f"covering on {c['faces_with_covering']}", flush=True)
    r["batch"] = batch_throughput(engine, patches, 5 if args.quick else 10)
    r["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    md = markdown(r)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "speed.json").write_text(json.dumps(r, indent=1) + "\n")
    (args.out / "speed.md").write_text(md)
    print(md)
    print(f"wrote {args.out / 'speed.json'} and {args.out / 'speed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
