"""Before/after crops of the heal brush removing straps on real photos (docs/heal/*.png, 100 % zoom).

The strokes are drawn along the straps as a user would (points read off the photos); the heal runs on the
stroke's box plus margin only, exactly as the editor's heal tool does (unmask_studio.app.heal_tool).

    python docs/make_heal_crops.py [--data ../shared/data/real_masked]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.core.heal import heal_stroke  # noqa: E402

# photo, a box on the cheek the strap crosses, and what the strap's colour is. The stroke is drawn the way a
# user drags along the strap: through the middle of the strap's pixels in that box, a bit wider than it.
STRAPS = [
    ("002.webp", (128, 268, 276, 436), lambda r, g, b: (r > 170) & (g > 150) & (b < 150)),  # yellow
    ("006.webp", (256, 446, 356, 536), lambda r, g, b: (g > 150) & (b > 140)),  # white on brown skin
    ("010.webp", (312, 358, 418, 466), lambda r, g, b: (r > 200) & (g > 200) & (b > 200)),  # white on pale skin
]


def strap_stroke(rgb: np.ndarray, box, is_strap) -> tuple[list[tuple[float, float]], float]:
    """Points along the middle of the strap in ``box`` and a brush diameter covering it."""
    x0, y0, x1, y1 = box
    r, g, b = (rgb[y0:y1, x0:x1, i].astype(int) for i in range(3))
    ys, xs = np.nonzero(is_strap(r, g, b))
    pts = np.stack([xs + x0, ys + y0], 1).astype(np.float64)
    centre = pts.mean(0)
    axis = np.linalg.svd(pts - centre)[2][0]  # the strap's direction
    along = (pts - centre) @ axis
    across = (pts - centre) @ np.array([-axis[1], axis[0]])
    points = []
    for lo in np.arange(along.min(), along.max(), 8):
        sel = (along >= lo) & (along < lo + 8)
        if sel.sum() >= 3:
            points.append(tuple(pts[sel].mean(0)))
    width = np.percentile(np.abs(across - np.median(across)), 95) * 2  # rough; the curve widens it a bit
    return points, float(min(40, max(16, width + 10)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "real_masked")
    args = ap.parse_args()
    out_dir = ROOT / "docs" / "heal"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, box, is_strap in STRAPS:
        rgb = np.asarray(Image.open(args.data / name).convert("RGB")).copy()
        points, size = strap_stroke(rgb, box, is_strap)
        healed, rect = heal_stroke(rgb, points, size)
        xs, ys = [int(p[0]) for p in points], [int(p[1]) for p in points]
        pad = 40
        x0, y0 = max(0, min(xs) - pad), max(0, min(ys) - pad)
        x1, y1 = min(rgb.shape[1], max(xs) + pad), min(rgb.shape[0], max(ys) + pad)
        before, after = rgb[y0:y1, x0:x1], healed[y0:y1, x0:x1]
        gap = np.full((before.shape[0], 8, 3), 255, np.uint8)
        Image.fromarray(np.hstack([before, gap, after])).save(out_dir / f"strap_{Path(name).stem}.png")
        print(f"{name}: stroke {len(points)} points, {size:.0f} px brush, healed box {rect}, "
              f"crop {x1 - x0}x{y1 - y0} -> docs/heal/strap_{Path(name).stem}.png")


if __name__ == "__main__":
    main()
