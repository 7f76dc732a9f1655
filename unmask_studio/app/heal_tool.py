"""Heal brush and clone stamp: retouching the result layer (straps, ear loops, blemishes) anywhere in the photo.

**Heal.** The stroke is only drawn as a preview while the button is down; on release the pixels under it
are replaced from their surroundings (``core/heal.py``) in a worker, on the stroke's box plus a margin
only, and land as one undo step storing just the changed tiles. Strokes made while a heal is still
running wait in a queue, so each is computed on the pixels the previous one left. If something else
changed those pixels meanwhile (an undo, a "Remove masks"), the heal is dropped with a message rather
than pasted over the newer pixels. A heal over a large area takes seconds: the status bar says
"Healing…" with Cancel, and Esc (or opening another photo) cancels the running heal and the queued ones,
adding no step and changing no pixel, even when the worker had just finished.

Both mark what they changed in the document's retouch layer (``app/retouch.py``), in the same undo
step, so a later Remove masks, Fill again or Try another fill keeps the stroke wherever the new removal
mask does not cover it.

**Clone stamp.** Alt-click sets the source; the stroke then copies from the same offset, live, dab by
dab (like the mask brush, and like it a history transaction): released, it is one undo step; Esc or
opening another photo takes it back.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsPathItem

from unmask_studio.core.heal import heal, stroke_region
from unmask_studio.core.pipeline import Cancelled
from unmask_studio.core.maskops import Rect, union
from unmask_studio.app.brush import dab
from unmask_studio.app.commands import EditCommand
from unmask_studio.app.document import Document, ResultState
from unmask_studio.app.history import History
from unmask_studio.app.patches import Patch, tile_patches, tile_rect, tiles_in, trimmed
from unmask_studio.app.retouch import LAYER as RETOUCH, stroke_patches
from unmask_studio.app.workers import JobRunner, Outcome

HEAL_LANE = "retouch"  # not "engine": a heal must not wait behind a minute-long Remove masks
HEAL_JOBS = ("heal",)  # the JobRunner kinds Esc / Cancel stops besides the engine's


def _with_result(doc: Document, patches: list[Patch], before: ResultState | None = None
                 ) -> tuple[ResultState, ResultState]:
    """(before, after) result state of an edit of the result layer: there is a result from now on, and
    the tiles it touched may differ from the original."""
    before = before or doc.result_state
    touched = frozenset().union(*(tiles_in(p.rect) for p in patches)) if patches else frozenset()
    return before, ResultState(True, before.tiles | touched)


class StrokePreview(QGraphicsPathItem):
    """The heal stroke as the user drags it: a translucent band as wide as the brush."""

    def __init__(self):
        super().__init__()
        self.setZValue(25)
        self.setPen(QPen(QColor(255, 80, 200, 110), 1, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                         Qt.PenJoinStyle.RoundJoin))

    def start(self, pos: QPointF, size: float) -> None:
        pen = self.pen()
        pen.setWidthF(max(1.0, size))
        self.setPen(pen)
        path = QPainterPath(pos)
        path.lineTo(pos + QPointF(0.01, 0))  # a click shows a dot too
        self.setPath(path)
        self.show()

    def extend(self, pos: QPointF) -> None:
        path = self.path()
        path.lineTo(pos)
        self.setPath(path)


class HealTool(QObject):
    message = Signal(str, str)  # level, text
    healed = Signal()  # a heal landed (tests and the benchmark wait for it)

    def __init__(self, doc: Document, stack: History, runner: JobRunner, size_of, method: str = "auto", parent=None):
        super().__init__(parent)
        self.doc, self.stack, self.runner = doc, stack, runner
        self.size_of = size_of  # the brush size is shared with the mask brush ([ and ] change it)
        self.method = method
        self.preview = StrokePreview()
        self.preview.hide()
        self._points: list[tuple[float, float]] | None = None
        self._queue: list[tuple[list[tuple[float, float]], float]] = []
        self._running = False
        self._ticket = 0  # bumped by cancel(): outcomes of heals submitted before are dropped
        doc.opened.connect(self._forget)

    @property
    def busy(self) -> bool:
        return self._running or bool(self._queue)

    def begin(self, pos: QPointF) -> None:
        if not self.doc.is_open:
            return
        self._points = [(pos.x(), pos.y())]
        self.preview.start(pos, self.size_of())

    def move(self, pos: QPointF) -> None:
        if self._points is not None:
            self._points.append((pos.x(), pos.y()))
            self.preview.extend(pos)

    def end(self) -> None:
        points, self._points = self._points, None
        if points is None:
            return
        self._queue.append((points, self.size_of()))
        self._next()

    def abort(self) -> None:
        self._points = None
        if not self.busy:
            self.preview.hide()

    def cancel(self) -> bool:
        """Esc / Cancel: stop the running heal and drop the queued ones (no step, no pixel changed).
        True when there was one."""
        if not self.busy:
            return False
        self._ticket += 1
        self._queue = []
        self.runner.cancel(HEAL_JOBS)
        self._running = False  # its outcome (cancelled or not) is dropped by the ticket
        self.preview.hide()
        self.message.emit("info", "Heal cancelled. Nothing was changed.")
        return True

    def _forget(self) -> None:
        # Another photo: stop the running heal (the JobRunner would drop its outcome anyway, as of a stale
        # generation, so it never calls _landed; the tool must not keep waiting for it).
        self._ticket += 1
        self.runner.cancel(HEAL_JOBS)
        self._points, self._queue, self._running = None, [], False
        self.preview.hide()

    def _next(self) -> None:
        if self._running or not self._queue or not self.doc.is_open:
            if not self.busy:
                self.preview.hide()
            return
        points, size = self._queue.pop(0)
        region = stroke_region(points, size, self.doc.result.shape)
        if region is None:
            self._next()
            return
        rect, mask = region
        x0, y0, x1, y1 = rect
        before = self.doc.result[y0:y1, x0:x1].copy()  # the ROI only: a few hundred KB, never the photo
        method = self.method

        def job(progress, cancel):
            progress(0.0, "Healing… (Esc cancels)")
            healed = heal(before, mask, method, cancel)
            if cancel():  # heal() returns early, unhealed, when cancelled: not a result
                raise Cancelled()
            progress(1.0, "Healing… (Esc cancels)")
            return healed

        self._running = True
        ticket = self._ticket
        self.runner.submit("heal", job, lambda out: self._landed(out, rect, before, mask, ticket), lane=HEAL_LANE)

    def _landed(self, out: Outcome, rect: Rect, before: np.ndarray, mask: np.ndarray, ticket: int) -> None:
        if ticket != self._ticket:
            return  # cancelled after it was submitted (the next heal, if any, is already under way)
        self._running = False
        self.stack.after_transaction(lambda: self._apply(out, rect, before, mask))

    def _apply(self, out: Outcome, rect: Rect, before: np.ndarray, mask: np.ndarray) -> None:
        try:
            if out.error is not None or out.cancelled or not self.doc.is_open:
                if out.error is not None:
                    self.message.emit("error", f"Healing failed ({type(out.error).__name__}: {out.error}).")
                return
            x0, y0, x1, y1 = rect
            current = self.doc.result[y0:y1, x0:x1]
            if not np.array_equal(current, before):
                self.message.emit("info", "The photo changed while healing, so that heal was not applied; "
                                          "paint it again.")
                return
            patches = tile_patches("result", current, out.value, origin=(x0, y0))
            if patches:  # the stroke joins the retouch layer: later fills keep it (app/retouch.py)
                patches += stroke_patches(self.doc, rect, mask > 0)
                self.stack.push(EditCommand(self.doc, "Heal", patches, result_state=_with_result(self.doc, patches)))
            self.healed.emit()
        finally:
            self._next()


class CloneTool(QObject):
    """Alt-click a source, then paint: the pixels at the same offset from the source are copied."""

    message = Signal(str, str)

    def __init__(self, doc: Document, stack: History, size_of, hardness_of, parent=None):
        super().__init__(parent)
        self.doc, self.stack, self.size_of, self.hardness_of = doc, stack, size_of, hardness_of
        self.source: tuple[float, float] | None = None
        self.marker = QGraphicsEllipseItem()
        pen = QPen(QColor(80, 220, 255), 2)
        pen.setCosmetic(True)
        self.marker.setPen(pen)
        self.marker.setZValue(26)
        self.marker.hide()
        self._offset: tuple[float, float] | None = None
        self._saved: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}  # tile -> (result, retouch) before
        self._last: tuple[float, float] | None = None
        self._rect: Rect | None = None
        doc.opened.connect(self._on_opened)

    @property
    def stroking(self) -> bool:
        return self._offset is not None

    def set_source(self, pos: QPointF) -> None:
        self.source = (pos.x(), pos.y())
        r = self.size_of() / 2
        self.marker.setRect(pos.x() - r, pos.y() - r, 2 * r, 2 * r)
        self.marker.show()
        self.message.emit("info", "Clone source set. Paint where it should be copied to.")

    def begin(self, pos: QPointF) -> None:
        if not self.doc.is_open:
            return
        if self.source is None:
            self.message.emit("info", "Alt-click where to copy from first, then paint.")
            return
        if self.stroking:
            self.end()
        self._offset = (self.source[0] - pos.x(), self.source[1] - pos.y())
        self._last, self._rect = None, None
        self.stack.begin_transaction()
        # The canvas shows the result layer only once there is one: show it now, so the stroke is seen live.
        self._state_before = self.doc.result_state
        if not self._state_before.has_result:
            self.doc.set_result_state(ResultState(True, self._state_before.tiles))
        self.move(pos)

    def move(self, pos: QPointF) -> None:
        if self._offset is None:
            return
        x, y = pos.x(), pos.y()
        radius = self.size_of() / 2
        if self._last is None:
            points = [(x, y)]
        else:
            lx, ly = self._last
            n = int(math.ceil(math.hypot(x - lx, y - ly) / max(1.0, radius * 0.25)))
            points = [(lx + (x - lx) * i / n, ly + (y - ly) * i / n) for i in range(1, n + 1)]
        self._last = (x, y)
        changed = None
        for px, py in points:
            changed = union(changed, self._dab(px, py, radius))
        sx, sy = self._offset
        r = radius
        self.marker.setRect(x + sx - r, y + sy - r, 2 * r, 2 * r)
        if changed:
            self._rect = union(self._rect, changed)
            self.doc.touched("result", changed)

    def _dab(self, cx: float, cy: float, radius: float) -> Rect | None:
        result = self.doc.result
        h, w = result.shape[:2]
        rect, cov = dab(cx, cy, radius, self.hardness_of(), (h, w))
        if rect is None:
            return None
        x0, y0, x1, y1 = rect
        dx, dy = int(round(self._offset[0])), int(round(self._offset[1]))
        # Only the part of the dab whose source lies inside the photo is painted.
        cx0, cy0 = max(x0, -dx), max(y0, -dy)
        cx1, cy1 = min(x1, w - dx), min(y1, h - dy)
        if cx1 <= cx0 or cy1 <= cy0:
            return None
        self._save_tiles((cx0, cy0, cx1, cy1))
        a = cov[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0, None].astype(np.float32) / 255.0
        src = result[cy0 + dy:cy1 + dy, cx0 + dx:cx1 + dx].astype(np.float32)
        dst = result[cy0:cy1, cx0:cx1]
        dst[...] = np.clip(dst * (1 - a) + src * a + 0.5, 0, 255).astype(np.uint8)
        self.doc.retouch[cy0:cy1, cx0:cx1][a[..., 0] > 0] = 255  # later fills keep it (app/retouch.py)
        return cx0, cy0, cx1, cy1

    def _save_tiles(self, rect: Rect) -> None:
        for key in tiles_in(rect):
            if key not in self._saved:
                x0, y0, x1, y1 = tile_rect(key, self.doc.result.shape)
                self._saved[key] = (self.doc.result[y0:y1, x0:x1].copy(), self.doc.retouch[y0:y1, x0:x1].copy())

    def end(self) -> None:
        if self._offset is None:
            return
        self._offset = None
        patches, coverage = [], []
        for key, (before, covered) in sorted(self._saved.items()):
            x0, y0, x1, y1 = tile_rect(key, self.doc.result.shape)
            p = trimmed("result", (x0, y0, x1, y1), before, self.doc.result[y0:y1, x0:x1])
            if p is not None:
                patches.append(p)
                coverage.append(trimmed(RETOUCH, (x0, y0, x1, y1), covered, self.doc.retouch[y0:y1, x0:x1]))
            else:  # nothing changed on this tile: it is not retouched either
                self.doc.retouch[y0:y1, x0:x1] = covered
        self._saved.clear()
        if self.source is not None:
            r = self.size_of() / 2
            self.marker.setRect(self.source[0] - r, self.source[1] - r, 2 * r, 2 * r)
        command = None
        if patches:
            state = _with_result(self.doc, patches, self._state_before)
            command = EditCommand(self.doc, "Clone stroke", patches + [p for p in coverage if p is not None],
                                  applied=True, result_state=state)
        self.doc.set_result_state(command.result_state[1] if command else self._state_before)
        self.stack.end_transaction(command)

    def abort(self) -> None:
        """Esc or another photo: put back every tile the stroke touched, add no step."""
        if self._offset is None:
            return
        self._offset = None
        if self.doc.is_open:
            for key, (before, covered) in self._saved.items():
                x0, y0, x1, y1 = tile_rect(key, self.doc.result.shape)
                self.doc.result[y0:y1, x0:x1] = before
                self.doc.retouch[y0:y1, x0:x1] = covered
            if self._rect is not None:
                self.doc.touched("result", self._rect)
            self.doc.set_result_state(self._state_before)
        self._saved.clear()
        self.stack.end_transaction(None)

    def _on_opened(self) -> None:
        self._saved.clear()  # the old photo's tiles: nothing to put back on the new one
        self._offset = None
        self.source = None
        self.marker.hide()
