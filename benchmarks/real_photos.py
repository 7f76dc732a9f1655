"""The whole engine on real photos of masked people (issue 11): is every face found, is its covering
found and removed, and are bare faces left alone?

    python benchmarks/real_photos.py [--limit N] [--presence-limit N] [--sheet docs/real_photos_sheet.png]

- ``wild_dev`` (199 everyday web photos, crowds, profiles) and ``real_masked`` (200): every photo shows
  at least one masked person. Per photo, the full ``Engine.run``: photos with >= 1 face found, faces per
  photo, faces with a covering found, photos with a covering removed (>= 1 face), photos fully
  processed (every face found got a covering removed), and where the misses come from (no face found
  vs faces found but none with a covering); seconds per photo.
- ``mask_presence`` (image-level labels): with_mask recall = share of photos where a covering is found
  on some face (a photo without a detected face counts as a miss, and is also counted apart);
  without_mask false positives = share where one is found. Detection + segmentation only (no
  inpainting), ``--presence-limit`` photos per folder, spread evenly.
- ``--sheet``: a contact sheet (before | after, faces boxed: green = covering removed, red = none
  found) of ~30 outputs: the widest coverings (the second, wider inpainter pass ran), the largest
  groups, and an even spread of the rest.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unmask_studio.core.faces import FaceFinder  # noqa: E402
from unmask_studio.core.io import load_image  # noqa: E402
from unmask_studio.core.pipeline import Engine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
EXTS = (".webp", ".jpg", ".jpeg", ".png")


def photos(folder: Path, limit: int = 0) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in EXTS)
    return files[::max(1, len(files) // limit)][:limit] if limit else files


def run_scenes(engine: Engine, files: list[Path], keep: dict) -> dict:
    rows = []
    for f in files:
        rgb = load_image(f).rgb
        t0 = time.perf_counter()
        res = engine.run(rgb)
        sec = time.perf_counter() - t0
        covered = [r.has_covering for r in res.faces]
        wide = any(r.crop_matrix is not None for r in res.faces)
        rows.append({"photo": f.name, "faces": len(covered), "covered": int(sum(covered)), "wide_pass": wide,
                     "seconds": round(sec, 3)})
        keep[f] = (rgb, res)
    n = np.array([r["faces"] for r in rows])
    c = np.array([r["covered"] for r in rows])
    return {
        "photos": len(rows),
        "photos_with_face": float(np.mean(n > 0)),
        "faces_per_photo": float(n.mean()),
        "faces_with_covering": float(c.sum() / max(1, n.sum())),
        "photos_with_covering_removed": float(np.mean(c > 0)),
        "photos_fully_processed": float(np.mean((n > 0) & (c == n))),
        "miss_no_face": float(np.mean(n == 0)),
        "miss_face_without_covering": float(np.mean((n > 0) & (c == 0))),
        "photos_with_wide_pass": float(np.mean([r["wide_pass"] for r in rows])),
        "seconds_per_photo_median": float(np.median([r["seconds"] for r in rows])),
        "seconds_per_photo_mean": float(np.mean([r["seconds"] for r in rows])),
        "per_photo": rows,
    }


def run_presence(engine: Engine, files: list[Path]) -> dict:
    found, no_face, secs = [], [], []
    for f in files:
        rgb = load_image(f).rgb
        t0 = time.perf_counter()
        faces = engine.detect(rgb)
        masks = engine.segment(rgb, faces)[1] if faces else []
        secs.append(time.perf_counter() - t0)
        no_face.append(not faces)
        found.append(any(m.any() for m in masks))
    return {"photos": len(files), "covering_found": float(np.mean(found)), "no_face_found": float(np.mean(no_face)),
            "covering_found_where_face": float(np.mean([x for x, nf in zip(found, no_face) if not nf] or [0])),
            "seconds_per_photo_median": float(np.median(secs))}


def contact_sheet(keep: dict, path: Path, n: int = 30, height: int = 220) -> list[str]:
    """Before | after tiles of ``n`` outputs; returns the photos' names in sheet order."""
    items = list(keep.items())
    wide = [it for it in items if any(r.crop_matrix is not None for r in it[1][1].faces)]
    groups = sorted(items, key=lambda it: -len(it[1][1].faces))[:8]
    chosen: list = []
    for it in wide[:10] + groups:
        if it[0] not in [c[0] for c in chosen]:
            chosen.append(it)
    rest = [it for it in items if it[0] not in [c[0] for c in chosen]]
    chosen += rest[::max(1, len(rest) // max(1, n - len(chosen)))][:max(0, n - len(chosen))]
    tiles = []
    for f, (rgb, res) in chosen[:n]:
        s = height / rgb.shape[0]
        before = cv2.resize(rgb, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        after = cv2.resize(res.image, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
        for r in res.faces:
            x0, y0, x1, y1 = (np.array(r.face.box) * s).astype(int)
            cv2.rectangle(before, (x0, y0), (x1, y1), (0, 200, 0) if r.has_covering else (230, 0, 0), 1)
        tile = np.hstack([before, np.full((height, 3, 3), 255, np.uint8), after])
        label = f"{f.parent.name}/{f.name}"
        cv2.putText(tile, label, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 3)
        cv2.putText(tile, label, (3, height - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1)
        tiles.append(tile)
    # Rows of about 1,800 px.
    rows, row, width = [], [], 0
    for t in tiles:
        if width + t.shape[1] > 1800 and row:
            rows.append(row)
            row, width = [], 0
        row.append(t)
        width += t.shape[1] + 6
    if row:
        rows.append(row)
    W = max(sum(t.shape[1] + 6 for t in r) for r in rows)
    canvas = []
    for r in rows:
        line = np.full((height + 6, W, 3), 255, np.uint8)
        x = 0
        for t in r:
            line[:height, x:x + t.shape[1]] = t
            x += t.shape[1] + 6
        canvas.append(line)
    path.parent.mkdir(parents=True, exist_ok=True)
    # 256 dithered colours: a fifth of the size of a full-colour PNG (it goes into docs/), no banding.
    Image.fromarray(np.vstack(canvas)).quantize(256, dither=Image.Dither.FLOYDSTEINBERG).save(path, optimize=True)
    return [f"{f.parent.name}/{f.name}" for f, _ in chosen[:n]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="photos per scene set (wild_dev, real_masked); 0 = all")
    ap.add_argument("--presence-limit", type=int, default=0, help="photos per mask_presence folder; 0 = all")
    ap.add_argument("--sheet", default="", help="write a contact sheet of ~30 outputs here (PNG)")
    ap.add_argument("--blazeface-only", action="store_true",
                    help="the previous detector (no CenterFace), for a before/after comparison")
    ap.add_argument("--segmenter", help="a candidate segmenter.onnx instead of the shipped one (results go to "
                                         "real_photos_<its file stem>.json/.md)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    args = ap.parse_args(argv)
    models_dir = None
    if args.segmenter:
        from evaluation.models import with_segmenter

        models_dir = with_segmenter(args.segmenter, Path(tempfile.mkdtemp()))
    engine = Engine(finder=FaceFinder(cf_sides=()) if args.blazeface_only else None, models_dir=models_dir)
    engine.warm_up()
    result, keep = {}, {}
    for name in ("wild_dev", "real_masked"):
        result[name] = run_scenes(engine, photos(DATA / name, args.limit), keep)
    for name in ("with_mask", "without_mask"):
        result[f"mask_presence/{name}"] = run_presence(engine, photos(DATA / "mask_presence" / name, args.presence_limit))
    if args.sheet:
        result["sheet"] = {"path": args.sheet, "photos": contact_sheet(keep, Path(args.sheet))}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stem = "real_photos_blazeface" if args.blazeface_only else "real_photos"
    if args.segmenter:
        stem += f"_{Path(args.segmenter).stem}"
    (out / f"{stem}.json").write_text(json.dumps(result, indent=1))
    lines = ["| set | photos | ≥1 face | faces/photo | faces with covering | covering removed | fully processed "
             "| miss: no face | miss: face, no covering | s/photo (median) |", "|---" * 10 + "|"]
    for name in ("wild_dev", "real_masked"):
        r = result[name]
        lines.append(f"| {name} | {r['photos']} | {r['photos_with_face']:.1%} | {r['faces_per_photo']:.2f} "
                     f"| {r['faces_with_covering']:.1%} | {r['photos_with_covering_removed']:.1%} "
                     f"| {r['photos_fully_processed']:.1%} | {r['miss_no_face']:.1%} "
                     f"| {r['miss_face_without_covering']:.1%} | {r['seconds_per_photo_median']:.2f} |")
    lines += ["", "| mask_presence | photos | covering found | no face found | covering found where a face was "
              "| s/photo (median, detect + segment) |", "|---|---|---|---|---|---|"]
    for name in ("with_mask", "without_mask"):
        r = result[f"mask_presence/{name}"]
        lines.append(f"| {name} | {r['photos']} | {r['covering_found']:.1%} | {r['no_face_found']:.1%} "
                     f"| {r['covering_found_where_face']:.1%} | {r['seconds_per_photo_median']:.2f} |")
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
