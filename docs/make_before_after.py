"""Make the README's before/after picture with the shipped engine: input | mask found | result.

    python docs/make_before_after.py [photo ...]     # default: a few dev-set photos
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

from unmask_studio.core.io import load_image
from unmask_studio.core.pipeline import Engine

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
DEFAULT = [DATA / "pairs_dev" / "masked" / "117.png", DATA / "real_masked" / "086.webp",
           DATA / "real_masked" / "040.webp"]
HEIGHT = 300


def row(path: Path, engine: Engine) -> np.ndarray:
    rgb = load_image(path).rgb
    res = engine.run(rgb)
    m = res.mask[..., None] / 255.0
    tint = (rgb * (1 - 0.6 * m) + np.array([255, 40, 120]) * 0.6 * m).astype(np.uint8)
    tiles = [Image.fromarray(x).resize((round(x.shape[1] * HEIGHT / x.shape[0]), HEIGHT), Image.LANCZOS)
             for x in (rgb, tint, res.image)]
    gap = np.full((HEIGHT, 6, 3), 255, np.uint8)
    return np.concatenate([np.concatenate([np.asarray(t), gap], 1) for t in tiles], 1)


def main(argv=None):
    paths = [Path(p) for p in (argv or sys.argv[1:])] or DEFAULT
    engine = Engine()
    rows = [row(p, engine) for p in paths]
    w = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 6), (0, w - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    out = REPO / "docs" / "before_after.png"
    Image.fromarray(np.concatenate(rows, 0)).save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
