"""The one way the batch writes a file: through a temp file beside it, renamed over it when complete."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import BinaryIO, Callable

from unmask_studio.core.io import ImageSaveError


def atomic_write(path: Path, write: Callable[[BinaryIO], None], durable: bool = True) -> None:
    """Write ``path`` through a temp file beside it, renamed over it once complete (and, ``durable``,
    on disk), so a crash leaves the old file or the new one, never half of one. The bookkeeping JSON
    is not ``durable``: it is rewritten after every photo and an fsync can take 20+ ms; a manifest
    lost to a power cut only makes the next run report existing outputs instead of trusting them.
    The temp file is created afresh (O_EXCL, after removing a stale one): a planted symlink there is
    never written through, and the rename replaces a symlink at ``path`` itself, not its target.
    (``io.save_image`` writes photos the same way, with a random temp name and the directory fsync.)"""
    tmp = path.with_name(f".{path.name}.part")
    try:
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


def write_json_atomic(path: Path, data: dict, indent: int | None = 1) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=indent).encode()), durable=False)


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` byte for byte (and its times); raises ImageSaveError."""
    try:
        with open(src, "rb") as f_in:
            atomic_write(dst, lambda f_out: shutil.copyfileobj(f_in, f_out, 1 << 20))
        shutil.copystat(src, dst)
    except OSError as e:
        raise ImageSaveError(f"Could not write {dst}: {e.strerror or e}") from e
