"""Undo data stored per changed tile (pure numpy, no Qt).

An edit is kept as before/after copies of only the 256x256 tiles it changed, each trimmed to the box
of its changed pixels. A bounding box would do for a dab, but one corner-to-corner stroke on a 24 MP
photo has a box of the whole photo (44.9 MB of undo data); its changed tiles hold about 3 MB
(``benchmarks/undo_memory.py``). Tiles use one grid for the whole photo, so an edit's tiles can be
compared and merged with another's by their (row, column) keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import cv2
import numpy as np

from unmask_studio.core.maskops import Rect, nonzero_rect

TILE = 256
Tile = tuple[int, int]  # (row, column) in the photo's tile grid


@dataclass
class Patch:
    layer: str  # "mask" or "result"
    rect: Rect
    before: np.ndarray
    after: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


def tile_rect(tile: Tile, shape: tuple[int, ...]) -> Rect:
    """The tile's box, clipped to an image of ``shape`` (h, w, ...)."""
    ty, tx = tile
    return tx * TILE, ty * TILE, min(shape[1], (tx + 1) * TILE), min(shape[0], (ty + 1) * TILE)


def tiles_in(rect: Rect | None) -> set[Tile]:
    """Every tile that overlaps ``rect``."""
    if rect is None:
        return set()
    x0, y0, x1, y1 = rect
    return {(ty, tx) for ty in range(y0 // TILE, (y1 - 1) // TILE + 1)
            for tx in range(x0 // TILE, (x1 - 1) // TILE + 1)} if x1 > x0 and y1 > y0 else set()


def nonzero_tiles(values: np.ndarray) -> frozenset[Tile]:
    """Tiles holding a non-zero value of a full-size array (H×W, or H×W×C: any channel).

    OpenCV's row reduction per band of tiles, then numpy on the small result: about 0.1 s on 12 MP
    RGB, where numpy's ``(a != b).any(2)`` took 0.8 s (benchmarks/editor_speed.py)."""
    h, w = values.shape[:2]
    if not h or not w:
        return frozenset()
    flat = np.ascontiguousarray(values).reshape(h, -1)
    if flat.dtype == np.bool_:
        flat = flat.view(np.uint8)
    channels = flat.shape[1] // w
    bands = np.vstack([cv2.reduce(flat[y:y + TILE], 0, cv2.REDUCE_MAX) for y in range(0, h, TILE)])
    cells = np.maximum.reduceat(bands, np.arange(0, flat.shape[1], TILE * channels), axis=1)
    return frozenset((int(ty), int(tx)) for ty, tx in zip(*np.nonzero(cells)))


def changed_tiles(changed: np.ndarray) -> frozenset[Tile]:
    """Tiles holding at least one True pixel of a full-size 2-D boolean array."""
    return nonzero_tiles(changed)


def differing_tiles(a: np.ndarray, b: np.ndarray) -> frozenset[Tile]:
    """Tiles where two same-shaped images differ in any pixel or channel."""
    return nonzero_tiles(cv2.absdiff(a, b))


def trimmed(layer: str, rect: Rect, before: np.ndarray, after: np.ndarray) -> Patch | None:
    """Patch for ``rect`` cut down to the box where ``before`` and ``after`` differ (None: identical)."""
    ne = before != after
    box = nonzero_rect(ne if ne.ndim == 2 else ne.any(2))
    if box is None:
        return None
    bx0, by0, bx1, by1 = box
    r = (rect[0] + bx0, rect[1] + by0, rect[0] + bx1, rect[1] + by1)
    return Patch(layer, r, before[by0:by1, bx0:bx1].copy(), after[by0:by1, bx0:bx1].copy())


def tile_patches(layer: str, current: np.ndarray, new: np.ndarray, tiles: Iterable[Tile] | None = None,
                 origin: tuple[int, int] = (0, 0)) -> list[Patch]:
    """Patches turning ``current`` into ``new`` in every given tile that differs.

    ``current`` and ``new`` are same-shaped arrays whose top-left pixel is ``origin`` (x, y) in the
    photo, so a region computed around the painted area still lands on the photo's tile grid.
    ``tiles`` (photo tile keys) says where changes can be; None means everywhere in the arrays.
    """
    ox, oy = origin
    h, w = current.shape[:2]
    area = (ox, oy, ox + w, oy + h)
    out = []
    for key in sorted(tiles_in(area) if tiles is None else tiles):
        tx0, ty0, tx1, ty1 = key[1] * TILE, key[0] * TILE, (key[1] + 1) * TILE, (key[0] + 1) * TILE
        x0, y0, x1, y1 = max(tx0, area[0]), max(ty0, area[1]), min(tx1, area[2]), min(ty1, area[3])
        if x1 <= x0 or y1 <= y0:
            continue
        sl = np.s_[y0 - oy:y1 - oy, x0 - ox:x1 - ox]
        p = trimmed(layer, (x0, y0, x1, y1), current[sl], new[sl])
        if p is not None:
            out.append(p)
    return out

