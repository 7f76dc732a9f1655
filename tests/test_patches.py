"""Undo data per tile (app/patches.py, no Qt): which tiles differ, and patches that restore exactly."""
from __future__ import annotations

import numpy as np

from unmask_studio.app.patches import TILE, changed_tiles, differing_tiles, nonzero_tiles, tile_patches


def test_differing_tiles_finds_every_changed_pixel_and_nothing_else():
    rng = np.random.default_rng(0)
    for _ in range(25):
        h, w = (int(v) for v in rng.integers(1, 1100, 2))
        a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        b = a.copy()
        for _ in range(int(rng.integers(0, 6))):  # single-bit changes in one channel, edges included
            y, x, c = int(rng.integers(0, h)), int(rng.integers(0, w)), int(rng.integers(0, 3))
            b[y, x, c] ^= 1
        ne = (a != b).any(2)
        expected = {(int(y) // TILE, int(x) // TILE) for y, x in zip(*np.nonzero(ne))}
        assert differing_tiles(a, b) == expected
        assert changed_tiles(ne) == expected and nonzero_tiles(ne.astype(np.uint8) * 9) == expected


def test_tile_patches_round_trip_bit_identically():
    rng = np.random.default_rng(1)
    cur = rng.integers(0, 256, (700, 900, 3), dtype=np.uint8)
    new = cur.copy()
    new[100:140, 240:600] = 7  # crosses tile borders
    new[650, 899] = (1, 2, 3)
    patches = tile_patches("result", cur, new, differing_tiles(cur, new))
    assert len(patches) == 4 and sum(p.before.size for p in patches) < cur.size // 20
    work = cur.copy()
    for p in patches:
        x0, y0, x1, y1 = p.rect
        work[y0:y1, x0:x1] = p.after
    np.testing.assert_array_equal(work, new)
    for p in reversed(patches):
        x0, y0, x1, y1 = p.rect
        work[y0:y1, x0:x1] = p.before
    np.testing.assert_array_equal(work, cur)
