"""Undo commands. Each stores only what it changed: before/after copies of the tiles it changed
(``app/patches.py``), never a whole image, so a long history on a 24 MP photo stays small.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QUndoCommand

from unmask_studio.core.faces import Face
from unmask_studio.app.document import Document, ResultState
from unmask_studio.app.patches import Patch, changed_tiles, tile_patches


class Command(QUndoCommand):
    """A step of the history. ``applied=True``: the edit is already on screen (a stroke painted live),
    so the first redo, which QUndoStack.push() calls, is skipped."""

    nbytes = 0  # undo data held, for the history's byte budget

    def __init__(self, text: str, applied: bool = False):
        super().__init__(text)
        self._skip = applied

    def redo(self) -> None:
        if self._skip:
            self._skip = False
            return
        self.apply(forward=True)

    def undo(self) -> None:
        self.apply(forward=False)

    def apply(self, forward: bool) -> None:
        raise NotImplementedError

    def reissued(self) -> "Command":
        """The same step as a new, already-applied command (the history rebuilds itself with these)."""
        new = type(self).__new__(type(self))
        Command.__init__(new, self.text(), applied=True)
        for k, v in vars(self).items():
            if k != "_skip":
                setattr(new, k, v)
        return new


def diff_patches(doc: Document, layer: str, new: np.ndarray) -> list[Patch]:
    """Patches turning the document's ``layer`` into ``new`` (full size), one per tile that differs."""
    cur = doc.mask if layer == "mask" else doc.result
    ne = cur != new
    return tile_patches(layer, cur, new, changed_tiles(ne if ne.ndim == 2 else ne.any(2)))


class EditCommand(Command):
    """Pixel patches (mask and/or result) plus, optionally, the face list and result state."""

    def __init__(self, doc: Document, text: str, patches: list[Patch] = (), faces: tuple | None = None,
                 result_state: tuple[ResultState, ResultState] | None = None, applied: bool = False):
        super().__init__(text, applied)
        self.doc, self.patches, self.faces, self.result_state = doc, list(patches), faces, result_state

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches)

    def rebase(self) -> None:
        """Re-read the "before" pixels: for a command built earlier that is only now being pushed."""
        for p in self.patches:
            p.before = self.doc.read(p.layer, p.rect)

    def apply(self, forward: bool) -> None:
        for p in (self.patches if forward else reversed(self.patches)):
            self.doc.write(p.layer, p.rect, p.after if forward else p.before)
        if self.result_state:
            self.doc.set_result_state(self.result_state[1 if forward else 0])
        if self.faces is not None:
            self.doc.set_faces(self.faces[1 if forward else 0])


class InvertMaskCommand(Command):
    """Inverting is its own inverse, so it needs no pixel copies at all."""

    def __init__(self, doc: Document):
        super().__init__("Invert mask")
        self.doc = doc

    def apply(self, forward: bool) -> None:
        np.subtract(255, self.doc.mask, out=self.doc.mask)
        self.doc.touched("mask", None)


class FacesCommand(Command):
    def __init__(self, doc: Document, text: str, before: list[Face], after: list[Face]):
        super().__init__(text)
        self.doc, self.before, self.after = doc, list(before), list(after)

    def apply(self, forward: bool) -> None:
        self.doc.set_faces(self.after if forward else self.before)
