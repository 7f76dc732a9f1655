"""The photo canvas: zoom under the cursor, pan (Space+drag, middle button or the hand tool), fit / 1:1,
brush strokes and face boxes in image pixel coordinates, hold-to-compare and the split line.

The canvas owns no pixels. It draws the Document's pyramids and reports what the user did as signals
in image coordinates; the brush tool and main window turn those into edits.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QTransform
from PySide6.QtWidgets import QFrame, QGraphicsRectItem, QGraphicsScene, QGraphicsView

from unmask_studio.core.io import is_supported
from unmask_studio.app.canvas_items import BrushOutline, FaceBoxItem, MaskOverlayItem, PhotoItem
from unmask_studio.app.document import Document

MIN_ZOOM, MAX_ZOOM = 1 / 64, 32.0
BACKGROUND = QColor(38, 39, 42)
TOOLS = ("pan", "brush", "eraser", "box", "heal", "clone", "rect", "lasso", "wand")  # the last five: edit_tools.py
OUTLINE_TOOLS = ("brush", "eraser", "heal", "clone")  # tools that paint with the brush size
CLICK_SLOP = 4  # view pixels a press may move and still count as a click (select) rather than a pan
COMPARE_KEY = Qt.Key.Key_C  # hold to see the original


class Canvas(QGraphicsView):
    stroke_started = Signal(QPointF)
    stroke_moved = Signal(QPointF)
    stroke_finished = Signal()
    box_drawn = Signal(tuple)  # x0, y0, x1, y1 image pixels
    cursor_moved = Signal(object)  # QPointF in image pixels, or None when off the photo
    zoom_changed = Signal(float)
    files_dropped = Signal(list)
    compare_held = Signal(bool)

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.setScene(QGraphicsScene(self))
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setBackgroundBrush(BACKGROUND)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)  # we anchor zoom ourselves
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.viewport().setAcceptDrops(True)  # drops arrive at the viewport, not the view itself

        self.photo = PhotoItem()
        self.overlay = MaskOverlayItem()
        self.overlay.setZValue(1)
        self.overlay.bounds = lambda: doc.mask_bounds
        self.outline = BrushOutline()
        self.outline.hide()
        self.rubber = QGraphicsRectItem()
        pen = QPen(QColor(255, 210, 60), 2, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        self.rubber.setPen(pen)
        self.rubber.setZValue(30)
        self.rubber.hide()
        for item in (self.photo, self.overlay, self.outline, self.rubber):
            self.scene().addItem(item)
        self.face_items: list[FaceBoxItem] = []

        self.tool = "pan"
        self.brush_size = 40.0
        self.compare = False
        self.split: float | None = None  # 0..1 fraction of the width, None = no split view
        self._fit = True
        self._space = False
        self._press_pos = QPoint()
        self._drag: str | None = None  # "pan" | "paint" | "box" while a mouse button is down
        self._last_pos = QPoint()
        self._box_start = QPointF()

        doc.opened.connect(self._on_opened)
        doc.pixels_changed.connect(self._on_pixels)
        doc.mask_changed.connect(self._on_mask)
        doc.faces_changed.connect(self._rebuild_faces)
        doc.face_selected.connect(self._on_face_selected)
        doc.layers_changed.connect(self._refresh_layers)

    # ------------------------------------------------------------------------- document events
    def _on_opened(self) -> None:
        d = self.doc.data
        self.photo.original = d.original if d else None
        self.photo.result = d.result if d else None
        self.overlay.mask = d.mask if d else None
        w, h = self.doc.size if d else (0, 0)
        for item in (self.photo, self.overlay):
            item.set_size(w, h)
        self.scene().setSceneRect(QRectF(0, 0, w, h))
        self._rebuild_faces()
        self._refresh_layers()
        self.fit()
        self.viewport().update()

    def _on_pixels(self, rect) -> None:
        self.photo.update(_qrect(rect) if rect else QRectF())

    def _on_mask(self, rect) -> None:
        self.overlay.update(_qrect(rect) if rect else QRectF())

    def _refresh_layers(self) -> None:
        v = self.doc.visible
        self.photo.show_original = v["original"]
        self.photo.show_result = v["result"] and self.doc.result_state.has_result and not self.compare
        self.photo.split_x = self.split * self.doc.size[0] if self.split is not None and self.doc.is_open else None
        # Comparing means looking at photo pixels: no tint or boxes over either side.
        clean = self.compare or self.photo.split_x is not None
        self.overlay.setVisible(v["mask"] and not clean)
        for item in self.face_items:
            item.setVisible(v["faces"] and not clean)
        self.photo.update()
        self.viewport().update()  # split line and labels are drawn in the foreground

    def _rebuild_faces(self) -> None:
        for item in self.face_items:
            self.scene().removeItem(item)
        self.face_items = [FaceBoxItem(i, f.box, f.manual) for i, f in enumerate(self.doc.faces)]
        for item in self.face_items:
            self.scene().addItem(item)
        self._on_face_selected(self.doc.selected_face)
        self._refresh_layers()

    def _on_face_selected(self, index: int) -> None:
        for item in self.face_items:
            item.set_selected(item.index == index)
        if 0 <= index < len(self.face_items):
            self.ensureVisible(self.face_items[index].rect(), 40, 40)

    # ------------------------------------------------------------------------- public controls
    def set_tool(self, tool: str) -> None:
        assert tool in TOOLS
        self.tool = tool
        self._update_cursor()

    def set_brush_size(self, size: float) -> None:
        self.brush_size = size
        self.outline.place(self.outline.rect().center(), size)

    def set_overlay_opacity(self, opacity: float) -> None:
        self.overlay.set_opacity_level(opacity)

    def set_compare(self, held: bool) -> None:
        if held != self.compare:
            self.compare = held
            self._refresh_layers()
            self.compare_held.emit(held)

    def set_split(self, fraction: float | None) -> None:
        self.split = fraction
        self._refresh_layers()

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def fit(self) -> None:
        self._fit = True
        if not self.doc.is_open:
            return
        w, h = self.doc.size
        vp = self.viewport().rect()
        margin = 16
        z = min((vp.width() - margin) / w, (vp.height() - margin) / h)
        self._set_zoom(max(MIN_ZOOM, min(MAX_ZOOM, z)))
        self.centerOn(w / 2, h / 2)

    def actual_size(self) -> None:
        self.zoom_at(1.0 / self.zoom, self.viewport().rect().center())

    def zoom_in(self) -> None:
        self.zoom_at(1.25, self.viewport().rect().center())

    def zoom_out(self) -> None:
        self.zoom_at(1 / 1.25, self.viewport().rect().center())

    def zoom_at(self, factor: float, view_pos: QPoint) -> None:
        """Zoom by ``factor`` keeping the image point under ``view_pos`` where it is on screen."""
        self._fit = False
        new = max(MIN_ZOOM, min(MAX_ZOOM, self.zoom * factor))
        anchor = self.mapToScene(view_pos)
        self._set_zoom(new)
        moved = self.mapFromScene(anchor) - view_pos
        self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() + moved.x())
        self.verticalScrollBar().setValue(self.verticalScrollBar().value() + moved.y())

    def _set_zoom(self, z: float) -> None:
        self.setTransform(QTransform.fromScale(z, z))
        self.zoom_changed.emit(z)

    # ------------------------------------------------------------------------- Qt events
    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fit()

    def wheelEvent(self, event) -> None:
        # Continuous factor: trackpads send small deltas, so zoom glides instead of jumping in steps.
        delta = event.angleDelta().y() or event.pixelDelta().y()
        if delta:
            self.zoom_at(1.0015 ** delta, event.position().toPoint())
        event.accept()

    def keyPressEvent(self, event) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = True
            self._update_cursor()
        elif event.key() == COMPARE_KEY:
            self.set_compare(True)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.isAutoRepeat():
            event.accept()
            return
        if event.key() == Qt.Key.Key_Space:
            self._space = False
            self._update_cursor()
        elif event.key() == COMPARE_KEY:
            self.set_compare(False)
        else:
            super().keyReleaseEvent(event)

    def focusOutEvent(self, event) -> None:
        # A key released while another widget had focus would otherwise leave us stuck panning/comparing.
        self._space = False
        self.set_compare(False)
        self._update_cursor()
        super().focusOutEvent(event)

    def enterEvent(self, event) -> None:
        if self.doc.is_open and self.window().isActiveWindow():
            self.setFocus(Qt.FocusReason.MouseFocusReason)  # so Space / C work without clicking first
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.outline.hide()
        self.cursor_moved.emit(None)
        super().leaveEvent(event)

    def mousePressEvent(self, event) -> None:
        pos = event.position().toPoint()
        btn = event.button()
        if btn == Qt.MouseButton.MiddleButton or (btn == Qt.MouseButton.LeftButton and
                                                   (self._space or self.tool == "pan")):
            self._drag, self._last_pos = "pan", pos
            self._press_pos = pos  # a click that does not move selects the face under it
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
        elif btn == Qt.MouseButton.LeftButton and self.doc.is_open and self.tool in ("brush", "eraser"):
            self._drag = "paint"
            self.stroke_started.emit(self.mapToScene(pos))
        elif btn == Qt.MouseButton.LeftButton and self.doc.is_open and self.tool == "box":
            self._drag = "box"
            self._box_start = self._clamp(self.mapToScene(pos))
            self.rubber.setRect(QRectF(self._box_start, self._box_start))
            self.rubber.show()
        event.accept()

    def mouseMoveEvent(self, event) -> None:
        pos = event.position().toPoint()
        scene = self.mapToScene(pos)
        if self._drag == "pan":
            d = pos - self._last_pos
            self._last_pos = pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - d.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - d.y())
        elif self._drag == "paint":
            self.stroke_moved.emit(scene)
        elif self._drag == "box":
            self.rubber.setRect(QRectF(self._box_start, self._clamp(scene)).normalized())
        if self.tool in OUTLINE_TOOLS and self.doc.is_open and not self._space:
            self.outline.place(scene, self.brush_size)
            self.outline.show()
        else:
            self.outline.hide()
        inside = self.doc.is_open and self.scene().sceneRect().contains(scene)
        self.cursor_moved.emit(scene if inside else None)
        event.accept()

    def mouseReleaseEvent(self, event) -> None:
        drag, self._drag = self._drag, None
        pos = event.position().toPoint()
        if drag == "paint":
            self.stroke_finished.emit()
        elif drag == "box":
            self.rubber.hide()
            r = self.rubber.rect()
            if r.width() >= 8 and r.height() >= 8:
                self.box_drawn.emit((int(r.left()), int(r.top()), int(r.right()), int(r.bottom())))
            else:  # a click, not a face: select the face box under it, if any
                self._select_at(pos)
        elif drag == "pan" and event.button() == Qt.MouseButton.LeftButton and \
                (pos - self._press_pos).manhattanLength() < CLICK_SLOP:
            self._select_at(pos)
        self._update_cursor()
        event.accept()

    def face_at(self, view_pos: QPoint) -> int:
        """Index of the face whose box contains ``view_pos`` (the smallest, when boxes nest), or -1."""
        p = self.mapToScene(view_pos)
        hits = [it for it in self.face_items if it.isVisible() and it.rect().contains(p)]
        if not hits:
            return -1
        return min(hits, key=lambda it: it.rect().width() * it.rect().height()).index

    def _select_at(self, view_pos: QPoint) -> None:
        if self.doc.is_open:
            self.doc.select_face(self.face_at(view_pos))

    def dragEnterEvent(self, event) -> None:
        if _dropped_files(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:
        files = _dropped_files(event)
        if files:
            event.acceptProposedAction()
            self.files_dropped.emit(files)

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        painter.save()
        painter.resetTransform()  # draw in viewport pixels
        vp = self.viewport().rect()
        if not self.doc.is_open:
            painter.setPen(QColor(150, 152, 158))
            f = QFont(painter.font())
            f.setPointSizeF(f.pointSizeF() * 1.4)
            painter.setFont(f)
            painter.drawText(vp, Qt.AlignmentFlag.AlignCenter,
                             "Open a photo (Ctrl+O) or drop one here\n\n"
                             "Then click “Remove masks”")
        elif self.photo.split_x is not None:
            x = self.mapFromScene(QPointF(self.photo.split_x, 0)).x()
            painter.setPen(QPen(QColor(255, 255, 255, 220), 2))
            painter.drawLine(x, 0, x, vp.height())
            self._tag(painter, x - 8, "Before", right_align=True)
            self._tag(painter, x + 8, "After")
        if self.compare and self.doc.is_open:
            self._tag(painter, 12, "Original (release C)")
        painter.restore()

    @staticmethod
    def _tag(painter: QPainter, x: int, text: str, right_align: bool = False) -> None:
        fm = painter.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 16, fm.height() + 8
        r = QRectF(x - w if right_align else x, 12, w, h)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 160))
        painter.drawRoundedRect(r, 4, 4)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    # ------------------------------------------------------------------------- helpers
    def _clamp(self, p: QPointF) -> QPointF:
        r = self.scene().sceneRect()
        return QPointF(min(max(p.x(), r.left()), r.right()), min(max(p.y(), r.top()), r.bottom()))

    def _update_cursor(self) -> None:
        if self._space or self.tool == "pan":
            shape = Qt.CursorShape.OpenHandCursor
        elif self.tool == "box":
            shape = Qt.CursorShape.CrossCursor
        else:
            shape = Qt.CursorShape.CrossCursor
        self.viewport().setCursor(shape)
        if self.tool not in OUTLINE_TOOLS or self._space:
            self.outline.hide()


def _qrect(rect) -> QRectF:
    x0, y0, x1, y1 = rect
    return QRectF(x0, y0, x1 - x0, y1 - y0)


def _dropped_files(event) -> list[str]:
    md = event.mimeData()
    if not md.hasUrls():
        return []
    return [u.toLocalFile() for u in md.urls() if u.isLocalFile() and is_supported(Path(u.toLocalFile()))]
