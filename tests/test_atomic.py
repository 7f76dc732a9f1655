"""core.atomic.atomic_write: old file or new file, never half of one; never through a symlink."""
from __future__ import annotations

import os

import pytest

from unmask_studio.core.atomic import atomic_write


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")

    def half(f):
        f.write(b"ne")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, half)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_planted_symlinks_are_never_written_through(tmp_path):
    victim = tmp_path / "precious"
    victim.write_text("keep")
    (tmp_path / ".r.json.part").symlink_to(victim)
    (tmp_path / "r.json").symlink_to(victim)
    atomic_write(tmp_path / "r.json", lambda f: f.write(b"new"))
    assert victim.read_text() == "keep"
    assert not (tmp_path / "r.json").is_symlink() and (tmp_path / "r.json").read_text() == "new"


def test_unique_temp_and_kept_permissions(tmp_path):
    target = tmp_path / "a.png"
    target.write_bytes(b"x")
    target.chmod(0o640)
    seen = []
    atomic_write(target, lambda f: seen.extend(os.listdir(tmp_path)) or f.write(b"y"), unique_temp=True,
                 keep_mode=True)
    assert target.read_bytes() == b"y" and oct(target.stat().st_mode & 0o777) == "0o640"
    temp = [n for n in seen if n != "a.png"]
    assert len(temp) == 1 and temp[0].startswith(".a.png.") and temp[0].endswith(".part") and temp[0] != ".a.png.part"
    assert os.listdir(tmp_path) == ["a.png"]
