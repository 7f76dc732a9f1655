"""Turns canvas strokes and brush-panel buttons into undoable edits of the removal mask."""
from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtGui import QUndoStack

from unmask_studio.app import mask_edits
from unmask_studio.app.brush import Stroke
from unmask_studio.app.commands import EditCommand, InvertMaskCommand, Patch, diff_patch
from unmask_studio.app.document import Document, bbox

MIN_SIZE, MAX_SIZE = 1, 800


class BrushTool(QObject):
    settings_changed = Signal()  # size / hardness / mode changed (panel and canvas follow)

    def __init__(self, doc: Document, stack: QUndoStack, parent=None):
        super().__init__(parent)
        self.doc, self.stack = doc, stack
        self.size = 40.0
        self.hardness = 0.7
        self.erase = False
        self._stroke: Stroke | None = None

    # ------------------------------------------------------------------------------ settings
    def set_size(self, size: float) -> None:
        size = float(max(MIN_SIZE, min(MAX_SIZE, size)))
        if size != self.size:
            self.size = size
            self.settings_changed.emit()

    def bigger(self) -> None:
        self.set_size(self.size * 1.2 + 1)  # proportional steps: fine when small, fast when large

    def smaller(self) -> None:
        self.set_size((self.size - 1) / 1.2)

    def set_hardness(self, hardness: float) -> None:
        self.hardness = max(0.0, min(1.0, hardness))
        self.settings_changed.emit()

    def set_erase(self, erase: bool) -> None:
        if erase != self.erase:
            self.erase = erase
            self.settings_changed.emit()

    # ------------------------------------------------------------------------------ strokes
    def begin(self, pos: QPointF) -> None:
        if not self.doc.is_open:
            return
        self._stroke = Stroke(self.doc.mask, self.size, self.hardness, self.erase)
        self.move(pos)

    def move(self, pos: QPointF) -> None:
        if self._stroke is None:
            return
        rect = self._stroke.to(pos.x(), pos.y())
        if rect:
            self.doc.touched("mask", rect)

    def end(self) -> None:
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        done = stroke.finish()
        if done:
            rect, before, after = done
            name = "Erase stroke" if stroke.erase else "Brush stroke"
            self.stack.push(EditCommand(self.doc, name, [Patch("mask", rect, before, after)], applied=True))

    # ------------------------------------------------------------------------------ mask ops
    def apply_op(self, op: str, px: float = 0) -> bool:
        """grow | shrink | feather | clear as one undo step; False when there was nothing to change."""
        if not self.doc.is_open:
            return False
        out = mask_edits.apply(self.doc.mask, op, px)
        if out is None:
            return False
        (x0, y0, x1, y1), region = out
        box = bbox(self.doc.mask[y0:y1, x0:x1] != region)
        if box is None:
            return False
        r = (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)
        after = region[box[1]:box[3], box[0]:box[2]].copy()
        names = {"grow": f"Grow mask {px:g} px", "shrink": f"Shrink mask {px:g} px",
                 "feather": f"Feather mask {px:g} px", "clear": "Clear mask"}
        self.stack.push(EditCommand(self.doc, names[op], [Patch("mask", r, self.doc.read("mask", r), after)]))
        return True

    def invert(self) -> None:
        if self.doc.is_open:
            self.stack.push(InvertMaskCommand(self.doc))

    def replace_mask(self, new_mask, text: str = "Load mask") -> bool:
        """Swap in a whole mask (e.g. loaded from PNG); only the differing box is stored for undo."""
        patch = diff_patch(self.doc, "mask", new_mask)
        if patch is None:
            return False
        self.stack.push(EditCommand(self.doc, text, [patch]))
        return True
