"""Layers: result, removal mask (tinted overlay), one item per face, original photo; plus the compare
controls (hold to see the original, before/after split).

Visibility is a view setting, not an edit of the photo, so toggling it is not an undo step (nor
makes the photo "unsaved"); the list itself is rebuilt from the Document whenever it reports a
change, so it can never disagree with what the canvas shows.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, QSignalBlocker, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from unmask_studio.app.document import Document

ROLE_LAYER = Qt.ItemDataRole.UserRole
ROLE_FACE = Qt.ItemDataRole.UserRole + 1


def _slider(lo: int, hi: int, value: int) -> QSlider:
    s = QSlider(Qt.Orientation.Horizontal)
    s.setRange(lo, hi)
    s.setValue(value)
    return s


class LayersPanel(QWidget):
    opacity_changed = Signal(float)
    split_changed = Signal(object)  # fraction 0..1, or None when the split view is off
    compare_held = Signal(bool)
    delete_face = Signal(int)
    face_menu_requested = Signal(int, QPoint)  # right-click on a face: its index, the global position

    def __init__(self, doc: Document, opacity: float = 0.5, parent=None):
        super().__init__(parent)
        self.doc = doc
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setMinimumHeight(80)  # room for the rows under it on a 600 px tall screen
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._on_context_menu)

        self.opacity = _slider(0, 100, int(round(opacity * 100)))
        self.opacity.setToolTip("How strongly the removal mask is tinted on the photo")
        self.opacity_label = QLabel()
        self.opacity.valueChanged.connect(self._on_opacity)

        self.delete_btn = QPushButton("Delete face")
        self.delete_btn.setToolTip("Remove the selected face from the list (Delete)")
        self.delete_btn.clicked.connect(lambda: self.delete_face.emit(self.doc.selected_face))

        self.compare_btn = QPushButton("Hold to compare")
        self.compare_btn.setToolTip("Shows the original photo while pressed (or hold C over the photo)")
        self.compare_btn.pressed.connect(lambda: self.compare_held.emit(True))
        self.compare_btn.released.connect(lambda: self.compare_held.emit(False))
        self.split_box = QCheckBox("Split before | after")
        self.split_box.setToolTip("Original on the left of the line, result on the right")
        self.split = _slider(0, 100, 50)
        self.split.setEnabled(False)
        self.split_box.toggled.connect(self._on_split)
        self.split.valueChanged.connect(self._on_split)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addWidget(QLabel("Mask opacity"))
        row.addWidget(self.opacity, 1)
        row.addWidget(self.opacity_label)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.compare_btn, 1)
        row.addWidget(self.delete_btn)
        lay.addLayout(row)
        row = QHBoxLayout()
        row.addWidget(self.split_box)
        row.addWidget(self.split, 1)
        lay.addLayout(row)
        self._on_opacity(self.opacity.value())

        for sig in (doc.opened, doc.faces_changed, doc.layers_changed):
            sig.connect(self.rebuild)
        doc.face_selected.connect(self._on_face_selected)
        self.rebuild()

    # --------------------------------------------------------------------------- model -> view
    def rebuild(self) -> None:
        blocker = QSignalBlocker(self.tree)  # our own changes are not user edits
        self.tree.clear()
        doc, v = self.doc, self.doc.visible
        has_doc, has_result = doc.is_open, doc.is_open and doc.result_state.has_result

        def layer(name: str, text: str, tip: str, enabled: bool = True) -> QTreeWidgetItem:
            it = QTreeWidgetItem([text])
            it.setData(0, ROLE_LAYER, name)
            it.setToolTip(0, tip)
            flags = Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            it.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if enabled else flags)
            it.setCheckState(0, Qt.CheckState.Checked if v[name] else Qt.CheckState.Unchecked)
            self.tree.addTopLevelItem(it)
            return it

        layer("result", "Result" if has_result else "Result (not yet computed)",
              "The photo with the masks removed", has_result)
        layer("mask", "Removal mask", "Red tint: what gets removed and filled in", has_doc)
        faces = layer("faces", f"Faces ({len(doc.faces)})", "Boxes of the faces that get processed", has_doc)
        for i, f in enumerate(doc.faces):
            kind = "drawn by hand" if f.manual else f"{f.score:.0%} sure"
            child = QTreeWidgetItem([f"Face {i + 1}  ·  {f.box[2] - f.box[0]}×{f.box[3] - f.box[1]} px  ·  {kind}"])
            child.setData(0, ROLE_FACE, i)
            child.setToolTip(0, "Select to highlight this face on the photo")
            faces.addChild(child)
        faces.setExpanded(True)
        layer("original", "Original photo", "The photo as it was opened", has_doc)
        self._on_face_selected(doc.selected_face)
        blocker.unblock()
        self.split_box.setEnabled(has_result)
        self.compare_btn.setEnabled(has_result)
        self.delete_btn.setEnabled(0 <= doc.selected_face < len(doc.faces))

    def _on_face_selected(self, index: int) -> None:
        faces = self._top("faces")
        blocker = QSignalBlocker(self.tree)
        if faces is not None and 0 <= index < faces.childCount():
            self.tree.setCurrentItem(faces.child(index))
        elif self.tree.currentItem() is not None and self.tree.currentItem().data(0, ROLE_FACE) is not None:
            self.tree.setCurrentItem(None)
        blocker.unblock()
        self.delete_btn.setEnabled(0 <= index < len(self.doc.faces))

    def face_rows(self):
        """(row item, face index) for every face row in the tree whose face is still in the document
        (decorations added by other modules: fill number, reference thumbnail)."""
        for t in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(t)
            for c in range(top.childCount()):
                item = top.child(c)
                i = item.data(0, ROLE_FACE)
                if i is not None and 0 <= i < len(self.doc.faces):
                    yield item, i

    def _top(self, name: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            it = self.tree.topLevelItem(i)
            if it.data(0, ROLE_LAYER) == name:
                return it
        return None

    # --------------------------------------------------------------------------- view -> model
    def _on_item_changed(self, item: QTreeWidgetItem, _col: int) -> None:
        name = item.data(0, ROLE_LAYER)
        if name and self.doc.is_open:
            visible = item.checkState(0) == Qt.CheckState.Checked
            self.doc.set_visible(name, visible)

    def _on_current(self, item: QTreeWidgetItem | None, _prev) -> None:
        index = item.data(0, ROLE_FACE) if item is not None else None
        self.doc.select_face(index if index is not None else -1)

    def _on_context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        index = item.data(0, ROLE_FACE) if item is not None else None
        if index is not None:
            self.doc.select_face(index)
            self.face_menu_requested.emit(index, self.tree.viewport().mapToGlobal(pos))

    def _on_opacity(self, value: int) -> None:
        self.opacity_label.setText(f"{value}%")
        self.opacity_changed.emit(value / 100)

    def _on_split(self, *_):
        on = self.split_box.isChecked()
        self.split.setEnabled(on)
        self.split_changed.emit(self.split.value() / 100 if on else None)
