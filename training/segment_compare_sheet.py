"""Contact sheet: two segmenters side by side on 24 real photos (12 ``real_masked`` + 12 ``wild_dev``,
evenly spaced), through the app engine (detection, alignment, segmenter, edge snapping).

    python -m training.segment_compare_sheet OLD_SEGMENTER.onnx [--new NEW.onnx] [--out docs/segmenter_real_compare.jpg]

Each tile: the photo cut around its faces with what the old model found (left) and the shipped one
(right, the shipped one unless ``--new``) tinted pink; face boxes green.
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from training.contact_sheet import label
from training.paths import DATA, REPO


def pick(n_each: int = 12) -> list[Path]:
    out = []
    for folder in ("real_masked", "wild_dev"):
        files = sorted((DATA / folder).glob("*.webp"))
        out += [files[int(i)] for i in np.linspace(3, len(files) - 1, n_each).round()]
    return out


def overlay(rgb, mask, faces, box, size):
    m = mask[..., None] / 255.0
    over = rgb.astype(np.float32) * (1 - 0.55 * m) + np.array([255, 40, 120]) * 0.55 * m
    im = Image.fromarray(over.astype(np.uint8))
    d = ImageDraw.Draw(im)
    for face in faces:
        d.rectangle(face.box, outline=(40, 255, 40), width=max(1, rgb.shape[1] // 300))
    im = im.crop(box)
    im.thumbnail((size, size))
    canvas = Image.new("RGB", (size, size), (30, 30, 30))
    canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
    return np.asarray(canvas)


def faces_box(faces, shape, pad=0.6):
    """The region around all faces (grown by ``pad`` face sizes, more below for low coverings)."""
    h, w = shape[:2]
    if not faces:
        return 0, 0, w, h
    b = np.array([f.box for f in faces], np.float64)
    s = max(f.size for f in faces)
    x0, y0 = b[:, 0].min() - pad * s, b[:, 1].min() - pad * s
    x1, y1 = b[:, 2].max() + pad * s, b[:, 3].max() + 1.5 * pad * s
    return int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1))


def main(argv=None):
    from evaluation.models import with_segmenter
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("old", help="the previous segmenter.onnx")
    ap.add_argument("--new", help="the other segmenter.onnx (default: the shipped one)")
    ap.add_argument("--out", default=str(REPO / "docs" / "segmenter_real_compare.jpg"))
    ap.add_argument("--size", type=int, default=190)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as tmp2:
        new = Engine(models_dir=with_segmenter(args.new, Path(tmp2)) if args.new else None)
        old = Engine(models_dir=with_segmenter(args.old, Path(tmp)), finder=new.finder)
        tiles = []
        for f in pick():
            rgb = load_image(f).rgb
            faces = new.detect(rgb)
            box = faces_box(faces, rgb.shape)
            pair = []
            for engine in (old, new):
                mask = engine.segment(rgb, faces)[0] if faces else np.zeros(rgb.shape[:2], np.uint8)
                pair.append(overlay(rgb, mask, faces, box, args.size))
            tiles.append(np.concatenate([label(pair[0], f"{f.parent.name[:4]}/{f.stem} old"),
                                         np.full((args.size, 3, 3), 255, np.uint8), label(pair[1], "new")], 1))
    cols = 4
    gap = np.full((tiles[0].shape[0], 8, 3), 0, np.uint8)
    rows = [np.concatenate(sum([[t, gap] for t in tiles[r * cols:(r + 1) * cols]], [])[:-1], 1)
            for r in range(len(tiles) // cols)]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
