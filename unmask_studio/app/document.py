"""The open photo and everything edited on it: the model that the canvas and panels observe.

Views never change pixels themselves; they call the Document (usually through an undo command), and
the Document emits what changed and where, so each view redraws only that region.

Heavy preparation (decoding, the display pyramids, the result buffer) happens in a worker as
``DocumentData``; the GUI thread only adopts the finished arrays in ``Document.open``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from unmask_studio.core.faces import Face
from unmask_studio.core.io import LoadedImage, load_image
from unmask_studio.core.maskops import Rect, nonzero_rect, union
from unmask_studio.app.patches import Tile
from unmask_studio.app.pyramid import Pyramid

LAYERS = ("original", "result", "mask", "faces")
# The mask tint starts hidden so "Remove masks" shows the restored faces; picking the brush reveals it.
DEFAULT_VISIBLE = {"original": True, "result": True, "mask": False, "faces": True}


@dataclass
class DocumentData:
    """Everything a freshly opened photo needs, built off the GUI thread."""

    loaded: LoadedImage
    original: Pyramid
    result: Pyramid  # starts as a copy of the original; inpainting writes into it in place
    mask: Pyramid  # full-resolution uint8 removal mask (255 = remove), edited in place
    # Where heal/clone strokes changed the result (uint8, 255 = retouched; app/retouch.py); made on first use
    retouch: np.ndarray | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> "DocumentData":
        return cls.from_loaded(load_image(path))

    @classmethod
    def from_loaded(cls, loaded: LoadedImage) -> "DocumentData":
        rgb = loaded.rgb
        h, w = rgb.shape[:2]
        return cls(loaded, Pyramid(rgb), Pyramid(rgb.copy()), Pyramid(np.zeros((h, w), np.uint8)))


@dataclass(frozen=True)
class ResultState:
    """Whether there is a result, and the tiles outside which it equals the original."""

    has_result: bool = False
    tiles: frozenset[Tile] = frozenset()


class Document(QObject):
    opened = Signal()  # a new photo (or none) replaced the previous one
    pixels_changed = Signal(object)  # Rect of the result layer, or None for everything
    mask_changed = Signal(object)  # Rect of the mask, or None for everything
    faces_changed = Signal()
    layers_changed = Signal()  # visibility or result availability
    face_selected = Signal(int)  # index into faces, -1 for none

    def __init__(self, parent=None):
        super().__init__(parent)
        # Bumped on every open: a job started for an older generation must not touch this photo.
        self.generation = 0
        self.data: DocumentData | None = None
        self.faces: list[Face] = []
        self.visible = dict(DEFAULT_VISIBLE)
        self.result_state = ResultState()
        self.selected_face = -1
        self.save_path: Path | None = None  # where Save writes without asking (never the original)
        # Box that contains every non-zero mask pixel (may be larger, never smaller): views skip the rest.
        self.mask_bounds: Rect | None = None

    # ----------------------------------------------------------------------------- lifecycle
    def open(self, data: DocumentData | None) -> None:
        self.generation += 1
        self.data = data
        self.faces = []
        self.visible = dict(DEFAULT_VISIBLE)
        self.result_state = ResultState()
        self.selected_face = -1
        self.save_path = None
        self.mask_bounds = nonzero_rect(data.mask.base) if data else None
        self.opened.emit()

    @property
    def is_open(self) -> bool:
        return self.data is not None

    @property
    def path(self) -> Path | None:
        return self.data.loaded.path if self.data else None

    @property
    def loaded(self) -> LoadedImage:
        return self.data.loaded

    @property
    def original(self) -> np.ndarray:
        return self.data.original.base

    @property
    def result(self) -> np.ndarray:
        return self.data.result.base

    @property
    def mask(self) -> np.ndarray:
        return self.data.mask.base

    @property
    def retouch(self) -> np.ndarray:
        """The retouch coverage layer (H×W uint8, 255 where a heal or clone stroke changed the result):
        later fills keep those pixels unless their removal mask takes them (app/retouch.py)."""
        if self.data.retouch is None:
            self.data.retouch = np.zeros(self.mask.shape, np.uint8)
        return self.data.retouch

    @property
    def has_retouch(self) -> bool:
        return self.data is not None and self.data.retouch is not None

    @property
    def size(self) -> tuple[int, int]:
        h, w = self.original.shape[:2]
        return w, h

    def output_image(self) -> np.ndarray:
        """What Save writes: the result once there is one, otherwise the photo as loaded."""
        return self.result if self.result_state.has_result else self.original

    # ----------------------------------------------------------------------------- pixel edits
    def read(self, layer: str, rect: Rect) -> np.ndarray:
        x0, y0, x1, y1 = rect
        return self._array(layer)[y0:y1, x0:x1].copy()

    def write(self, layer: str, rect: Rect, patch: np.ndarray) -> None:
        """Put ``patch`` at ``rect`` of the mask or result, refresh the pyramid there, tell the views."""
        x0, y0, x1, y1 = rect
        self._array(layer)[y0:y1, x0:x1] = patch
        self.touched(layer, rect)

    def touched(self, layer: str, rect: Rect | None) -> None:
        """Level 0 of ``layer`` was changed in place inside ``rect``: refresh caches and views."""
        if layer == "retouch":
            return  # bookkeeping only: no view draws it
        pyr = self.data.mask if layer == "mask" else self.data.result
        if rect is None:
            h, w = pyr.base.shape[:2]
            rect = (0, 0, w, h)
        pyr.update(rect)
        if layer == "mask":
            whole = rect[0] == 0 and rect[1] == 0 and (rect[2], rect[3]) == (pyr.base.shape[1], pyr.base.shape[0])
            # Small edits (strokes) just widen the box; whole-mask changes measure it again.
            self.mask_bounds = nonzero_rect(pyr.base) if whole else union(self.mask_bounds, rect)
        (self.mask_changed if layer == "mask" else self.pixels_changed).emit(rect)

    def _array(self, layer: str) -> np.ndarray:
        if layer == "mask":
            return self.mask
        if layer == "result":
            return self.result
        if layer == "retouch":
            return self.retouch
        raise ValueError(layer)

    def set_result_state(self, state: ResultState) -> None:
        changed = state.has_result != self.result_state.has_result
        self.result_state = state
        if changed:
            self.layers_changed.emit()

    # ----------------------------------------------------------------------------- faces, layers
    def set_faces(self, faces: list[Face]) -> None:
        self.faces = list(faces)
        if self.selected_face >= len(self.faces):
            self.selected_face = -1
        self.faces_changed.emit()

    def select_face(self, index: int) -> None:
        if index != self.selected_face:
            self.selected_face = index
            self.face_selected.emit(index)

    def set_visible(self, layer: str, visible: bool) -> None:
        if self.visible.get(layer) != visible:
            self.visible[layer] = visible
            self.layers_changed.emit()
