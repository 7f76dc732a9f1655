"""The main window: wires the Document, canvas, panels, workers and actions together.

Layout: toolbar on top, message banner + canvas in the centre, Layers / Mask brush / History docks on
the right, status bar (progress + Cancel, image size, zoom, pixel under the cursor) at the bottom.
"""
from __future__ import annotations

import importlib
from pathlib import Path

from PySide6.QtCore import QPointF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (QDockWidget, QLabel, QMainWindow, QProgressBar, QPushButton, QToolBar, QUndoView,
                               QWidget)

from unmask_studio import __version__
from unmask_studio.core.pipeline import Engine
from unmask_studio.app import dialogs, pyside_refs
from unmask_studio.app.alternatives import Alternatives
from unmask_studio.app.brush_panel import BrushPanel
from unmask_studio.app.brush_tool import BrushTool
from unmask_studio.app.canvas import Canvas
from unmask_studio.app.document import Document
from unmask_studio.app.edit_tools import EditTools
from unmask_studio.app.file_controller import FileController
from unmask_studio.app.heal_tool import HEAL_JOBS
from unmask_studio.app.history import History
from unmask_studio.app.icons import icon
from unmask_studio.app.layers_panel import LayersPanel
from unmask_studio.app.layout import CanvasArea, fit_toolbar
from unmask_studio.app.message_banner import MessageBanner
from unmask_studio.app.processing import Processing
from unmask_studio.app.reference_actions import ReferenceActions
from unmask_studio.app.settings import Settings, log_dir
from unmask_studio.app.workers import JobRunner

BUSY_KINDS = ("load", "remove", "inpaint", "detect", "face_box", "save", "heal")
CLOSE_WAITS_FOR = BUSY_KINDS + ("load_mask", "save_mask")  # jobs whose outcome matters before closing


def megapixels(pixels: int) -> str:
    """12.2 MP, 0.6 MP, 0.043 MP: never "0.0 MP" for a small photo."""
    mp = pixels / 1e6
    return f"{mp:.1f} MP" if mp >= 0.1 else f"{mp:.2g} MP"


class MainWindow(QMainWindow):
    def __init__(self, settings: Settings | None = None, engine_factory=Engine, warm_up: bool = True):
        super().__init__()
        pyside_refs.keep_alive()  # PySide6 6.12.0 leaks a reference to True per emit (see pyside_refs)
        self.settings = settings or Settings()
        self.doc = Document(self)
        self.stack = History(self)  # 200 steps at most, and within a byte budget
        self.runner = JobRunner(lambda: self.doc.generation, self)
        self.processing = Processing(self.doc, self.stack, self.runner, engine_factory, self)
        self.brush = BrushTool(self.doc, self.stack, self)
        self.brush.size = self.settings.brush_size()
        self.brush.hardness = self.settings.brush_hardness()
        self.files = FileController(self, self.doc, self.stack, self.runner, self.settings, self.brush, self)
        self.files.on_opened = self._on_file_opened
        self._closing = False
        self.batch_dialog = None  # File ▸ Batch…, created on first use
        self.batch_engine_factory = None  # None: batch_dialog.batch_engine
        self._pending_batch_open: tuple[Path, Path | None] | None = None

        self.canvas = Canvas(self.doc)
        self.banner = MessageBanner()
        self.setCentralWidget(CanvasArea(self.canvas, self.banner))  # the banner floats over the photo
        self._close_when_idle = False

        self._make_actions()
        self._make_docks()
        self._make_menus_and_toolbar()
        self._make_status_bar()
        self._connect()
        self.edit_tools = EditTools(self)  # heal, clone, selections: actions, toolbar, canvas input
        self.reference_actions = ReferenceActions(self)  # reference photos per face (issue 12)
        self.alternatives = Alternatives(self)  # "Try another fill" per face (issue 15)
        self._restore()
        self._update_title()
        self._update_enabled()
        if warm_up:
            QTimer.singleShot(300, self.processing.warm_up)  # once the window has been drawn
            # File ▸ Batch…'s modules are imported off the GUI thread meanwhile: on the first open, their
            # imports stalled the window for 0.1-0.4 s (benchmarks/batch_dialog_stall.py).
            self.runner.submit("import", lambda _p, _c: importlib.import_module("unmask_studio.app.batch_dialog"),
                               lambda _out: None, lane="imports", cancellable=False)

    # =========================================================================== construction
    def _action(self, text: str, slot=None, shortcut=None, icon_name: str | None = None, tip: str = "",
                checkable: bool = False) -> QAction:
        a = QAction(text, self)
        if icon_name:
            a.setIcon(icon(icon_name))
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            a.setShortcuts([QKeySequence(k) for k in keys])
        shortcut_text = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        a.setToolTip(f"{tip or text.replace('…', '')}" + (f"  ({shortcut_text})" if shortcut_text else ""))
        a.setStatusTip(tip or text)
        a.setCheckable(checkable)
        if slot is not None:
            a.triggered.connect(slot)
        self.addAction(a)  # shortcuts work even when the toolbar is hidden
        return a

    def _make_actions(self) -> None:
        f, p, c = self.files, self.processing, self.canvas
        K = QKeySequence.StandardKey
        self.act_open = self._action("&Open…", f.open_dialog, K.Open, "open", "Open a photo")
        self.act_save = self._action("&Save", lambda: f.save(), K.Save, "save",
                                     "Save the result (first time: choose a new name)")
        self.act_save_as = self._action("Save &As…", lambda: f.save_as(), "Ctrl+Shift+S", tip="Save under a new name")
        self.act_export = self._action("&Export a Copy…", f.export, "Ctrl+E", tip="Write a copy in any format")
        self.act_close = self._action("&Close Photo", f.close_document, K.Close)
        self.act_batch = self._action("&Batch…", self.open_batch_dialog, "Ctrl+B",
                                      tip="Remove masks from whole folders of photos")
        self.act_quit = self._action("&Quit", self.close, K.Quit)

        self.act_undo = self.stack.createUndoAction(self, "&Undo")
        self.act_undo.setShortcuts([QKeySequence("Ctrl+Z")])
        self.act_undo.setIcon(icon("undo"))
        self.act_redo = self.stack.createRedoAction(self, "&Redo")
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.act_redo.setIcon(icon("redo"))
        for a in (self.act_undo, self.act_redo):
            self.addAction(a)

        self.act_zoom_in = self._action("Zoom &In", c.zoom_in, ["+", "=", "Ctrl++", "Ctrl+="], "zoom_in")
        self.act_zoom_out = self._action("Zoom &Out", c.zoom_out, ["-", "Ctrl+-"], "zoom_out")
        self.act_fit = self._action("&Fit to Window", c.fit, "Ctrl+0", "fit")
        self.act_actual = self._action("&Actual Pixels (100%)", c.actual_size, "Ctrl+1", "actual")

        self.tool_group = QActionGroup(self)
        self.act_pan = self._action("&Hand", lambda: self.set_tool("pan"), "H", "hand",
                                    "Pan the photo (or hold Space / drag with the middle button)", True)
        self.act_brush = self._action("&Brush", lambda: self.set_tool("brush"), "B", "brush",
                                      "Paint what should be removed", True)
        self.act_eraser = self._action("&Eraser", lambda: self.set_tool("eraser"), "E", "eraser",
                                       "Erase from the removal mask", True)
        self.act_box = self._action("Add &face box", lambda: self.set_tool("box"), "F", "face_box",
                                    "Drag a box around a face that was not found", True)
        for a in (self.act_pan, self.act_brush, self.act_eraser, self.act_box):
            self.tool_group.addAction(a)
        self.act_pan.setChecked(True)
        self.act_smaller = self._action("Smaller Brush", self.brush.smaller, "[")
        self.act_bigger = self._action("Bigger Brush", self.brush.bigger, "]")

        self.act_remove = self._action("&Remove masks", p.remove_masks, "Ctrl+R", "remove",
                                       "Find faces, find their masks and restore the faces")
        self.act_reinpaint = self._action("&Fill again", p.reinpaint, "Ctrl+Shift+R", "reinpaint",
                                          "Restore the faces again under the mask as you edited it")
        self.act_detect = self._action("&Detect faces", p.detect, "Ctrl+D", "detect", "Find faces only")
        self.act_cancel = self._action("Cancel", self.cancel_jobs, "Esc", "cancel", "Stop the running step")
        self.act_delete_face = self._action("Delete face", lambda: p.delete_face(self.doc.selected_face),
                                            QKeySequence.StandardKey.Delete, tip="Remove the selected face")

        self.act_shortcuts = self._action("&Keyboard Shortcuts", lambda: dialogs.show_shortcuts(self), "F1")
        self.act_logs = self._action("Open &Log Folder", self._open_log_dir)
        self.act_about = self._action("&About Unmask Studio", lambda: dialogs.show_about(self, __version__))

    def _make_docks(self) -> None:
        self.layers_panel = LayersPanel(self.doc, self.settings.overlay_opacity())
        self.brush_panel = BrushPanel(self.brush, self.act_brush, self.act_eraser, self.act_reinpaint)
        self.history = QUndoView(self.stack)
        self.history.setEmptyLabel("Opened photo")
        self.dock_layers = self._dock("Layers", self.layers_panel, "dock_layers")
        self.dock_brush = self._dock("Mask Brush", self.brush_panel, "dock_brush")
        self.dock_history = self._dock("History", self.history, "dock_history")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock_layers)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock_brush)
        # History shares a tabbed dock with Layers: three stacked docks do not fit a 600 px tall screen.
        self.tabifyDockWidget(self.dock_layers, self.dock_history)
        self.dock_layers.raise_()
        self.resizeDocks([self.dock_layers, self.dock_brush], [260, 300], Qt.Orientation.Vertical)
        self.resizeDocks([self.dock_layers], [320], Qt.Orientation.Horizontal)

    def _dock(self, title: str, widget: QWidget, name: str) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(name)  # required for saveState/restoreState
        d.setWidget(widget)
        d.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable |
                      QDockWidget.DockWidgetFeature.DockWidgetClosable |
                      QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        return d

    def _make_menus_and_toolbar(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        m.addAction(self.act_open)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addSeparator()
        for a in (self.act_save, self.act_save_as, self.act_export):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_batch)
        m.addSeparator()
        m.addAction(self.act_close)
        m.addAction(self.act_quit)
        m = mb.addMenu("&Edit")
        for a in (self.act_undo, self.act_redo):
            m.addAction(a)
        m.addSeparator()
        for a in (self.act_pan, self.act_brush, self.act_eraser, self.act_box):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_smaller)
        m.addAction(self.act_bigger)
        m = mb.addMenu("&Photo")
        for a in (self.act_remove, self.act_reinpaint, self.act_detect, self.act_box, self.act_delete_face):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.act_cancel)
        m = mb.addMenu("&View")
        for a in (self.act_zoom_in, self.act_zoom_out, self.act_fit, self.act_actual):
            m.addAction(a)
        m.addSeparator()
        for d in (self.dock_layers, self.dock_brush, self.dock_history):
            m.addAction(d.toggleViewAction())
        m = mb.addMenu("&Help")
        for a in (self.act_shortcuts, self.act_logs, self.act_about):
            m.addAction(a)

        tb = QToolBar("Main", self)
        tb.setObjectName("toolbar_main")
        tb.setIconSize(QSize(22, 22))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        tb.setMovable(False)
        for a in (self.act_open, self.act_save, None, self.act_undo, self.act_redo, None,
                  self.act_remove, self.act_reinpaint, self.act_detect, self.act_box, None,
                  self.act_pan, self.act_brush, self.act_eraser, None,
                  self.act_zoom_out, self.act_zoom_in, self.act_fit, self.act_actual):
            tb.addSeparator() if a is None else tb.addAction(a)
        tb.widgetForAction(self.act_remove).setObjectName("primaryButton")  # the one thing to click first
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb
        # Labels where there is room; on a narrow window they go (least needed first), the tools stay.
        self._toolbar_text = [self.act_open, self.act_save, self.act_remove, self.act_reinpaint, self.act_detect,
                              self.act_box, self.act_brush, self.act_eraser]
        self._toolbar_drop = [self.act_open, self.act_save, self.act_eraser, self.act_brush, self.act_box,
                              self.act_detect, self.act_reinpaint, self.act_remove]

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        fit_toolbar(self.toolbar, event.size().width(), self._toolbar_text, self._toolbar_drop)
        super().resizeEvent(event)

    def _make_status_bar(self) -> None:
        sb = self.statusBar()
        self.status_text = QLabel()
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setFixedWidth(180)
        self.progress.setTextVisible(True)
        self.cancel_btn = QPushButton(icon("cancel"), "Cancel")
        self.cancel_btn.setToolTip("Stop the running step (Esc)")
        self.cancel_btn.clicked.connect(self.cancel_jobs)
        for w in (self.progress, self.cancel_btn):
            w.hide()
        self.size_label, self.zoom_label, self.pos_label = QLabel(), QLabel(), QLabel()
        self.pos_label.setMinimumWidth(190)
        self.zoom_label.setMinimumWidth(70)
        sb.addWidget(self.status_text, 1)
        # Permanent: a status tip (hovering a toolbar button) hides the bar's ordinary widgets.
        for w in (self.progress, self.cancel_btn, self.pos_label, self.size_label, self.zoom_label):
            sb.addPermanentWidget(w)

    def _connect(self) -> None:
        c, d = self.canvas, self.doc
        c.stroke_started.connect(self.brush.begin)
        c.stroke_moved.connect(self.brush.move)
        c.stroke_finished.connect(self.brush.end)
        c.box_drawn.connect(self.processing.add_face_box)
        c.cursor_moved.connect(self._show_cursor)
        c.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z * 100:.0f}%"))
        c.files_dropped.connect(lambda files: self.open_files(files))
        self.brush.settings_changed.connect(self._on_brush_settings)
        c.set_brush_size(self.brush.size)
        lp = self.layers_panel
        lp.opacity_changed.connect(self._on_opacity)
        lp.split_changed.connect(c.set_split)
        lp.compare_held.connect(c.set_compare)
        lp.delete_face.connect(self.processing.delete_face)
        c.set_overlay_opacity(self.settings.overlay_opacity())
        for src in (self.processing, self.files, self.brush_panel):
            src.message.connect(self.show_message)
        self.brush_panel.load_mask_requested.connect(self.files.load_mask_dialog)
        self.brush_panel.save_mask_requested.connect(self.files.save_mask_dialog)
        self.files.loading.connect(lambda name: self.status_text.setText(f"Opening {name}…" if name else ""))
        self.runner.started.connect(lambda *_: self._update_busy())
        self.runner.finished.connect(lambda *_: self._update_busy())
        self.runner.progress.connect(self._on_progress)
        self.stack.cleanChanged.connect(self._update_title)
        self.stack.transaction_changed.connect(self._on_transaction)
        self.stack.trimmed.connect(self._on_history_trimmed)
        self.stack.indexChanged.connect(self._update_title)
        d.opened.connect(self._on_doc_opened)
        d.layers_changed.connect(self._update_enabled)
        d.faces_changed.connect(self._update_enabled)
        d.face_selected.connect(lambda _i: self._update_enabled())

    def _restore(self) -> None:
        geometry, state = self.settings.geometry(), self.settings.window_state()
        if geometry is None or not self.restoreGeometry(geometry):
            self.resize(1320, 860)
        if state is not None:
            self.restoreState(state)

    # =========================================================================== behaviour
    def open_files(self, files: list[str]) -> None:
        """Open the first file; a single-photo editor cannot show more, so the rest go to Recent."""
        files = [str(f) for f in files if f]
        if not files:
            return
        for extra in reversed(files[1:]):
            self.settings.add_recent(extra)
        self.files.open_path(files[0])
        if len(files) > 1:
            self.show_message("info", f"Opened the first of {len(files)} photos; the others are in "
                                      "File ▸ Open Recent.")

    def set_tool(self, tool: str) -> None:
        self.canvas.set_tool(tool)
        {"pan": self.act_pan, "brush": self.act_brush, "eraser": self.act_eraser, "box": self.act_box,
         **self.edit_tools.actions}[tool].setChecked(True)
        if tool in ("brush", "eraser"):
            self.brush.set_erase(tool == "eraser")
            if self.doc.is_open and not self.doc.visible["mask"]:
                # Painting on a hidden mask would look like nothing happens.
                self.doc.set_visible("mask", True)
        self.status_text.setText("Drag a box around the face that was missed."
                                 if tool == "box" and self.doc.is_open else "")
        self.edit_tools.on_tool(tool)

    def open_batch_dialog(self):
        if self.batch_dialog is None:
            from unmask_studio.app.batch_dialog import BatchDialog, batch_engine
            self.batch_dialog = BatchDialog(self.settings, self.batch_engine_factory or batch_engine, self)
            self.batch_dialog.open_requested.connect(self.open_batch_result)
            self.batch_dialog.running_changed.connect(self._on_batch_running)
        self.batch_dialog.show()
        self.batch_dialog.raise_()
        self.batch_dialog.activateWindow()
        return self.batch_dialog

    def _on_batch_running(self, running: bool) -> None:
        d = self.batch_dialog
        if not running and d is not None and not d.isVisible():  # it was hidden to keep working meanwhile
            self.show_message("info", f"Batch: {d.title_label.text()}. File ▸ Batch… (Ctrl+B) shows the results.")

    def open_batch_result(self, src: str, output: str | None) -> None:
        """A photo from the batch table: open the input and remove its masks again (the same engine gives
        the same result), with Save writing over the batch's output, so the result can be refined."""
        src_path, out_path = Path(src), Path(output) if output else None
        if not src_path.exists():
            if out_path is None:
                self.show_message("error", f"“{src_path.name}” is no longer there.")
                return
            src_path, out_path = out_path, None  # the input is gone: open the result itself
        self._pending_batch_open = (src_path, out_path)
        self.files.open_path(src_path)
        self.raise_()
        self.activateWindow()

    def cancel_jobs(self) -> None:
        """Esc / Cancel: an open brush stroke is taken back first; otherwise the running step stops."""
        if self.brush.stroking or self.edit_tools.abort():
            self.brush.abort()
            self.show_message("info", "Stroke cancelled.")
        else:
            self.edit_tools.heal.cancel()  # a heal over a large area takes seconds
            self.processing.cancel()

    def _on_transaction(self, open_: bool) -> None:
        # Nothing may move the history while a stroke is open (see history.py).
        self.act_undo.setEnabled(not open_ and self.stack.canUndo())
        self.act_redo.setEnabled(not open_ and self.stack.canRedo())
        self.history.setEnabled(not open_ and self.doc.is_open)
        self.act_cancel.setEnabled(open_ or self._cancellable())

    def _on_history_trimmed(self, dropped: int) -> None:
        self.history.setEmptyLabel(f"Opened photo (+{dropped} older steps not kept)" if dropped else "Opened photo")

    def show_message(self, level: str, text: str) -> None:
        if level == "warning" and "Add face box" in text:
            self.banner.show_message(level, text, "Add face box", lambda: self.set_tool("box"))
        else:
            self.banner.show_message(level, text)
        self.centralWidget().place_banner()

    def _on_file_opened(self) -> None:
        self.banner.hide()  # messages about the previous photo no longer apply

    def _on_doc_opened(self) -> None:
        pending, self._pending_batch_open = self._pending_batch_open, None
        if pending and self.doc.is_open and self.doc.path == pending[0]:
            QTimer.singleShot(0, lambda: self._continue_batch_open(*pending))
        if self.doc.is_open:
            w, h = self.doc.size
            self.size_label.setText(f"{w} × {h} px  ({megapixels(w * h)})")
        else:
            self.size_label.setText("")
            self.zoom_label.setText("")
        self.pos_label.setText("")
        self.status_text.setText("")
        self._update_title()
        self._update_enabled()

    def _continue_batch_open(self, src: Path, output: Path | None) -> None:
        if self.doc.path != src:
            return
        if output is not None:
            self.doc.save_path = output  # Save (Ctrl+S) replaces the batch's output, never the original
        self.processing.remove_masks()
        where = f" Save (Ctrl+S) replaces the batch output “{output.name}”." if output is not None else ""
        self.show_message("info", f"Opened “{src.name}” from the batch; removing its masks again to refine them."
                          + where)

    def _on_brush_settings(self) -> None:
        self.canvas.set_brush_size(self.brush.size)
        self.settings.set_value("brush/size", self.brush.size)
        self.settings.set_value("brush/hardness", self.brush.hardness)
        self.status_text.setText(f"Brush {self.brush.size:.0f} px, hardness {self.brush.hardness:.0%}")

    def _on_opacity(self, opacity: float) -> None:
        self.canvas.set_overlay_opacity(opacity)
        self.settings.set_value("mask/opacity", opacity)

    def _show_cursor(self, pos: QPointF | None) -> None:
        if pos is None or not self.doc.is_open:
            self.pos_label.setText("")
            return
        x, y = int(pos.x()), int(pos.y())
        w, h = self.doc.size
        if 0 <= x < w and 0 <= y < h:
            r, g, b = (int(v) for v in self.doc.output_image()[y, x])
            m = int(self.doc.mask[y, x])
            self.pos_label.setText(f"x {x}, y {y}   RGB {r},{g},{b}   mask {m * 100 // 255}%")

    def _on_progress(self, _job: int, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 100))
        self.status_text.setText(message)

    def _update_busy(self) -> None:
        busy = self.runner.busy(BUSY_KINDS)
        engine_busy = self.processing.busy
        self.progress.setVisible(busy)
        self.cancel_btn.setVisible(self._cancellable())
        self.act_cancel.setEnabled(self._cancellable() or self.brush.stroking)
        if busy and not engine_busy:
            self.progress.setRange(0, 0)  # loading/saving: no fractions, just show activity
        else:
            self.progress.setRange(0, 100)
        if not busy and not self._close_when_idle:
            self.status_text.setText("")
        self._update_enabled()
        self._close_if_stopped()

    def _cancellable(self) -> bool:
        """An engine step or a heal is running: Esc / Cancel stops it."""
        return self.processing.busy or self.runner.busy(HEAL_JOBS)

    def _update_enabled(self) -> None:
        has, busy = self.doc.is_open, self.processing.busy
        for a in (self.act_save, self.act_save_as, self.act_export, self.act_close, self.act_fit, self.act_actual,
                  self.act_zoom_in, self.act_zoom_out):
            a.setEnabled(has)
        for a in (self.act_remove, self.act_detect):
            a.setEnabled(has and not busy)
        for a in (self.act_brush, self.act_eraser, self.act_box):
            a.setEnabled(has)
        self.act_reinpaint.setEnabled(has and not busy and bool(self.doc.faces))
        self.act_delete_face.setEnabled(has and 0 <= self.doc.selected_face < len(self.doc.faces))
        if hasattr(self, "edit_tools"):  # built after the first call
            self.edit_tools.set_enabled(has)
        self.brush_panel.setEnabled(has)
        self.layers_panel.setEnabled(has)
        self.history.setEnabled(has and not self.stack.in_transaction)

    def _update_title(self, *_) -> None:
        name = (self.doc.path.name if self.doc.path else "Untitled") if self.doc.is_open else ""
        self.setWindowTitle(f"{name}[*] — Unmask Studio" if name else "Unmask Studio")
        self.setWindowModified(self.files.dirty)

    def _fill_recent_menu(self) -> None:
        m = self.recent_menu
        m.clear()
        files = self.settings.recent_files()
        for i, f in enumerate(files):
            a = m.addAction(f"&{i + 1 if i < 9 else 0}  {Path(f).name}")
            a.setToolTip(f)
            a.setStatusTip(f)
            a.triggered.connect(lambda _=False, path=f: self.files.open_path(path))
        if not files:
            m.addAction("No recent photos").setEnabled(False)
        m.addSeparator()
        m.addAction("Clear Recent", self.settings.clear_recent).setEnabled(bool(files))

    def _open_log_dir(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(log_dir())))

    # =========================================================================== closing
    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        # Never block the GUI thread waiting for a job: a 40 MP paste-back can take seconds to reach
        # its next cancel check. Ask, cancel, and close once the job has stopped.
        if self.runner.busy(CLOSE_WAITS_FOR):
            event.ignore()
            if self._close_when_idle or not self.processing.busy or dialogs.ask_stop_and_close(self):
                self._stop_then_close()
            return
        self._close_when_idle = False
        if not self._closing and self.files.dirty:
            event.ignore()

            def really_close():
                self._closing = True
                QTimer.singleShot(0, self.close)  # after the save's callback has returned

            self.files.maybe_save(really_close)
            return
        if self.batch_dialog is not None:
            self.batch_dialog.shutdown()  # stops after the current photo; the batch can be resumed later
        self.settings.save_window(self.saveGeometry(), self.saveState())
        self.settings.sync()
        self.runner.cancel()
        self.runner.wait(1000)  # only the warm-up can still be running; it is not worth waiting for
        event.accept()

    def _stop_then_close(self) -> None:
        self._close_when_idle = True
        self.processing.cancel()  # loading and saving are never interrupted: they finish first
        self.status_text.setText("Stopping, then closing…")

    def _close_if_stopped(self) -> None:
        if self._close_when_idle and not self.runner.busy(CLOSE_WAITS_FOR):
            QTimer.singleShot(0, self.close)
