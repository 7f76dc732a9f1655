"""The batch's files besides the photos (written by ``io.save_image``): JSON and byte-for-byte copies,
both through the one ``core.atomic.atomic_write``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from unmask_studio.core.atomic import atomic_write
from unmask_studio.core.io import ImageSaveError

__all__ = ["atomic_copy", "atomic_write", "write_json_atomic"]


def write_json_atomic(path: Path, data: dict, indent: int | None = 1) -> None:
    """The manifest and the report: not ``durable`` (rewritten after every photo; a manifest lost to a
    power cut only makes the next run report existing outputs instead of trusting them)."""
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=indent).encode()), durable=False)


def atomic_copy(src: Path, dst: Path) -> None:
    """Copy ``src`` to ``dst`` byte for byte (and its times); raises ImageSaveError."""
    try:
        with open(src, "rb") as f_in:
            atomic_write(dst, lambda f_out: shutil.copyfileobj(f_in, f_out, 1 << 20))
        shutil.copystat(src, dst)
    except OSError as e:
        raise ImageSaveError(f"Could not write {dst}: {e.strerror or e}") from e
