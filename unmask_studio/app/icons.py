"""Toolbar icons: Qt's standard pixmaps where one fits, otherwise small line drawings made here, so the
app needs no icon files and no desktop icon theme (which Windows and macOS do not have)."""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication, QStyle

INK = QColor(225, 228, 234)
ACCENT = QColor(90, 170, 250)
RED = QColor(255, 90, 110)

STANDARD = {
    "open": QStyle.StandardPixmap.SP_DialogOpenButton,
    "save": QStyle.StandardPixmap.SP_DialogSaveButton,
    "cancel": QStyle.StandardPixmap.SP_DialogCancelButton,
}


def _pen(color=INK, width=2.2) -> QPen:
    pen = QPen(color, width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    return pen


def _draw(name: str, p: QPainter) -> None:
    p.setPen(_pen())
    p.setBrush(Qt.BrushStyle.NoBrush)
    if name == "brush":
        p.drawLine(QPointF(22, 6), QPointF(12, 18))
        p.setBrush(RED)
        p.setPen(_pen(RED, 1.5))
        p.drawEllipse(QRectF(6, 17, 9, 9))
    elif name == "eraser":
        p.setBrush(QColor(200, 200, 210))
        p.drawPolygon(QPolygonF([QPointF(6, 19), QPointF(16, 8), QPointF(25, 16), QPointF(18, 24), QPointF(10, 24)]))
        p.drawLine(QPointF(10, 24), QPointF(26, 24))
    elif name == "hand":
        path = QPainterPath()
        path.moveTo(10, 26)
        path.lineTo(7, 16)
        for x in (10, 14, 18, 22):
            path.moveTo(x, 18)
            path.lineTo(x, 7 if x in (14, 18) else 9)
        p.drawPath(path)
        p.drawRoundedRect(QRectF(9, 15, 14, 11), 4, 4)
    elif name == "face_box":
        p.setPen(_pen(ACCENT, 2))
        p.drawRect(QRectF(5, 5, 22, 22))
        p.setPen(_pen())
        p.drawEllipse(QRectF(10, 8, 12, 15))
        p.drawLine(QPointF(26, 22), QPointF(26, 30))
        p.drawLine(QPointF(22, 26), QPointF(30, 26))
    elif name == "detect":
        p.drawEllipse(QRectF(9, 6, 14, 18))
        p.setPen(_pen(ACCENT, 2))
        for a, b, c in (((4, 10), (4, 4), (10, 4)), ((22, 4), (28, 4), (28, 10)),
                        ((4, 22), (4, 28), (10, 28)), ((22, 28), (28, 28), (28, 22))):
            p.drawPolyline(QPolygonF([QPointF(*a), QPointF(*b), QPointF(*c)]))
    elif name == "remove":
        p.drawEllipse(QRectF(7, 4, 16, 20))
        p.setPen(_pen(RED, 2))
        p.drawLine(QPointF(8, 16), QPointF(22, 16))
        p.setPen(_pen(ACCENT, 2))
        for cx, cy, r in ((25, 24, 4), (19, 28, 2)):
            p.drawLine(QPointF(cx - r, cy), QPointF(cx + r, cy))
            p.drawLine(QPointF(cx, cy - r), QPointF(cx, cy + r))
    elif name == "reinpaint":
        p.drawArc(QRectF(6, 6, 20, 20), 30 * 16, 280 * 16)
        p.drawPolyline(QPolygonF([QPointF(26, 4), QPointF(26, 11), QPointF(19, 11)]))
    elif name in ("undo", "redo"):
        if name == "redo":  # mirror image of undo
            p.translate(32, 0)
            p.scale(-1, 1)
        path = QPainterPath(QPointF(8, 13))
        path.lineTo(19, 13)
        path.cubicTo(QPointF(27, 13), QPointF(27, 26), QPointF(19, 26))
        path.lineTo(13, 26)
        p.drawPath(path)
        p.drawPolyline(QPolygonF([QPointF(13, 8), QPointF(8, 13), QPointF(13, 18)]))
    elif name in ("zoom_in", "zoom_out"):
        p.drawEllipse(QRectF(5, 5, 16, 16))
        p.drawLine(QPointF(19, 19), QPointF(27, 27))
        p.drawLine(QPointF(9, 13), QPointF(17, 13))
        if name == "zoom_in":
            p.drawLine(QPointF(13, 9), QPointF(13, 17))
    elif name == "fit":
        for a, b, c in (((5, 11), (5, 5), (11, 5)), ((21, 5), (27, 5), (27, 11)),
                        ((5, 21), (5, 27), (11, 27)), ((21, 27), (27, 27), (27, 21))):
            p.drawPolyline(QPolygonF([QPointF(*a), QPointF(*b), QPointF(*c)]))
    elif name == "actual":
        p.setFont(p.font())
        f = p.font()
        f.setPixelSize(13)
        f.setBold(True)
        p.setFont(f)
        p.drawText(QRectF(0, 0, 32, 32), Qt.AlignmentFlag.AlignCenter, "1:1")
    elif name == "compare":
        p.drawRect(QRectF(4, 7, 24, 18))
        p.setBrush(INK)
        p.drawRect(QRectF(4, 7, 12, 18))
        p.drawLine(QPointF(16, 4), QPointF(16, 28))


@lru_cache(maxsize=None)
def icon(name: str) -> QIcon:
    if name in STANDARD:
        return QApplication.style().standardIcon(STANDARD[name])
    pm = QPixmap(32, 32)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    _draw(name, p)
    p.end()
    return QIcon(pm)
