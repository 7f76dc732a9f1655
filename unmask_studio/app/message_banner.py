"""A non-modal message strip above the canvas: errors and hints never block the user with a dialog."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton

COLORS = {"info": "#2d4a66", "warning": "#6b5418", "error": "#7a2630"}
AUTO_HIDE_MS = {"info": 9000}  # warnings and errors stay until read and closed


class MessageBanner(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.action_btn = QPushButton()
        self.action_btn.hide()
        self.action_btn.clicked.connect(self._run_action)
        self._on_action = None
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 6, 6)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.action_btn)
        lay.addWidget(close)
        self._timer = QTimer(self, singleShot=True, timeout=self.hide)
        self.level = ""
        self.hide()

    def show_message(self, level: str, text: str, action_text: str = "", on_action=None) -> None:
        self.level = level
        self.setStyleSheet(f"#messageBanner {{ background: {COLORS.get(level, COLORS['info'])}; border-radius: 4px; }}"
                           "#messageBanner QLabel { color: white; }")
        self.label.setText(text)
        self._on_action = on_action
        if action_text and on_action:
            self.action_btn.setText(action_text)
            self.action_btn.show()
        else:
            self.action_btn.hide()
        self.show()
        if level in AUTO_HIDE_MS:
            self._timer.start(AUTO_HIDE_MS[level])
        else:
            self._timer.stop()

    def _run_action(self) -> None:
        self.hide()
        if self._on_action is not None:
            self._on_action()

    @property
    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""
