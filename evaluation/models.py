"""Model folders for evaluating a candidate model next to the shipped ones."""
from __future__ import annotations

import shutil
from pathlib import Path


def with_segmenter(onnx: str, tmp: Path) -> str:
    """A models folder holding the shipped files with ``onnx`` as the segmenter."""
    from unmask_studio.core.resources import models_dir

    for f in models_dir().iterdir():
        if f.is_file():
            (tmp / f.name).symlink_to(f.resolve())
    (tmp / "segmenter.onnx").unlink()
    shutil.copy(onnx, tmp / "segmenter.onnx")
    return str(tmp)
