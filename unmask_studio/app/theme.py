"""A calm dark-neutral look: Fusion style with a dark palette, so photos are judged against grey."""
from __future__ import annotations

from pathlib import Path

import platformdirs
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication

ACCENT = QColor(64, 140, 220)

STYLE = """
QToolBar { spacing: 2px; padding: 2px 4px; border: none; }
QToolBar QToolButton { padding: 3px 6px; }
QDockWidget::title { padding: 5px 8px; background: #2b2c30; font-weight: bold; }
QGroupBox { margin-top: 12px; padding-top: 6px; border: 1px solid #3c3e44; border-radius: 4px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #b8bcc4; }
QToolButton#primaryButton { background: #2f6fb4; color: white; border-radius: 4px; font-weight: bold; }
QToolButton#primaryButton:hover { background: #3a80c8; }
QToolButton#primaryButton:disabled { background: #3a3c42; color: #80838a; }
QTreeWidget, QUndoView, QListView { background: #232427; border: 1px solid #3c3e44; }
QTreeWidget::indicator { width: 13px; height: 13px; border: 1px solid #9a9ea8; border-radius: 3px;
                         background: #1c1d20; }
QTreeWidget::indicator:checked { background: #4a8fd8; border-color: #6aa8ec; image: url(CHECK); }
QTreeWidget::indicator:disabled { border-color: #5a5d64; }
QTreeWidget::item { padding: 2px 0; }
QStatusBar QLabel { padding: 0 6px; color: #c8ccd4; }
"""


def _check_mark() -> str:
    """A white tick for checked boxes: style sheets can only show a tick from an image file."""
    path = Path(platformdirs.user_cache_dir("unmask-studio", appauthor=False)) / "check.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pm = QPixmap(26, 26)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor("white"), 4, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin)
        p.setPen(pen)
        p.drawPolyline(QPolygonF([QPointF(5, 13), QPointF(11, 19), QPointF(21, 7)]))
        p.end()
        pm.save(str(path))
    return path.as_posix()


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    window, base, text = QColor(48, 49, 53), QColor(35, 36, 39), QColor(222, 224, 228)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(30, 31, 34))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(58, 60, 65))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    p.setColor(QPalette.ColorRole.Highlight, ACCENT)
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, ACCENT.lighter(130))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 133, 140))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 123, 130))
    app.setPalette(p)
    app.setStyleSheet(STYLE.replace("CHECK", _check_mark()))
