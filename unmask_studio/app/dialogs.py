"""Small modal dialogs: file choosers, the unsaved-changes question, overwrite and crash notices.

Kept in one place so tests can replace them (monkeypatch) without driving native dialogs.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from unmask_studio.core.io import SUPPORTED_EXTENSIONS

IMAGE_FILTER = "Images ({})".format(" ".join(f"*{e}" for e in SUPPORTED_EXTENSIONS))
SAVE_FILTERS = ";;".join(["JPEG (*.jpg *.jpeg)", "PNG (*.png)", "WebP (*.webp)", "TIFF (*.tif *.tiff)", "BMP (*.bmp)"])
FILTER_FOR_EXT = {".jpg": "JPEG (*.jpg *.jpeg)", ".jpeg": "JPEG (*.jpg *.jpeg)", ".png": "PNG (*.png)",
                  ".webp": "WebP (*.webp)", ".tif": "TIFF (*.tif *.tiff)", ".tiff": "TIFF (*.tif *.tiff)",
                  ".bmp": "BMP (*.bmp)"}


def suggested_name(original: Path, suffix: str = "_unmasked") -> Path:
    """``photo.jpg`` -> ``photo_unmasked.jpg`` next to it: Save never proposes the original itself."""
    return original.with_name(f"{original.stem}{suffix}{original.suffix}")


def ask_open_image(parent: QWidget, folder: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open photo", folder, f"{IMAGE_FILTER};;All files (*)")
    return path or None


def ask_save_image(parent: QWidget, suggestion: Path, title: str = "Save photo as") -> str | None:
    path, chosen = QFileDialog.getSaveFileName(parent, title, str(suggestion), SAVE_FILTERS,
                                               FILTER_FOR_EXT.get(suggestion.suffix.lower(), ""))
    if not path:
        return None
    if not Path(path).suffix:  # "photo" typed without extension: take it from the chosen filter
        ext = chosen.split("*")[1].split()[0].rstrip(")") if "*" in chosen else suggestion.suffix
        path += ext
    return path


def ask_open_mask(parent: QWidget, folder: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Load mask (white = remove)", folder, IMAGE_FILTER)
    return path or None


def ask_save_mask(parent: QWidget, suggestion: Path) -> str | None:
    path, _ = QFileDialog.getSaveFileName(parent, "Save mask", str(suggestion), "PNG (*.png)")
    if path and not path.lower().endswith(".png"):
        path += ".png"
    return path or None


def ask_unsaved(parent: QWidget, name: str) -> str:
    """'save' | 'discard' | 'cancel'."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                      f"“{name}” has changes that are not saved.", parent=parent)
    box.setInformativeText("Save them before continuing?")
    box.setStandardButtons(QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard |
                           QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    answer = box.exec()
    return {QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard"}.get(QMessageBox.StandardButton(answer), "cancel")


def confirm_overwrite_original(parent: QWidget, name: str) -> bool:
    answer = QMessageBox.warning(
        parent, "Replace the original photo?",
        f"“{name}” is the original photo you opened. Replacing it cannot be undone.\n\n"
        "Replace it anyway?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


def ask_stop_and_close(parent: QWidget) -> bool:
    """The window is being closed while the photo is being processed: stop and close?"""
    box = QMessageBox(QMessageBox.Icon.Question, "Still working",
                      "Unmask Studio is still working on this photo.", parent=parent)
    box.setInformativeText("Stop it and close the window?")
    stop = box.addButton("Stop and close", QMessageBox.ButtonRole.AcceptRole)
    keep = box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep)
    box.exec()
    return box.clickedButton() is stop


def show_crash(parent: QWidget | None, summary: str, log_path: Path) -> None:
    box = QMessageBox(QMessageBox.Icon.Critical, "Unmask Studio hit a problem",
                      "Something unexpected went wrong. The app is still running and your open photo "
                      "and edits are kept; saving your work now is a good idea.", parent=parent)
    box.setInformativeText(f"{summary}\n\nDetails were written to:\n{log_path}")
    box.exec()


def about_text(version: str) -> str:
    return (f"<b>Unmask Studio {version}</b><br>Removes face masks from photos and restores the face underneath."
            "<br><br>Code: open source (MIT).<br><br>The models it ships were trained on CelebA and "
            "MaskedFace-Net, whose licences allow <b>non-commercial research use only</b>; the mask "
            "templates come from MaskTheFace (MIT). Check those terms before using the results commercially.")


def show_about(parent: QWidget, version: str) -> None:
    QMessageBox.about(parent, "About Unmask Studio", about_text(version))


SHORTCUTS_HELP = """<table cellspacing=6>
<tr><td><b>Ctrl+O</b></td><td>Open photo</td></tr>
<tr><td><b>Ctrl+S / Ctrl+Shift+S</b></td><td>Save / Save as</td></tr>
<tr><td><b>Ctrl+Z / Ctrl+Shift+Z, Ctrl+Y</b></td><td>Undo / Redo</td></tr>
<tr><td><b>+ / − / Ctrl+0 / Ctrl+1</b></td><td>Zoom in / out / fit / 100 %</td></tr>
<tr><td><b>Wheel</b></td><td>Zoom under the cursor</td></tr>
<tr><td><b>Space+drag, middle drag</b></td><td>Pan</td></tr>
<tr><td><b>H / B / E / F</b></td><td>Hand / Brush / Eraser / Face box tool</td></tr>
<tr><td><b>[ / ]</b></td><td>Smaller / bigger brush</td></tr>
<tr><td><b>Hold C</b></td><td>Show the original while held</td></tr>
<tr><td><b>Ctrl+R</b></td><td>Remove masks</td></tr>
<tr><td><b>Ctrl+Shift+R</b></td><td>Fill again with the edited mask</td></tr>
<tr><td><b>T / Shift+T</b></td><td>Try another fill / previous fill of the selected face</td></tr>
</table>"""


def show_shortcuts(parent: QWidget) -> None:
    QMessageBox.information(parent, "Keyboard shortcuts", SHORTCUTS_HELP)
