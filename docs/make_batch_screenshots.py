"""Screenshots of the batch dialog (File ▸ Batch…) mid-run and finished, with the real engine.

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_batch_screenshots.py [SETUP_PAGE.png]

Builds a small "party" folder in a temp dir from the dev set's masked photos (plus one damaged file and
one photo without a face), runs it, and writes docs/screenshots/06_batch_running.png and
07_batch_done.png. Settings go to a temporary file.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "docs"))

from unmask_studio.app.qt_env import prepare_qt_environment  # noqa: E402

prepare_qt_environment()

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from make_screenshots import OUT, SHARED, pump  # noqa: E402

PHOTOS = ["107", "110", "148", "152", "157", "162", "176", "196", "215", "228", "299", "409"]


def make_folder(tmp: Path) -> Path:
    src = tmp / "party"
    (src / "garden").mkdir(parents=True)
    for i, stem in enumerate(PHOTOS):
        folder = src / "garden" if i >= 8 else src
        img = Image.open(SHARED / "pairs_dev" / "masked" / f"{stem}.png").convert("RGB")
        img = img.resize((img.width * 3, img.height * 3), Image.Resampling.BICUBIC)  # camera-ish sizes
        img.save(folder / f"IMG_{4100 + i * 7}.jpg", quality=92)
    (src / "IMG_4112.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 20)  # cut short in a copy
    y, x = np.mgrid[0:900, 0:1200]
    wall = np.dstack([120 + x // 20, 140 + y // 30, 160 - x // 30]).astype(np.uint8)
    Image.fromarray(wall).save(src / "garden" / "IMG_4190.jpg", quality=92)  # a photo without anyone in it
    return src


def main() -> int:
    if not (SHARED / "pairs_dev" / "masked" / "107.png").exists():
        print("dev photos not found", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import Settings
    from unmask_studio.app.theme import apply_dark_theme

    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp(prefix="unmask_batch_shots_"))
    try:
        src = make_folder(tmp)
        w = MainWindow(Settings(QSettings(str(tmp / "settings.ini"), QSettings.Format.IniFormat)), warm_up=False)
        w.resize(1360, 860)
        w.move(10, 10)
        w.show()
        dlg = w.open_batch_dialog()
        dlg.move(180, 90)
        dlg.add_inputs([str(src)])
        dlg.out_edit.setText(str(tmp / "party-unmasked"))
        pump(0.5)
        if len(sys.argv) > 1:  # a look at the setup page too (not one of the docs' screenshots)
            dlg.grab().save(sys.argv[1])
        OUT.mkdir(parents=True, exist_ok=True)
        dlg.start()
        finished = lambda: sum(r.status not in ("pending", "working") for r in dlg.model.rows)  # noqa: E731
        pump(0.2, until=lambda: finished() >= 5 and any(r.status == "working" for r in dlg.model.rows))
        pump(1.2)  # a tick of the elapsed/remaining clock, thumbnails in
        dlg.grab().save(str(OUT / "06_batch_running.png"))
        print("wrote docs/screenshots/06_batch_running.png")
        pump(0.5, until=lambda: not dlg.running, timeout=600)
        dlg.table.clearSelection()
        dlg.table.scrollToTop()
        pump(1.0)
        dlg.grab().save(str(OUT / "07_batch_done.png"))
        print("wrote docs/screenshots/07_batch_done.png")
        dlg.close()
        w.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
