"""Reference photos from the command line and the batch (issue 12): --reference, --reference-face,
--references. The shipped inpainter may not take a reference yet (the engine then ignores it), so
routing is checked at the engine's boundary: which Reference reaches Engine.run, for which face; that
the output changes is checked only when the model has the input."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import unmask_studio.core.reference as reference_module
from tests.conftest import data_path
from unmask_studio.cli import main
from unmask_studio.core.pipeline import Engine

REAL = ("001.webp", "004.webp")  # real photos of one masked person each


def _lfw(person="Aaron_Peirsol", k=0):
    return sorted(data_path("lfw_people", person).glob("*.jpg"))[k]


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in REAL:
        shutil.copy(data_path("real_masked", name), folder / name)
    return folder


@pytest.fixture
def spy(monkeypatch):
    """Every Engine.run call: (engine, faces' boxes, references), and every reference aligned:
    (file name, finder, thread)."""
    calls, aligned = [], []
    run, from_file = Engine.run, reference_module.reference_from_file

    def spy_run(self, rgb, mask=None, faces=None, progress=None, cancel=None, references=None, **kw):
        faces = self.detect(rgb) if faces is None else faces
        calls.append((self, [f.box for f in faces], dict(references or {})))
        extra = {k: v for k, v in (("progress", progress), ("cancel", cancel)) if v is not None}
        return run(self, rgb, mask, faces, references=references, **extra, **kw)

    def spy_from_file(path, finder, crop_size):
        aligned.append((str(path), finder, threading.get_ident()))
        return from_file(path, finder, crop_size)

    monkeypatch.setattr(Engine, "run", spy_run)
    monkeypatch.setattr(reference_module, "reference_from_file", spy_from_file)
    return calls, aligned


def _report(out):
    return {f["input"].rsplit("/", 1)[-1]: f for f in json.loads((out / "unmask-report.json").read_text())["files"]}


def _batch(*args):
    return main(["batch", *map(str, args), "--quiet"])


# ------------------------------------------------------------------------------------- bad arguments
def test_a_missing_reference_is_refused_up_front(photos, tmp_path, capsys, spy):
    assert _batch(photos, "-o", tmp_path / "out", "--reference", tmp_path / "nope.jpg") == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: reference photo not found: {tmp_path / 'nope.jpg'}"
    assert not spy[0] and not (tmp_path / "out").exists()  # before any work


@pytest.mark.parametrize("args, message", [
    (["--reference-face", "2"], "--reference-face needs a reference"),
    (["--references", "/no/such/dir"], "reference folder not found"),
    (["--reference-face", "0", "--reference", "X"], "out of range"),
])
def test_bad_reference_options_exit_2_in_one_line(photos, tmp_path, capsys, args, message):
    args = [str(_lfw()) if a == "X" else a for a in args]
    assert _batch(photos, "-o", tmp_path / "out", *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_help_says_how_faces_are_numbered(capsys):
    assert main(["batch", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "--reference PHOTO" in text and "--references DIR" in text
    assert "left to right" in text and "largest face" in text


# ------------------------------------------------------------------------------------- routing
@pytest.mark.parametrize("lanes", ["1", "2"])
def test_one_reference_is_aligned_once_and_reaches_each_photos_largest_face(photos, tmp_path, spy, lanes):
    calls, aligned = spy
    ref = _lfw()
    out = tmp_path / "out"
    assert _batch(photos, "-o", out, "--reference", ref, "--lanes", lanes) == 0
    assert [a[0] for a in aligned] == [str(ref)]  # once per batch, not per photo
    assert len(calls) == len(REAL)
    for _eng, boxes, refs in calls:
        assert len(refs) == 1
        (i, r), = refs.items()
        largest = max(range(len(boxes)), key=lambda k: max(boxes[k][2] - boxes[k][0], boxes[k][3] - boxes[k][1]))
        assert i == largest and r.source == ref.name and r.crop.any()
    report = _report(out)
    assert {f["status"] for f in report.values()} == {"done"}
    assert all(f["reference"] == str(ref) for f in report.values())
    manifest = json.loads((out / ".unmask-batch.json").read_text())
    assert manifest["options"]["reference"] == str(ref)


def test_reference_face_picks_faces_left_to_right(tmp_path, spy):
    calls, _ = spy
    a, b = (np.asarray(Image.open(_lfw("Aaron_Peirsol", k))) for k in (0, 1))
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / "two.png")  # two people, same size
    ref = _lfw("Aaron_Peirsol", 2)
    for n, side in (("1", "left"), ("2", "right"), ("3", None)):
        calls.clear()
        out = tmp_path / f"out{n}"
        assert _batch(folder, "-o", out, "--reference", ref, "--reference-face", n) == 0
        (_eng, boxes, refs), = calls
        assert len(boxes) == 2
        rep = _report(out)["two.png"]
        if side is None:  # no third face: processed without, and the report says why
            assert refs == {} and rep["reference"] == ""
            assert any("has 2 face(s), no face 3" in note for note in rep["notes"])
            continue
        (i, _r), = refs.items()
        centre = (boxes[i][0] + boxes[i][2]) / 2
        assert (centre < a.shape[1]) == (side == "left"), (n, boxes, i)


def test_references_dir_matches_by_stem_and_photos_without_one_go_without(photos, tmp_path, spy):
    calls, aligned = spy
    refs_dir = tmp_path / "refs"
    refs_dir.mkdir()
    shutil.copy(_lfw(), refs_dir / "001.jpg")  # for 001.webp only
    out = tmp_path / "out"
    assert _batch(photos, "-o", out, "--references", refs_dir, "--lanes", "2") == 0
    by_engine = {}
    for eng, _boxes, refs in calls:
        for r in refs.values():
            by_engine[r.source] = eng
    assert set(by_engine) == {"001.jpg"} and sum(bool(c[2]) for c in calls) == 1
    # Aligned with the face finder of the lane that processed that photo (MediaPipe is not shared).
    (path, finder, _thread), = aligned
    assert path == str(refs_dir / "001.jpg") and finder is by_engine["001.jpg"].finder
    report = _report(out)
    assert report["001.webp"]["reference"] == str(refs_dir / "001.jpg")
    assert report["004.webp"]["reference"] == "" and not report["004.webp"]["notes"]


def test_unusable_references_are_said_once_and_photos_are_restored_without(photos, tmp_path, spy, capsys):
    calls, _ = spy
    wall = tmp_path / "wall.png"
    Image.fromarray(np.full((300, 300, 3), 127, np.uint8)).save(wall)
    out = tmp_path / "out"
    assert _batch(photos, "-o", out, "--reference", wall) == 0
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if "wall.png" in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: No face found in wall.png")
    assert all(refs == {} for _e, _b, refs in calls) and len(calls) == len(REAL)
    for f in _report(out).values():
        assert f["status"] == "done" and f["reference"] == ""
        assert any(n.startswith("reference wall.png not used") and "No face found" in n for n in f["notes"])


def test_a_broken_per_photo_reference_is_a_note(photos, tmp_path, spy, capsys):
    refs_dir = tmp_path / "refs"
    refs_dir.mkdir()
    (refs_dir / "004.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    out = tmp_path / "out"
    assert _batch(photos, "-o", out, "--references", refs_dir) == 0
    rep = _report(out)["004.webp"]
    assert rep["status"] == "done" and rep["reference"] == ""
    (note,) = [n for n in rep["notes"] if "reference" in n]
    assert "004.jpg" in note and "\n" not in note
    assert "note:" in capsys.readouterr().err  # said on the console, per photo


def test_resume_redoes_photos_only_when_the_reference_changed(photos, tmp_path, spy):
    calls, _ = spy
    out = tmp_path / "out"
    assert _batch(photos, "-o", out, "--reference", _lfw()) == 0
    calls.clear()
    assert _batch(photos, "-o", out, "--reference", _lfw()) == 0
    assert not calls and {f["status"] for f in _report(out).values()} == {"skipped"}
    assert _batch(photos, "-o", out, "--reference", _lfw(k=1)) == 0
    assert len(calls) == len(REAL) and {f["status"] for f in _report(out).values()} == {"done"}
    calls.clear()
    assert _batch(photos, "-o", out) == 0  # no reference now: also different
    assert len(calls) == len(REAL) and all(refs == {} for _e, _b, refs in calls)


def test_the_reference_changes_the_restored_face(photos, tmp_path, engine):
    if not engine.takes_references:
        pytest.skip("the shipped inpainter takes no reference yet")
    out_without, out_with = tmp_path / "a", tmp_path / "b"
    assert _batch(photos, "-o", out_without) == 0
    assert _batch(photos, "-o", out_with, "--reference", _lfw()) == 0
    for name in REAL:
        a = np.asarray(Image.open(out_without / name)).astype(np.int16)
        b = np.asarray(Image.open(out_with / name)).astype(np.int16)
        assert np.abs(a - b).max() > 20, name


def test_the_sequential_reference_run_routes_references_the_same_way(photos, tmp_path, spy, engine):
    """run_batch(pipelined=False), the plain loop the schedulers are checked against: the photo's own
    reference is aligned on its thread after loading and reaches the largest face."""
    from unmask_studio.core.batch import BatchOptions, prepare_batch, run_batch

    calls, aligned = spy
    refs_dir = tmp_path / "refs"
    refs_dir.mkdir()
    shutil.copy(_lfw(), refs_dir / "004.png")
    opts = BatchOptions(out_dir=tmp_path / "out", references_dir=refs_dir)
    prepared = prepare_batch([photos], opts)
    report = run_batch(engine, prepared.jobs, opts, pipelined=False)
    assert [Path(f.input).name for f in report.files if f.reference] == ["004.webp"]
    assert [sorted(r.source for r in refs.values()) for _e, _b, refs in calls] == [[], ["004.png"]]
    assert [Path(a[0]).name for a in aligned] == ["004.png"]
