"""Batch processing of files and folders, shared by the CLI and the editor's batch dialog.

Rules a user can rely on: outputs go to their own folder, mirroring each input folder's structure;
an input is never written to; every output is written atomically (temp file, then rename), so an
interrupted batch leaves only whole files; a second run skips what is already done; a file that
fails is reported and the batch goes on.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from unmask_studio.core.io import (ImageLoadError, ImageSaveError, is_supported, load_image, save_image,
                                   SUPPORTED_EXTENSIONS)
from unmask_studio.core.pipeline import Cancelled, Engine

MASK_SUFFIX = ".mask.png"


@dataclass
class BatchOptions:
    out_dir: Path
    recursive: bool = True
    overwrite: bool = False  # redo files whose output already exists
    masks_dir: Path | None = None  # user masks by file stem (white = remove) instead of segmentation
    save_masks: bool = False
    out_format: str | None = None  # e.g. "png"; None keeps each input's format
    quality: int = 95
    skip_unmasked: bool = False  # write no output for photos where nothing was removed


@dataclass
class Job:
    src: Path
    dst: Path


@dataclass
class FileReport:
    input: str
    output: str | None
    status: str  # done | skipped | no_faces | no_mask | failed | cancelled
    faces: int = 0
    seconds: float = 0.0
    message: str = ""


@dataclass
class BatchReport:
    files: list[FileReport] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> int:
        return sum(f.status == "failed" for f in self.files)

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for f in self.files:
            c[f.status] = c.get(f.status, 0) + 1
        return c

    def write(self, path: Path) -> None:
        data = {"interrupted": self.interrupted, "counts": self.counts(), "files": [asdict(f) for f in self.files]}
        tmp = path.with_name(f".{path.name}.part")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)


class BatchInputError(Exception):
    """The inputs or output folder cannot be used (missing, unreadable, output inside input...)."""


def plan(inputs: Iterable[str | Path], opts: BatchOptions) -> list[Job]:
    """Pair every input photo with its output path. Folders keep their structure under out_dir."""
    out_dir = Path(opts.out_dir).resolve()
    jobs: list[Job] = []
    for raw in inputs:
        src = Path(raw).expanduser()
        if not src.exists():
            raise BatchInputError(f"Input not found: {src}")
        if src.is_dir():
            if not os.access(src, os.R_OK | os.X_OK):
                raise BatchInputError(f"Cannot read folder {src}: permission denied.")
            pattern = "**/*" if opts.recursive else "*"
            for f in sorted(src.glob(pattern)):
                if f.is_file() and is_supported(f) and out_dir not in f.resolve().parents:
                    jobs.append(Job(f, _dst(out_dir / f.relative_to(src).parent, f, opts)))
        elif is_supported(src):
            jobs.append(Job(src, _dst(out_dir, src, opts)))
        else:
            raise BatchInputError(f"{src.name} is not a supported image ({', '.join(SUPPORTED_EXTENSIONS)}).")
    seen: dict[Path, Path] = {}
    for j in jobs:
        if j.dst.resolve() == j.src.resolve():
            raise BatchInputError(f"Output {j.dst} would replace its input; choose another output folder.")
        if j.dst in seen:  # same stem from two inputs: keep both, distinctly named
            j.dst = j.dst.with_name(f"{j.dst.stem}_{len(seen)}{j.dst.suffix}")
        seen[j.dst] = j.src
    return jobs


def _dst(folder: Path, src: Path, opts: BatchOptions) -> Path:
    ext = f".{opts.out_format.lower().lstrip('.')}" if opts.out_format else src.suffix
    return folder / f"{src.stem}{ext}"


def find_user_mask(masks_dir: Path, src: Path) -> Path | None:
    for ext in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        for name in (f"{src.stem}{ext}", f"{src.stem}{MASK_SUFFIX.rsplit('.', 1)[0]}{ext}"):
            p = masks_dir / name
            if p.exists():
                return p
    return None


def process_one(engine: Engine, job: Job, opts: BatchOptions, cancel: Callable[[], bool] = lambda: False) -> FileReport:
    t0 = time.perf_counter()
    rep = FileReport(str(job.src), str(job.dst), "failed")
    try:
        img = load_image(job.src)
        mask = None
        if opts.masks_dir:
            mpath = find_user_mask(Path(opts.masks_dir), job.src)
            if mpath is None:
                rep.status, rep.message, rep.output = "no_mask", f"no mask named {job.src.stem}.* in {opts.masks_dir}", None
                return rep
            mask = load_user_mask(mpath, img.rgb.shape[:2])
        result = engine.run(img.rgb, mask=mask, cancel=cancel)
        rep.faces = len(result.faces)
        changed = bool(result.mask.any()) and bool(result.faces)
        if not result.faces:
            rep.status, rep.message = "no_faces", "no face found"
        else:
            rep.status = "done" if changed else "no_mask"
            if not changed:
                rep.message = "faces found, but no face covering"
        if not changed and opts.skip_unmasked:
            rep.output = None
            return rep
        job.dst.parent.mkdir(parents=True, exist_ok=True)
        if not changed and job.dst.suffix.lower() == job.src.suffix.lower():
            _atomic_copy(job.src, job.dst)  # nothing to change: keep the original bytes, no re-encode
        else:
            save_image(job.dst, result.image, like=img, quality=opts.quality, alpha=img.alpha)
        if opts.save_masks and changed:
            save_image(job.dst.with_name(job.dst.stem + MASK_SUFFIX), np.repeat(result.mask[..., None], 3, -1))
    except Cancelled:
        rep.status, rep.message, rep.output = "cancelled", "cancelled", None
    except (ImageLoadError, ImageSaveError) as e:
        rep.message, rep.output = str(e), None
    except MemoryError:
        rep.message, rep.output = "not enough memory for this photo", None
    except Exception as e:  # noqa: BLE001 - one bad file must not stop a 2,000-photo batch
        rep.message, rep.output = f"{type(e).__name__}: {e}", None
    finally:
        rep.seconds = round(time.perf_counter() - t0, 3)
    return rep


def load_user_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    m = load_image(path)
    grey = m.rgb.max(-1) if m.alpha is None else np.minimum(m.rgb.max(-1), m.alpha)
    if grey.shape != shape:
        raise ImageLoadError(f"Mask {path.name} is {grey.shape[1]}x{grey.shape[0]} but the photo is "
                             f"{shape[1]}x{shape[0]}; masks must match their photo's size.")
    return np.where(grey > 127, 255, 0).astype(np.uint8)


def _atomic_copy(src: Path, dst: Path) -> None:
    tmp = dst.with_name(f".{dst.name}.part")
    try:
        shutil.copy2(src, tmp)
        os.replace(tmp, dst)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise ImageSaveError(f"Could not write {dst}: {e.strerror or e}") from e


def is_done(job: Job, opts: BatchOptions) -> bool:
    return not opts.overwrite and job.dst.exists()


def run_batch(engine: Engine, jobs: list[Job], opts: BatchOptions,
              on_file: Callable[[int, FileReport], None] = lambda i, r: None,
              cancel: Callable[[], bool] = lambda: False) -> BatchReport:
    report = BatchReport()
    for i, job in enumerate(jobs):
        if cancel():
            report.interrupted = True
            break
        if is_done(job, opts):
            rep = FileReport(str(job.src), str(job.dst), "skipped", message="output exists")
        else:
            rep = process_one(engine, job, opts, cancel)
            if rep.status == "cancelled":
                report.interrupted = True
                report.files.append(rep)
                on_file(i, rep)
                break
        report.files.append(rep)
        on_file(i, rep)
    return report
