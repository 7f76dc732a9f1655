"""From inputs and options to work: which photos, each paired with an output path of its own
(``plan``), and everything a batch needs before its first photo (``prepare_batch``)."""
from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from unmask_studio.core.batch.manifest import MANIFEST_NAME, Manifest
from unmask_studio.core.batch.options import BatchInputError, BatchOptions, check_options
from unmask_studio.core.batch.report import REPORT_NAME, check_report_path
from unmask_studio.core.io import SUPPORTED_EXTENSIONS, is_supported

MASK_SUFFIX = ".mask.png"
# Files in input folders that look like photos but cannot be read: named, not silently passed over.
_UNSUPPORTED_PHOTOS = (".dng", ".raw", ".cr3", ".orf", ".rw2", ".raf", ".srw", ".pef")


@dataclass
class Job:
    src: Path
    dst: Path


def output_name(src: Path, opts: BatchOptions) -> str:
    """File name (with extension) of ``src``'s output."""
    ext = f".{opts.out_format.lower().lstrip('.')}" if opts.out_format else src.suffix
    return opts.name_pattern.format(stem=src.stem, ext=src.suffix.lstrip("."), folder=src.parent.name) + ext


def mask_path(dst: Path) -> Path:
    """Where ``save_masks`` writes the removal mask of the output ``dst``."""
    return dst.with_name(dst.stem + MASK_SUFFIX)


# ----------------------------------------------------------------------------------------- plan
def plan(inputs: Iterable[str | Path], opts: BatchOptions,
         skipped: list[tuple[Path, str]] | None = None) -> list[Job]:
    """Pair every input photo with its output path. Folders keep their structure under out_dir.
    Files in the folders that look like photos but cannot be processed (GIF, HEIC, special files,
    unreadable subfolders) are appended to ``skipped`` as (path, reason)."""
    check_options(opts)
    skipped = [] if skipped is None else skipped
    out_dir = Path(opts.out_dir).resolve()
    jobs: list[Job] = []
    for raw in inputs:
        src = Path(raw).expanduser()
        if not os.path.lexists(src):
            raise BatchInputError(f"Input not found: {src}")
        if src.is_dir():
            jobs += _folder_jobs(src, out_dir, opts, skipped)
        elif not src.is_file():
            raise BatchInputError(f"{src} is {_special_file_reason(src)}; give photos or folders.")
        elif is_supported(src):
            jobs.append(Job(src, out_dir / output_name(src, opts)))
        else:
            raise BatchInputError(f"{src.name} is not a supported image ({', '.join(SUPPORTED_EXTENSIONS)}).")
    for j in jobs:
        if j.dst.resolve() == j.src.resolve():
            raise BatchInputError(f"Output {j.dst} would replace its input; choose another output folder.")
    _make_outputs_unique(jobs, opts)
    return jobs


def _folder_jobs(src: Path, out_dir: Path, opts: BatchOptions, skipped: list[tuple[Path, str]]) -> list[Job]:
    if not os.access(src, os.R_OK | os.X_OK):
        raise BatchInputError(f"Cannot read folder {src}: permission denied.")
    if src.resolve() == out_dir:
        raise BatchInputError(f"The output folder is the input folder {src}; choose another output "
                              "folder (a new subfolder is fine).")
    jobs = []
    for f in _folder_files(src, opts.recursive, skipped):
        if out_dir == f.resolve() or out_dir in f.resolve().parents:
            continue  # the output folder inside an input folder: its files are not inputs
        if not f.is_file():
            if is_supported(f) or _looks_like_photo(f) or os.path.islink(f):
                skipped.append((f, _special_file_reason(f)))
        elif is_supported(f):
            jobs.append(Job(f, out_dir / f.relative_to(src).parent / output_name(f, opts)))
        elif _looks_like_photo(f):
            skipped.append((f, f"{f.suffix or 'this'} files are not supported "
                               f"(use {', '.join(SUPPORTED_EXTENSIONS)})"))
    return jobs


def _folder_files(root: Path, recursive: bool, skipped: list[tuple[Path, str]]) -> list[Path]:
    """Every entry below ``root`` but folders (links to folders included, not followed), sorted."""
    def unreadable(e: OSError) -> None:
        skipped.append((Path(e.filename), f"folder cannot be read ({e.strerror or e})"))

    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        if not recursive:
            subfolders.clear()
        found += [Path(folder) / n for n in names]
        found += [Path(folder) / d for d in subfolders if os.path.islink(os.path.join(folder, d))]
    return sorted(found)


def _looks_like_photo(path: Path) -> bool:
    kind = mimetypes.guess_type(path.name)[0] or ""
    return kind.startswith("image/") or path.suffix.lower() in _UNSUPPORTED_PHOTOS


def _special_file_reason(path: Path) -> str:
    if os.path.islink(path) and not path.exists():
        return "a broken link"
    if path.is_dir():
        return "a link to a folder (links to folders are not followed)"
    return "not a regular file (a pipe, socket or device)"


def _path_key(p: Path) -> str:
    # Case-folded: on Windows and macOS "A.jpg" and "a.jpg" are the same file.
    return os.path.normcase(str(p)).casefold()


def _make_outputs_unique(jobs: list[Job], opts: BatchOptions) -> None:
    """Give every job files of its own: its output and, with ``save_masks``, its ``.mask.png`` (which
    may be another input's output name: ``x.jpg``'s mask vs the photo ``x.mask.png``). The first job
    keeps its name; a later one gets ``_2``, ``_3``... picked so it also avoids every other job's
    natural name (else ``a_2.jpg`` from one folder and a renamed ``a.jpg`` from another collide)."""
    def files(dst: Path) -> list[str]:
        return [_path_key(dst)] + ([_path_key(mask_path(dst))] if opts.save_masks else [])

    natural = {_path_key(j.dst) for j in jobs}
    claimed: set[str] = set()
    for j in jobs:
        dst, n = j.dst, 2
        while any(k in claimed for k in files(dst)) or (dst != j.dst and any(k in natural for k in files(dst))):
            dst, n = j.dst.with_name(f"{j.dst.stem}_{n}{j.dst.suffix}"), n + 1
        j.dst = dst
        claimed.update(files(dst))


# ----------------------------------------------------------------------------------------- prepare
@dataclass
class BatchPlan:
    """A batch ready to run: its photos and outputs, the open manifest (``begin`` done), where the
    report goes, and what was left out of the inputs (path, why)."""

    inputs: list[str]
    opts: BatchOptions
    jobs: list[Job]
    manifest: Manifest
    report_path: Path
    not_processed: list[tuple[Path, str]] = field(default_factory=list)


def prepare_batch(inputs: Iterable[str | Path], opts: BatchOptions, report_path: Path | None = None) -> BatchPlan:
    """Everything before the first photo, the same for the CLI and the dialog: plan, check the report
    path, create and check the output folder, load (or start) the manifest and begin the run.
    Raises BatchInputError with a message for the user; nothing is created when it does, except an
    output folder that could be created but is not writable."""
    inputs = [str(p) for p in inputs]
    not_processed: list[tuple[Path, str]] = []
    jobs = plan(inputs, opts, not_processed)
    if not jobs:
        raise BatchInputError("No supported photos (JPEG, PNG, WebP, TIFF, BMP) in these inputs.")
    out_dir = Path(opts.out_dir)
    report_path = Path(report_path) if report_path is not None else out_dir / REPORT_NAME
    taken = {Path(p) for p in inputs} | {j.src for j in jobs} | {j.dst for j in jobs} | \
        {mask_path(j.dst) for j in jobs} | {out_dir / MANIFEST_NAME}
    if out_dir.resolve() not in report_path.resolve().parents:
        check_report_path(report_path, taken)  # before anything is created
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise BatchInputError(f"Cannot create the output folder {out_dir}: {e.strerror or e}.") from None
    if not os.access(out_dir, os.W_OK):
        raise BatchInputError(f"Cannot write to {out_dir}: permission denied. Choose another folder.")
    check_report_path(report_path, taken)
    manifest = Manifest.load(out_dir) or Manifest(out_dir)  # lets a later run (or the dialog) resume exactly
    manifest.begin(inputs, opts, len(jobs))
    if manifest.save_error:
        raise BatchInputError(f"Cannot write to {out_dir}: {manifest.save_error}")
    return BatchPlan(inputs, opts, jobs, manifest, report_path, not_processed)
