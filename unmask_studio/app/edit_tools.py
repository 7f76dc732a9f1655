"""The retouch and selection tools in the main window: heal brush, clone stamp, rectangle, lasso, magic wand.

Wired in from outside so the window, canvas and toolbar need only a few lines: the tools' actions join
the window's tool group, toolbar and Edit menu, and mouse input for them is taken from the canvas's
viewport by an event filter (the canvas keeps panning with Space or the middle button, zoom and the
brush outline). Keys: J heal, S clone (Alt-click sets the source), M rectangle, L lasso, W magic wand;
Shift adds to the mask, Alt takes away.
"""
from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

from unmask_studio.app.heal_tool import CloneTool, HealTool
from unmask_studio.app.selection_tool import SelectionTool

RETOUCH = ("heal", "clone")
SELECT = ("rect", "lasso", "wand")
TOOLS = RETOUCH + SELECT
HINTS = {
    "heal": "Paint over a strap, loop or blemish: it is replaced from its surroundings.",
    "clone": "Alt-click where to copy from, then paint.",
    "rect": "Drag a rectangle: replaces the removal mask (Shift adds, Alt takes away).",
    "lasso": "Drag around an area, or click corners and double-click to close (Shift adds, Alt takes away).",
    "wand": "Click the covering to select it by colour (Shift adds, Alt takes away).",
}


class EditTools(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.w = window
        doc, stack, brush = window.doc, window.stack, window.brush
        self.heal = HealTool(doc, stack, window.runner, lambda: brush.size, parent=self)
        self.clone = CloneTool(doc, stack, lambda: brush.size, lambda: brush.hardness, parent=self)
        self.select = SelectionTool(doc, stack, window.runner, self)
        scene = window.canvas.scene()
        for item in (self.heal.preview, self.clone.marker, self.select.outline):
            scene.addItem(item)
        for src in (self.heal, self.clone, self.select):
            src.message.connect(window.show_message)
        self._dragging = False
        self.actions = {
            "heal": window._action("&Heal brush", lambda: window.set_tool("heal"), "J", None,
                                   "Paint over a strap or blemish to replace it from its surroundings", True),
            "clone": window._action("&Clone stamp", lambda: window.set_tool("clone"), "S", None,
                                    "Alt-click a source, then paint to copy it", True),
            "rect": window._action("&Rectangle select", lambda: window.set_tool("rect"), "M", None,
                                   "Select a rectangle for the removal mask", True),
            "lasso": window._action("&Lasso select", lambda: window.set_tool("lasso"), "L", None,
                                    "Select a freehand or polygon area for the removal mask", True),
            "wand": window._action("Magic &wand", lambda: window.set_tool("wand"), "W", None,
                                   "Select the covering by its colour for the removal mask", True),
        }
        for name, a in self.actions.items():
            a.setIcon(tool_icon(name))
            window.tool_group.addAction(a)
        self._add_to_toolbar_and_menu()
        window.canvas.viewport().installEventFilter(self)

    def _add_to_toolbar_and_menu(self) -> None:
        tb, before = self.w.toolbar, self.w.act_zoom_out
        tb.insertSeparator(before)  # lands before zoom: [... brush eraser | heal clone | rect lasso wand | zoom]
        for name in TOOLS:
            tb.insertAction(before, self.actions[name])
            if name == "clone":
                tb.insertSeparator(before)
        tb.insertSeparator(before)
        edit = next(a.menu() for a in self.w.menuBar().actions() if a.menu() and a.text() == "&Edit")
        anchor = self.w.act_smaller
        for name in TOOLS:
            edit.insertAction(anchor, self.actions[name])
        edit.insertSeparator(anchor)

    # ------------------------------------------------------------------------------ window hooks
    def on_tool(self, tool: str) -> None:
        """The window switched tools: set the selection kind, show the hint, cancel half-made selections."""
        self.select.cancel()
        # The clone source circle belongs to the clone stamp: hidden with any other tool, back with it.
        self.clone.marker.setVisible(tool == "clone" and self.clone.source is not None)
        if tool in SELECT:
            self.select.kind = tool
            if self.w.doc.is_open and not self.w.doc.visible["mask"]:
                self.w.doc.set_visible("mask", True)
        if tool in HINTS and self.w.doc.is_open:
            self.w.status_text.setText(HINTS[tool])

    def set_enabled(self, has_photo: bool) -> None:
        for a in self.actions.values():
            a.setEnabled(has_photo)

    def abort(self) -> bool:
        """Esc: take back an open clone stroke or a half-drawn selection. True when there was one."""
        if self.clone.stroking:
            self.clone.abort()
            return True
        if self.select.active or self.select.outline.isVisible():
            self.select.cancel()
            return True
        return False

    # ------------------------------------------------------------------------------ canvas input
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        canvas = self.w.canvas
        kind = event.type()
        if canvas.tool not in TOOLS or kind not in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseMove,
                                                     QEvent.Type.MouseButtonRelease,
                                                     QEvent.Type.MouseButtonDblClick):
            return False
        if kind == QEvent.Type.MouseMove:
            if self._dragging or (canvas.tool == "lasso" and self.select.outline.isVisible()):
                self._move(canvas.tool, canvas.mapToScene(event.position().toPoint()))
            return False  # the canvas still tracks the cursor and the brush outline
        if event.button() != Qt.MouseButton.LeftButton or canvas._space or not self.w.doc.is_open:
            return False  # panning with Space or the middle button stays the canvas's
        pos = canvas.mapToScene(event.position().toPoint())
        if kind == QEvent.Type.MouseButtonDblClick:
            if canvas.tool == "lasso":
                self.select.finish_polygon()
            return True
        if kind == QEvent.Type.MouseButtonPress:
            self._press(canvas.tool, pos, event.modifiers())
        elif self._dragging:
            self._dragging = False
            self._release(canvas.tool, pos)
        return True

    def _press(self, tool: str, pos: QPointF, modifiers) -> None:
        if tool == "clone" and modifiers & Qt.KeyboardModifier.AltModifier:
            self.clone.set_source(pos)
            return
        self._dragging = True
        if tool == "heal":
            self.heal.begin(pos)
        elif tool == "clone":
            self.clone.begin(pos)
        else:
            self.select.press(pos, modifiers)

    def _move(self, tool: str, pos: QPointF) -> None:
        {"heal": self.heal.move, "clone": self.clone.move}.get(tool, self.select.move)(pos)

    def _release(self, tool: str, pos: QPointF) -> None:
        if tool == "heal":
            self.heal.end()
        elif tool == "clone":
            self.clone.end()
        else:
            self.select.release(pos)


@lru_cache(maxsize=None)
def tool_icon(name: str) -> QIcon:
    """Small line drawings in the style of app/icons.py (no icon files needed)."""
    pm = QPixmap(32, 32)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    ink, accent = QColor(225, 228, 234), QColor(90, 170, 250)
    pen = QPen(ink, 2.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    if name == "heal":  # a plaster
        p.translate(16, 16)
        p.rotate(-45)
        p.drawRoundedRect(QRectF(-13, -5, 26, 10), 5, 5)
        p.setBrush(accent)
        p.drawRect(QRectF(-4, -5, 8, 10))
    elif name == "clone":  # a stamp
        p.drawRoundedRect(QRectF(12, 4, 8, 10), 3, 3)
        p.drawLine(QPointF(16, 14), QPointF(16, 19))
        p.setBrush(accent)
        p.drawRoundedRect(QRectF(6, 19, 20, 6), 2, 2)
        p.drawLine(QPointF(6, 28), QPointF(26, 28))
    elif name == "rect":
        p.setPen(QPen(ink, 2, Qt.PenStyle.DashLine))
        p.drawRect(QRectF(5, 8, 22, 16))
    elif name == "lasso":
        p.setPen(QPen(ink, 2, Qt.PenStyle.DashLine))
        p.drawEllipse(QRectF(5, 5, 22, 15))
        p.setPen(pen)
        path = QPainterPath(QPointF(9, 18))
        path.cubicTo(QPointF(6, 24), QPointF(12, 26), QPointF(10, 30))
        p.drawPath(path)
    elif name == "wand":
        p.drawLine(QPointF(6, 27), QPointF(20, 13))
        p.setPen(QPen(accent, 2))
        for a, b in (((23, 4), (23, 10)), ((20, 7), (26, 7)), ((27, 12), (29, 14)), ((17, 3), (18, 5))):
            p.drawLine(QPointF(*a), QPointF(*b))
    p.end()
    return QIcon(pm)
