"""Window layout helpers that keep the editor usable from an 800x600 screen up: the canvas with the
message banner floating over it, and a toolbar that drops button labels instead of hiding tools.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QStyle, QToolBar, QVBoxLayout, QWidget

BANNER_MARGIN = 6


class CanvasArea(QWidget):
    """The canvas fills the area; the banner floats over its top edge.

    In the layout, a banner that appears (or wraps to more lines) would shrink the canvas, and a
    photo shown "fit to window" would be zoomed out and back again with every message."""

    def __init__(self, canvas: QWidget, banner: QWidget, parent=None):
        super().__init__(parent)
        self.canvas, self.banner = canvas, banner
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(canvas)
        banner.setParent(self)
        self.place_banner()

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.place_banner()

    def place_banner(self) -> None:
        """Over the top of the canvas, as tall as its (wrapped) text needs; call after changing it."""
        width = max(100, self.width() - 2 * BANNER_MARGIN)
        hint = self.banner.heightForWidth(width)
        height = hint if hint > 0 else self.banner.sizeHint().height()
        self.banner.setGeometry(BANNER_MARGIN, BANNER_MARGIN, width, height)
        self.banner.raise_()


def fit_toolbar(toolbar: QToolBar, width: int, with_text: list[QAction], drop_order: list[QAction]) -> None:
    """Show labels on ``with_text`` buttons, then drop them in ``drop_order`` until the toolbar fits
    ``width``: every tool stays visible (no "»" overflow menu), only its label goes."""
    for a in _buttons(toolbar):
        button = toolbar.widgetForAction(a)
        button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon if a in with_text
                                  else Qt.ToolButtonStyle.ToolButtonIconOnly)
    for a in drop_order:
        if _needed_width(toolbar) <= width:
            return
        toolbar.widgetForAction(a).setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)


def _needed_width(toolbar: QToolBar) -> int:
    # Not toolbar.layout(): PySide wraps Qt's private QToolBarLayout and may delete it when collected.
    margins = toolbar.contentsMargins()
    spacing = toolbar.style().pixelMetric(QStyle.PixelMetric.PM_ToolBarItemSpacing, None, toolbar)
    total = margins.left() + margins.right() + 8  # the handle area Fusion keeps even when not movable
    for a in toolbar.actions():
        # Separators: their widget is a private Qt class, which PySide must never wrap (it would own it).
        total += 8 if a.isSeparator() else toolbar.widgetForAction(a).sizeHint().width() + spacing
    return total


def _buttons(toolbar: QToolBar) -> list[QAction]:
    return [a for a in toolbar.actions() if not a.isSeparator()]
