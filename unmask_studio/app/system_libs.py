"""Before Qt starts on a Linux desktop: are the system libraries its X11 (xcb) platform needs there?

A fresh desktop install often lacks a few of them (``libxcb-icccm4``, ``libxcb-keysyms1``, …), and
Qt then aborts with a message that blames only ``xcb-cursor0``. We try to load each library the way
Qt would (the dynamic loader, so the answer is the loader's own) and name the Debian/Ubuntu
packages to install. No Qt import here: this runs before Qt is loaded.

    python -m unmask_studio.app.system_libs     # prints what is missing, exit 1 if anything is
"""
from __future__ import annotations

import ctypes
import os
import sys

# What PySide6's xcb platform plugin and the Qt libraries it loads need from the system (objdump -p
# NEEDED of libqxcb.so, libQt6XcbQpa, libQt6Gui/Core/Widgets/DBus/OpenGL), with the Debian 12 /
# Ubuntu 22.04+ package that ships each. libc, libstdc++ and zlib are on every system.
XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}


def missing_libraries(libraries: dict[str, str] = XCB_LIBRARIES) -> dict[str, str]:
    """{soname: package} for each library the dynamic loader cannot load."""
    missing = {}
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname, mode=os.RTLD_LAZY)
        except OSError:
            missing[soname] = package
    return missing


def uses_xcb(environ=os.environ, platform: str = sys.platform) -> bool:
    """Will Qt try its X11 platform? (Linux, unless told to use another, e.g. offscreen or wayland.)"""
    if not platform.startswith("linux"):
        return False
    wanted = environ.get("QT_QPA_PLATFORM", "")
    if wanted:
        return "xcb" in wanted.split(";")[0]
    return not environ.get("WAYLAND_DISPLAY")  # Qt picks Wayland there when nothing is set


def install_hint(missing: dict[str, str]) -> str:
    packages = " ".join(sorted(set(missing.values())))
    return (f"Unmask Studio cannot open its window: Qt's X11 support needs system libraries that are missing "
            f"({', '.join(missing)}).\nInstall them (Debian/Ubuntu):  sudo apt install {packages}")


def check_before_qt() -> str | None:
    """The message to print instead of starting Qt, or None when it can start."""
    if not uses_xcb():
        return None
    missing = missing_libraries()
    if missing:
        return install_hint(missing)
    if not os.environ.get("DISPLAY"):
        return ("Unmask Studio cannot open its window: there is no graphical display (DISPLAY is not set). "
                "Start it from a desktop session, or use “unmask-studio batch …” without one.")
    return None


def main() -> int:
    missing = missing_libraries()
    if missing:
        print(install_hint(missing))
        return 1
    print("All system libraries the editor needs are installed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
