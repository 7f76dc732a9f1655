"""The undo history: QUndoStack plus transactions and a byte budget.

**Transactions.** A brush stroke is painted live, over many mouse events, but must be one step whose
saved tiles are still true when it ends. While it is open nothing else may change the document
through the history: undo/redo do nothing (the window also disables them), and an edit that arrives
meanwhile (a finished "Remove masks", a loaded mask) waits in a queue and is applied right after the
stroke ends or is aborted, so it is built against the document as the stroke left it and lands as
the next step. We queue rather than commit the stroke early because a stroke cut in two by a
background job would surprise the user and split one gesture into two undo steps.

**Budget.** Each step knows its size (``nbytes``: its before/after tiles). After every push the
oldest steps are dropped until the whole history fits ``budget`` bytes (the newest step is always
kept). QUndoStack can only drop from the bottom through its fixed step limit, so dropping rebuilds the
stack from the kept steps, re-issued as already applied (no pixel is touched).
"""
from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

log = logging.getLogger(__name__)

STEP_LIMIT = 200
# A 24 MP brush stroke keeps ~3 MB, a "Remove masks" on it a few MB: 512 MB holds well over 100 such
# steps next to the photo's own ~0.3 GB (benchmarks/undo_memory.py).
BUDGET_BYTES = 512 * 1024 * 1024


def step_bytes(command: QUndoCommand) -> int:
    return int(getattr(command, "nbytes", 0))


class History(QUndoStack):
    transaction_changed = Signal(bool)  # True while a stroke is open
    trimmed = Signal(int)  # steps dropped for the budget since the photo was opened

    def __init__(self, parent=None, budget: int = BUDGET_BYTES, step_limit: int = STEP_LIMIT):
        super().__init__(parent)
        self.budget = budget
        self.setUndoLimit(step_limit)
        self.dropped = 0
        # Counts every move of the history. Not index(): at the budget each push also drops a step,
        # so index() stays put while the document changes (a save must not mark that state clean).
        self.changes = 0
        self.indexChanged.connect(self._count_change)
        self._open = False
        self._waiting: list[Callable[[], None]] = []

    def _count_change(self, _index: int) -> None:
        self.changes += 1

    # ------------------------------------------------------------------------------ transactions
    @property
    def in_transaction(self) -> bool:
        return self._open

    def begin_transaction(self) -> None:
        if not self._open:
            self._open = True
            self.transaction_changed.emit(True)

    def end_transaction(self, command: QUndoCommand | None = None) -> None:
        """Close the transaction, push its step (if any), then apply what waited for it."""
        if not self._open:
            return
        self._open = False
        if command is not None:
            self.push(command)
        self.transaction_changed.emit(False)
        waiting, self._waiting = self._waiting, []
        for fn in waiting:
            fn()

    def after_transaction(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` now, or right after the open transaction ends."""
        if self._open:
            self._waiting.append(fn)
        else:
            fn()

    # ------------------------------------------------------------------------------ QUndoStack
    def push(self, command: QUndoCommand) -> None:
        if self._open:
            # Built before the stroke ended: its "before" pixels are re-read when it finally lands.
            def later():
                if hasattr(command, "rebase"):
                    command.rebase()
                self.push(command)
            self._waiting.append(later)
            return
        super().push(command)
        self._keep_within_budget()

    def undo(self) -> None:
        if not self._open:
            super().undo()

    def redo(self) -> None:
        if not self._open:
            super().redo()

    def setIndex(self, idx: int) -> None:  # noqa: N802 - Qt's name
        if not self._open:
            super().setIndex(idx)

    def clear(self) -> None:
        """A new photo: forget everything, including what waited for a stroke of the old one."""
        self._waiting.clear()
        if self._open:
            self._open = False
            self.transaction_changed.emit(False)
        super().clear()
        if self.dropped:
            self.dropped = 0
            self.trimmed.emit(0)

    # ------------------------------------------------------------------------------ budget
    def total_bytes(self) -> int:
        return sum(step_bytes(self.command(i)) for i in range(self.count()))

    def _keep_within_budget(self) -> None:
        sizes = [step_bytes(self.command(i)) for i in range(self.count())]
        total, drop = sum(sizes), 0
        while total > self.budget and drop < len(sizes) - 1:
            total -= sizes[drop]
            drop += 1
        if drop:
            self._drop_oldest(drop)

    def _drop_oldest(self, n: int) -> None:
        # A push has just discarded the redo tail, so every kept step is applied: re-issue them as such.
        kept = [self.command(i).reissued() for i in range(n, self.count())]
        clean = self.cleanIndex()
        self.blockSignals(True)  # one burst of signals at the end, not one per re-issued step
        try:
            super().clear()
            for i, command in enumerate(kept):
                if clean - n == i:
                    self.setClean()
                super().push(command)
            if clean - n == len(kept):
                self.setClean()
            elif clean < n:
                self.resetClean()  # the saved state is no longer reachable by undo
        finally:
            self.blockSignals(False)
        self.dropped += n
        log.info("history: dropped %d oldest step(s) to stay within %d MB", n, self.budget >> 20)
        self.indexChanged.emit(self.index())
        self.cleanChanged.emit(self.isClean())
        self.canUndoChanged.emit(self.canUndo())
        self.canRedoChanged.emit(self.canRedo())
        self.undoTextChanged.emit(self.undoText())
        self.redoTextChanged.emit(self.redoText())
        self.trimmed.emit(self.dropped)
