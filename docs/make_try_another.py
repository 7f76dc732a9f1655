"""Screenshot of "Try another fill" (docs/try_another.png): the real window on a real photo after Remove masks
and one Try another (T), zoomed to the face, the Layers panel naming the face's fill; below it, the
face as the window showed it on each of its fills, stepping through them with Try another.

    python docs/make_try_another.py        (offscreen; no display needed)
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()

from PIL import Image, ImageDraw, ImageFont  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PHOTO = ROOT.parent / "shared" / "data" / "real_masked" / (sys.argv[1] if len(sys.argv) > 1 else "006.webp")
OUT = ROOT / "docs" / "try_another.png"
_loop: QEventLoop | None = None


def pump(seconds: float = 0.3, until=None, timeout: float = 120) -> None:
    global _loop
    _loop = _loop or QEventLoop()
    t0 = time.monotonic()
    while (until is None and time.monotonic() - t0 < seconds) or (until is not None and not until()):
        if time.monotonic() - t0 > timeout:
            raise TimeoutError
        _loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def to_pil(qimage) -> Image.Image:
    path = Path(tempfile.mkstemp(suffix=".png")[1])
    qimage.save(str(path))
    return Image.open(path).convert("RGB")


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import Settings
    from unmask_studio.app.theme import apply_dark_theme
    from unmask_studio.core.variants import COUNT

    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp())
    w = MainWindow(Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)), warm_up=False)
    w.resize(1320, 860)
    w.show()
    w.open_files([str(PHOTO)])
    pump(until=lambda: w.doc.is_open and not w.runner.busy())
    w.act_remove.trigger()
    pump(until=lambda: not w.runner.busy())
    face = max(range(len(w.doc.faces)), key=lambda i: w.doc.faces[i].size)
    w.doc.select_face(face)
    x0, y0, x1, y1 = w.doc.faces[face].box
    w.canvas.zoom_at(min(w.canvas.viewport().width() / (1.6 * (x1 - x0)),
                         w.canvas.viewport().height() / (1.6 * (y1 - y0))) / w.canvas.zoom,
                     w.canvas.viewport().rect().center())
    w.canvas.centerOn((x0 + x1) / 2, (y0 + y1) / 2)
    w.doc.set_visible("faces", False)  # the face's box would cover the fill in the strip
    fills = []
    for n in range(COUNT):  # fill 1 (as Remove masks left it), then Try another for 2, 3, 4
        if n:
            w.alternatives.act_next.trigger()
            pump(until=lambda: not w.runner.busy())
        pump(0.3)
        fills.append(to_pil(w.canvas.viewport().grab().toImage()))
    for _ in range(COUNT - 2):  # on round to fill 2 of 4: the window as shown above the strip
        w.alternatives.act_next.trigger()
        pump(until=lambda: not w.runner.busy())
    w.doc.set_visible("faces", True)
    pump(0.5)
    window = to_pil(w.grab().toImage())

    side = window.width // COUNT
    strip = Image.new("RGB", (window.width, side + 28), (32, 34, 38))  # dark, like the window
    draw = ImageDraw.Draw(strip)
    for n, img in enumerate(fills):
        s = min(img.size)
        cell = img.crop(((img.width - s) // 2, (img.height - s) // 2, (img.width + s) // 2, (img.height + s) // 2))
        strip.paste(cell.resize((side - 6, side - 6)), (n * side + 3, 25))
        draw.text((n * side + 8, 4), f"fill {n + 1} of {COUNT}" + ("  (Remove masks)" if n == 0 else "  (Try another)"),
                  fill=(230, 230, 230), font=ImageFont.load_default(15))
    out = Image.new("RGB", (window.width, window.height + strip.height))
    out.paste(window, (0, 0))
    out.paste(strip, (0, window.height))
    out.save(OUT)
    w.stack.setClean()
    w.close()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
