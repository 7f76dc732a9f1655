"""Contact sheets for the training docs.

    python -m training.contact_sheet synth      # docs/masked_faces_samples.png: generator samples
    python -m training.contact_sheet segment    # docs/segmenter_real_masked.png: masks on real photos
    python -m training.contact_sheet real       # docs/inpaint_real_masked.png: the whole app, photo | result

``synth`` shows each covering kind on CelebA validation faces (row per kind); ``segment`` runs the
shipped app engine (detection + alignment + ONNX segmenter) on real photos and tints what it found.
"""
from __future__ import annotations

import sys

import numpy as np
from PIL import Image, ImageDraw

from training.data import landmarks, load_face
from training.paths import DATA, REPO
from training.synth import KINDS, synthesize

DOCS = REPO / "docs"


def label(img: np.ndarray, text: str) -> np.ndarray:
    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, 8 * len(text) + 6, 14], fill=(0, 0, 0))
    d.text((3, 1), text, fill=(255, 255, 255))
    return np.asarray(im)


def synth_sheet(per_kind: int = 8, size: int = 160, seed: int = 5) -> None:
    files, lms = landmarks("val")
    rng = np.random.default_rng(seed)
    rows = []
    for kind in KINDS:
        tiles = []
        for i in rng.choice(len(files), per_kind, replace=False):
            img = load_face(files[i], 256)
            out, _, _ = synthesize(img, lms[i] * 256 / 192, rng, kind=kind)
            tiles.append(np.asarray(Image.fromarray(out).resize((size, size), Image.LANCZOS)))
        tiles[0] = label(tiles[0], kind)
        rows.append(np.concatenate(tiles, 1))
    DOCS.mkdir(exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(DOCS / "masked_faces_samples.png")
    print(f"wrote {DOCS / 'masked_faces_samples.png'}")


def segment_sheet(n: int = 24, size: int = 200) -> None:
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine

    engine = Engine()
    files = sorted((DATA / "real_masked").glob("*.webp"))
    step = max(1, len(files) // n)
    tiles = []
    for f in files[::step][:n]:
        rgb = load_image(f).rgb
        faces = engine.detect(rgb)
        mask = engine.segment(rgb, faces)[0] if faces else np.zeros(rgb.shape[:2], np.uint8)
        over = rgb.astype(np.float32)
        m = mask[..., None] / 255.0
        over = over * (1 - 0.55 * m) + np.array([255, 40, 120]) * 0.55 * m
        im = Image.fromarray(over.astype(np.uint8))
        d = ImageDraw.Draw(im)
        for face in faces:
            d.rectangle(face.box, outline=(40, 255, 40), width=max(2, rgb.shape[1] // 200))
        im.thumbnail((size, size))
        canvas = Image.new("RGB", (size, size), (30, 30, 30))
        canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
        tiles.append(label(np.asarray(canvas), f.stem))
    cols = 6
    rows = [np.concatenate(tiles[r * cols:(r + 1) * cols], 1) for r in range(len(tiles) // cols)]
    DOCS.mkdir(exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(DOCS / "segmenter_real_masked.png")
    print(f"wrote {DOCS / 'segmenter_real_masked.png'}")


def real_sheet(n: int = 12, size: int = 220, offset: int = 3) -> None:
    """The whole app on real masked photos (no ground truth): photo | result, around the first face.
    Photos are taken evenly over real_masked (every len/n-th, from ``offset``), not picked."""
    from unmask_studio.core.io import load_image
    from unmask_studio.core.pipeline import Engine

    engine = Engine()
    files = sorted((DATA / "real_masked").glob("*.webp"))
    step = max(1, len(files) // n)
    pairs = []
    for f in files[offset::step][:n]:
        rgb = load_image(f).rgb
        res = engine.run(rgb)
        if not res.faces:
            pairs.append(label(np.zeros((size, 2 * size, 3), np.uint8) + 30, f"{f.stem}: no face"))
            continue
        x0, y0, x1, y1 = res.faces[0].face.box
        w, h = x1 - x0, y1 - y0
        box = (max(0, x0 - w // 4), max(0, y0 - h // 8), min(rgb.shape[1], x1 + w // 4), min(rgb.shape[0], y1 + h // 3))
        tiles = []
        for img in (rgb, res.image):
            im = Image.fromarray(img).crop(box)
            im.thumbnail((size, size), Image.LANCZOS)
            canvas = Image.new("RGB", (size, size), (30, 30, 30))
            canvas.paste(im, ((size - im.width) // 2, (size - im.height) // 2))
            tiles.append(np.asarray(canvas))
        pairs.append(label(np.concatenate(tiles, 1), f.stem))
    cols = 3
    rows = [np.concatenate(pairs[r * cols:(r + 1) * cols], 1) for r in range(len(pairs) // cols)]
    DOCS.mkdir(exist_ok=True)
    Image.fromarray(np.concatenate(rows, 0)).save(DOCS / "inpaint_real_masked.png")
    print(f"wrote {DOCS / 'inpaint_real_masked.png'}")


def main(argv=None):
    which = (argv or sys.argv[1:] or ["synth"])[0]
    {"synth": synth_sheet, "segment": segment_sheet, "real": real_sheet}[which]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
