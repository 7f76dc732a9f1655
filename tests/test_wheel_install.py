"""Install anywhere: a wheel built from this checkout, installed into a fresh virtual environment, runs a
batch from a folder outside the checkout, offline, and finds its models as package data (issue 14,
items 8 and 11). The sdist carries the models too, and a missing or broken model file is a one-line
error with exit code 3, never a traceback.

The fresh venv gets only the wheel (``pip install --no-deps --no-index``); its dependencies come from the
running environment's site-packages through a ``.pth`` line, so the test needs no network and no
second copy of onnxruntime/mediapipe/Qt. The venv's own site-packages comes first on ``sys.path``, and
the test checks that ``unmask_studio`` and its models are imported from there, not from the checkout.
About 25 s on an idle 2-core machine (build ~4 s, install ~3 s, batch of two real photos ~10 s).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "real_masked"
MODELS = REPO / "unmask_studio" / "resources" / "models"
CONTRACT = json.loads((MODELS / "contract.json").read_text())
# Every file the engine opens: the contract and each model it names (+ the model card, for the licences).
SHIPPED = ["contract.json", "MODEL_CARD.md"] + sorted(
    v["file"] for v in CONTRACT.values() if isinstance(v, dict) and "file" in v)

pytestmark = [
    pytest.mark.slow,  # ~25 s idle, ~60 s on a busy machine; still in the default run
    pytest.mark.skipif(not PHOTOS.is_dir(), reason="needs ../shared/data/real_masked"),
    pytest.mark.skipif(os.name != "posix", reason="venv layout (bin/, lib/pythonX.Y) is POSIX"),
]


def _clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "UNMASK_RESOURCES", "PYTHONHOME")}
    env.update(UNMASK_FORCE_CPU="1", GLOG_minloglevel="2", **extra)
    return env


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of what a release is built from (a build writes build/ and *.egg-info next to the
    sources; a stale build/lib in the checkout would also leak removed files into the wheel)."""
    src = tmp_path_factory.mktemp("src") / "unmask-studio"
    src.mkdir()
    for f in ("pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        if (REPO / f).exists():
            shutil.copy2(REPO / f, src / f)
    shutil.copytree(REPO / "unmask_studio", src / "unmask_studio",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.part"))
    return src


@pytest.fixture(scope="module")
def wheel(source, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                        "-q", "-w", str(out), str(source)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    (whl,) = out.glob("unmask_studio-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    py = root / "bin" / "python"
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                        "-q", str(wheel)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")  # appended after site itself
    return root


def test_wheel_carries_every_model_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for f in SHIPPED:
        assert f"unmask_studio/resources/models/{f}" in names, f"{f} missing from {wheel.name}"
    assert "unmask_studio/resources/icons/unmask-studio.png" in names
    # Nothing from the training side or the checkout's scratch files.
    assert not [n for n in names if n.startswith(("training/", "tests/", "benchmarks/")) or n.endswith(".int8.onnx")]


def test_installed_wheel_runs_a_batch_outside_the_checkout(venv, tmp_path):
    py, exe = venv / "bin" / "python", venv / "bin" / "unmask-studio"
    where = subprocess.run([str(py), "-c", "import unmask_studio, unmask_studio.core.resources as r; "
                            "print(unmask_studio.__file__); print(r.models_dir())"],
                           cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, check=True)
    module_file, models = (Path(line) for line in where.stdout.split())
    assert module_file.is_relative_to(venv) and models.is_relative_to(venv), where.stdout
    photos = [PHOTOS / "000.webp", PHOTOS / "001.webp"]
    out = tmp_path / "out"
    r = subprocess.run([str(exe), "batch", *map(str, photos), "-o", str(out), "--quiet"],
                       cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    report = json.loads((out / "unmask-report.json").read_text())
    assert report["counts"].get("failed", 0) == 0 and len(report["files"]) == 2
    for p in photos:
        result = out / p.name
        assert result.is_file()
        with Image.open(p) as a, Image.open(result) as b:
            assert a.size == b.size
    # Real work was done: 000.webp is a masked face, and its output differs from the input there.
    done = [f for f in report["files"] if f["status"] == "done"]
    assert done, report
    a = np.asarray(Image.open(done[0]["input"]).convert("RGB"), np.int16)
    b = np.asarray(Image.open(done[0]["output"]).convert("RGB"), np.int16)
    assert np.abs(a - b).max() > 40


def _resources_without(tmp_path: Path, damage: str) -> Path:
    """A copy of the shipped resources/ with one file removed or replaced by garbage."""
    res = tmp_path / "resources"
    shutil.copytree(MODELS.parent, res)
    name, _, how = damage.partition(":")
    if how == "garbage":
        (res / "models" / name).write_bytes(b"not an onnx model" * 100)
    else:
        (res / "models" / name).unlink()
    return res


@pytest.mark.parametrize("damage, expected", [
    ("inpainter.onnx", "inpainter model is missing"),
    ("segmenter.onnx", "segmenter model is missing"),
    ("contract.json", "contract.json is missing"),
    ("inpainter.onnx:garbage", "Could not load the inpainter model"),
])
def test_broken_install_is_one_line_and_exit_3(venv, tmp_path, damage, expected):
    res = _resources_without(tmp_path, damage)
    out = tmp_path / "out"
    r = subprocess.run([str(venv / "bin" / "unmask-studio"), "batch", str(PHOTOS / "000.webp"), "-o", str(out),
                        "--quiet"], cwd=tmp_path, env=_clean_env(UNMASK_RESOURCES=str(res)),
                       capture_output=True, text=True, timeout=300)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 3, r.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], r.stderr
    assert "Reinstall" in lines[0]
    assert not (out / "000.webp").exists()


def test_sdist_carries_the_models(source, tmp_path):
    r = subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; "
                        "print(b.build_sdist(sys.argv[1]))", str(tmp_path)],
                       cwd=source, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    name = r.stdout.strip().splitlines()[-1]
    with tarfile.open(tmp_path / name) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for f in SHIPPED:
        assert f"unmask_studio/resources/models/{f}" in names, f"{f} missing from the sdist {name}"
    assert "unmask_studio/resources/icons/unmask-studio.png" in names
