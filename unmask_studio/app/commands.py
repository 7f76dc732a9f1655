"""Undo commands. Each stores only what it changed: the bounding box of changed pixels, before and
after, never a whole image, so a long history of brush strokes on a 24 MP photo stays small.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtGui import QUndoCommand

from unmask_studio.core.faces import Face
from unmask_studio.app.document import Document, Rect, ResultState, bbox

LAYER_NAMES = {"original": "original photo", "result": "result", "mask": "mask overlay", "faces": "face boxes"}


@dataclass
class Patch:
    layer: str  # "mask" or "result"
    rect: Rect
    before: np.ndarray
    after: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.before.nbytes + self.after.nbytes


def diff_patch(doc: Document, layer: str, new: np.ndarray, within: Rect | None = None) -> Patch | None:
    """Patch turning the document's ``layer`` into ``new`` (full size), cropped to what differs.

    ``within`` limits the search when the caller knows where changes can be (much faster on 24 MP).
    """
    cur = doc.mask if layer == "mask" else doc.result
    h, w = cur.shape[:2]
    x0, y0, x1, y1 = within or (0, 0, w, h)
    ne = cur[y0:y1, x0:x1] != new[y0:y1, x0:x1]
    box = bbox(ne if ne.ndim == 2 else ne.any(2))
    if box is None:
        return None
    r = (box[0] + x0, box[1] + y0, box[2] + x0, box[3] + y0)
    return Patch(layer, r, doc.read(layer, r), new[r[1]:r[3], r[0]:r[2]].copy())


def region_patch(doc: Document, layer: str, new: np.ndarray, rect: Rect | None) -> Patch | None:
    """Patch replacing ``rect`` of ``layer`` with the same region of ``new`` (full size).

    For callers that already know the box that can differ (computed in a worker): skipping the
    comparison keeps the GUI thread free on large photos, at the cost of a slightly larger patch.
    """
    if rect is None:
        return None
    x0, y0, x1, y1 = rect
    return Patch(layer, rect, doc.read(layer, rect), new[y0:y1, x0:x1].copy())


class EditCommand(QUndoCommand):
    """Pixel patches (mask and/or result) plus, optionally, the face list and result state.

    ``applied=True`` means the edit is already on screen (a brush stroke painted live): the first
    redo, which QUndoStack.push() calls, is then skipped.
    """

    def __init__(self, doc: Document, text: str, patches: list[Patch] = (), faces: tuple | None = None,
                 result_state: tuple[ResultState, ResultState] | None = None, applied: bool = False):
        super().__init__(text)
        self.doc, self.patches, self.faces, self.result_state = doc, list(patches), faces, result_state
        self._skip = applied

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches)

    def redo(self) -> None:
        if self._skip:
            self._skip = False
            return
        self._apply(after=True)

    def undo(self) -> None:
        self._apply(after=False)

    def _apply(self, after: bool) -> None:
        for p in (self.patches if after else reversed(self.patches)):
            self.doc.write(p.layer, p.rect, p.after if after else p.before)
        if self.result_state:
            self.doc.set_result_state(self.result_state[1 if after else 0])
        if self.faces is not None:
            self.doc.set_faces(self.faces[1 if after else 0])


class InvertMaskCommand(QUndoCommand):
    """Inverting is its own inverse, so it needs no pixel copies at all."""

    def __init__(self, doc: Document):
        super().__init__("Invert mask")
        self.doc = doc

    def redo(self) -> None:
        np.subtract(255, self.doc.mask, out=self.doc.mask)
        self.doc.touched("mask", None)

    undo = redo


class FacesCommand(QUndoCommand):
    def __init__(self, doc: Document, text: str, before: list[Face], after: list[Face]):
        super().__init__(text)
        self.doc, self.before, self.after = doc, list(before), list(after)

    def redo(self) -> None:
        self.doc.set_faces(self.after)

    def undo(self) -> None:
        self.doc.set_faces(self.before)


class VisibilityCommand(QUndoCommand):
    def __init__(self, doc: Document, layer: str, visible: bool):
        super().__init__(f"{'Show' if visible else 'Hide'} {LAYER_NAMES.get(layer, layer)}")
        self.doc, self.layer, self.visible = doc, layer, visible

    def redo(self) -> None:
        self.doc.set_visible(self.layer, self.visible)

    def undo(self) -> None:
        self.doc.set_visible(self.layer, not self.visible)
