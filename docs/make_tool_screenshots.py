"""Screenshots of the retouch and selection tools on a real photo, taken from the real window with the tools
driven as a user would: heal brush (docs/screenshots/06_heal.png), magic wand (07_wand_selection.png),
clone stamp (09_clone_stamp.png: mouse events through the canvas, Alt-click for the source) and rectangle
plus Shift-lasso (10_lasso_rectangle.png); and, given the output folder of a batch
(``unmask-studio batch IN -o OUT``), the batch review grid (08_review_grid.png).

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_tool_screenshots.py [--batch-output OUT]

Settings go to a temporary file; the engine is never run (the tools need none).
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()

from PySide6.QtCore import QEvent, QEventLoop, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtGui import QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PHOTO = ROOT.parent / "shared" / "data" / "real_masked" / "006.webp"
OUT = ROOT / "docs" / "screenshots"
STRAP = [(257, 452), (272, 470), (311, 500), (324, 510), (335, 522), (348, 530)]
CLONE_SOURCE = (6, 48)  # from the strap down to clean cheek skin, clear of the ear and the N95's edge
# Around the N95, traced a little outside its edge (clockwise from the top), for the Shift-lasso.
COVERING = [(465, 405), (550, 418), (600, 445), (622, 478), (636, 515), (638, 575), (622, 632), (590, 680),
            (545, 714), (480, 728), (422, 714), (385, 678), (362, 630), (354, 570), (364, 518), (395, 470),
            (430, 430)]
_loop: QEventLoop | None = None


def pump(seconds: float = 0.3, until=None, timeout: float = 60) -> None:
    global _loop
    _loop = _loop or QEventLoop()
    t0 = time.monotonic()
    while (until is None and time.monotonic() - t0 < seconds) or (until is not None and not until()):
        if time.monotonic() - t0 > timeout:
            raise TimeoutError
        _loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import Settings
    from unmask_studio.app.theme import apply_dark_theme

    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)), warm_up=False)
    w.resize(1320, 860)
    w.show()
    w.open_files([str(PHOTO)])
    pump(until=lambda: w.doc.is_open and not w.runner.busy())
    OUT.mkdir(parents=True, exist_ok=True)

    # Heal: the strap across the cheek, at 200 %; the second half of the stroke still shown as the preview.
    w.set_tool("heal")
    w.brush.set_size(20)
    w.canvas.zoom_at(2.0 / w.canvas.zoom, w.canvas.viewport().rect().center())
    w.canvas.centerOn(330, 500)
    tools = w.edit_tools
    tools.heal.begin(QPointF(*STRAP[0]))
    for p in STRAP[1:4]:
        tools.heal.move(QPointF(*p))
    tools.heal.end()
    pump(until=lambda: not tools.heal.busy)
    tools.heal.begin(QPointF(*STRAP[3]))
    for p in STRAP[4:]:
        tools.heal.move(QPointF(*p))
    w.canvas.outline.place(QPointF(*STRAP[-1]), 20)
    w.canvas.outline.show()
    pump(0.5)
    w.grab().save(str(OUT / "06_heal.png"))
    tools.heal.end()
    pump(until=lambda: not tools.heal.busy)
    while w.stack.canUndo():  # the strap back, for the clone stamp
        w.stack.undo()

    clone_shot(w)
    # Open the photo again, as a user starting over: the clone source circle and its message go with it.
    w.stack.setClean()
    reopened = []
    w.doc.opened.connect(lambda *_: reopened.append(True))
    w.open_files([str(PHOTO)])
    pump(until=lambda: reopened and not w.runner.busy())

    # Magic wand: a click on the N95, then a Shift-click on its shaded half.
    w.canvas.fit()
    w.set_tool("wand")
    tools.select.wand(470, 560, "replace")
    pump(until=lambda: not w.runner.busy())
    tools.select.wand(560, 650, "add")
    pump(until=lambda: not w.runner.busy())
    pump(0.5)
    w.grab().save(str(OUT / "07_wand_selection.png"))
    selection_shot(w)
    if len(sys.argv) > 2 and sys.argv[1] == "--batch-output":
        review_grid(w, sys.argv[2])
    w.stack.setClean()
    w.close()
    print("wrote", *(OUT / n for n in ("06_heal.png", "07_wand_selection.png", "09_clone_stamp.png",
                                       "10_lasso_rectangle.png")))


def mouse(w, kind: QEvent.Type, xy, modifiers=Qt.KeyboardModifier.NoModifier, held: bool = True) -> None:
    """A mouse event at photo pixel ``xy`` on the canvas, as the window receives it from a user."""
    vp = w.canvas.viewport()
    pos = QPointF(w.canvas.mapFromScene(QPointF(*xy)))
    left = Qt.MouseButton.LeftButton
    button = Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else left
    buttons = left if held and kind != QEvent.Type.MouseButtonRelease else Qt.MouseButton.NoButton
    ev = QMouseEvent(kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), button, buttons, modifiers)
    QApplication.sendEvent(vp, ev)


def drag(w, points, modifiers=Qt.KeyboardModifier.NoModifier, press: bool = True, release: bool = True) -> None:
    """Press at the first point (unless the button is already down), move through the rest, release."""
    if press:
        mouse(w, QEvent.Type.MouseButtonPress, points[0], modifiers)
    for p in points[1:] if press else points:
        mouse(w, QEvent.Type.MouseMove, p, modifiers)
        pump(0.02)
    if release:
        mouse(w, QEvent.Type.MouseButtonRelease, points[-1], modifiers)


def along(points, step: float = 4.0) -> list[tuple[float, float]]:
    """The polyline through ``points`` every ``step`` pixels, as a hand-held mouse reports it."""
    out = [points[0]]
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        n = max(1, int(((bx - ax) ** 2 + (by - ay) ** 2) ** 0.5 / step))
        out += [(ax + (bx - ax) * i / n, ay + (by - ay) * i / n) for i in range(1, n + 1)]
    return out


def clone_shot(w) -> None:
    """Clone stamp at 200 %: Alt-click on clean cheek skin below the strap, then a stroke along the strap,
    shot while the button is still down (the source circle follows the brush)."""
    w.set_tool("clone")
    w.brush.set_size(20)
    stroke = along(STRAP[1:], 3)
    sx, sy = STRAP[1][0] + CLONE_SOURCE[0], STRAP[1][1] + CLONE_SOURCE[1]
    mouse(w, QEvent.Type.MouseMove, (sx, sy), held=False)
    mouse(w, QEvent.Type.MouseButtonPress, (sx, sy), Qt.KeyboardModifier.AltModifier)
    mouse(w, QEvent.Type.MouseButtonRelease, (sx, sy), Qt.KeyboardModifier.AltModifier)
    drag(w, stroke[: len(stroke) * 2 // 3], release=False)
    pump(0.5)
    w.grab().save(str(OUT / "09_clone_stamp.png"))
    drag(w, stroke[len(stroke) * 2 // 3:], press=False)  # the rest of the stroke, then the release
    pump(0.2)


def selection_shot(w) -> None:
    """A rectangle over the N95's middle replaces the mask; a Shift-lasso around the whole covering adds the
    curved edges the rectangle missed, shot at 150 % with the lasso nearly closed (the mouse still down)."""
    w.canvas.zoom_at(1.5 / w.canvas.zoom, w.canvas.viewport().rect().center())
    w.canvas.centerOn(500, 565)
    w.set_tool("rect")
    drag(w, [(405, 470), (500, 580), (590, 685)])
    pump(0.3)
    w.set_tool("lasso")
    shift = Qt.KeyboardModifier.ShiftModifier
    path = along(COVERING, 6)
    drag(w, path[: len(path) * 9 // 10], shift, release=False)
    pump(0.5)
    w.grab().save(str(OUT / "10_lasso_rectangle.png"))
    drag(w, path[len(path) * 9 // 10:] + [path[0]], shift, press=False)
    pump(0.3)


def review_grid(w, out_dir: str) -> None:
    """The batch recorded in ``out_dir``, reviewed from File ▸ Batch… as a grid, the mouse over a photo."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    dlg = w.open_batch_dialog()
    dlg.out_edit.setText(out_dir)
    pump(0.5)
    dlg.review_manifest()
    grid = dlg.show_review_grid()
    grid.resize(1100, 760)
    pump(0.3)
    grid.view.viewport().update()
    pump(until=lambda: bool(grid._pairs) and not grid.loading)
    rect = grid.view.visualRect(grid.proxy.index(1, 0))
    pos = QPointF(rect.left() + rect.width() * 0.35, rect.center().y())
    ev = QMouseEvent(QEvent.Type.MouseMove, pos, QPointF(grid.view.viewport().mapToGlobal(pos.toPoint())),
                     Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(grid.view.viewport(), ev)
    pump(0.5)
    grid.grab().save(str(OUT / "08_review_grid.png"))
    print("wrote", OUT / "08_review_grid.png")


if __name__ == "__main__":
    main()
