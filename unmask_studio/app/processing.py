"""The engine actions: Remove masks, Fill again, Detect faces, Add face box.

Each action snapshots what it needs on the GUI thread, computes in a worker (including the expensive
"which tiles changed" comparisons), and applies the outcome as one undo command. Outcomes for a photo
that is no longer open are dropped by the JobRunner; an outcome that arrives while a brush stroke is
open waits for the stroke to end (``History.after_transaction``) and is then built against the mask
as the stroke left it.

Every fill is computed from the original photo and composed with the retouch layer
(``app/retouch.py``): heal and clone strokes made earlier survive a later Remove masks or Fill again
wherever the new removal mask does not cover them; where it covers the same pixels, the new fill wins.
"""
from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import QObject, Signal

from unmask_studio.core.onnx_models import ModelError
from unmask_studio.core.pipeline import Engine
from unmask_studio.app.commands import EditCommand, FacesCommand
from unmask_studio.app.document import Document, ResultState
from unmask_studio.app.history import History
from unmask_studio.app.patches import differing_tiles, nonzero_tiles, tile_patches, tiles_in
from unmask_studio.app.retouch import fill_patches
from unmask_studio.app.workers import JobRunner, Outcome

log = logging.getLogger(__name__)
ENGINE_JOBS = ("remove", "inpaint", "detect", "face_box")


class Processing(QObject):
    message = Signal(str, str)  # level ("info" | "warning" | "error"), text for the user
    busy_changed = Signal(bool)

    def __init__(self, doc: Document, stack: History, runner: JobRunner, engine_factory=Engine, parent=None):
        super().__init__(parent)
        self.doc, self.stack, self.runner = doc, stack, runner
        self._engine_factory = engine_factory
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        # faces -> {index: reference photo} for the engine (app/reference_actions.py sets it)
        self.references_for = lambda faces: None
        # faces -> {index: variant} of the faces showing another fill (app/alternatives.py sets it)
        self.variants_for = lambda faces: None
        runner.started.connect(lambda _i, kind: kind in ENGINE_JOBS and self.busy_changed.emit(True))
        runner.finished.connect(lambda _i, kind: kind in ENGINE_JOBS and self.busy_changed.emit(self.busy))

    @property
    def busy(self) -> bool:
        return self.runner.busy(ENGINE_JOBS)

    def engine(self) -> Engine:
        # Created in the worker on first use: model loading must not delay start-up or block the GUI.
        with self._engine_lock:
            if self._engine is None:
                self._engine = self._engine_factory()
            return self._engine

    def warm_up(self) -> None:
        """Load the detector and models in the background right after start-up.

        Importing MediaPipe and creating the sessions holds Python's GIL in long C calls (~0.1 s each),
        which would be felt as hitches if it happened in the middle of the user's first edit.
        """
        def job(progress, cancel):
            engine = self.engine()
            for part in ("finder", "segmenter", "inpainter"):
                try:
                    getattr(engine, part)
                except ModelError as e:  # reported properly when the user actually runs a step
                    log.warning("warm-up: %s", e)

        def done(out: Outcome) -> None:
            if out.error is not None:
                log.warning("warm-up failed:\n%s", out.details)

        self.runner.submit("warmup", job, done, cancellable=False)

    def _when_free(self, apply):
        """Outcome handler that waits for an open stroke to end, and drops itself if the photo changed."""
        def deliver(out: Outcome) -> None:
            generation = self.doc.generation
            self.stack.after_transaction(lambda: generation == self.doc.generation and apply(out))
        return deliver

    def cancel(self) -> None:
        self.runner.cancel(ENGINE_JOBS)

    def _ready(self) -> bool:
        if not self.doc.is_open:
            self.message.emit("warning", "Open a photo first.")
            return False
        if self.busy:
            self.message.emit("info", "Still working on the previous step; cancel it or wait.")
            return False
        return True

    # --------------------------------------------------------------------------- Remove masks
    def remove_masks(self) -> None:
        """Detect (unless faces are already listed, e.g. added by hand), segment and inpaint."""
        if not self._ready():
            return
        rgb, faces = self.doc.original, list(self.doc.faces) or None
        # (only when there are any: engine stand-ins in tests take no references)
        references = {"references": refs} if faces and (refs := self.references_for(faces)) else {}
        if faces and (variants := self.variants_for(faces)):
            references["variants"] = variants  # each face keeps the fill it was given

        def job(progress, cancel):
            res = self.engine().run(rgb, faces=faces, progress=progress, cancel=cancel, **references)
            return res, differing_tiles(res.image, rgb), nonzero_tiles(res.mask)

        self.runner.submit("remove", job, self._when_free(self._apply_run))

    def _apply_run(self, out: Outcome) -> None:
        if not self._ok(out, "removing masks"):
            return
        res, changed, mask_tiles = out.value
        if not res.faces:
            self.message.emit("warning", "No faces found. Draw a box around each face with “Add face box”, "
                                         "then click “Remove masks” again.")
            return
        doc = self.doc
        # Only tiles that can differ are compared: where the new mask/result is, or the old one was.
        filled, retouched = fill_patches(doc, res.image, res.mask, changed | doc.result_state.tiles)
        patches = tile_patches("mask", doc.mask, res.mask, mask_tiles | tiles_in(doc.mask_bounds)) + filled
        faces = [r.face for r in res.faces]
        self.stack.push(EditCommand(doc, "Remove masks", patches, faces=(doc.faces, faces),
                                    result_state=(doc.result_state, ResultState(True, changed | retouched))))
        covered = sum(r.has_covering for r in res.faces)
        if covered:
            self.message.emit("info", f"Removed the masks on {covered} of {len(faces)} face(s). Refine the mask "
                                      "with the brush and click “Fill again” if something was missed.")
        else:
            self.message.emit("warning", f"Found {len(faces)} face(s) but no face covering on them. Paint over what "
                                         "should be removed with the brush, then click “Fill again”.")

    # --------------------------------------------------------------------------- Fill again
    def reinpaint(self) -> None:
        if not self._ready():
            return
        if not self.doc.faces:
            self.message.emit("warning", "No faces yet: click “Detect faces” or draw one with “Add face box” first.")
            return
        # Snapshot: the user may keep painting while this runs; the result matches the mask as it was.
        rgb, faces, mask = self.doc.original, list(self.doc.faces), self.doc.mask.copy()
        references = {"references": refs} if (refs := self.references_for(faces)) else {}
        if variants := self.variants_for(faces):
            references["variants"] = variants  # each face keeps the fill it was given

        def job(progress, cancel):
            image, _results = self.engine().inpaint(rgb, faces, mask, progress=progress, cancel=cancel, **references)
            return image, mask, differing_tiles(image, rgb)

        self.runner.submit("inpaint", job, self._when_free(self._apply_inpaint))

    def _apply_inpaint(self, out: Outcome) -> None:
        if not self._ok(out, "filling the mask again"):
            return
        image, mask, changed = out.value
        doc = self.doc
        patches, retouched = fill_patches(doc, image, mask, changed | doc.result_state.tiles)
        self.stack.push(EditCommand(doc, "Fill again", patches,
                                    result_state=(doc.result_state, ResultState(True, changed | retouched))))
        self.message.emit("info", "Filled again under the edited mask." if changed else
                          "The mask is empty, so the photo is shown unchanged.")

    # --------------------------------------------------------------------------- faces
    def detect(self) -> None:
        if not self._ready():
            return
        rgb = self.doc.original
        self.runner.submit("detect", lambda progress, cancel: self.engine().detect(rgb),
                           self._when_free(self._apply_detect))

    def _apply_detect(self, out: Outcome) -> None:
        if not self._ok(out, "detecting faces"):
            return
        manual = [f for f in self.doc.faces if f.manual]  # boxes drawn by hand survive a re-detect
        self.stack.push(FacesCommand(self.doc, "Detect faces", self.doc.faces, list(out.value) + manual))
        if out.value:
            self.message.emit("info", f"Found {len(out.value)} face(s).")
        else:
            self.message.emit("warning", "No faces found. Draw a box around each face with “Add face box”.")

    def add_face_box(self, box: tuple[int, int, int, int]) -> None:
        if not self._ready():
            return
        rgb = self.doc.original
        self.runner.submit("face_box", lambda progress, cancel: self.engine().face_in_box(rgb, np.array(box)),
                           self._when_free(self._apply_face_box))

    def _apply_face_box(self, out: Outcome) -> None:
        if not self._ok(out, "adding the face"):
            return
        self.stack.push(FacesCommand(self.doc, "Add face box", self.doc.faces, self.doc.faces + [out.value]))
        self.doc.select_face(len(self.doc.faces) - 1)
        self.message.emit("info", "Face added. Click “Remove masks” to process it.")

    def delete_face(self, index: int) -> None:
        if 0 <= index < len(self.doc.faces):
            after = self.doc.faces[:index] + self.doc.faces[index + 1:]
            self.stack.push(FacesCommand(self.doc, f"Delete face {index + 1}", self.doc.faces, after))

    # --------------------------------------------------------------------------- outcomes
    def _ok(self, out: Outcome, doing: str) -> bool:
        if out.cancelled:
            self.message.emit("info", "Cancelled. Nothing was changed.")
            return False
        if isinstance(out.error, ModelError):
            self.message.emit("error", f"Model problem while {doing}: {out.error}")
            log.error("model error while %s:\n%s", doing, out.details)
            return False
        if isinstance(out.error, MemoryError):
            self.message.emit("error", f"Not enough memory while {doing}. Close other programs and try again.")
            return False
        if out.error is not None:
            log.error("failed while %s:\n%s", doing, out.details)
            self.message.emit("error", f"Something went wrong while {doing} ({type(out.error).__name__}: "
                                       f"{out.error}). Your edits are safe; details are in the log.")
            return False
        return True
