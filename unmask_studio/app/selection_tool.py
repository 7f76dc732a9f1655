"""Selections that edit the removal mask: rectangle, lasso (freehand, or click points for a polygon) and
magic wand (a flood fill over the covering's colour, OpenCV's ``floodFill``).

A plain selection replaces the mask, Shift adds to it, Alt takes away from it (Photoshop's and GIMP's
keys). Each is one undo step storing only the changed tiles, and is computed only on the selection's box
and the painted area (``Document.mask_bounds``), never the whole mask of a 24 MP photo.
"""
from __future__ import annotations

import cv2
import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsPathItem

from unmask_studio.core.maskops import Rect, union
from unmask_studio.app.commands import EditCommand
from unmask_studio.app.document import Document
from unmask_studio.app.history import History
from unmask_studio.app.patches import tile_patches
from unmask_studio.app.workers import JobRunner, Outcome

MODES = ("replace", "add", "subtract")
WAND_LANE = "retouch"  # with the heal brush: never behind a long Remove masks
WAND_WINDOW = 1600  # the wand floods inside this box around the click: a covering is never larger
WAND_TOLERANCE = 24  # per channel, from the clicked colour; Shift-click adds what a first click missed


def mode_for(modifiers: Qt.KeyboardModifier) -> str:
    if modifiers & Qt.KeyboardModifier.AltModifier:
        return "subtract"
    if modifiers & Qt.KeyboardModifier.ShiftModifier:
        return "add"
    return "replace"


def wand_region(rgb: np.ndarray, x: int, y: int, tolerance: int = WAND_TOLERANCE,
                window: int = WAND_WINDOW) -> tuple[Rect, np.ndarray] | None:
    """(rect, 0/255 mask over rect) of the area around (x, y) whose colour is within ``tolerance`` of the
    clicked one (per channel, on a lightly blurred copy), thin bridges cut and holes filled."""
    h, w = rgb.shape[:2]
    if not (0 <= x < w and 0 <= y < h):
        return None
    x0, y0 = max(0, x - window // 2), max(0, y - window // 2)
    x1, y1 = min(w, x0 + window), min(h, y0 + window)
    roi = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    # Blur first, so JPEG grain and fabric texture do not stop the fill.
    smooth = cv2.GaussianBlur(roi, (5, 5), 0)
    flood = np.zeros((y1 - y0 + 2, x1 - x0 + 2), np.uint8)
    tol = (tolerance,) * 3
    flags = 8 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (255 << 8)
    cv2.floodFill(smooth, flood, (x - x0, y - y0), 0, tol, tol, flags)
    sel = flood[1:-1, 1:-1]
    # A white strap or a pale background can join the covering to other areas by a thin bridge: cut thin
    # bridges (an opening) and keep only the part that holds the click.
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    opened = cv2.morphologyEx(sel, cv2.MORPH_OPEN, k)
    n, labels = cv2.connectedComponents(opened, connectivity=8)
    seed = labels[y - y0, x - x0]
    if seed:
        sel = np.where(labels == seed, 255, 0).astype(np.uint8)
    # The covering's print, valve and shading leave holes in the fill: take everything its outline encloses.
    contours, _ = cv2.findContours(sel, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    sel = cv2.drawContours(np.zeros_like(sel), contours, -1, 255, cv2.FILLED)
    ys, xs = np.nonzero(sel)
    if not len(ys):
        return None
    bx0, by0, bx1, by1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
    return (x0 + bx0, y0 + by0, x0 + bx1, y0 + by1), sel[by0:by1, bx0:bx1].copy()


def polygon_region(points: list[tuple[float, float]], shape: tuple[int, ...]) -> tuple[Rect, np.ndarray] | None:
    """(rect, 0..255 anti-aliased mask) of the polygon through ``points``, clipped to ``shape``."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    if len(pts) < 3:
        return None
    h, w = shape[:2]
    x0, y0 = max(0, int(np.floor(pts[:, 0].min()))), max(0, int(np.floor(pts[:, 1].min())))
    x1, y1 = min(w, int(np.ceil(pts[:, 0].max())) + 1), min(h, int(np.ceil(pts[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    sel = np.zeros((y1 - y0, x1 - x0), np.uint8)
    local = np.round((pts - (x0, y0)) * 16).astype(np.int32)
    cv2.fillPoly(sel, [local.reshape(-1, 1, 2)], 255, cv2.LINE_AA, 4)
    return ((x0, y0, x1, y1), sel) if sel.any() else None


def rect_region(a: QPointF, b: QPointF, shape: tuple[int, ...]) -> tuple[Rect, np.ndarray] | None:
    h, w = shape[:2]
    x0, x1 = sorted((int(round(a.x())), int(round(b.x()))))
    y0, y1 = sorted((int(round(a.y())), int(round(b.y()))))
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return None
    return (x0, y0, x1, y1), np.full((y1 - y0, x1 - x0), 255, np.uint8)


class SelectionTool(QObject):
    """One of "rect", "lasso" or "wand" at a time (``kind``); the canvas input calls press/move/release."""

    message = Signal(str, str)

    def __init__(self, doc: Document, stack: History, runner: JobRunner | None = None, parent=None):
        super().__init__(parent)
        self.doc, self.stack, self.runner = doc, stack, runner
        self.kind = "rect"
        self.tolerance = WAND_TOLERANCE
        self.outline = QGraphicsPathItem()
        pen = QPen(QColor(255, 210, 60), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.outline.setPen(pen)
        self.outline.setZValue(30)
        self.outline.hide()
        self._start: QPointF | None = None
        self._points: list[tuple[float, float]] = []
        self._mode = "replace"
        self._dragged = False
        self._pressed = False  # the mouse button is down (a freehand lasso or a rectangle is being dragged)
        doc.opened.connect(self.cancel)

    # ------------------------------------------------------------------------------ input
    def press(self, pos: QPointF, modifiers) -> None:
        if not self.doc.is_open:
            return
        if self.kind == "wand":
            self.wand(int(pos.x()), int(pos.y()), mode_for(modifiers))
            return
        if self.kind == "lasso" and self._points and not self._dragged:
            self._points.append((pos.x(), pos.y()))  # polygon: one more corner per click
            self._draw()
            return
        self._mode = mode_for(modifiers)
        self._start, self._points, self._dragged = pos, [(pos.x(), pos.y())], False
        self._pressed = True
        self._draw()

    def move(self, pos: QPointF) -> None:
        """The mouse moved: with the button down it draws; between polygon clicks it only shows the next edge."""
        if self._start is None:
            return
        if self.kind == "lasso":
            if not self._pressed:
                pass
            elif (pos - self._start).manhattanLength() >= 3 or self._dragged:
                self._dragged = True
                self._points.append((pos.x(), pos.y()))
        else:
            self._dragged = True
            self._points = [(self._start.x(), self._start.y()), (pos.x(), pos.y())]
        self._draw(pos)

    def release(self, pos: QPointF) -> None:
        self._pressed = False
        if self._start is None:
            return
        if self.kind == "rect":
            start, self._start = self._start, None
            self.outline.hide()
            self.apply(rect_region(start, pos, self.doc.mask.shape), self._mode, "Rectangle")
        elif self.kind == "lasso" and self._dragged:
            self.finish_polygon()
        # A lasso click without a drag starts a polygon: corners by clicks, closed by a double-click or Enter.

    def finish_polygon(self) -> None:
        points, self._points, self._start, self._dragged = self._points, [], None, False
        self.outline.hide()
        if len(points) >= 3:
            self.apply(polygon_region(points, self.doc.mask.shape), self._mode, "Lasso")

    def cancel(self) -> None:
        self._start, self._points, self._dragged, self._pressed = None, [], False, False
        self.outline.hide()

    @property
    def active(self) -> bool:
        return self._start is not None

    def _draw(self, cursor: QPointF | None = None) -> None:
        path = QPainterPath()
        if self.kind == "rect" and len(self._points) == 2:
            (ax, ay), (bx, by) = self._points
            path.addRect(QRectF(QPointF(ax, ay), QPointF(bx, by)).normalized())
        elif self._points:
            poly = QPolygonF([QPointF(x, y) for x, y in self._points] + ([cursor] if cursor and not self._dragged
                                                                          else []))
            path.addPolygon(poly)
            path.closeSubpath()
        self.outline.setPath(path)
        self.outline.show()

    # ------------------------------------------------------------------------------ edits
    def wand(self, x: int, y: int, mode: str = "replace") -> None:
        """Select by colour from (x, y). The flood fill on a 1600² window of a 24 MP photo takes 85-300 ms
        (benchmarks/gui_stall.py), so with a runner it runs in a worker; the original photo it reads is
        never written, so the worker needs no copy of it."""
        rgb, tolerance = self.doc.original, self.tolerance
        if self.runner is None:
            self.apply(wand_region(rgb, x, y, tolerance), mode, "Magic wand")
            return

        def done(out: Outcome) -> None:  # dropped by the runner when another photo was opened meanwhile
            if out.error is None and not out.cancelled:
                self.stack.after_transaction(lambda: self.apply(out.value, mode, "Magic wand"))

        self.runner.submit("wand", lambda _p, _c: wand_region(rgb, x, y, tolerance), done, lane=WAND_LANE)

    def apply(self, region: tuple[Rect, np.ndarray] | None, mode: str, what: str) -> bool:
        """Combine a selection with the mask as one undo step; False when nothing changed."""
        if region is None or not self.doc.is_open:
            return False
        (sx0, sy0, sx1, sy1), sel = region
        area = (sx0, sy0, sx1, sy1)
        if mode == "replace":
            area = union(area, self.doc.mask_bounds)  # everything painted outside the selection goes
        x0, y0, x1, y1 = area
        current = self.doc.mask[y0:y1, x0:x1]
        new = np.zeros_like(current) if mode == "replace" else current.copy()
        part = new[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0]
        if mode == "subtract":
            np.minimum(part, 255 - sel, out=part)
        else:
            np.maximum(part, sel, out=part)
        patches = tile_patches("mask", current, new, origin=(x0, y0))
        if not patches:
            return False
        suffix = {"replace": "", "add": " (add)", "subtract": " (subtract)"}[mode]
        self.stack.push(EditCommand(self.doc, f"{what} selection{suffix}", patches))
        if not self.doc.visible["mask"]:
            self.doc.set_visible("mask", True)  # a selection on a hidden mask would look like nothing happened
        return True
