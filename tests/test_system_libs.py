"""Issue 14 item 12: on a Linux desktop without Qt's xcb libraries the editor names the missing
Debian/Ubuntu packages instead of Qt's abort that blames only xcb-cursor0."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from unmask_studio.app.system_libs import install_hint, missing_libraries, uses_xcb

ROOT = Path(__file__).resolve().parents[1]


def test_the_dynamic_loader_decides_what_is_missing():
    table = {"libc.so.6": "libc6", "libunmask-not-a-library.so.7": "unmask-not-a-package"}
    missing = missing_libraries(table)
    assert missing == {"libunmask-not-a-library.so.7": "unmask-not-a-package"}
    hint = install_hint({"libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-keysyms.so.1": "libxcb-keysyms1"})
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in hint
    assert hint.endswith("sudo apt install libxcb-icccm4 libxcb-keysyms1")


def test_only_the_x11_platform_is_checked():
    assert uses_xcb({}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"WAYLAND_DISPLAY": "wayland-0"}, "linux")
    assert not uses_xcb({}, "win32") and not uses_xcb({}, "darwin")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11 libraries are a Linux matter")
def test_editor_names_the_packages_to_install_instead_of_crashing():
    missing = missing_libraries()
    if not missing:
        pytest.skip("every xcb library is installed on this machine")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    env["DISPLAY"] = ":0"
    done = subprocess.run([sys.executable, "-m", "unmask_studio"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "xcb-cursor0" not in done.stderr
    assert ("sudo apt install " + " ".join(sorted(set(missing.values())))) in done.stderr
