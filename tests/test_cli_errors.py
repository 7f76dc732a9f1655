"""Issue 14 items 6 and 7: the command line answers bad input with one line and the right exit code, never
a traceback; what it leaves out is named. Each test failed before its fix."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import REPO, data_path
from unmask_studio.cli import main


def _ramp(path, shade=10):
    a = np.linspace(0, 200, 240, dtype=np.uint8)[None, :, None].repeat(160, 0).repeat(3, 2)
    a[..., 0] = shade
    Image.fromarray(a).save(path)
    return path


@pytest.fixture
def folder(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _ramp(src / "a.png")
    return src


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


@pytest.mark.parametrize("args", [
    ["--name", "{stem:03d}"], ["--name", "{stem!z}"], ["--grow", "nan"], ["--grow", "1e9"], ["--grow", "inf"],
    ["--quality", "500"], ["--quality", "0"], ["--lanes", "0"], ["--lanes", "-3"], ["--format", "gif"],
])
def test_bad_option_values_are_refused_up_front(folder, tmp_path, capsys, args):
    out = tmp_path / "out"
    assert main(["batch", str(folder), "-o", str(out), "--quiet", *args]) == 2
    err = _one_line_error(capsys)
    assert args[0].lstrip("-") in err or "name pattern" in err
    assert not out.exists()  # refused before any work


def test_report_in_a_missing_folder_is_refused_before_any_work(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(folder), "-o", str(out), "--report", "/nonexistent/r.json", "--quiet"]) == 2
    assert "does not exist" in _one_line_error(capsys)
    assert not list(out.glob("*.png"))


def _start(args, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "unmask_studio", "batch", *args], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_loaded(p, library: str, timeout=60) -> None:
    """Until the process has mapped ``library`` (Linux): it is in the middle of its imports."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        try:
            if library in open(f"/proc/{p.pid}/maps").read():
                return
        except OSError:
            pass
        time.sleep(0.005)
    pytest.fail(f"{library} never loaded")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="watches /proc to time the Ctrl-C")
@pytest.mark.parametrize("library,times", [("_multiarray_umath", 1), ("onnxruntime_pybind", 1),
                                           ("_multiarray_umath", 2)], ids=["numpy", "onnxruntime", "twice"])
def test_ctrl_c_during_start_up_exits_130_without_a_traceback(folder, tmp_path, library, times):
    p = _start([str(folder), "-o", str(tmp_path / "out"), "--quiet"], tmp_path)
    _wait_until_loaded(p, library)
    for _ in range(times):
        p.send_signal(signal.SIGINT)
        time.sleep(0.05)
    out, err = p.communicate(timeout=120)
    assert p.returncode == 130, (p.returncode, err)
    assert "Traceback" not in err and "Interrupted" in err
    assert not list((tmp_path / "out").glob("*.png"))  # stopped before the first photo


def test_skipped_inputs_are_named(tmp_path, capsys, monkeypatch):
    src = tmp_path / "in"
    (src / "locked").mkdir(parents=True)
    _ramp(src / "a.png")
    _ramp(src / "locked" / "b.png")
    Image.new("RGB", (8, 8)).save(src / "anim.gif")
    (src / "phone.heic").write_bytes(b"\0" * 64)
    (src / "notes.txt").write_text("not a photo")  # not an image at all: not worth a line
    os.mkfifo(src / "pipe.jpg")
    real_scandir = os.scandir

    def scandir(path="."):  # as root a mode-000 folder is still readable: simulate EACCES
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for name in ("anim.gif", "phone.heic", "pipe.jpg", "locked"):
        assert name in err, name
    assert "notes.txt" not in err
    rep = json.loads((out / "unmask-report.json").read_text())
    assert {os.path.basename(s["input"]) for s in rep["not_processed"]} == {"anim.gif", "phone.heic", "pipe.jpg",
                                                                           "locked"}


def test_a_special_file_named_as_input_is_refused(tmp_path, capsys):
    os.mkfifo(tmp_path / "pipe.jpg")
    assert main(["batch", str(tmp_path / "pipe.jpg"), "-o", str(tmp_path / "out")]) == 2
    assert "not a regular file" in _one_line_error(capsys)


def test_multi_page_and_damaged_exif_are_per_file_notes_not_raw_warnings(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    frame = Image.open(data_path("pairs_dev", "masked", "107.png")).convert("RGB")
    frame.save(src / "pages.tif", save_all=True, append_images=[frame.transpose(Image.Transpose.FLIP_LEFT_RIGHT)])
    # A JPEG whose EXIF block claims more tags than it holds: Pillow warns "Corrupt EXIF data".
    bad_exif = b"Exif\0\0II*\0\x08\0\0\0\x30\0"
    frame.save(src / "exif.jpg", quality=90, exif=bad_exif)
    p = _start([str(src), "-o", str(tmp_path / "out")], tmp_path)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    assert "Warning" not in err and "Corrupt EXIF" not in err and "Traceback" not in err, err
    rep = {os.path.basename(f["input"]): f for f in json.loads((tmp_path / "out" / "unmask-report.json").read_text())
           ["files"]}
    assert any("first frame" in n for n in rep["pages.tif"]["notes"])
    assert any("EXIF" in n for n in rep["exif.jpg"]["notes"])
    assert "pages.tif" in err and "first frame" in err  # named on the console too



def test_the_ctrl_c_handler_imports_nothing():
    """The SIGINT handler runs in the middle of whatever the main thread does, start-up imports included.
    It used to print through tqdm.write, which (tqdm imported, no bar drawn yet) imports multiprocessing
    for its lock: an import inside an interrupted import broke importlib's module locks (KeyError, exit 1
    instead of 130, seen once in CI)."""
    probe = ("import sys, tqdm, unmask_studio.cli as cli\n"
             "before = set(sys.modules)\n"
             "cli._CtrlC()._on_sigint()\n"
             "print(sorted(set(sys.modules) - before))\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]", proc.stdout
    assert "Stopping after the photos in progress" in proc.stderr
