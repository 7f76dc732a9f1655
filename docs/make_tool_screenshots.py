"""Screenshots of the heal brush and the magic wand on a real photo (docs/screenshots/06_heal.png,
07_wand_selection.png), taken from the real window with the tools driven as a user would, and, given the
output folder of a batch (``unmask-studio batch IN -o OUT``), the batch review grid (08_review_grid.png).

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

from PySide6.QtCore import QEventLoop, QPointF, QSettings, Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PHOTO = ROOT.parent / "shared" / "data" / "real_masked" / "006.webp"
OUT = ROOT / "docs" / "screenshots"
STRAP = [(257, 452), (272, 470), (311, 500), (324, 510), (335, 522), (348, 530)]
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

    # Magic wand: a click on the N95, then a Shift-click on its shaded half.
    w.canvas.fit()
    w.set_tool("wand")
    tools.select.wand(470, 560, "replace")
    pump(until=lambda: not w.runner.busy())
    tools.select.wand(560, 650, "add")
    pump(until=lambda: not w.runner.busy())
    pump(0.5)
    w.grab().save(str(OUT / "07_wand_selection.png"))
    if len(sys.argv) > 2 and sys.argv[1] == "--batch-output":
        review_grid(w, sys.argv[2])
    w.stack.setClean()
    w.close()
    print("wrote", OUT / "06_heal.png", OUT / "07_wand_selection.png")


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
