"""``unmask-studio batch`` on a small real folder: outputs, resume, report, bad input, user masks."""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path
from unmask_studio.cli import main
from unmask_studio.core.io import load_image


def _digest(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def photo_folder(tmp_path):
    src = tmp_path / "in"
    (src / "trip").mkdir(parents=True)
    shutil.copy(data_path("pairs_dev", "masked", "107.png"), src / "a.png")
    Image.open(data_path("pairs_dev", "masked", "152.png")).save(src / "trip" / "b.jpg", quality=95)
    (src / "broken.jpg").write_bytes(Image.open(data_path("pairs_dev", "masked", "117.png")).tobytes()[:5000])
    # A photo with no face: a smooth gradient.
    ramp = np.linspace(0, 255, 300, dtype=np.uint8)[None, :, None].repeat(200, 0).repeat(3, 2)
    Image.fromarray(ramp).save(src / "trip" / "wall.png")
    (src / "notes.txt").write_text("not a photo")
    return src


def test_batch_folder_end_to_end(photo_folder, tmp_path):
    out = tmp_path / "out"
    before = _digest(photo_folder)
    code = main(["batch", str(photo_folder), "-o", str(out), "--save-masks", "--quiet"])
    assert code == 1  # one file failed
    assert _digest(photo_folder) == before  # inputs untouched
    report = json.loads((out / "unmask-report.json").read_text())
    status = {r["input"].split("/in/")[1]: r for r in report["files"]}
    assert status["a.png"]["status"] == "done" and status["a.png"]["faces"] == 1
    assert status["trip/b.jpg"]["status"] == "done"
    assert status["broken.jpg"]["status"] == "failed" and "broken.jpg" in status["broken.jpg"]["message"]
    assert status["trip/wall.png"]["status"] == "no_faces"
    assert "notes.txt" not in " ".join(status)
    # Structure kept, format kept, masks saved, no temp files left behind.
    assert (out / "a.png").exists() and (out / "trip" / "b.jpg").exists()
    assert (out / "a.mask.png").exists()
    assert not list(out.rglob("*.part"))
    # A photo with no face is passed through byte for byte.
    assert (out / "trip" / "wall.png").read_bytes() == (photo_folder / "trip" / "wall.png").read_bytes()
    # The output really changed where the mask was, and only there.
    src, res = load_image(photo_folder / "a.png").rgb, load_image(out / "a.png").rgb
    mask = load_image(out / "a.mask.png").rgb[..., 0] > 0
    changed = (src != res).any(-1)
    assert changed[mask].mean() > 0.5
    assert changed[~mask].mean() < 0.05

    # Second run: everything done is skipped, nothing rewritten.
    stamp = (out / "a.png").stat().st_mtime_ns
    assert main(["batch", str(photo_folder), "-o", str(out), "--quiet"]) == 1
    report = json.loads((out / "unmask-report.json").read_text())
    assert report["counts"]["skipped"] == 3
    assert (out / "a.png").stat().st_mtime_ns == stamp

    # --overwrite redoes them, deterministically (same bytes).
    first = (out / "a.png").read_bytes()
    assert main(["batch", str(photo_folder / "a.png"), "-o", str(out), "--overwrite", "--quiet"]) == 0
    assert (out / "a.png").read_bytes() == first


def test_user_masks_replace_segmentation(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(data_path("pairs_dev", "masked", "107.png"), src / "a.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    h, w = load_image(src / "a.png").rgb.shape[:2]
    m = np.zeros((h, w), np.uint8)
    m[250:300, 120:200] = 255
    Image.fromarray(m).save(masks / "a.png")
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), "--masks", str(masks), "--quiet"]) == 0
    changed = (load_image(out / "a.png").rgb != load_image(src / "a.png").rgb).any(-1)
    ys, xs = np.nonzero(changed)
    assert changed[250:300, 120:200].mean() > 0.9
    assert ys.min() >= 240 and ys.max() < 310 and xs.min() >= 110 and xs.max() < 210


def test_bad_inputs_give_clear_errors(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing"), "-o", str(tmp_path / "o")]) == 2
    assert "Input not found" in capsys.readouterr().err
    photo = tmp_path / "a.png"
    Image.fromarray(np.zeros((10, 10, 3), np.uint8)).save(photo)
    # Output folder == input folder would write over the input: refused.
    assert main(["batch", str(photo), "-o", str(tmp_path), "--overwrite"]) == 2
    assert "replace its input" in capsys.readouterr().err
    assert photo.exists()


def test_console_entry_point_runs():
    """The installed command answers (no Qt needed for --help)."""
    r = subprocess.run([sys.executable, "-m", "unmask_studio", "batch", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "--save-masks" in r.stdout


def test_pipelined_and_sequential_batches_write_identical_files(photo_folder, tmp_path, engine):
    from unmask_studio.core.batch import BatchOptions, plan, run_batch

    outputs = {}
    for pipelined, lanes in ((True, 1), (False, 1), (True, 2)):
        opts = BatchOptions(out_dir=tmp_path / f"out_{pipelined}_{lanes}", save_masks=True)
        jobs = plan([photo_folder], opts)
        report = run_batch(engine, jobs, opts, pipelined=pipelined, lanes=lanes)
        assert [f.status for f in report.files].count("done") == 2
        assert [f.input for f in report.files] == [str(j.src) for j in jobs]  # reported in job order
        outputs[(pipelined, lanes)] = _digest(opts.out_dir)
    assert outputs[(True, 1)] == outputs[(False, 1)] == outputs[(True, 2)]


def test_cancel_mid_batch_then_resume(photo_folder, tmp_path, engine):
    from unmask_studio.core.batch import BatchControl, BatchOptions, Callbacks, plan, run_batch

    opts = BatchOptions(out_dir=tmp_path / "out")
    jobs = plan([photo_folder], opts)
    seen, control = [], BatchControl()
    report = run_batch(engine, jobs, opts, Callbacks(on_file=lambda i, r: (seen.append(r), control.cancel())),
                       control=control)
    assert report.interrupted and len(report.files) < len(jobs)
    assert not list(opts.out_dir.rglob("*.part"))
    report2 = run_batch(engine, jobs, opts)
    statuses = [f.status for f in report2.files]
    assert len(statuses) == len(jobs) and "skipped" in statuses
    done_before = {f.output for f in report.files if f.status in ("done", "no_faces")}
    assert all(f.status == "skipped" for f in report2.files if f.output in done_before)
