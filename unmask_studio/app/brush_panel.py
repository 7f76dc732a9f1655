"""Mask brush panel: brush / eraser, size and hardness, grow / shrink / feather, clear / invert,
load / save a mask PNG, and Fill again with the edited mask."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider,
                               QSpinBox, QToolButton, QVBoxLayout, QWidget)

from unmask_studio.app.brush_tool import MAX_SIZE, MIN_SIZE, BrushTool


def _action_button(action: QAction) -> QToolButton:
    b = QToolButton()
    b.setDefaultAction(action)
    b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return b


class BrushPanel(QWidget):
    message = Signal(str, str)
    load_mask_requested = Signal()
    save_mask_requested = Signal()

    def __init__(self, tool: BrushTool, brush_action: QAction, eraser_action: QAction, reinpaint_action: QAction,
                 parent=None):
        super().__init__(parent)
        self.tool = tool

        tools = QHBoxLayout()
        tools.addWidget(_action_button(brush_action))
        tools.addWidget(_action_button(eraser_action))

        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setRange(MIN_SIZE, 400)
        self.size_spin = QSpinBox()
        self.size_spin.setRange(MIN_SIZE, MAX_SIZE)
        self.size_spin.setSuffix(" px")
        self.size_spin.setToolTip("Brush diameter in photo pixels ([ and ] change it)")
        self.size_slider.setToolTip(self.size_spin.toolTip())
        self.size_slider.valueChanged.connect(lambda v: tool.set_size(v))
        self.size_spin.valueChanged.connect(lambda v: tool.set_size(v))

        self.hard_slider = QSlider(Qt.Orientation.Horizontal)
        self.hard_slider.setRange(0, 100)
        self.hard_slider.setToolTip("Soft edge (0 %) to crisp edge (100 %)")
        self.hard_label = QLabel()
        self.hard_label.setMinimumWidth(44)
        self.hard_slider.valueChanged.connect(lambda v: tool.set_hardness(v / 100))

        grid = QGridLayout()
        grid.addWidget(QLabel("Size"), 0, 0)
        grid.addWidget(self.size_slider, 0, 1)
        grid.addWidget(self.size_spin, 0, 2)
        grid.addWidget(QLabel("Hardness"), 1, 0)
        grid.addWidget(self.hard_slider, 1, 1)
        grid.addWidget(self.hard_label, 1, 2)
        grid.setColumnStretch(1, 1)

        # Mask operations: each is one undo step.
        self.px = QSpinBox()
        self.px.setRange(1, 100)
        self.px.setValue(3)
        self.px.setSuffix(" px")
        self.px.setToolTip("How far Grow / Shrink / Feather reach, in photo pixels")
        ops = QGridLayout()
        for col, (op, text, tip) in enumerate((("grow", "Grow", "Enlarge the mask"),
                                               ("shrink", "Shrink", "Make the mask smaller"),
                                               ("feather", "Feather", "Soften the mask edge outwards"))):
            b = QPushButton(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, o=op: self._op(o))
            ops.addWidget(b, 0, col)
        ops.addWidget(self.px, 0, 3)
        clear, invert = QPushButton("Clear"), QPushButton("Invert")
        clear.setToolTip("Remove the whole mask")
        invert.setToolTip("Swap what is removed and what is kept")
        clear.clicked.connect(lambda: self._op("clear"))
        invert.clicked.connect(tool.invert)
        load, save = QPushButton("Load PNG…"), QPushButton("Save PNG…")
        load.setToolTip("Use a mask image (white = remove) of the same size as the photo")
        save.setToolTip("Save the removal mask as a black-and-white PNG")
        load.clicked.connect(self.load_mask_requested)
        save.clicked.connect(self.save_mask_requested)
        ops.addWidget(clear, 1, 0)
        ops.addWidget(invert, 1, 1)
        ops.addWidget(load, 1, 2)
        ops.addWidget(save, 1, 3)
        box = QGroupBox("Whole mask")
        box.setLayout(ops)

        reinpaint = _action_button(reinpaint_action)
        reinpaint.setObjectName("primaryButton")
        reinpaint.setMinimumHeight(34)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(tools)
        lay.addLayout(grid)
        lay.addWidget(box)
        lay.addWidget(reinpaint)
        lay.addStretch(1)

        tool.settings_changed.connect(self.sync)
        self.sync()

    def sync(self) -> None:
        """Show the tool's current settings (they also change by keyboard: [ and ])."""
        size = int(round(self.tool.size))
        for w, v in ((self.size_slider, min(size, self.size_slider.maximum())), (self.size_spin, size),
                     (self.hard_slider, int(round(self.tool.hardness * 100)))):
            blocker = QSignalBlocker(w)
            w.setValue(v)
            blocker.unblock()
        self.hard_label.setText(f"{self.hard_slider.value()}%")

    def _op(self, op: str) -> None:
        if not self.tool.apply_op(op, self.px.value()):
            self.message.emit("info", "The mask is empty: paint over what should be removed first."
                              if op != "shrink" else "Nothing to shrink.")
