"""Screenshots of the editor's main states for the docs, taken from the real app with the real engine.

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_screenshots.py [--photo PATH]

Writes docs/screenshots/01_empty.png ... 05_compare_split.png. Settings go to a temporary file, so
your own window layout and recent files are neither used nor changed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()

from PySide6.QtCore import QEventLoop, QPointF, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
DEFAULT_PHOTOS = [SHARED / "real_masked" / "086.webp", SHARED / "pairs_dev" / "masked" / "110.png"]
OUT = ROOT / "docs" / "screenshots"
_loop: QEventLoop | None = None


def pump(seconds: float = 0.2, until=None, timeout: float = 180) -> None:
    # QEventLoop's instance processEvents: PySide6 6.12's static one leaks a reference to None per call.
    global _loop
    _loop = _loop or QEventLoop()
    t0 = time.monotonic()
    while True:
        _loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        elapsed = time.monotonic() - t0
        if until is None and elapsed >= seconds:
            return
        if until is not None and until() and elapsed >= seconds:
            return
        if elapsed > timeout:
            raise TimeoutError("screenshot step timed out")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photo", type=Path, default=next((p for p in DEFAULT_PHOTOS if p.exists()), None))
    ap.add_argument("--size", default="1360x860", help="window size WxH")
    args = ap.parse_args()
    if args.photo is None or not args.photo.exists():
        print("no photo to show; pass --photo", file=sys.stderr)
        return 2

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import Settings
    from unmask_studio.app.theme import apply_dark_theme

    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="unmask_shots_"))
    w = MainWindow(Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)))
    width, height = (int(v) for v in args.size.split("x"))
    w.resize(width, height)
    w.move(20, 20)
    w.show()
    OUT.mkdir(parents=True, exist_ok=True)
    idle = lambda: not w.runner.busy()  # noqa: E731

    def shot(name: str) -> None:
        pump(0.4)
        path = OUT / f"{name}.png"
        w.grab().save(str(path))
        print("wrote", path.relative_to(ROOT))

    pump(0.5, until=idle)  # models warm up in the background
    shot("01_empty")

    w.open_files([str(args.photo)])
    pump(0.3, until=lambda: w.doc.is_open and idle())
    shot("02_photo_loaded")

    w.processing.remove_masks()
    pump(0.3, until=idle)
    shot("03_faces_unmasked")

    # Refining: brush tool, zoomed on the face, mask overlay on, one stroke painted, outline visible.
    w.set_tool("brush")
    c = w.canvas
    if w.doc.faces:
        x0, y0, x1, y1 = w.doc.faces[0].box
        c.fit()
        c.zoom_at(1.8, c.viewport().rect().center())
        c.centerOn((x0 + x1) / 2, (y0 + y1) * 0.55)
        w.brush.set_size(max(12, (x1 - x0) // 10))
        w.brush.begin(QPointF(x0 + (x1 - x0) * 0.15, y0 + (y1 - y0) * 0.62))
        for i in range(1, 11):
            w.brush.move(QPointF(x0 + (x1 - x0) * (0.15 - 0.01 * i), y0 + (y1 - y0) * (0.62 + 0.025 * i)))
        w.brush.end()
        w.doc.select_face(0)
        c.outline.place(QPointF(x0 + (x1 - x0) * 0.05, y0 + (y1 - y0) * 0.9), w.brush.size)
        c.outline.show()
    shot("04_brush_refining")

    c.outline.hide()
    w.set_tool("pan")
    w.layers_panel.split_box.setChecked(True)
    w.layers_panel.split.setValue(50)
    w.doc.select_face(-1)
    c.fit()
    shot("05_compare_split")

    w.stack.setClean()  # nothing to save: close without the unsaved-changes question
    w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
