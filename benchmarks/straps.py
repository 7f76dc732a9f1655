"""A stage that adds to the removal mask, measured with it off and on in the same run: ear loops and
straps (``--stage straps``, core/straps.py; ``--stage strap_model``: the strap model added to the
tracer; off by default) or the covering completed by its colours (``--stage
colour``, core/covering_colour.py).

    python benchmarks/straps.py [--stage straps|colour] [--limit N] [--sheet docs/straps_sheet.jpg]

- MaskedFace-Net held-out faces (pixel labels; the pasted masks have no loops, so every strap pixel
  added there is false: an ear's rim, hair, a bright disc of bokeh): IoU with and without (mask not
  grown, as ``benchmarks/segmenter.py``), faces with pixels added, pixels per face, share labelled.
- Bare faces (``celeba/val``): nothing may change (both stages only run beside a covering found).
- ``real_masked`` and ``wild_dev`` (no pixel labels): photos whose mask gained strap pixels, pixels
  added per such photo, milliseconds the stage adds per photo.
- ``--sheet``: the photos with the most pixels added, input | what was added (red) | output
  without | output with: the way to judge it, since real photos have no pixel labels.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.segmenter import held_out_names  # noqa: E402
from unmask_studio.core.io import load_image  # noqa: E402
from unmask_studio.core.pipeline import Engine, Options  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
STAGES = {"straps": "find_straps", "colour": "complete_by_colour", "flip": "flip_segment",
          "strap_model": "strap_model"}  # --stage -> its Options switch
DATA = REPO.parent / "shared" / "data"


def _masks(rgb, off: Engine, on: Engine):
    """Removal masks without and with the stage, the faces, and the seconds the stage added."""
    faces = off.detect(rgb)
    if not faces:
        return None, None, faces, 0.0
    t0 = time.perf_counter()
    a = off.segment(rgb, faces)[0] > 127
    t1 = time.perf_counter()
    b = on.segment(rgb, faces)[0] > 127
    return a, b, faces, (time.perf_counter() - t1) - (t1 - t0)


def maskedface(off, on, limit) -> dict:
    iou_a, iou_b, added, labelled = [], [], [], []
    for name in held_out_names()[:limit or None]:
        rgb = load_image(DATA / "maskedface_seg" / "images" / f"{name}.webp").rgb
        lab = np.asarray(Image.open(DATA / "maskedface_seg" / "labels" / f"{name}_gt.png"))
        gt = (lab[..., 0] if lab.ndim == 3 else lab) == 2
        a, b, _, _ = _masks(rgb, off, on)
        if a is None:
            continue
        iou_a.append((a & gt).sum() / max(1, (a | gt).sum()))
        iou_b.append((b & gt).sum() / max(1, (b | gt).sum()))
        extra = b & ~a
        added.append(int(extra.sum()))
        labelled.append(int((extra & gt).sum()))
    return {"faces": len(iou_a), "iou_without": float(np.mean(iou_a)), "iou_with": float(np.mean(iou_b)),
            "faces_with_pixels_added": int(np.count_nonzero(added)), "pixels_added_per_face": float(np.mean(added)),
            "added_share_labelled_covering": float(sum(labelled) / max(1, sum(added)))}


def bare(off, on, limit) -> dict:
    changed = 0
    files = sorted((DATA / "celeba" / "val").glob("*.webp"))[:limit or 300]
    for f in files:
        a, b, _, _ = _masks(load_image(f).rgb, off, on)
        changed += a is not None and bool((a != b).any())
    return {"photos": len(files), "photos_changed": changed}


def scenes(off, on, folder, limit, keep) -> dict:
    files = sorted((DATA / folder).glob("*.webp"))[:limit or None]
    gained, px, times = 0, [], []
    for f in files:
        rgb = load_image(f).rgb
        a, b, _, dt = _masks(rgb, off, on)
        if a is None:
            continue
        extra = b & ~a
        times.append(dt)
        if extra.any():
            gained += 1
            px.append(int(extra.sum()))
            keep.append((int(extra.sum()), f, a, b))
    return {"photos": len(files), "photos_with_pixels_added": gained,
            "pixels_added_per_such_photo": float(np.median(px)) if px else 0.0,
            "stage_ms_per_photo": float(np.mean(times) * 1000) if times else 0.0}


def sheet(keep, path: Path, without: Engine, with_: Engine, n: int = 18, height: int = 240) -> list[str]:
    """Input | added (red) | without | with, for the ``n`` photos with most pixels added (``without``
    and ``with_``: engines with the stage off and on)."""
    rows, names = [], []
    for _, f, a, b in sorted(keep, key=lambda k: -k[0])[:n]:
        rgb = load_image(f).rgb
        faces = without.detect(rgb)
        outs = [e.inpaint(rgb, faces, (m * 255).astype(np.uint8))[0] for e, m in ((without, a), (with_, b))]
        ys, xs = np.nonzero(b)
        pad = int(0.3 * max(ys.ptp(), xs.ptp()))
        y0, y1 = max(0, ys.min() - pad), min(rgb.shape[0], ys.max() + pad)
        x0, x1 = max(0, xs.min() - pad), min(rgb.shape[1], xs.max() + pad)
        shown = rgb.copy()
        shown[b & ~a] = (255, 0, 0)
        tiles = [t[y0:y1, x0:x1] for t in (rgb, shown, *outs)]
        s = height / tiles[0].shape[0]
        tiles = [cv2.resize(t, None, fx=s, fy=s, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
                 for t in tiles]
        row = np.concatenate(tiles, 1)
        cv2.putText(row, f"{f.parent.name}/{f.stem}", (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 0), 1)
        rows.append(row)
        names.append(f"{f.parent.name}/{f.stem}")
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(path, quality=88)
    return names


def table(r: dict) -> str:
    m, b = r["maskedface_heldout"], r["celeba_val_bare"]
    lines = [f"| measure (stage: {r['stage']}) | value |", "|---|---|",
             f"| MaskedFace-Net held-out IoU, stage off / on ({m['faces']} faces) | "
             f"{m['iou_without']:.4f} / {m['iou_with']:.4f} |",
             f"| MaskedFace-Net faces with pixels added; per face; share labelled covering | "
             f"{m['faces_with_pixels_added']}; {m['pixels_added_per_face']:.1f}; "
             f"{m['added_share_labelled_covering']:.2f} |",
             f"| celeba/val bare photos changed | {b['photos_changed']} of {b['photos']} |"]
    for k in ("real_masked", "wild_dev"):
        s = r[k]
        lines.append(f"| {k}: photos with pixels added | {s['photos_with_pixels_added']} of {s['photos']} "
                     f"(median {s['pixels_added_per_such_photo']:.0f} px) |")
        lines.append(f"| {k}: ms the stage adds per photo (segment stage on minus off) | "
                     f"{s['stage_ms_per_photo']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", choices=sorted(STAGES), default="straps")
    ap.add_argument("--limit", type=int, default=0, help="photos per set (0 = all; celeba/val: 300)")
    ap.add_argument("--sheet", default="", help="write a before/after sheet of the biggest changes here")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "out"))
    args = ap.parse_args(argv)
    switch = STAGES[args.stage]
    off, on = Engine(Options(**{switch: False})), Engine(Options(**{switch: True}))
    # MaskedFace-Net as benchmarks/segmenter.py measures it: the mask not grown (its labels hug the mask)
    raw_off, raw_on = Engine(Options(grow_px=0, **{switch: False})), Engine(Options(grow_px=0, **{switch: True}))
    keep: list = []
    result = {"stage": args.stage, "maskedface_heldout": maskedface(raw_off, raw_on, args.limit),
              "celeba_val_bare": bare(off, on, args.limit),
              "real_masked": scenes(off, on, "real_masked", args.limit, keep),
              "wild_dev": scenes(off, on, "wild_dev", args.limit, keep)}
    if args.sheet:
        result["sheet"] = {"path": args.sheet, "photos": sheet(keep, Path(args.sheet), off, on)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "straps" if args.stage == "straps" else f"stage_{args.stage}"
    (out / f"{name}.json").write_text(json.dumps(result, indent=1))
    (out / f"{name}.md").write_text(table(result) + "\n")
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
