"""Entry point of the editor: ``run_app(files) -> exit code`` (called by ``unmask_studio.cli``)."""
from __future__ import annotations

import sys

from unmask_studio.app.qt_env import prepare_qt_environment
from unmask_studio.app.system_libs import check_before_qt


def run_app(files: list[str]) -> int:
    problem = check_before_qt()  # missing X11 libraries: say which packages, instead of Qt's abort
    if problem:
        print(problem, file=sys.stderr)
        return 1
    prepare_qt_environment()  # before any QApplication exists
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from unmask_studio.app.crash_handler import install_excepthook
    from unmask_studio.app.main_window import MainWindow
    from unmask_studio.app.settings import APP_NAME, ORG_NAME
    from unmask_studio.app.theme import apply_dark_theme
    from unmask_studio.core.resources import resources_dir

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("Unmask Studio")
    app.setDesktopFileName("unmask-studio")  # matches packaging/unmask-studio.desktop
    icon = resources_dir() / "icons" / "unmask-studio.png"
    if icon.exists():
        from PySide6.QtGui import QIcon

        app.setWindowIcon(QIcon(str(icon)))
    apply_dark_theme(app)
    window = MainWindow()
    install_excepthook(lambda: window)
    window.show()
    if files:
        QTimer.singleShot(0, lambda: window.open_files(list(files)))  # after the window is on screen
    return app.exec()
