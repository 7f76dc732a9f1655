"""The PyInstaller bundle works: packaging/smoke_test.sh (builds dist/UnmaskStudio/ if it is missing, then
runs a batch offline and the editor offscreen from the bundle).

Slow (a build takes minutes), so it only runs when asked: ``UNMASK_TEST_PACKAGING=1 ./test.sh -k packaging``.
``UNMASK_TEST_PACKAGING_REBUILD=1`` rebuilds the bundle even if one exists.
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BUNDLE = Path(os.environ.get("UNMASK_BUNDLE", REPO / "dist" / "UnmaskStudio"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("UNMASK_TEST_PACKAGING") != "1",
                       reason="packaging smoke test builds/runs the PyInstaller bundle (minutes); "
                              "set UNMASK_TEST_PACKAGING=1 to run it"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="packaging/smoke_test.sh is for Linux"),
]


def test_bundle_smoke_test():
    rebuild = os.environ.get("UNMASK_TEST_PACKAGING_REBUILD") == "1"
    if (rebuild or not (BUNDLE / "UnmaskStudio").exists()) and importlib.util.find_spec("PyInstaller") is None:
        pytest.skip(f"no bundle at {BUNDLE} and PyInstaller is not installed here (pip install -e '.[package]')")
    env = {**os.environ, "PYTHON": sys.executable, "UNMASK_BUNDLE": str(BUNDLE)}
    cmd = ["bash", str(REPO / "packaging" / "smoke_test.sh")] + (["--rebuild"] if rebuild else [])
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800)
    print(proc.stdout)
    assert proc.returncode == 0, f"smoke test failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert "SMOKE TEST PASSED" in proc.stdout
