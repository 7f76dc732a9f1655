"""Reference photos in the editor (issue 12): per face, "Use a reference photo…" (the face's context
menu on the canvas, the Layers panel's button for the selected face, or an image file dropped onto a
face box), the reference shown as a thumbnail beside that face in the Layers panel, the face filled
again with it, and "Remove reference". Each is one undo step that brings back the previous reference
and the previous pixels exactly.

A reference belongs to a face object, not to a position in the list: a face deleted and brought back
by undo keeps its reference; "Detect faces" makes new faces, without references. Remove masks and
Fill again pass every face's reference to the engine (``Processing.references_for``).

Kept out of main_window/canvas/layers_panel (an event filter on the canvas, a row added to the Layers
panel, decorations on its face items after each rebuild) so those files only gain one line each.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QMenu, QPushButton, QWidget

from unmask_studio.app.commands import Command
from unmask_studio.app.document import Document, ResultState
from unmask_studio.app.patches import Patch, differing_tiles
from unmask_studio.app.retouch import fill_patches
from unmask_studio.app.workers import Outcome
from unmask_studio.core.faces import Face
from unmask_studio.core.io import SUPPORTED_EXTENSIONS, is_supported
from unmask_studio.core.reference import Reference, ReferenceError, reference_from_file

THUMB = 36  # px: the reference's thumbnail beside its face in the Layers panel
PHOTO_FILTER = "Photos (" + " ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS) + ")"


class FaceReferences(QObject):
    """Which face carries which reference photo; emits ``changed`` on every change."""

    changed = Signal()

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self._refs: dict[int, tuple[Face, Reference]] = {}  # id(face) -> (face kept alive, its reference)
        doc.opened.connect(self.clear)

    def get(self, face: Face) -> Reference | None:
        entry = self._refs.get(id(face))
        return entry[1] if entry is not None and entry[0] is face else None

    def set(self, face: Face, ref: Reference | None) -> None:
        if ref is None:
            self._refs.pop(id(face), None)
        else:
            self._refs[id(face)] = (face, ref)
        self.changed.emit()

    def clear(self) -> None:
        if self._refs:
            self._refs.clear()
            self.changed.emit()

    def for_faces(self, faces: list[Face]) -> dict[int, Reference] | None:
        """{index in ``faces``: reference} for Engine.run/inpaint, None when no face has one."""
        refs = {i: r for i, f in enumerate(faces) if (r := self.get(f)) is not None}
        return refs or None


class ReferenceCommand(Command):
    """A face's reference changed, and the fill with it: result patches and result state."""

    def __init__(self, doc: Document, store: FaceReferences, text: str, face: Face,
                 refs: tuple[Reference | None, Reference | None], patches: list[Patch],
                 result_state: tuple[ResultState, ResultState]):
        super().__init__(text)
        self.doc, self.store, self.face, self.refs = doc, store, face, refs
        self.patches, self.result_state = patches, result_state

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches) + sum(r.crop.nbytes + r.valid.nbytes for r in self.refs if r)

    def rebase(self) -> None:  # built before a brush stroke ended (History.push)
        for p in self.patches:
            p.before = self.doc.read(p.layer, p.rect)

    def apply(self, forward: bool) -> None:
        for p in (self.patches if forward else reversed(self.patches)):
            self.doc.write(p.layer, p.rect, p.after if forward else p.before)
        self.doc.set_result_state(self.result_state[1 if forward else 0])
        self.store.set(self.face, self.refs[1 if forward else 0])


def thumbnail_icon(ref: Reference, side: int = THUMB) -> QIcon:
    rgb = np.ascontiguousarray(ref.thumbnail(side))
    image = QImage(rgb.data, side, side, 3 * side, QImage.Format.Format_RGB888).copy()
    return QIcon(QPixmap.fromImage(image))


class ReferenceActions(QObject):
    """The editor's reference-photo actions, attached to a MainWindow."""

    message = Signal(str, str)  # level, text (the window's banner)

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.menu: QMenu | None = None  # the face's context menu last shown
        self.menu_extensions: list = []  # fn(menu, face index): more items (app/alternatives.py)
        self.doc: Document = window.doc
        self.store = FaceReferences(self.doc, self)
        window.processing.references_for = self.store.for_faces
        self.message.connect(window.show_message)
        self._make_layers_row()
        for sig in (self.doc.opened, self.doc.faces_changed, self.doc.layers_changed):
            sig.connect(self._decorate)  # after the panel's own rebuild (connected first)
        self.store.changed.connect(self._refresh_panel)
        self.doc.face_selected.connect(lambda _i: self._update_buttons())
        window.runner.started.connect(lambda *_: self._update_buttons())
        window.runner.finished.connect(lambda *_: self._update_buttons())
        window.canvas.viewport().installEventFilter(self)
        self.act_use = window._action("Use a &reference photo…", lambda: self.choose(self.doc.selected_face),
                                      tip="Restore the selected face from another photo of the same person")
        self.act_remove = window._action("Remove reference", lambda: self.remove(self.doc.selected_face),
                                         tip="Restore the selected face without its reference photo")
        photo = next((a.menu() for a in window.menuBar().actions() if a.menu() and a.text() == "&Photo"), None)
        if photo is not None:  # after "Delete face"
            items = photo.actions()
            after = items.index(window.act_delete_face) + 1 if window.act_delete_face in items else len(items)
            before = items[after] if after < len(items) else None
            photo.insertActions(before, [self.act_use, self.act_remove])
        self._update_buttons()

    # ------------------------------------------------------------------------------------ widgets
    def _make_layers_row(self) -> None:
        panel = self.w.layers_panel
        self.row = QWidget()
        h = QHBoxLayout(self.row)
        h.setContentsMargins(0, 0, 0, 0)
        self.use_btn = QPushButton("Reference photo…")
        self.use_btn.setToolTip("Restore the selected face from another photo of the same person "
                                "(or drop a photo onto the face)")
        self.use_btn.clicked.connect(lambda: self.choose(self.doc.selected_face))
        self.remove_btn = QPushButton("Remove reference")
        self.remove_btn.clicked.connect(lambda: self.remove(self.doc.selected_face))
        h.addWidget(self.use_btn, 1)
        h.addWidget(self.remove_btn)
        panel.layout().insertWidget(1, self.row)  # right under the list of layers and faces
        panel.tree.setIconSize(QSize(THUMB, THUMB))
        panel.tree.setUniformRowHeights(False)  # face rows with a thumbnail are taller

    def _refresh_panel(self) -> None:
        self.w.layers_panel.rebuild()
        self._decorate()

    def _decorate(self) -> None:
        """Thumbnail and tooltip on each face that carries a reference."""
        for item, i in self.w.layers_panel.face_rows():
            ref = self.store.get(self.doc.faces[i])
            if ref is not None and not item.text(0).endswith("reference"):
                item.setIcon(0, thumbnail_icon(ref))
                item.setText(0, item.text(0) + "  ·  reference")
                item.setToolTip(0, f"Restored with the reference photo {ref.source}")
        self._update_buttons()

    def _update_buttons(self) -> None:
        i = self.doc.selected_face
        face = self.doc.faces[i] if self.doc.is_open and 0 <= i < len(self.doc.faces) else None
        free = not self.w.processing.busy
        for widget in (self.use_btn, self.act_use):
            widget.setEnabled(face is not None and free)
        for widget in (self.remove_btn, self.act_remove):
            widget.setEnabled(face is not None and free and self.store.get(face) is not None)

    # ------------------------------------------------------------------------------------ canvas
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        kind = event.type()
        if kind == QEvent.Type.ContextMenu and self.doc.is_open:
            i = self.w.canvas.face_at(event.pos())
            if i >= 0:
                self.doc.select_face(i)
                self.menu = self.face_menu(i)  # popup, not exec(): no nested event loop
                self.menu.popup(event.globalPos())
                return True
        elif kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop):
            i, path = self._dropped_on_face(event)
            if i >= 0:
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                if kind == QEvent.Type.Drop:
                    self.doc.select_face(i)
                    self.use(i, path)
                return True
        return False

    def _dropped_on_face(self, event) -> tuple[int, str]:
        """(face, file) for one photo file held over a face box; (-1, "") otherwise (the canvas opens it)."""
        md = event.mimeData()
        if not self.doc.is_open or not self.doc.faces or not md.hasUrls():
            return -1, ""
        files = [u.toLocalFile() for u in md.urls() if u.isLocalFile()]
        if len(files) != 1 or not is_supported(Path(files[0])):
            return -1, ""
        return self.w.canvas.face_at(event.position().toPoint()), files[0]

    def face_menu(self, i: int) -> QMenu:
        menu = QMenu(self.w.canvas)
        has = self.store.get(self.doc.faces[i]) is not None
        free = not self.w.processing.busy
        menu.addAction("Use a reference photo…", lambda: self.choose(i)).setEnabled(free)
        menu.addAction("Fill again with the reference" if has else "Fill again",
                       self.w.processing.reinpaint).setEnabled(free)
        menu.addAction("Remove reference", lambda: self.remove(i)).setEnabled(free and has)
        for extend in self.menu_extensions:
            extend(menu, i)
        return menu

    # ------------------------------------------------------------------------------------ actions
    def choose(self, i: int) -> None:
        if not self._face_ok(i):
            return
        start = str(self.doc.path.parent) if self.doc.path else ""
        path, _ = QFileDialog.getOpenFileName(self.w, f"Reference photo for face {i + 1}: the same person, "
                                              "without a mask", start, PHOTO_FILTER)
        if path:
            self.use(i, path)

    def use(self, i: int, path: str | Path) -> None:
        """Align ``path``'s face and fill face ``i`` again with it (one undo step)."""
        if self._face_ok(i):
            self._submit(i, Path(path), f"Reference photo for face {i + 1}")

    def remove(self, i: int) -> None:
        if self._face_ok(i) and self.store.get(self.doc.faces[i]) is not None:
            self._submit(i, None, f"Remove reference of face {i + 1}")

    def _face_ok(self, i: int) -> bool:
        if not self.doc.is_open or not 0 <= i < len(self.doc.faces):
            self.message.emit("warning", "Select a face first (click its box on the photo).")
            return False
        if self.w.processing.busy:
            self.message.emit("info", "Still working on the previous step; cancel it or wait.")
            return False
        return True

    def _submit(self, i: int, path: Path | None, text: str) -> None:
        doc, processing = self.doc, self.w.processing
        # Snapshot, like Fill again: the user may keep painting while this runs.
        rgb, faces, mask = doc.original, list(doc.faces), doc.mask.copy()
        face, refill = faces[i], doc.result_state.has_result
        refs = dict(self.store.for_faces(faces) or {})
        variants = {"variants": v} if (v := processing.variants_for(faces)) else {}  # each face keeps its fill

        def job(progress, cancel):
            engine = processing.engine()
            ref = None
            if path is not None:
                progress(0.0, f"Aligning the reference {path.name}")
                ref = reference_from_file(path, engine.finder, engine.crop_size)
            if not refill:  # nothing restored yet: Remove masks will use it
                return ref, None
            refs.pop(i, None)
            if ref is not None:
                refs[i] = ref
            image, _ = engine.inpaint(rgb, faces, mask, progress=progress, cancel=cancel, references=refs or None,
                                      **variants)
            return ref, (image, mask, differing_tiles(image, rgb))

        # "inpaint": an engine job like Fill again (one at a time, progress, Esc cancels it), applied
        # after an open stroke ends, and dropped if another photo was opened meanwhile.
        self.w.runner.submit("inpaint", job, processing._when_free(lambda out: self._apply(out, face, text)))

    def _apply(self, out: Outcome, face: Face, text: str) -> None:
        if isinstance(out.error, ReferenceError):
            self.message.emit("warning", " ".join(str(out.error).split()) + " The face was left as it was.")
            return
        if not self.w.processing._ok(out, "using the reference photo"):
            return
        if not any(f is face for f in self.doc.faces):
            return  # the face was deleted meanwhile
        ref, filled = out.value
        doc = self.doc
        patches, state = [], doc.result_state
        if filled is not None:
            image, fill_mask, changed = filled
            patches, retouched = fill_patches(doc, image, fill_mask, changed | doc.result_state.tiles)
            state = ResultState(True, changed | retouched)  # heal/clone strokes outside the mask are kept
        self.w.stack.push(ReferenceCommand(doc, self.store, text, face, (self.store.get(face), ref), patches,
                                           (doc.result_state, state)))
        n = [k for k, f in enumerate(doc.faces) if f is face][0] + 1
        if ref is None:
            self.message.emit("info", f"Face {n} is restored without a reference photo again.")
        elif filled is None:
            self.message.emit("info", f"Face {n} will be restored from {ref.source}: click “Remove masks”.")
        else:
            self.message.emit("info", f"Face {n} was filled again from the reference photo {ref.source}.")
