"""Opening and saving: photos, masks, recent files and the unsaved-changes question.

Decoding and encoding run in the "io" worker lane (a 24 MP JPEG takes a good fraction of a second
each way). Save never silently replaces the photo the user opened: the first Save of a document asks
where to write, proposing ``<name>_unmasked.<ext>``; replacing the original needs an explicit yes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from unmask_studio.core.io import ImageLoadError, ImageSaveError, is_supported, load_image, save_image
from unmask_studio.app import dialogs
from unmask_studio.app.brush_tool import BrushTool
from unmask_studio.app.document import Document, DocumentData
from unmask_studio.app.history import History
from unmask_studio.app.mask_edits import mask_from_image
from unmask_studio.app.settings import Settings
from unmask_studio.app.workers import JobRunner, Outcome

log = logging.getLogger(__name__)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


class FileController(QObject):
    message = Signal(str, str)
    loading = Signal(str)  # file name being opened ("" when done)

    def __init__(self, window: QWidget, doc: Document, stack: History, runner: JobRunner, settings: Settings,
                 brush: BrushTool, parent=None):
        super().__init__(parent)
        self.window, self.doc, self.stack, self.runner = window, doc, stack, runner
        self.settings, self.brush = settings, brush
        self._load_ticket = 0  # only the most recent open request may replace the document
        self.on_opened: Callable[[], None] = lambda: None

    @property
    def dirty(self) -> bool:
        return self.doc.is_open and not self.stack.isClean()

    # --------------------------------------------------------------------------- unsaved changes
    def maybe_save(self, proceed: Callable[[], None]) -> None:
        """Run ``proceed`` once unsaved changes are saved or deliberately discarded; not at all on Cancel."""
        if not self.dirty:
            proceed()
            return
        answer = dialogs.ask_unsaved(self.window, self.doc.path.name if self.doc.path else "This photo")
        if answer == "discard":
            proceed()
        elif answer == "save":
            self.save(then=proceed)

    # --------------------------------------------------------------------------- open
    def open_dialog(self) -> None:
        path = dialogs.ask_open_image(self.window, self.settings.last_dir())
        if path:
            self.open_path(path)

    def open_path(self, path: str | Path) -> None:
        path = Path(path)
        if not is_supported(path) and path.exists() and not path.is_dir():
            self.message.emit("error", f"Cannot open “{path.name}”: not a supported image type "
                                       "(JPEG, PNG, WebP, TIFF or BMP).")
            return
        self.maybe_save(lambda: self._load(path))

    def _load(self, path: Path) -> None:
        self._load_ticket += 1
        ticket = self._load_ticket
        self.loading.emit(path.name)
        self.runner.submit("load", lambda progress, cancel: DocumentData.from_file(path),
                           lambda out: self._on_loaded(out, ticket, path), lane="io", cancellable=False)

    def _on_loaded(self, out: Outcome, ticket: int, path: Path) -> None:
        if ticket != self._load_ticket:
            return  # the user asked for another photo meanwhile
        self.loading.emit("")
        if out.error is not None:
            if isinstance(out.error, ImageLoadError):
                self.message.emit("error", str(out.error))
            elif isinstance(out.error, MemoryError):
                self.message.emit("error", f"Cannot open “{path.name}”: not enough memory.")
            else:
                log.error("loading %s failed:\n%s", path, out.details)
                self.message.emit("error", f"Cannot open “{path.name}”: {out.error}")
            return
        self.runner.cancel(("remove", "inpaint", "detect", "face_box"))  # they belong to the old photo
        self.brush.abort()  # a stroke still open on the old photo is dropped, not committed
        self.stack.clear()
        self.doc.open(out.value)
        self.settings.add_recent(path)
        self.settings.set_last_dir(path.parent)
        self.on_opened()
        notes = out.value.loaded.notes
        if notes:
            self.message.emit("info", f"Opened “{path.name}”: " + "; ".join(notes) + ".")

    def close_document(self) -> None:
        self.maybe_save(lambda: (self.brush.abort(), self.stack.clear(), self.doc.open(None)))

    # --------------------------------------------------------------------------- save
    def save(self, then: Callable[[], None] | None = None) -> None:
        if not self.doc.is_open:
            return
        if self.doc.save_path is not None:
            self._write(self.doc.save_path, then=then)
        else:
            self.save_as(then=then)  # first save of an opened original: ask, never overwrite silently

    def save_as(self, then: Callable[[], None] | None = None) -> None:
        self._ask_and_write("Save photo as", mark_saved=True, then=then)

    def export(self) -> None:
        """Write a copy (any format) without changing where Save writes."""
        self._ask_and_write("Export a copy", mark_saved=False, then=None, suffix="_export")

    def _ask_and_write(self, title: str, mark_saved: bool, then, suffix: str = "_unmasked") -> None:
        if not self.doc.is_open:
            return
        original = self.doc.path
        suggestion = self.doc.save_path if (mark_saved and self.doc.save_path) else dialogs.suggested_name(original, suffix)
        path = dialogs.ask_save_image(self.window, suggestion, title)
        if not path:
            return
        overwrite = False
        if _same_file(Path(path), original):
            if not dialogs.confirm_overwrite_original(self.window, original.name):
                return
            overwrite = True
        self._write(Path(path), overwrite=overwrite, mark_saved=mark_saved, then=then)

    def _write(self, path: Path, overwrite: bool = False, mark_saved: bool = True, then=None) -> None:
        # A copy: undo/redo may patch the result in place while the encoder is still reading it.
        rgb, like, changes = self.doc.output_image().copy(), self.doc.loaded, self.stack.changes
        generation = self.doc.generation

        def job(progress, cancel):
            return save_image(path, rgb, like=like, overwrite_original=overwrite)

        def done(out: Outcome) -> None:
            if out.error is not None:
                msg = str(out.error) if isinstance(out.error, ImageSaveError) else f"Could not save: {out.error}"
                if not isinstance(out.error, ImageSaveError):
                    log.error("saving %s failed:\n%s", path, out.details)
                self.message.emit("error", msg)
                return
            if mark_saved and generation == self.doc.generation:
                self.doc.save_path = path
                if self.stack.changes == changes:  # edits made during the save are still unsaved
                    self.stack.setClean()
            self.settings.add_recent(path)
            self.message.emit("info", f"Saved “{path.name}” in {path.parent}.")
            if then is not None:
                then()

        self.runner.submit("save", job, done, lane="io", cancellable=False)

    # --------------------------------------------------------------------------- masks
    def load_mask_dialog(self) -> None:
        if not self.doc.is_open:
            return
        path = dialogs.ask_open_mask(self.window, str(self.doc.path.parent))
        if not path:
            return
        shape, generation = self.doc.mask.shape, self.doc.generation

        def job(progress, cancel):
            img = load_image(path)
            mask = mask_from_image(img.rgb, img.alpha)
            if mask.shape != shape:
                raise ImageLoadError(f"The mask “{Path(path).name}” is {mask.shape[1]}×{mask.shape[0]} but the photo is "
                                     f"{shape[1]}×{shape[0]}; a mask must have the photo's size.")
            return mask

        def done(out: Outcome) -> None:
            if out.error is not None:
                self.message.emit("error", str(out.error))
            elif generation == self.doc.generation:
                self.stack.after_transaction(lambda: generation == self.doc.generation and replace(out.value))

        def replace(mask) -> None:
            if not self.brush.replace_mask(mask, f"Load mask {Path(path).name}"):
                self.message.emit("info", "The loaded mask is the same as the current one.")

        self.runner.submit("load_mask", job, done, lane="io", cancellable=False)

    def save_mask_dialog(self) -> None:
        if not self.doc.is_open:
            return
        path = dialogs.ask_save_mask(self.window, self.doc.path.with_name(f"{self.doc.path.stem}.mask.png"))
        if not path:
            return
        grey = np.repeat(self.doc.mask[..., None], 3, -1)  # save_image writes RGB; white = remove

        def done(out: Outcome) -> None:
            self.message.emit("error" if out.error else "info",
                              str(out.error) if out.error else f"Mask saved as “{Path(path).name}”.")

        self.runner.submit("save_mask", lambda p, c: save_image(path, grey), done, lane="io", cancellable=False)
