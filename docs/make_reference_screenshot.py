"""Screenshot of a face restored with a reference photo (docs/screenshots/11_reference.png), from the real
window: a held-out LFW person's photo with a synthetic surgical mask, Remove masks, then "Use a reference
photo…" with another photo of the same person (its thumbnail shows in the Layers panel).

    xvfb-run -s "-screen 0 1400x900x24" python docs/make_reference_screenshot.py

The masked photo is made with training/synth.py (numpy + OpenCV) and written to a temporary folder.
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

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from PySide6.QtCore import QEventLoop, QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

PERSON = ROOT.parent / "shared" / "data" / "lfw_people" / "Alan_Greenspan"  # held out (every 10th person)
OUT = ROOT / "docs" / "screenshots"


def pump(until, timeout: float = 120) -> None:
    loop, t0 = QEventLoop(), time.monotonic()
    while not until():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError
        loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)


def masked_photo(path: Path, tmp: Path) -> Path:
    """``path`` enlarged 2x with a synthetic surgical mask drawn on the face (training/synth.py)."""
    from training.synth import synthesize
    from unmask_studio.core.faces import shared_finder

    rgb = np.asarray(Image.open(path).convert("RGB"))
    rgb = cv2.resize(rgb, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    face = max(shared_finder().find(rgb), key=lambda f: f.size)
    masked, _, _ = synthesize(rgb, face.landmarks, np.random.default_rng(3), kind="surgical")
    out = tmp / f"{path.stem}_masked.png"
    Image.fromarray(masked).save(out)
    return out


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import Settings
    from unmask_studio.app.theme import apply_dark_theme

    apply_dark_theme(app)
    tmp = Path(tempfile.mkdtemp())
    photos = sorted(PERSON.glob("*.jpg"))
    target, reference = masked_photo(photos[0], tmp), photos[1]
    w = MainWindow(Settings(QSettings(str(tmp / "s.ini"), QSettings.Format.IniFormat)), warm_up=False)
    w.resize(1320, 860)
    w.show()
    w.open_files([str(target)])
    pump(lambda: w.doc.is_open and not w.runner.busy())
    w.act_remove.trigger()
    pump(lambda: w.doc.result_state.has_result and not w.runner.busy())
    w.reference_actions.use(0, reference)
    pump(lambda: not w.runner.busy())
    time.sleep(0.5)
    pump(lambda: not w.runner.busy())
    w.layers_panel.tree.expandAll()
    OUT.mkdir(parents=True, exist_ok=True)
    w.grab().save(str(OUT / "11_reference.png"))
    w.stack.setClean()
    w.close()
    print("wrote", OUT / "11_reference.png")


if __name__ == "__main__":
    main()
