"""How much memory does the editor's undo history hold? Target: a 24 MP corner-to-corner stroke <= 6 MB.

Drives the editor's own Document, History and BrushTool (Qt offscreen, no window) on a 6000x4000
photo: one diagonal brush stroke (40 px, (100,100) -> (5900,3900) in 200 mouse moves, as in the
design review's probe), then 200 such steps (painting and erasing the same diagonal in turn, so
every step changes the same ~0.3 M pixels), and one "Remove masks"-like result edit with faces in
opposite corners. The baseline, computed in the same run from the same edits, is the previous
scheme: before + after copies of each edit's bounding box (for Remove masks: of the union of the
old and new boxes, RGB).

    python benchmarks/undo_memory.py [--steps 200]

Writes benchmarks/out/undo_memory.json and benchmarks/out/undo_memory.md.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()

import numpy as np  # noqa: E402
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from unmask_studio.core.io import LoadedImage  # noqa: E402
from unmask_studio.app.brush_tool import BrushTool  # noqa: E402
from unmask_studio.app.commands import EditCommand  # noqa: E402
from unmask_studio.app.document import Document, DocumentData, ResultState  # noqa: E402
from unmask_studio.app.history import BUDGET_BYTES, History  # noqa: E402
from unmask_studio.app.patches import changed_tiles, tile_patches  # noqa: E402
from unmask_studio.app.pyside_refs import top_up  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
W, H = 6000, 4000
MB = 1e6


def box_bytes(rect, channels: int = 1) -> int:
    x0, y0, x1, y1 = rect
    return 2 * (x1 - x0) * (y1 - y0) * channels


def diagonal(brush: BrushTool, erase: bool) -> tuple[int, int]:
    """One stroke; returns (bytes stored now, bytes the bounding-box scheme stored)."""
    top_up()  # no event loop runs here to do it (see pyside_refs)
    brush.set_erase(erase)
    brush.begin(QPointF(100, 100))
    for i in range(1, 201):
        brush.move(QPointF(100 + 5800 * i / 200, 100 + 3800 * i / 200))
    stroke = brush._stroke
    brush.end()
    cmd = brush.stack.command(brush.stack.count() - 1)
    return cmd.nbytes, box_bytes(stroke.rect)


def remove_masks_edit(doc: Document, history: History) -> tuple[int, int]:
    """A result with two restored faces in opposite corners, applied the way Processing does."""
    new_mask = np.zeros((H, W), np.uint8)
    new_img = doc.original.copy()
    for x0, y0 in ((300, 250), (5000, 3100)):
        new_mask[y0 + 300:y0 + 650, x0:x0 + 600] = 255
        new_img[y0 + 300:y0 + 650, x0:x0 + 600] //= 2
    res_tiles = changed_tiles((new_img != doc.original).any(2))
    patches = (tile_patches("mask", doc.mask, new_mask, changed_tiles(new_mask > 0))
               + tile_patches("result", doc.result, new_img, res_tiles))
    cmd = EditCommand(doc, "Remove masks", patches, result_state=(doc.result_state, ResultState(True, res_tiles)))
    history.push(cmd)
    union = (300, 550, 5600, 3750)  # the old scheme's box: union of both faces' changes
    return cmd.nbytes, box_bytes(union, 3) + box_bytes(union, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])  # noqa: F841 - Qt objects need an application

    yy, xx = np.mgrid[0:H, 0:W]
    rgb = np.dstack([(xx * 255 // W), (yy * 255 // H), ((xx + yy) % 256)]).astype(np.uint8)
    doc = Document()
    doc.open(DocumentData.from_loaded(LoadedImage(rgb=rgb, path=Path("bench.jpg"))))
    unlimited = History(budget=1 << 62, step_limit=0)
    brush = BrushTool(doc, unlimited)
    brush.size, brush.hardness = 40.0, 0.7

    t0 = time.perf_counter()
    one, one_old = diagonal(brush, erase=False)
    stroke_s = time.perf_counter() - t0
    many_old = one_old
    for k in range(1, args.steps):
        _, old = diagonal(brush, erase=bool(k % 2))
        many_old += old
    many = unlimited.total_bytes()
    remove, remove_old = remove_masks_edit(doc, unlimited)

    # The same steps into the editor's default history: what the budget keeps.
    doc.open(DocumentData.from_loaded(LoadedImage(rgb=rgb, path=Path("bench.jpg"))))
    budgeted = History()
    brush2 = BrushTool(doc, budgeted)
    brush2.size, brush2.hardness = 40.0, 0.7
    for k in range(args.steps):
        diagonal(brush2, erase=bool(k % 2))

    result = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "photo": f"{W}x{H}", "brush_px": 40, "steps": args.steps,
        "stroke_bytes": one, "stroke_bytes_bbox_scheme": one_old,
        "stroke_patches": len(unlimited.command(0).patches), "stroke_paint_s": round(stroke_s, 3),
        "history_bytes": many, "history_bytes_bbox_scheme": many_old,
        "remove_masks_bytes": remove, "remove_masks_bytes_bbox_scheme": remove_old,
        "budget_bytes": BUDGET_BYTES, "budget_steps_kept": budgeted.count(),
        "budget_history_bytes": budgeted.total_bytes(), "budget_steps_dropped": budgeted.dropped,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "undo_memory.json").write_text(json.dumps(result, indent=1))
    table = [
        "| 24 MP photo | per changed tile (now) | bounding box (before) |",
        "|---|---|---|",
        f"| one diagonal stroke | {one / MB:.1f} MB ({result['stroke_patches']} tiles) | {one_old / MB:.1f} MB |",
        f"| {args.steps} such steps | {many / MB:.0f} MB | {many_old / MB:.0f} MB |",
        f"| Remove masks, faces in opposite corners | {remove / MB:.1f} MB | {remove_old / MB:.1f} MB |",
        f"| {args.steps} steps, default budget {BUDGET_BYTES >> 20} MiB | "
        f"{budgeted.total_bytes() / MB:.0f} MB, {budgeted.count()} steps kept | - |",
    ]
    (OUT / "undo_memory.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
