"""Issue 16: the batch package's shape. The old module's names still import, statuses are one enum with
the old values, every option is described once (the CLI's flags, help and defaults come from
BatchOptions), the dialog's words are pure functions, and prepare_batch is the one way in."""
from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unmask_studio.cli import main
from unmask_studio.core import batch

# What `core/batch.py` exported before the split and is still public (STATUS_TEXT and thumbnail moved to
# the dialog, the only user; BatchStopped and process_one were never used and are gone).
OLD_NAMES = ["MASK_SUFFIX", "MANIFEST_NAME", "REPORT_NAME", "NAME_FIELDS", "FINISHED", "BatchOptions", "Job",
             "FileReport", "BatchReport", "BatchInputError", "batch_threads", "batch_lanes", "check_name_pattern",
             "output_name", "plan", "find_user_mask", "Manifest", "LAZY_MANIFEST_FILES", "BatchClock",
             "format_duration", "load_user_mask", "is_done", "run_batch"]


def test_old_names_are_re_exported():
    import types

    import unmask_studio.core.batch.runner  # noqa: F401 - every submodule loaded: none may shadow a name
    missing = [n for n in OLD_NAMES if not hasattr(batch, n)]
    assert not missing
    assert not [n for n in batch.__all__ if isinstance(getattr(batch, n), types.ModuleType)]


def test_status_values_are_the_manifests_strings():
    assert [s.value for s in batch.Status] == ["pending", "working", "done", "skipped", "no_faces", "no_mask",
                                               "failed", "cancelled"]
    assert set(batch.FINISHED) == {"done", "no_faces", "no_mask", "skipped"}
    assert {s for s in batch.Status if s.problem} == {"failed", "no_faces", "no_mask"}
    rep = batch.FileReport("a.jpg", None, batch.Status.NO_MASK)
    assert json.loads(json.dumps({"s": rep.status})) == {"s": "no_mask"}


def test_the_cli_reads_each_options_description(capsys):
    assert main(["batch", "--help"]) == 0
    help_text = " ".join(capsys.readouterr().out.split())
    for name, default, info in batch.described_options():
        assert info.flag in help_text, name
        assert " ".join(info.help.split())[:40] in help_text, name
    # Every default the CLI parses is BatchOptions' own (the dialog reads the same ones).
    import argparse

    from unmask_studio.cli import _batch_parser, _Parser
    ap = _Parser(prog="x")
    _batch_parser(ap.add_subparsers(dest="command"))
    args = ap.parse_args(["batch", "in", "-o", "out"])
    for f in fields(batch.BatchOptions):
        if f.name != "out_dir":
            assert getattr(args, f.name) == f.default, f.name
    assert batch.option_default("name_pattern") == "{stem}"
    assert isinstance(args, argparse.Namespace)


def test_prepare_batch_is_the_one_way_in(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(src / "a.png")
    (src / "b.gif").write_bytes(b"GIF89a")
    opts = batch.BatchOptions(out_dir=tmp_path / "out")
    prepared = batch.prepare_batch([src], opts)
    assert [j.src.name for j in prepared.jobs] == ["a.png"]
    assert [p.name for p, _ in prepared.not_processed] == ["b.gif"]
    assert prepared.report_path == tmp_path / "out" / batch.REPORT_NAME
    assert batch.Manifest.load(tmp_path / "out").total == 1  # begun: on disk before the first photo
    with pytest.raises(batch.BatchInputError, match="No supported photos"):
        batch.prepare_batch([tmp_path / "out"], batch.BatchOptions(out_dir=tmp_path / "o2"))


def test_dialog_words_without_qt():
    from unmask_studio.app.batch import status_text as st
    from unmask_studio.app.batch.status_text import RunState

    assert st.title(RunState.STARTING, 0, 3) == "Starting: loading the models… (3 photos)"
    assert st.title(RunState.RUNNING, 1, 3) == "Removing masks — photo 2 of 3"
    assert st.title(RunState.OVER, 2, 3, left=1).startswith("Cancelled — 2 of 3")
    assert st.title(RunState.OVER, 3, 3, elapsed=65) == "Finished — 3 photos in 1:05"
    assert st.title(RunState.STOPPED, 1, 3, left=2) == "Stopped — 2 photos not done"
    assert st.counts_line({"done": 2, "failed": 1}) == "2 done  ·  1 failed"
    summary = st.inputs_summary(["/nonexistent/x.jpg"], 1, [(Path("/in/anim.gif"), ".gif files are not supported")])
    assert summary.startswith("1 photo to process from 1 photo.") and "anim.gif" in summary
    msg = st.row_message("no_mask", "no mask named b.* in /m", "/out/b.png", Path("/in/b.png"))
    assert msg == "No mask named b.* in /m: copied unchanged as b.png"
    assert st.row_message("done", "", "/out/a.png", Path("a.png"), ["only the first frame/page of this file was "
                                                                    "loaded"]).endswith("first frame/page of this "
                                                                                        "file was loaded")
    assert "PySide6" not in Path(st.__file__).read_text()  # the words need no Qt


def test_reading_the_option_descriptions_imports_no_engine():
    import subprocess
    import sys

    code = ("import sys; from unmask_studio.cli import _batch_parser, _Parser; "
            "_batch_parser(_Parser().add_subparsers()); print('numpy' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "False", r.stderr  # every start (the editor's too) parses the command line


def test_routine_notes_are_not_printed(tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6  # turned upright on load: true of most phone photos, not worth a line
    Image.fromarray(np.full((40, 60, 3), 90, np.uint8)).save(src / "phone.jpg", exif=exif.tobytes())
    assert main(["batch", str(src), "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert "note:" not in capsys.readouterr().err
