"""Issue 14, data loss: every planned output is unique (masks included), the report never replaces an input
or follows a symlink out of OUT, resume recognises the photo (not just the output's name), and a photo
without a user mask is copied unchanged. Each test failed before its fix."""
from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path
from unmask_studio.cli import main
from unmask_studio.core.batch import BatchOptions, plan


def _ramp(path, shade: int, size=(240, 160)):
    """A face-less photo (copied through unchanged by a batch) that differs from others by ``shade``."""
    w, h = size
    a = np.linspace(0, 200, w, dtype=np.uint8)[None, :, None].repeat(h, 0).repeat(3, 2)
    a[..., 0] = shade
    Image.fromarray(a).save(path)
    return path


def _report(out):
    files = json.loads((out / "unmask-report.json").read_text())["files"]
    return {os.path.relpath(f["input"], out.parent): f for f in files}


def test_colliding_names_from_two_folders_all_get_their_own_output(tmp_path):
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    d1.mkdir(), d2.mkdir()
    srcs = [_ramp(d1 / "a.png", 10), _ramp(d1 / "a_2.png", 20), _ramp(d2 / "a.png", 30)]
    out = tmp_path / "out"
    assert main(["batch", str(d1), str(d2), "-o", str(out), "--quiet"]) == 0
    outputs = sorted(p for p in out.iterdir() if p.suffix == ".png")
    assert len(outputs) == 3  # before the fix: two files, d2/a.png's result written over d1/a_2.png's
    rep = json.loads((out / "unmask-report.json").read_text())["files"]
    for f in rep:  # face-less photos are copied byte for byte: each output holds its own input
        assert open(f["output"], "rb").read() == open(f["input"], "rb").read()
    assert sorted(f["input"] for f in rep) == sorted(map(str, srcs))


def test_saved_masks_never_collide_with_other_outputs(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("x.jpg", "x.mask.png", "y.png", "y_2.png", "y_2.mask.png"):
        (src / name).write_bytes(b"")  # planning looks at names only
    (src / "sub").mkdir()
    (src / "sub" / "y.png").write_bytes(b"")
    opts = BatchOptions(out_dir=tmp_path / "out", save_masks=True, recursive=False)
    jobs = plan([src, src / "sub" / "y.png"], opts)
    claimed = [p for j in jobs for p in (j.dst, j.dst.with_name(j.dst.stem + ".mask.png"))]
    assert len({str(p).casefold() for p in claimed}) == len(claimed)
    by_src = {j.src.name if j.src.parent == src else "sub/y.png": j.dst.name for j in jobs}
    assert by_src["x.jpg"] == "x.jpg" and by_src["y.png"] == "y.png"  # the first of a name keeps it


def test_report_never_replaces_an_input(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    a, b = _ramp(src / "a.webp", 10), _ramp(src / "b.webp", 20)
    before = a.read_bytes()
    # `--report *.webp -o out`: the forgotten value swallows the first photo.
    assert main(["batch", "--report", str(a), str(b), "-o", str(tmp_path / "out"), "--quiet"]) == 2
    assert a.read_bytes() == before
    assert "report" in capsys.readouterr().err
    # Never over an input inside an input folder either, or over a planned output.
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--report", str(b), "--quiet"]) == 2
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--report",
                 str(tmp_path / "out" / "a.webp"), "--quiet"]) == 2
    assert not (tmp_path / "out" / "a.webp").exists()


def test_report_never_follows_a_symlink_out_of_the_output_folder(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    _ramp(src / "a.png", 10)
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "unmask-report.json").symlink_to(victim)
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 2
    assert victim.read_text() == "keep me" and "symbolic link" in capsys.readouterr().err
    (out / "unmask-report.json").unlink()
    (out / ".unmask-report.json.part").symlink_to(victim)  # a planted temp file is not followed either
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 0
    assert victim.read_text() == "keep me"
    assert json.loads((out / "unmask-report.json").read_text())["counts"] == {"no_faces": 1}


def test_an_existing_file_that_is_not_a_report_is_not_replaced(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _ramp(src / "a.png", 10)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--report", str(notes), "--quiet"]) == 2
    assert notes.read_text() == "my notes"


def test_a_different_photo_with_the_same_name_is_not_taken_for_done(tmp_path, capsys):
    d1, d2 = tmp_path / "jan", tmp_path / "feb"
    d1.mkdir(), d2.mkdir()
    _ramp(d1 / "a.png", 10)
    _ramp(d2 / "a.png", 90)
    out = tmp_path / "out"
    assert main(["batch", str(d1), "-o", str(out), "--quiet"]) == 0
    jan = (out / "a.png").read_bytes()
    # Another folder's a.png: not "done in an earlier run", and January's result is not lost either.
    assert main(["batch", str(d2), "-o", str(out), "--quiet"]) == 1
    f = _report(out)["feb/a.png"]
    assert f["status"] == "failed" and "another photo" in f["message"] and "jan" in f["message"]
    assert (out / "a.png").read_bytes() == jan
    assert main(["batch", str(d2), "-o", str(out), "--overwrite", "--quiet"]) == 0
    assert (out / "a.png").read_bytes() == (d2 / "a.png").read_bytes()


def test_a_photo_replaced_in_place_is_done_again(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _ramp(src / "a.png", 10)
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 0
    _ramp(src / "a.png", 90, size=(250, 160))  # same name, another photo
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 0
    assert _report(out)["in/a.png"]["status"] == "no_faces"
    assert (out / "a.png").read_bytes() == (src / "a.png").read_bytes()


def test_a_file_in_the_output_folder_that_no_batch_wrote_is_kept(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    _ramp(src / "a.png", 10)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"someone else's file")
    assert main(["batch", str(src), "-o", str(out), "--quiet"]) == 1
    assert (out / "a.png").read_bytes() == b"someone else's file"
    assert "already exists" in _report(out)["in/a.png"]["message"]


def test_user_masks_folder_without_a_mask_copies_the_photo(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(data_path("pairs_dev", "masked", "107.png"), src / "a.png")
    shutil.copy(data_path("pairs_dev", "masked", "152.png"), src / "b.png")
    masks = tmp_path / "masks"
    masks.mkdir()
    h, w = np.asarray(Image.open(src / "a.png")).shape[:2]
    m = np.zeros((h, w), np.uint8)
    m[250:300, 120:200] = 255
    Image.fromarray(m).save(masks / "a.png")
    out = tmp_path / "out"
    assert main(["batch", str(src), "-o", str(out), "--masks", str(masks), "--quiet"]) == 0
    rep = _report(out)
    assert rep["in/a.png"]["status"] == "done"
    assert rep["in/b.png"]["status"] == "no_mask" and "b.*" in rep["in/b.png"]["message"]
    # Like any photo without a mask: copied unchanged (before the fix: nothing was written).
    assert (out / "b.png").read_bytes() == (src / "b.png").read_bytes()
    out2 = tmp_path / "out2"  # --skip-unmasked still writes nothing for it
    assert main(["batch", str(src), "-o", str(out2), "--masks", str(masks), "--skip-unmasked", "--quiet"]) == 0
    assert (out2 / "a.png").exists() and not (out2 / "b.png").exists()


def test_outputs_a_crashed_huge_batch_did_not_record_yet_are_its_own(tmp_path):
    """Above LAZY_MANIFEST_FILES photos the manifest is saved lazily, so after a crash some outputs are on
    disk without an entry: resume takes those written since the unfinished batch began as done, and
    nothing older (a file that was there before the batch)."""
    from unmask_studio.core.batch import Job, Manifest, Status, precheck

    out = tmp_path / "out"
    out.mkdir()
    before = out / "old.png"
    before.write_bytes(b"there before the batch")
    os.utime(before, ns=(1, 1))
    src = tmp_path / "in"
    src.mkdir()
    jobs = [Job(_ramp(src / "new.png", 1), out / "new.png"), Job(_ramp(src / "old.png", 2), before)]
    opts = BatchOptions(out_dir=out)
    m = Manifest(out)
    m.begin([src], opts, 2)
    time.sleep(0.05)  # a batch writes its first output long after it began (the engine loads first)
    (out / "new.png").write_bytes(b"written by the batch, then it crashed")
    m = Manifest.load(out)  # what the next run reads
    assert precheck(jobs[0], opts, m).status == Status.SKIPPED
    assert precheck(jobs[1], opts, m).status == Status.FAILED
    m.finish(complete=True)  # a finished batch: nothing is taken on trust any more
    m.begin([src], opts, 2)
    assert precheck(jobs[0], opts, Manifest.load(out)).status == Status.FAILED


def test_kill_9_then_the_same_command_resumes_without_conflicts(tmp_path):
    """A batch killed at any moment (here: as soon as its first output exists, possibly before the
    manifest records it) is finished by the same command: no photo redone as a conflict, exit 0."""
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO

    src = tmp_path / "in"
    src.mkdir()
    for k, name in enumerate(("107", "152", "117", "107", "152", "117")):
        shutil.copy(data_path("pairs_dev", "masked", f"{name}.png"), src / f"p{k}.png")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "unmask_studio", "batch", str(src), "-o", str(out), "--quiet"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("p*.png")):
        time.sleep(0.005)
    p.send_signal(signal.SIGKILL)
    p.wait(30)
    assert len(list(out.glob("p*.png"))) < 6  # killed mid-batch
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "unmask-report.json").read_text())
    assert rep["counts"].get("failed", 0) == 0 and len(rep["files"]) == 6
