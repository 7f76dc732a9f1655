"""Batch safety, through the core and the CLI, on real photos: bad files are reported and skipped,
originals are never touched, outputs are atomic, nothing finished is redone (manifest included), cancel
then resume, pause, a full disk / unwritable folder stops with a clear message, and options (name
pattern, metadata) behave the same everywhere."""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import struct
import threading
import time
import zlib
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from tests.conftest import data_path
from unmask_studio.cli import main
from unmask_studio.core import batch
from unmask_studio.core.batch import (MANIFEST_NAME, BatchClock, BatchControl, BatchInputError, BatchOptions,
                                      Callbacks, Manifest, plan, run_batch)
from unmask_studio.core.io import load_image

MAKE_TAG = 0x010F


def _digest(folder, images_only=False):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and not (images_only and (p.suffix == ".json" or p.name.startswith(".")))}


def _huge_png(path, w=30000, h=30000):
    """A PNG header claiming 900 MP (a decompression bomb): refused before any pixel is decoded."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.fixture
def mixed(tmp_path):
    """Two real masked photos (one JPEG with EXIF), a corrupt file, a face-less image, a 900-MP bomb."""
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(data_path("pairs_dev", "masked", "107.png"), src / "a.png")
    exif = Image.Exif()
    exif[MAKE_TAG] = "SafetyCam"
    Image.open(data_path("pairs_dev", "masked", "152.png")).convert("RGB").save(src / "sub" / "b.jpg", quality=95,
                                                                               exif=exif.tobytes())
    (src / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(4000))
    ramp = np.linspace(0, 255, 240, dtype=np.uint8)[None, :, None].repeat(160, 0).repeat(3, 2)
    Image.fromarray(ramp).save(src / "wall.png")
    _huge_png(src / "huge.png")
    (src / "readme.txt").write_text("not a photo")
    return src


def _status(report):
    return {os.path.basename(f.input): f.status for f in report.files}


def test_bad_files_are_skipped_originals_untouched_and_nothing_redone(mixed, tmp_path, engine):
    before = _digest(mixed)
    opts = BatchOptions(out_dir=tmp_path / "out", name_pattern="{stem}_unmasked")
    jobs = plan([mixed], opts)
    assert sorted(j.dst.name for j in jobs) == ["a_unmasked.png", "b_unmasked.jpg", "corrupt_unmasked.jpg",
                                                "huge_unmasked.png", "wall_unmasked.png"]
    manifest = Manifest(opts.out_dir)
    manifest.begin([mixed], opts, len(jobs))
    on_disk = []  # the manifest is on disk after every file: a crash loses at most the photo in progress

    def on_file(i, rep):
        on_disk.append(Manifest.load(opts.out_dir).entry(rep.input)["status"])

    report = run_batch(engine, jobs, opts, Callbacks(on_file=on_file), manifest=manifest, lanes=2)
    assert [f.input for f in report.files] == [str(j.src) for j in jobs]  # in job order, with two lanes too
    st = _status(report)
    assert st == {"a.png": "done", "b.jpg": "done", "corrupt.jpg": "failed", "huge.png": "failed",
                  "wall.png": "no_faces"}
    assert on_disk == [f.status for f in report.files]
    msgs = {os.path.basename(f.input): f.message for f in report.files}
    assert "corrupt.jpg" in msgs["corrupt.jpg"] and "too large" in msgs["huge.png"]
    assert _digest(mixed) == before  # originals never modified
    out = opts.out_dir
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]
    assert (out / "sub" / "b_unmasked.jpg").exists() and not (out / "corrupt_unmasked.jpg").exists()
    m = json.loads((out / MANIFEST_NAME).read_text())
    assert m["complete"] and m["total"] == 5

    # Second run: nothing that finished is redone (files untouched), failures are retried and fail again.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.*") if p.suffix in (".png", ".jpg")}
    started = []
    report2 = run_batch(engine, jobs, opts, Callbacks(on_start=lambda i, j: started.append(j)),
                        manifest=Manifest.load(out))
    assert _status(report2) == {"a.png": "skipped", "b.jpg": "skipped", "corrupt.jpg": "failed",
                                "huge.png": "failed", "wall.png": "skipped"}
    assert sorted(j.src.name for j in started) == ["corrupt.jpg", "huge.png"]
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}

    # The CLI over the same folder agrees, exits 1 for the failures and writes nothing new either.
    assert main(["batch", str(mixed), "-o", str(out), "--name", "{stem}_unmasked", "--quiet"]) == 1
    rep = json.loads((out / "unmask-report.json").read_text())
    assert rep["counts"] == {"skipped": 3, "failed": 2}
    assert stamps == {p: p.stat().st_mtime_ns for p in stamps}
    assert _digest(mixed) == before


def test_cancel_then_resume_skips_finished_photos_even_without_outputs(mixed, tmp_path, engine):
    # skip_unmasked: the face-less photo finishes without writing anything; only the manifest knows.
    opts = BatchOptions(out_dir=tmp_path / "out", skip_unmasked=True)
    jobs = [j for j in plan([mixed], opts) if j.src.name in ("wall.png", "a.png", "b.jpg")]
    jobs.sort(key=lambda j: j.src.name != "wall.png")  # the face-less one first
    manifest = Manifest(opts.out_dir)
    manifest.begin([mixed], opts, len(jobs))
    seen, control = [], BatchControl()
    report = run_batch(engine, jobs, opts, Callbacks(on_file=lambda i, r: (seen.append(r), control.cancel())),
                       control=control, manifest=manifest)
    assert report.interrupted and _status(report)["wall.png"] == "no_faces" and len(report.files) < 3
    assert not (opts.out_dir / "wall.png").exists()
    m = Manifest.load(opts.out_dir)
    assert not m.complete and m.entry(mixed / "wall.png")["status"] == "no_faces"
    assert not [p for p in opts.out_dir.rglob("*") if p.name.endswith(".part")]

    report2 = run_batch(engine, jobs, opts, manifest=m)  # resume
    st = _status(report2)
    assert st["wall.png"] == "skipped"  # not redone: no output, but the manifest says it finished
    assert st["a.png"] in ("done", "skipped") and st["b.jpg"] == "done"
    assert Manifest.load(opts.out_dir).complete
    # Without the manifest (plain output check) the face-less photo would be redone.
    assert not batch.is_done(jobs[0], opts) and batch.is_done(jobs[0], opts, Manifest.load(opts.out_dir))
    # A photo that changed since is done again.
    os.utime(mixed / "wall.png", ns=(1, 1))
    assert not Manifest.load(opts.out_dir).is_finished(jobs[0])


@pytest.mark.parametrize("pipelined,lanes", [(True, 1), (False, 1), (True, 2)])
def test_pause_stops_picking_new_photos(mixed, tmp_path, engine, pipelined, lanes):
    opts = BatchOptions(out_dir=tmp_path / "out")
    jobs = [j for j in plan([mixed], opts) if j.src.suffix != ".txt" and j.src.name in ("a.png", "b.jpg", "wall.png")]
    paused, started, files, states = BatchControl(), [], [], []
    paused.pause()

    def on_paused(p):
        states.append(p)

    result = {}
    t = threading.Thread(target=lambda: result.setdefault("r", run_batch(
        engine, jobs, opts, Callbacks(on_file=lambda i, r: files.append(r), on_start=lambda i, j: started.append(i),
                                      on_paused=on_paused), control=paused, pipelined=pipelined, lanes=lanes)))
    t.start()
    deadline = time.monotonic() + 20
    while states != [True] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert states == [True]
    time.sleep(0.5)
    assert started == [] and files == []  # paused before the first photo: nothing started
    paused.resume()
    t.join(60)
    assert not t.is_alive() and states == [True, False]
    assert [f.status for f in result["r"].files] == ["done", "done", "no_faces"]


def test_disk_full_stops_the_batch_with_a_clear_message(mixed, tmp_path, engine, monkeypatch, capsys):
    real_fsync = os.fsync

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    for name in "cde":
        shutil.copy(mixed / "a.png", mixed / f"{name}.png")
    photos = [str(mixed / "a.png"), str(mixed / "sub" / "b.jpg")] + [str(mixed / f"{n}.png") for n in "cde"]
    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "out"
    code = main(["batch", *photos, "-o", str(out), "--quiet"])
    monkeypatch.setattr(os, "fsync", real_fsync)
    err = capsys.readouterr().err
    assert code == 1 and "disk is full" in err
    rep = json.loads((out / "unmask-report.json").read_text())
    assert rep["files"][0]["status"] == "failed" and "disk is full" in rep["files"][0]["message"]
    # Stopped instead of failing every photo (those already in the two lanes may be reported too).
    assert len(rep["files"]) <= 3 and "disk is full" in rep["stop_reason"]
    assert not [p for p in out.rglob("*") if ".part" in p.name]
    assert not (out / "a.png").exists()
    assert not json.loads((out / MANIFEST_NAME).read_text())["complete"]
    # Space freed: the same command resumes and finishes.
    assert main(["batch", *photos, "-o", str(out), "--quiet"]) == 0
    assert all((out / n).exists() for n in ("a.png", "b.jpg", "c.png", "d.png", "e.png"))


def test_permission_denied_stops_the_batch_with_a_clear_message(mixed, tmp_path, engine, monkeypatch):
    real_open = os.open
    out = tmp_path / "out"

    def deny(path, *a, **k):  # as root a read-only folder is still writable: simulate EACCES
        if str(path).startswith(str(out)) and str(path).endswith(".part"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(os, "open", deny)
    opts = BatchOptions(out_dir=out)
    jobs = [j for j in plan([mixed], opts) if j.src.name in ("a.png", "b.jpg")]
    report = run_batch(engine, jobs, opts, pipelined=False)  # sequential: exactly one photo is tried
    assert report.interrupted and "cannot be written" in report.stop_reason
    assert [f.status for f in report.files] == ["failed"]
    assert "no permission to write" in report.files[0].message


def test_options_name_pattern_metadata_and_identical_outputs(mixed, tmp_path, engine):
    from unmask_studio.app.batch_dialog import batch_engine  # what the GUI batch runs on (1 ORT thread)

    src = [str(mixed / "a.png"), str(mixed / "sub" / "b.jpg")]
    opts = BatchOptions(out_dir=tmp_path / "gui", name_pattern="{folder}-{stem}_x", keep_metadata=False)
    report = run_batch(batch_engine(), plan(src, opts), opts, pipelined=True)
    assert [f.status for f in report.files] == ["done", "done"]
    assert sorted(p.name for p in opts.out_dir.iterdir()) == ["in-a_x.png", "sub-b_x.jpg"]
    stripped = load_image(opts.out_dir / "sub-b_x.jpg")
    assert stripped.exif is None and stripped.icc_profile is None
    # The CLI with the same options writes the same bytes, and so does an engine on all cores, sequentially.
    cli = tmp_path / "cli"
    assert main(["batch", *src, "-o", str(cli), "--name", "{folder}-{stem}_x", "--strip-metadata", "--quiet"]) == 0
    assert _digest(cli, images_only=True) == _digest(opts.out_dir, images_only=True)
    assert engine.options.threads is None
    seq = replace(opts, out_dir=tmp_path / "seq")
    run_batch(engine, plan(src, seq), seq, pipelined=False)
    assert _digest(seq.out_dir, images_only=True) == _digest(opts.out_dir, images_only=True)
    # Metadata kept by default.
    kept = tmp_path / "kept"
    assert main(["batch", src[1], "-o", str(kept), "--quiet"]) == 0
    ex = Image.Exif()
    ex.load(load_image(kept / "b.jpg").exif)
    assert ex[MAKE_TAG] == "SafetyCam"


def test_bad_patterns_and_output_folder_are_refused(mixed, tmp_path, capsys):
    for bad in ("{name}", "fixed", "{stem}/x", "{stem"):
        with pytest.raises(BatchInputError):
            plan([mixed], BatchOptions(out_dir=tmp_path / "o", name_pattern=bad))
    assert main(["batch", str(mixed), "-o", str(tmp_path / "o"), "--name", "out"]) == 2
    assert "{stem}" in capsys.readouterr().err
    with pytest.raises(BatchInputError, match="output folder is the input folder"):
        plan([mixed], BatchOptions(out_dir=mixed, name_pattern="{stem}_u"))


def test_clock_estimates_without_pauses(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(batch.time, "monotonic", lambda: now[0])
    c = BatchClock()
    assert c.remaining(10) is None
    now[0] += 4
    c.file_processed()
    c.file_processed()
    assert c.remaining(10) == pytest.approx(20)
    c.pause()
    now[0] += 100  # paused time counts neither as elapsed nor in the rate
    assert c.elapsed() == pytest.approx(4)
    c.resume()
    now[0] += 2
    c.file_processed()
    assert c.elapsed() == pytest.approx(6) and c.remaining(3) == pytest.approx(6)
    assert c.per_minute() == pytest.approx(30)
    assert batch.format_duration(3725) == "1:02:05" and batch.format_duration(65) == "1:05"
