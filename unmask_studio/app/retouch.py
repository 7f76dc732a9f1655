"""Retouches survive later fills: a heal or clone stroke is never lost to a Remove masks, Fill again,
Try another fill or reference fill made after it, except where that fill's removal mask takes its pixels.

Napari-style layers: beside the result, the document keeps a retouch coverage layer
(``Document.retouch``, H×W uint8, 255 where a heal or clone stroke changed the result; the retouched
pixels themselves are the result's pixels there). Strokes mark it and fills update it through the same
tile patches as the mask and the result, inside the same undo step, so undo and redo put both back bit
for bit.

Each fill is still computed from the original photo (so a fill made under an earlier, larger mask does
not linger where the new mask no longer reaches), and is then composed on the tiles that hold
retouches: the engine's output, with the retouched pixels put back where the new removal mask does not
cover them. **Where the new mask covers a retouched pixel, the new fill wins**: exactly the fill where
the mask is 255 (that pixel then no longer counts as retouched), blended with the retouch across the
mask's soft edge, and the retouch bit for bit where the mask is 0.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from unmask_studio.core.maskops import Rect
from unmask_studio.app.document import Document
from unmask_studio.app.patches import Patch, Tile, tile_patches, tile_rect, trimmed

LAYER = "retouch"


def stroke_patches(doc: Document, rect: Rect, painted: np.ndarray) -> list[Patch]:
    """Coverage patches marking ``painted`` (a boolean array the size of ``rect``) as retouched."""
    x0, y0, x1, y1 = rect
    current = doc.retouch[y0:y1, x0:x1]
    return tile_patches(LAYER, current, np.where(painted, np.uint8(255), current), origin=(x0, y0))


def fill_patches(doc: Document, image: np.ndarray, mask: np.ndarray, tiles: Iterable[Tile],
                 origin: tuple[int, int] = (0, 0)) -> tuple[list[Patch], frozenset[Tile]]:
    """Patches putting a fill on the document while keeping the retouches outside its mask.

    ``image`` is the engine's output and ``mask`` the removal mask it was filled under, both covering the
    photo from ``origin`` (x, y) (the whole photo by default); ``tiles`` says where the result may change.
    ``image`` is composed in place, on the tiles that hold retouches only (a few, usually: GUI-thread
    work stays small). Returns the result and coverage patches, and the tiles still holding retouches.
    """
    tiles = sorted(tiles)
    ox, oy = origin
    h, w = image.shape[:2]
    coverage: list[Patch] = []
    kept: set[Tile] = set()
    if doc.has_retouch:
        for key in tiles:
            tx0, ty0, tx1, ty1 = tile_rect(key, doc.result.shape)
            x0, y0, x1, y1 = max(tx0, ox), max(ty0, oy), min(tx1, ox + w), min(ty1, oy + h)
            if x1 <= x0 or y1 <= y0:
                continue
            cover = doc.retouch[y0:y1, x0:x1]
            keep = cover > 0
            if not keep.any():
                continue
            here = np.s_[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
            m = mask[here]
            a = m[keep].astype(np.float32)[:, None] / 255.0  # 0: the retouch, 1: the fill, exactly
            fill = image[here]
            retouched = doc.result[y0:y1, x0:x1][keep].astype(np.float32)
            fill[keep] = (retouched * (1.0 - a) + fill[keep] * a + 0.5).astype(np.uint8)
            after = np.where(m == 255, np.uint8(0), cover)
            if (p := trimmed(LAYER, (x0, y0, x1, y1), cover, after)) is not None:
                coverage.append(p)
            if after.any():
                kept.add(key)
    result = tile_patches("result", doc.result[oy:oy + h, ox:ox + w], image, tiles, origin=origin)
    return result + coverage, frozenset(kept)
