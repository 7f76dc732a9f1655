"""Turns canvas strokes and brush-panel buttons into undoable edits of the removal mask."""
from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Signal

from unmask_studio.app import mask_edits
from unmask_studio.app.brush import Stroke
from unmask_studio.app.commands import EditCommand, InvertMaskCommand, diff_patches
from unmask_studio.app.document import Document
from unmask_studio.app.history import History
from unmask_studio.app.patches import tile_patches

MIN_SIZE, MAX_SIZE = 1, 800


class BrushTool(QObject):
    settings_changed = Signal()  # size / hardness / mode changed (panel and canvas follow)

    def __init__(self, doc: Document, stack: History, parent=None):
        super().__init__(parent)
        self.doc, self.stack = doc, stack
        self.size = 40.0
        self.hardness = 0.7
        self.erase = False
        self._stroke: Stroke | None = None
        doc.opened.connect(self.abort)  # a stroke on the previous photo must not land on this one

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
    # A stroke is a history transaction: from the press to the release nothing else lands in the
    # history (see history.py), so the tiles it saved at the start are still true when it ends.
    @property
    def stroking(self) -> bool:
        return self._stroke is not None

    def begin(self, pos: QPointF) -> None:
        if not self.doc.is_open:
            return
        if self._stroke is not None:
            self.end()
        self._stroke = Stroke(self.doc.mask, self.size, self.hardness, self.erase)
        self.stack.begin_transaction()
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
        patches = stroke.finish()
        name = "Erase stroke" if stroke.erase else "Brush stroke"
        self.stack.end_transaction(EditCommand(self.doc, name, patches, applied=True) if patches else None)

    def abort(self) -> None:
        """Take the open stroke back (Esc, another photo opened): its tiles are restored, no step is added."""
        stroke, self._stroke = self._stroke, None
        if stroke is None:
            return
        rect = stroke.abort()
        if rect is not None and self.doc.is_open and stroke.mask is self.doc.mask:
            self.doc.touched("mask", rect)
        self.stack.end_transaction(None)

    # ------------------------------------------------------------------------------ mask ops
    def apply_op(self, op: str, px: float = 0) -> bool:
        """grow | shrink | feather | clear as one undo step; False when there was nothing to change."""
        if not self.doc.is_open:
            return False
        out = mask_edits.apply(self.doc.mask, op, px)
        if out is None:
            return False
        (x0, y0, x1, y1), region = out
        patches = tile_patches("mask", self.doc.mask[y0:y1, x0:x1], region, origin=(x0, y0))
        if not patches:
            return False
        names = {"grow": f"Grow mask {px:g} px", "shrink": f"Shrink mask {px:g} px",
                 "feather": f"Feather mask {px:g} px", "clear": "Clear mask"}
        self.stack.push(EditCommand(self.doc, names[op], patches))
        return True

    def invert(self) -> None:
        if self.doc.is_open:
            self.stack.push(InvertMaskCommand(self.doc))

    def replace_mask(self, new_mask, text: str = "Load mask") -> bool:
        """Swap in a whole mask (e.g. loaded from PNG); only the differing tiles are stored for undo."""
        patches = diff_patches(self.doc, "mask", new_mask)
        if not patches:
            return False
        self.stack.push(EditCommand(self.doc, text, patches))
        return True
