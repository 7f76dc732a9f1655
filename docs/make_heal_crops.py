"""Before/after crops of the heal brush removing straps on real photos (docs/heal/*.png, 100 % zoom).

The strokes are drawn along each strap's whole visible run across the cheek as a user would (points
derived from the strap's pixels, a brush a few pixels wider than the strap); the heal runs on the stroke's
box plus margin only, exactly as the editor's heal tool does (unmask_studio.app.heal_tool).

    python docs/make_heal_crops.py [--data ../shared/data/real_masked]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.core.heal import heal_stroke  # noqa: E402

# photo, and the cheek area the strap crosses: from where it leaves the hair or the ear to where it meets
# the mask. The stroke is drawn the way a user drags along the whole visible strap there: through the
# middle of the strap's pixels, a bit wider than the strap.
STRAPS = [
    ("002.webp", (110, 270, 320, 470)),  # yellow, from the hair over the ear's rim to the mask
    ("006.webp", (240, 430, 440, 580)),  # white on brown skin, from the hairnet to the N95
    ("010.webp", (325, 320, 440, 500)),  # white on pale skin, from the ear to the mask
]


def _disc(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def strap_pixels(rgb: np.ndarray, box) -> np.ndarray:
    """The strap in ``box`` (bool, box-sized): the largest thin bright structure there. Straps are brighter
    than what they lie on (white top-hat); the mask or hairnet they run into is bright too but wider than
    a strap, so what survives an opening wider than a strap is taken away, and the strap's end is then
    grown back up to it."""
    x0, y0, x1, y1 = box
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    bright = (cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, _disc(31)) > 45).astype(np.uint8)
    bright = cv2.morphologyEx(bright, cv2.MORPH_CLOSE, _disc(5))
    blobs = cv2.morphologyEx(bright, cv2.MORPH_OPEN, _disc(25))
    thin = cv2.morphologyEx(bright & (1 - cv2.dilate(blobs, _disc(9))), cv2.MORPH_OPEN, _disc(3))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(thin)
    strap = (labels == 1 + np.argmax(stats[1:, cv2.CC_STAT_AREA])).astype(np.uint8)
    for _ in range(12):  # back up to the mask / hairnet it meets
        strap = cv2.dilate(strap, _disc(3)) & bright & (1 - blobs)
    return strap.astype(bool)


def strap_stroke(rgb: np.ndarray, box) -> tuple[list[tuple[float, float]], float]:
    """Points along the middle of the strap's whole run in ``box`` and a brush diameter covering it."""
    ys, xs = np.nonzero(strap_pixels(rgb, box))
    pts = np.stack([xs + box[0], ys + box[1]], 1).astype(np.float64)
    centre = pts.mean(0)
    axis = np.linalg.svd(pts - centre)[2][0]  # the strap's direction
    along = (pts - centre) @ axis
    points = []
    for lo in np.arange(along.min(), along.max(), 8):
        sel = (along >= lo) & (along < lo + 8)
        if sel.sum() >= 3:
            points.append(tuple(pts[sel].mean(0)))
    width = len(pts) / (along.max() - along.min() + 1)  # mean width: area over length
    return points, float(min(40, max(16, width + 14)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "real_masked")
    args = ap.parse_args()
    out_dir = ROOT / "docs" / "heal"
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, box in STRAPS:
        rgb = np.asarray(Image.open(args.data / name).convert("RGB")).copy()
        points, size = strap_stroke(rgb, box)
        heal_stroke(rgb[:64, :64], [(32, 32)], 8)  # OpenCV sets up its Lab tables once: not part of a heal
        start = time.perf_counter()
        healed, rect = heal_stroke(rgb, points, size)
        ms = (time.perf_counter() - start) * 1000
        # The whole healed region (every pixel the heal changed lies within the brush) plus a margin.
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        pad = size / 2 + 24
        x0, y0 = max(0, int(min(xs) - pad)), max(0, int(min(ys) - pad))
        x1, y1 = min(rgb.shape[1], int(max(xs) + pad) + 1), min(rgb.shape[0], int(max(ys) + pad) + 1)
        changed = np.argwhere((healed != rgb).any(axis=2))
        if changed.size and not ((changed.min(0) >= (y0, x0)).all() and (changed.max(0) < (y1, x1)).all()):
            raise SystemExit(f"{name}: the heal changed pixels outside the crop; widen the crop")
        before, after = rgb[y0:y1, x0:x1], healed[y0:y1, x0:x1]
        gap = np.full((before.shape[0], 8, 3), 255, np.uint8)
        Image.fromarray(np.hstack([before, gap, after])).save(out_dir / f"strap_{Path(name).stem}.png")
        print(f"{name}: stroke {len(points)} points, {size:.0f} px brush, healed box {rect} in {ms:.0f} ms, "
              f"crop {x1 - x0}x{y1 - y0} -> docs/heal/strap_{Path(name).stem}.png")


if __name__ == "__main__":
    main()
