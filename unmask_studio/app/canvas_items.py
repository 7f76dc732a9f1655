"""Scene items that draw the document: the photo (original / result / split), the tinted mask overlay,
face boxes and the brush outline.

The photo items draw only the exposed part of the pyramid level that matches the current zoom, so a
repaint costs about one viewport of pixels whatever the photo size (a 24 MP photo at fit-to-window
draws from a ~1.5 MP level, at 100 % from a viewport-sized slice of the full image).
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem, QGraphicsRectItem

from unmask_studio.app.pyramid import Pyramid

MASK_TINT = QColor(255, 64, 96)
FACE_COLOR = QColor(80, 200, 255)
FACE_SELECTED = QColor(255, 210, 60)


def rgb_qimage(arr: np.ndarray) -> QImage:
    """Zero-copy QImage over a C-contiguous HxWx3 uint8 array (keep ``arr`` alive while drawing)."""
    h, w = arr.shape[:2]
    return QImage(arr.data, w, h, arr.strides[0], QImage.Format.Format_RGB888)


def _draw_level(painter: QPainter, pyr: Pyramid, rect: QRectF, scale: float, make_image,
                coarser: float = 0.0) -> None:
    """Draw ``rect`` (image coordinates) of ``pyr`` from the level suited to ``scale``."""
    k = pyr.level_for_scale(scale, coarser)
    level, f = pyr.levels[k], 2 ** k
    lh, lw = level.shape[:2]
    x0, y0 = max(0, int(rect.left() // f)), max(0, int(rect.top() // f))
    x1, y1 = min(lw, int(math.ceil(rect.right() / f))), min(lh, int(math.ceil(rect.bottom() / f)))
    if x1 <= x0 or y1 <= y0:
        return
    region = np.ascontiguousarray(level[y0:y1, x0:x1])
    image = make_image(region)
    # Smooth when shrinking or mildly enlarging; hard pixels when zoomed in, for precise mask work.
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale * f < 2.0)
    painter.save()
    painter.setClipRect(rect)
    painter.drawImage(QRectF(x0 * f, y0 * f, (x1 - x0) * f, (y1 - y0) * f), image)
    painter.restore()


class _PyramidItem(QGraphicsItem):
    def __init__(self):
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption)  # accurate exposedRect
        self._rect = QRectF()

    def set_size(self, w: int, h: int) -> None:
        self.prepareGeometryChange()
        self._rect = QRectF(0, 0, w, h)

    def boundingRect(self) -> QRectF:
        return self._rect


class PhotoItem(_PyramidItem):
    """The photo as the user currently wants to see it: result, original, or split before/after."""

    def __init__(self):
        super().__init__()
        self.original: Pyramid | None = None
        self.result: Pyramid | None = None
        self.show_original = True
        self.show_result = False
        self.split_x: float | None = None  # image x of the before|after line, None = no split

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.original is None:
            return
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        exposed = option.exposedRect.intersected(self._rect)
        for pyr, clip in self._sources():
            r = exposed.intersected(clip)
            if not r.isEmpty():
                _draw_level(painter, pyr, r, scale, rgb_qimage)

    def _sources(self):
        full = self._rect
        if self.show_result and self.result is not None:
            if self.split_x is None:
                return [(self.result, full)]
            x = max(0.0, min(full.width(), self.split_x))
            left = QRectF(0, 0, x, full.height())
            right = QRectF(x, 0, full.width() - x, full.height())
            return [(self.original, left), (self.result, right)]
        return [(self.original, full)] if self.show_original else []


class MaskOverlayItem(_PyramidItem):
    """The removal mask as a translucent tint; a colour table turns mask values into alpha directly."""

    def __init__(self):
        super().__init__()
        self.mask: Pyramid | None = None
        self.bounds = lambda: None  # () -> Rect | None: where the mask may be non-zero
        self._table: list[int] = []
        self.set_opacity_level(0.5)

    def set_opacity_level(self, opacity: float) -> None:
        c = MASK_TINT
        self._table = [QColor(c.red(), c.green(), c.blue(), int(round(v * opacity))).rgba() for v in range(256)]
        self.update()

    def _image(self, region: np.ndarray) -> QImage:
        h, w = region.shape
        img = QImage(region.data, w, h, region.strides[0], QImage.Format.Format_Indexed8)
        img.setColorTable(self._table)
        return img

    def paint(self, painter: QPainter, option, widget=None) -> None:
        if self.mask is None:
            return
        b = self.bounds()
        if b is None:
            return  # empty mask: nothing to convert and blend
        scale = option.levelOfDetailFromTransform(painter.worldTransform())
        r = option.exposedRect.intersected(QRectF(b[0], b[1], b[2] - b[0], b[3] - b[1]))
        if not r.isEmpty():
            _draw_level(painter, self.mask, r, scale, self._image, coarser=0.7)


class FaceLabel(QGraphicsItem):
    """"Face 1" tag on a box's corner, in screen pixels so it stays readable at any zoom."""

    def __init__(self, text: str, parent: QGraphicsItem):
        super().__init__(parent)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.text, self.color = text, FACE_COLOR
        self.font = QFont()
        self.font.setBold(True)
        w = QFontMetricsF(self.font).horizontalAdvance(text) + 12
        self._rect = QRectF(0, -QFontMetricsF(self.font).height() - 6, w, QFontMetricsF(self.font).height() + 6)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.color)
        painter.drawRoundedRect(self._rect, 3, 3)
        painter.setPen(QColor(20, 22, 26))
        painter.setFont(self.font)
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)


class FaceBoxItem(QGraphicsRectItem):
    def __init__(self, index: int, box, manual: bool):
        x0, y0, x1, y1 = box
        super().__init__(QRectF(x0, y0, x1 - x0, y1 - y0))
        self.index = index
        self.label = FaceLabel(f"Face {index + 1}{' (by hand)' if manual else ''}", self)
        self.label.setPos(QPointF(x0, y0))
        self.set_selected(False)

    def set_selected(self, selected: bool) -> None:
        color = FACE_SELECTED if selected else FACE_COLOR
        pen = QPen(color, 3 if selected else 2)
        pen.setCosmetic(True)  # same thickness on screen at any zoom
        if not selected:
            pen.setStyle(Qt.PenStyle.DashLine)
        self.setPen(pen)
        self.label.color = color
        self.label.update()
        self.setZValue(11 if selected else 10)


class BrushOutline(QGraphicsEllipseItem):
    """Circle showing the brush footprint in image pixels; black+white so it reads on any photo."""

    def __init__(self):
        super().__init__()
        pen = QPen(QColor(255, 255, 255, 230), 1.5)
        pen.setCosmetic(True)
        self.setPen(pen)
        self.inner = QGraphicsEllipseItem(self)
        dark = QPen(QColor(0, 0, 0, 160), 1)
        dark.setCosmetic(True)
        self.inner.setPen(dark)
        self.setZValue(20)
        self.size = 40.0

    def place(self, pos: QPointF, size: float | None = None) -> None:
        if size is not None:
            self.size = size
        r = self.size / 2
        self.setRect(QRectF(pos.x() - r, pos.y() - r, 2 * r, 2 * r))
        self.inner.setRect(QRectF(pos.x() - r + 1, pos.y() - r + 1, 2 * r - 2, 2 * r - 2))
