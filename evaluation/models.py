"""Model folders for evaluating a candidate model next to the shipped ones."""
from __future__ import annotations

import shutil
from pathlib import Path


def with_model(name: str, onnx: str | Path, tmp: Path) -> str:
    """A models folder holding the shipped files with ``onnx`` as ``name`` (e.g. "inpainter")."""
    from unmask_studio.core.resources import models_dir

    for f in models_dir().iterdir():
        if f.is_file():
            (tmp / f.name).symlink_to(f.resolve())
    (tmp / f"{name}.onnx").unlink()
    shutil.copy(onnx, tmp / f"{name}.onnx")
    return str(tmp)


def with_segmenter(onnx: str, tmp: Path) -> str:
    """A models folder holding the shipped files with ``onnx`` as the segmenter."""
    return with_model("segmenter", onnx, tmp)
