"""Alternative fills in the editor (issue 15 item 3): "Try another fill" (T) fills the selected face (or
the only one) again through its next view (``core/variants.py``: mirrored, zoomed, shifted), "Previous
fill" (Shift+T) steps back; both cycle through the fills, each is one undo step, and moving on keeps
the one on screen. Each face remembers its fill, so Fill again, Remove masks and a reference photo keep
it (``Processing.variants_for``); a new photo or new faces start from the usual fill.

Like Fill again, the face is filled in a worker (progress, Esc cancels) from the mask as it was when
asked; only pixels within that face's reach change (its widest crop, for the old and the new view), so
edits elsewhere in the photo and the other faces stay as they are. Within that reach the fill is
composed with the retouch layer like every fill (``app/retouch.py``): a heal or clone stroke there is
kept unless the mask covers it.

Kept out of main_window/processing/layers_panel (actions added to the Photo menu, a row in the Layers
panel, items in each face's context menu) so those files only gain a line or two.
"""
from __future__ import annotations

import re

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QHBoxLayout, QMenu, QPushButton, QWidget

from unmask_studio.app.commands import Command
from unmask_studio.app.document import Document, ResultState
from unmask_studio.app.patches import Patch, differing_tiles, tiles_in
from unmask_studio.app.retouch import fill_patches
from unmask_studio.app.workers import Outcome
from unmask_studio.core import blend
from unmask_studio.core.faces import Face
from unmask_studio.core.maskops import Rect
from unmask_studio.core.variants import COUNT, vary_face

LABEL = re.compile(r"  ·  fill \d+ of \d+")  # what _decorate adds to a face's row in Layers


def fill_name(n: int) -> str:
    return f"fill {n % COUNT + 1} of {COUNT}"


def step_text(direction: int, n: int) -> str:
    """The step's name, for the face now on fill ``n``: "Try another fill (2 of 4)", "Previous fill (4 of 4)"."""
    return f"{'Try another fill' if direction > 0 else 'Previous fill'} ({(n + direction) % COUNT + 1} of {COUNT})"


class FaceVariants(QObject):
    """Which fill (variant number) each face shows; emits ``changed`` on every change."""

    changed = Signal()

    def __init__(self, doc: Document, parent=None):
        super().__init__(parent)
        self._variants: dict[int, tuple[Face, int]] = {}  # id(face) -> (face kept alive, variant)
        doc.opened.connect(self.clear)

    def get(self, face: Face) -> int:
        entry = self._variants.get(id(face))
        return entry[1] if entry is not None and entry[0] is face else 0

    def set(self, face: Face, n: int) -> None:
        if n % COUNT:
            self._variants[id(face)] = (face, n % COUNT)
        else:
            self._variants.pop(id(face), None)
        self.changed.emit()

    def clear(self) -> None:
        if self._variants:
            self._variants.clear()
            self.changed.emit()

    def for_faces(self, faces: list[Face]) -> dict[int, int] | None:
        """{index in ``faces``: variant} for Engine.run/inpaint, None when every face has the usual fill."""
        found = {i: n for i, f in enumerate(faces) if (n := self.get(f))}
        return found or None


class VariantCommand(Command):
    """A face's fill changed: result patches, result state and the face's variant number."""

    def __init__(self, doc: Document, store: FaceVariants, text: str, face: Face, variants: tuple[int, int],
                 patches: list[Patch], result_state: tuple[ResultState, ResultState]):
        super().__init__(text)
        self.doc, self.store, self.face, self.variants = doc, store, face, variants
        self.patches, self.result_state = patches, result_state

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.patches)

    def rebase(self) -> None:  # built before a brush stroke ended (History.push)
        for p in self.patches:
            p.before = self.doc.read(p.layer, p.rect)

    def apply(self, forward: bool) -> None:
        for p in (self.patches if forward else reversed(self.patches)):
            self.doc.write(p.layer, p.rect, p.after if forward else p.before)
        self.doc.set_result_state(self.result_state[1 if forward else 0])
        self.store.set(self.face, self.variants[1 if forward else 0])


def face_region(engine, face: Face, variants: tuple[int, ...], shape: tuple[int, ...]) -> Rect:
    """Where filling ``face`` through any of ``variants`` can change pixels: its reach window (the widest
    crop the engine fills it through, and the diffusion beyond), plus the paste-back's feathered edge."""
    S, boxes = engine.crop_size, []
    for v in variants:
        R = engine.reach_matrix(vary_face(face, v, S))
        edge = 3 * int(np.ceil(engine.options.feather_px / max(blend.crop_scale(R), 1e-6))) + 2
        boxes.append(blend.crop_roi(R, S, shape, margin=edge))
    x0, y0, x1, y1 = np.array(boxes).T
    return int(x0.min()), int(y0.min()), int(x1.max()), int(y1.max())


class Alternatives(QObject):
    """The editor's "Try another fill" / "Previous fill" actions, attached to a MainWindow."""

    message = Signal(str, str)  # level, text (the window's banner)

    def __init__(self, window):
        super().__init__(window)
        self.w = window
        self.doc: Document = window.doc
        self.store = FaceVariants(self.doc, self)
        self.menu: QMenu | None = None  # the Layers panel's face menu last shown
        window.processing.variants_for = self.store.for_faces
        self.message.connect(window.show_message)
        self.act_next = window._action("Try &another fill", lambda: self.step(+1), "T",
                                       tip="Fill the selected face again, differently (the next of "
                                           f"{COUNT} fills; undo or Previous fill goes back)")
        self.act_previous = window._action("Pre&vious fill", lambda: self.step(-1), "Shift+T",
                                           tip="Go back to the selected face's previous fill")
        photo = next((a.menu() for a in window.menuBar().actions() if a.menu() and a.text() == "&Photo"), None)
        if photo is not None:  # right after "Fill again"
            items = photo.actions()
            after = items.index(window.act_reinpaint) + 1 if window.act_reinpaint in items else len(items)
            photo.insertActions(items[after] if after < len(items) else None, [self.act_next, self.act_previous])
        self._make_layers_row()
        refs = getattr(window, "reference_actions", None)
        if refs is not None:  # the face's context menu on the canvas and in Layers
            refs.menu_extensions.append(self._extend_menu)
            refs.store.changed.connect(self._decorate)  # it rebuilds the panel: put our labels back
        window.layers_panel.face_menu_requested.connect(self._face_menu)
        for sig in (self.doc.opened, self.doc.faces_changed, self.doc.layers_changed):
            sig.connect(self._decorate)  # after the panel's own rebuild (connected first)
        self.store.changed.connect(self._decorate)
        self.doc.face_selected.connect(lambda _i: self._update_enabled())
        window.runner.started.connect(lambda *_: self._update_enabled())
        window.runner.finished.connect(lambda *_: self._update_enabled())
        self._update_enabled()

    # ------------------------------------------------------------------------------------ widgets
    def _make_layers_row(self) -> None:
        self.row = QWidget()
        h = QHBoxLayout(self.row)
        h.setContentsMargins(0, 0, 0, 0)
        self.previous_btn = QPushButton("◀ Previous")
        self.previous_btn.setToolTip(self.act_previous.toolTip())
        self.previous_btn.clicked.connect(self.act_previous.trigger)
        self.next_btn = QPushButton("Try another fill")
        self.next_btn.setToolTip(self.act_next.toolTip())
        self.next_btn.clicked.connect(self.act_next.trigger)
        h.addWidget(self.previous_btn)
        h.addWidget(self.next_btn, 1)
        lay = self.w.layers_panel.layout()
        lay.insertWidget(min(2, lay.count()), self.row)  # under the list (and the reference row)

    def _extend_menu(self, menu: QMenu, i: int) -> None:
        free = not self.w.processing.busy
        menu.addSeparator()
        n = self.store.get(self.doc.faces[i])
        menu.addAction(step_text(+1, n), lambda: self.step(+1, i)).setEnabled(free)
        menu.addAction(step_text(-1, n), lambda: self.step(-1, i)).setEnabled(free)

    def _face_menu(self, i: int, global_pos) -> None:
        """Right-click on a face in Layers: the same menu as on the face's box in the photo."""
        refs = getattr(self.w, "reference_actions", None)
        if refs is not None:
            self.menu = refs.face_menu(i)
        else:
            self.menu = QMenu(self.w.layers_panel)
            self._extend_menu(self.menu, i)
        self.menu.popup(global_pos)  # popup, not exec(): no nested event loop

    def _decorate(self) -> None:
        """Each face's row in Layers says which fill it shows (when not the usual one)."""
        for item, i in self.w.layers_panel.face_rows():
            n = self.store.get(self.doc.faces[i])
            text = LABEL.sub("", item.text(0))
            item.setText(0, text + (f"  ·  {fill_name(n)}" if n else ""))
        self._update_enabled()

    def _update_enabled(self) -> None:
        ok = self._face(quiet=True) >= 0 and not self.w.processing.busy
        for widget in (self.act_next, self.act_previous, self.next_btn, self.previous_btn):
            widget.setEnabled(ok)

    # ------------------------------------------------------------------------------------ actions
    def _face(self, quiet: bool = False) -> int:
        """The selected face, or the only one; -1 (with a message unless ``quiet``) when neither."""
        doc = self.doc
        if doc.is_open and 0 <= doc.selected_face < len(doc.faces):
            return doc.selected_face
        if doc.is_open and len(doc.faces) == 1:
            return 0
        if not quiet:
            self.message.emit("warning", "Select a face first (click its box on the photo or its row in Layers)."
                              if doc.is_open and doc.faces else
                              "No faces yet: click “Remove masks” or “Detect faces” first.")
        return -1

    def step(self, direction: int, i: int | None = None) -> None:
        """Fill face ``i`` (default: the selected or only face) through its next (+1) or previous (-1) view."""
        i = self._face() if i is None else i
        if i < 0 or not 0 <= i < len(self.doc.faces):
            return
        if self.w.processing.busy:
            self.message.emit("info", "Still working on the previous step; cancel it or wait.")
            return
        doc, processing = self.doc, self.w.processing
        # Snapshot, like Fill again: the user may keep painting while this runs.
        rgb, faces, mask = doc.original, list(doc.faces), doc.mask.copy()
        face = faces[i]
        old = self.store.get(face)
        new = (old + direction) % COUNT
        variants = dict(self.store.for_faces(faces) or {})
        variants[i] = new
        refs = processing.references_for(faces)
        text = step_text(direction, old)

        def job(progress, cancel):
            engine = processing.engine()
            image, _ = engine.inpaint(rgb, faces, mask, progress=progress, cancel=cancel,
                                      **({"references": refs} if refs else {}), variants=variants)
            x0, y0, x1, y1 = face_region(engine, face, (old, new), rgb.shape)
            # Only this face's region comes back (and is compared): the rest of the photo stays as it is.
            return ((x0, y0, x1, y1), image[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1].copy(),
                    differing_tiles(image, rgb))

        # "inpaint": an engine job like Fill again (one at a time, progress, Esc cancels it), applied
        # after an open stroke ends, and dropped if another photo was opened meanwhile.
        apply = processing._when_free(lambda out: self._apply(out, face, (old, new), text))
        self.w.runner.submit("inpaint", job, apply)

    def _apply(self, out: Outcome, face: Face, variants: tuple[int, int], text: str) -> None:
        if not self.w.processing._ok(out, "filling the face again"):
            return
        if not any(f is face for f in self.doc.faces):
            return  # the face was deleted meanwhile
        (x0, y0, x1, y1), region, region_mask, changed = out.value
        doc = self.doc
        inside = tiles_in((x0, y0, x1, y1))
        patches, _ = fill_patches(doc, region, region_mask, (changed | doc.result_state.tiles) & inside,
                                  origin=(x0, y0))
        n = [k for k, f in enumerate(doc.faces) if f is face][0] + 1
        if not patches:
            self.message.emit("warning", f"Face {n} has nothing to fill: paint over what should be removed "
                                         "with the brush first.")
            return
        state = ResultState(True, doc.result_state.tiles | (changed & inside))
        self.w.stack.push(VariantCommand(doc, self.store, text, face, variants, patches, (doc.result_state, state)))
        self.message.emit("info", f"Face {n}: {fill_name(variants[1])}. Try another (T) for the next, "
                                  "Previous fill (Shift+T) to go back; the one on screen is kept.")
