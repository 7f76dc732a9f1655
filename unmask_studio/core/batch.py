"""Batch processing of files and folders, shared by the CLI and the editor's batch dialog.

Rules a user can rely on: outputs go to their own folder, mirroring each input folder's structure;
an input is never written to; every output is written atomically (temp file, then rename), so an
interrupted batch leaves only whole files; a second run skips what is already done; a file that
fails is reported and the batch goes on.
"""
from __future__ import annotations

import json
from collections import deque
from concurrent.futures import ThreadPoolExecutor
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


@dataclass
class _Work:
    """One photo moving through the stages: loaded -> processed -> written."""

    job: Job
    rep: FileReport
    t0: float
    img: object = None  # LoadedImage
    mask: np.ndarray | None = None
    result: object = None  # pipeline.Result


def _fail(w: _Work, e: BaseException) -> _Work:
    if isinstance(e, Cancelled):
        w.rep.status, w.rep.message = "cancelled", "cancelled"
    elif isinstance(e, (ImageLoadError, ImageSaveError)):
        w.rep.status, w.rep.message = "failed", str(e)
    elif isinstance(e, MemoryError):
        w.rep.status, w.rep.message = "failed", "not enough memory for this photo"
    else:  # one bad file must not stop a 2,000-photo batch
        w.rep.status, w.rep.message = "failed", f"{type(e).__name__}: {e}"
    w.rep.output = None
    w.img = w.result = None  # free the pixels now
    return w


def _load(job: Job, opts: BatchOptions) -> _Work:
    w = _Work(job, FileReport(str(job.src), str(job.dst), "failed"), time.perf_counter())
    try:
        w.img = load_image(job.src)
        if opts.masks_dir:
            mpath = find_user_mask(Path(opts.masks_dir), job.src)
            if mpath is None:
                w.rep.status, w.rep.output = "no_mask", None
                w.rep.message = f"no mask named {job.src.stem}.* in {opts.masks_dir}"
                w.img = None
                return w
            w.mask = load_user_mask(mpath, w.img.rgb.shape[:2])
    except Exception as e:  # noqa: BLE001
        return _fail(w, e)
    return w


def _process(engine: Engine, w: _Work, cancel: Callable[[], bool]) -> _Work:
    if w.img is None:
        return w
    try:
        w.result = engine.run(w.img.rgb, mask=w.mask, cancel=cancel)
    except Exception as e:  # noqa: BLE001
        return _fail(w, e)
    return w


def _write(w: _Work, opts: BatchOptions) -> FileReport:
    rep = w.rep
    try:
        if w.result is None:
            return rep
        result, job = w.result, w.job
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
            save_image(job.dst, result.image, like=w.img, quality=opts.quality, alpha=w.img.alpha)
        if opts.save_masks and changed:
            save_image(job.dst.with_name(job.dst.stem + MASK_SUFFIX), np.repeat(result.mask[..., None], 3, -1))
    except Exception as e:  # noqa: BLE001
        _fail(w, e)
    finally:
        rep.seconds = round(time.perf_counter() - w.t0, 3)
        w.img = w.result = w.mask = None
    return rep


def process_one(engine: Engine, job: Job, opts: BatchOptions, cancel: Callable[[], bool] = lambda: False) -> FileReport:
    """The plain sequential path: load, process, write one photo."""
    return _write(_process(engine, _load(job, opts), cancel), opts)


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
              cancel: Callable[[], bool] = lambda: False, pipelined: bool = True) -> BatchReport:
    """Process ``jobs`` in order. Pipelined: the next photo is decoded and the previous one encoded
    on worker threads while the engine works on the current one (decoders, encoders and onnxruntime
    all release the GIL). At most two photos wait on each side, which bounds memory."""
    report = BatchReport()
    todo = [(i, j) for i, j in enumerate(jobs)]

    def finish(i: int, rep: FileReport) -> bool:
        report.files.append(rep)
        on_file(i, rep)
        if rep.status == "cancelled":
            report.interrupted = True
        return not report.interrupted

    if not pipelined:
        for i, job in todo:
            if cancel():
                report.interrupted = True
                break
            rep = (FileReport(str(job.src), str(job.dst), "skipped", message="output exists")
                   if is_done(job, opts) else process_one(engine, job, opts, cancel))
            if not finish(i, rep):
                break
        return report

    with ThreadPoolExecutor(1, thread_name_prefix="unmask-load") as loader, \
            ThreadPoolExecutor(1, thread_name_prefix="unmask-write") as writer:
        loads: deque = deque()
        writes: deque = deque()
        it = iter(todo)

        def top_up():
            while len(loads) < 2:
                nxt = next(it, None)
                if nxt is None:
                    return
                i, job = nxt
                loads.append((i, job, None if is_done(job, opts) else loader.submit(_load, job, opts)))

        def drain(limit: int) -> bool:
            while len(writes) > limit:
                i, fut = writes.popleft()
                if not finish(i, fut.result()):
                    return False
            return True

        top_up()
        while loads:
            if cancel():
                report.interrupted = True
                break
            i, job, fut = loads.popleft()
            top_up()
            if fut is None:
                if not drain(0) or not finish(i, FileReport(str(job.src), str(job.dst), "skipped",
                                                             message="output exists")):
                    break
                continue
            w = _process(engine, fut.result(), cancel)
            writes.append((i, writer.submit(_write, w, opts)))
            if w.rep.status == "cancelled" or not drain(1):
                break
        drain(0)
        for _, _, fut in loads:  # decoded but never processed: nothing was written for them
            if fut is not None:
                fut.cancel()
    if cancel():
        report.interrupted = True
    return report
