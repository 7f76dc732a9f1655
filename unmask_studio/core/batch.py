"""Batch processing of files and folders, shared by the CLI and the editor's batch dialog.

Rules a user can rely on: outputs go to their own folder, mirroring each input folder's structure;
an input is never written to; every output is written atomically (temp file, then rename), so an
interrupted batch leaves only whole files; a second run skips what is already done; a file that
fails is reported and the batch goes on. A full disk or an output folder that cannot be written
stops the batch with a message saying so (every later file would fail the same way).

A batch records itself in ``OUT/.unmask-batch.json`` (the manifest: inputs, options, per-file status),
rewritten atomically after every file, so a batch stopped by a crash, Cancel or a closed app can be
resumed exactly, including photos that finished without writing an output (``skip_unmasked``).
"""
from __future__ import annotations

import errno
import json
import mimetypes
import queue
import threading
import warnings
from collections import deque
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
import os
import shutil
import string
import time
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

import numpy as np

from unmask_studio.core.io import (ImageLoadError, ImageSaveError, is_supported, load_image, save_image,
                                   SUPPORTED_EXTENSIONS)
from unmask_studio.core.pipeline import Cancelled, Engine, Result

MASK_SUFFIX = ".mask.png"
MANIFEST_NAME = ".unmask-batch.json"
REPORT_NAME = "unmask-report.json"
NAME_FIELDS = ("stem", "ext", "folder")  # what a name pattern may use
OUTPUT_FORMATS = ("jpg", "png", "webp", "tif", "bmp")
# Statuses after which a photo needs no more work (a later run skips it).
FINISHED = ("done", "no_faces", "no_mask", "skipped")
STATUS_TEXT = {"pending": "Waiting", "working": "Working…", "done": "Done", "skipped": "Already done",
               "no_faces": "No face found", "no_mask": "No mask found", "failed": "Failed",
               "cancelled": "Cancelled"}


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
    name_pattern: str = "{stem}"  # output name without extension: {stem}, {ext}, {folder}
    keep_metadata: bool = True  # carry EXIF and the ICC profile over (off: strip them)

    def to_json(self) -> dict:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict, out_dir: Path | None = None) -> "BatchOptions":
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["out_dir"] = Path(out_dir if out_dir is not None else kw["out_dir"])
        if kw.get("masks_dir"):
            kw["masks_dir"] = Path(kw["masks_dir"])
        return cls(**kw)


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
    notes: list[str] = field(default_factory=list)  # what was done to the photo on the way (first page only...)


@dataclass
class BatchReport:
    files: list[FileReport] = field(default_factory=list)
    interrupted: bool = False
    stop_reason: str = ""  # set when the batch stopped by itself (disk full, output not writable)
    not_processed: list[tuple[Path, str]] = field(default_factory=list)  # left out while planning, and why

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
        if self.stop_reason:
            data["stop_reason"] = self.stop_reason
        if self.not_processed:
            data["not_processed"] = [{"input": str(p), "reason": why} for p, why in self.not_processed]
        _write_json_atomic(path, data)


class BatchInputError(Exception):
    """The inputs or output folder cannot be used (missing, unreadable, output inside input...)."""


class BatchStopped(Exception):
    """Every further file would fail the same way (disk full, output folder not writable)."""


def batch_threads() -> int:
    """onnxruntime threads for a pipelined batch: the decoder and the encoder of the neighbouring photos
    get a core each, the model the rest. On 2 cores this is 1, measured faster than 2 by
    benchmarks/batch_speed.py (2 threads also spin-wait, burning CPU the other stages need)."""
    return max(1, (os.cpu_count() or 1) - 2)


def batch_lanes() -> int:
    """Photos in flight at once for a pipelined batch: two on two or more cores. One pipeline keeps
    only ~1.5 of 2 cores busy (its stages are unequal and partly hold the GIL); two lanes keep ~1.8
    busy, for ~1.25x the photos per minute (benchmarks/batch_speed.py). Each lane holds one photo, so
    memory stays bounded (a 100-photo batch of 24 MP JPEGs peaked at 853 MB)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


# ----------------------------------------------------------------------------------------- planning
def check_name_pattern(pattern: str) -> None:
    """Raise BatchInputError unless ``pattern`` makes a usable, distinct file name for every photo."""
    try:
        used = {f for _, f, _, _ in string.Formatter().parse(pattern) if f is not None}
    except ValueError as e:
        raise BatchInputError(f"The name pattern “{pattern}” is not valid ({e}); "
                              "use e.g. {stem}_unmasked.") from None
    unknown = used - set(NAME_FIELDS)
    if unknown:
        raise BatchInputError(f"The name pattern uses {{{sorted(unknown)[0]}}}; it may only use "
                              + ", ".join(f"{{{f}}}" for f in NAME_FIELDS) + ".")
    if "stem" not in used:
        raise BatchInputError("The name pattern must contain {stem} (the photo's name), so every photo gets "
                              "its own output file.")
    try:  # format specs and conversions ({stem:03d}, {stem!z}) fail only when applied
        sample = pattern.format(stem="x", ext="jpg", folder="f")
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
        raise BatchInputError(f"The name pattern “{pattern}” is not valid ({e}); "
                              "use plain fields such as {stem}_unmasked.") from None
    if any(c in sample for c in '/\\:*?"<>|') or sample.strip() in ("", ".", ".."):
        raise BatchInputError(f"The name pattern “{pattern}” would make an invalid file name; "
                              "do not use / \\ : * ? \" < > |.")


def output_name(src: Path, opts: BatchOptions) -> str:
    """File name (with extension) of ``src``'s output."""
    ext = f".{opts.out_format.lower().lstrip('.')}" if opts.out_format else src.suffix
    return opts.name_pattern.format(stem=src.stem, ext=src.suffix.lstrip("."), folder=src.parent.name) + ext


def check_options(opts: BatchOptions) -> None:
    """Raise BatchInputError for option values no photo could be written with."""
    check_name_pattern(opts.name_pattern)
    if not 1 <= int(opts.quality) <= 100:
        raise BatchInputError(f"quality {opts.quality} is out of range; use 1 to 100.")
    if opts.out_format and opts.out_format.lower().lstrip(".") not in OUTPUT_FORMATS:
        raise BatchInputError(f"format {opts.out_format} is not supported; use one of {', '.join(OUTPUT_FORMATS)}.")


# Files in input folders that look like photos but cannot be read: named, not silently passed over.
_UNSUPPORTED_PHOTOS = (".dng", ".raw", ".cr3", ".orf", ".rw2", ".raf", ".srw", ".pef")


def _looks_like_photo(path: Path) -> bool:
    kind = mimetypes.guess_type(path.name)[0] or ""
    return kind.startswith("image/") or path.suffix.lower() in _UNSUPPORTED_PHOTOS


def _special_file_reason(path: Path) -> str:
    if os.path.islink(path) and not path.exists():
        return "a broken link"
    if path.is_dir():
        return "a link to a folder (links to folders are not followed)"
    return "not a regular file (a pipe, socket or device)"


def _folder_files(root: Path, recursive: bool, skipped: list[tuple[Path, str]]) -> list[Path]:
    def unreadable(e: OSError) -> None:
        skipped.append((Path(e.filename), f"folder cannot be read ({e.strerror or e})"))

    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, onerror=unreadable):
        if not recursive:
            subfolders.clear()
        found += [Path(folder) / n for n in names]
        found += [Path(folder) / d for d in subfolders if os.path.islink(os.path.join(folder, d))]
    return sorted(found)


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
            if not os.access(src, os.R_OK | os.X_OK):
                raise BatchInputError(f"Cannot read folder {src}: permission denied.")
            if src.resolve() == out_dir:
                raise BatchInputError(f"The output folder is the input folder {src}; choose another output "
                                      "folder (a new subfolder is fine).")
            for f in _folder_files(src, opts.recursive, skipped):
                if out_dir == f.resolve() or out_dir in f.resolve().parents:
                    continue
                if not f.is_file():
                    if is_supported(f) or _looks_like_photo(f) or os.path.islink(f):
                        skipped.append((f, _special_file_reason(f)))
                elif is_supported(f):
                    jobs.append(Job(f, out_dir / f.relative_to(src).parent / output_name(f, opts)))
                elif _looks_like_photo(f):
                    skipped.append((f, f"{f.suffix or 'this'} files are not supported "
                                       f"(use {', '.join(SUPPORTED_EXTENSIONS)})"))
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


def mask_path(dst: Path) -> Path:
    """Where ``--save-masks`` writes the removal mask of the output ``dst``."""
    return dst.with_name(dst.stem + MASK_SUFFIX)


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


def check_report_path(report: Path, jobs: list[Job], inputs: Iterable[str | Path], opts: BatchOptions) -> None:
    """Raise BatchInputError unless the JSON report can go to ``report`` without touching anything else:
    not an input (``--report *.jpg`` swallows the first photo as its value), not a planned output, not
    a symlink (written through, it could replace a file anywhere), not some other existing file."""
    name = f"The report {report}"
    if os.path.islink(report):
        raise BatchInputError(f"{name} is a symbolic link; give the report a path of its own.")
    if not report.parent.is_dir():
        raise BatchInputError(f"{name} cannot be written: the folder {report.parent} does not exist.")
    if report.is_dir():
        raise BatchInputError(f"{name} is a folder; give a file name such as report.json.")
    if is_supported(report):
        raise BatchInputError(f"{name} would be a photo's name; the report is JSON (e.g. report.json). "
                              "Did --report swallow a photo?")
    taken = {Path(p).resolve() for p in inputs} | {j.src.resolve() for j in jobs} | \
        {j.dst.resolve() for j in jobs} | {mask_path(j.dst).resolve() for j in jobs} | \
        {(Path(opts.out_dir) / MANIFEST_NAME).resolve()}
    if report.resolve() in taken:
        raise BatchInputError(f"{name} is one of the batch's inputs or outputs; choose another report file.")
    if report.exists() and not _is_report(report):
        raise BatchInputError(f"{name} exists and is not an Unmask Studio report; it is not replaced. "
                              "Choose another report file.")


def _is_report(path: Path) -> bool:
    try:
        data = json.loads(path.read_bytes()[:50_000_000])
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and "files" in data and "counts" in data


def find_user_mask(masks_dir: Path, src: Path) -> Path | None:
    for ext in (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"):
        for name in (f"{src.stem}{ext}", f"{src.stem}{MASK_SUFFIX.rsplit('.', 1)[0]}{ext}"):
            p = masks_dir / name
            if p.exists():
                return p
    return None


# ----------------------------------------------------------------------------------------- manifest
def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write(path: Path, write: Callable[[BinaryIO], None], durable: bool = True) -> None:
    """Write ``path`` through a temp file beside it, renamed over it once complete (and, ``durable``,
    on disk), so a crash leaves the old file or the new one, never half of one. The bookkeeping JSON
    is not ``durable``: it is rewritten after every photo and an fsync can take 20+ ms; a manifest
    lost to a power cut only makes the next run report existing outputs instead of trusting them. The temp file is created afresh
    (O_EXCL, after removing a stale one): a planted symlink there is never written through, and the
    rename replaces a symlink at ``path`` itself rather than the file it points to."""
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


def _write_json_atomic(path: Path, data: dict, indent: int | None = 1) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(data, indent=indent).encode()), durable=False)


def _source_stamp(src: Path) -> list[int] | None:
    try:
        st = src.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


# Below this many entries the manifest is written after every photo.
LAZY_MANIFEST_FILES = 1000


class Manifest:
    """``OUT/.unmask-batch.json``: what a batch was asked to do and how far it got.

    ``files`` maps each input photo (absolute path) to its last outcome: status, output, faces,
    seconds, message, the output it was planned to (``dst``) and the source's size and mtime, so a
    photo counts as finished only if it would be written to the same place and has not changed.
    """

    def __init__(self, out_dir: Path, data: dict | None = None):
        self.out_dir = Path(out_dir)
        self.data = data or {"version": 1, "app": "unmask-studio", "created": _now(), "updated": _now(),
                             "complete": False, "inputs": [], "options": {}, "total": 0, "files": {}}
        self.save_error = ""  # last failure to write the manifest (the batch itself goes on)
        self._last_save, self._save_cost = -1e9, 0.0
        # output path -> the input (key of ``files``) whose result it holds
        self._writers = {e["output"]: k for k, e in self.data["files"].items()
                         if isinstance(e, dict) and e.get("output")}

    @property
    def path(self) -> Path:
        return self.out_dir / MANIFEST_NAME

    # --- reading
    @classmethod
    def load(cls, out_dir: str | Path) -> "Manifest | None":
        """The manifest in ``out_dir``, or None when there is none (or it is unreadable)."""
        path = Path(out_dir) / MANIFEST_NAME
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
            return None
        return cls(out_dir, data)

    @property
    def inputs(self) -> list[str]:
        return list(self.data.get("inputs", []))

    @property
    def complete(self) -> bool:
        return bool(self.data.get("complete"))

    @property
    def total(self) -> int:
        return int(self.data.get("total", 0))

    def options(self) -> BatchOptions:
        """The batch's options, with ``out_dir`` = where the manifest is (the folder may have moved)."""
        return BatchOptions.from_json(self.data.get("options") or {"out_dir": str(self.out_dir)}, self.out_dir)

    def entry(self, src: str | Path) -> dict | None:
        return self.data["files"].get(str(Path(src).absolute()))

    def finished_count(self) -> int:
        return sum(e.get("status") in FINISHED for e in self.data["files"].values())

    def is_finished(self, job: Job) -> bool:
        e = self.entry(job.src)
        if not e or e.get("status") not in FINISHED or e.get("dst") != str(job.dst):
            return False
        if e.get("source") is not None and e["source"] != _source_stamp(job.src):
            return False  # the photo changed since
        return e.get("output") is None or Path(e["output"]).exists()

    def writer_of(self, output: Path) -> str | None:
        """The input (absolute path) whose result a batch wrote to ``output``, if any is recorded."""
        return self._writers.get(str(output))

    def written_by_interrupted_run(self, output: Path) -> bool:
        """``output`` appeared while this batch was unfinished (a huge batch records photos with an
        output lazily, so a crash can leave outputs the manifest does not list yet)."""
        since = self.data.get("incomplete_since_ns")
        try:
            return since is not None and output.stat().st_mtime_ns >= since
        except OSError:
            return False

    # --- writing
    def begin(self, inputs: Iterable[str | Path], opts: BatchOptions, total: int) -> None:
        """Start (or continue) a run: entries of earlier runs are kept, they are what makes resuming work."""
        if self.data.get("complete", True) or "incomplete_since_ns" not in self.data:
            self.data["incomplete_since_ns"] = time.time_ns()
        self.data.update(inputs=[str(Path(p).absolute()) for p in inputs], options=opts.to_json(), total=total,
                         complete=False, started=_now())
        self.save()

    def record(self, job: Job, rep: FileReport) -> None:
        key = str(Path(job.src).absolute())
        old = self.data["files"].get(key)
        if rep.status == "skipped" and old and old.get("status") in FINISHED:
            return  # keep what the run that did it knew (faces, seconds)
        if rep.status == "cancelled":
            return  # nothing happened to it
        if rep.output is not None:
            # The output now holds this photo's result: whatever photo it held before is no longer done.
            previous = self._writers.get(rep.output)
            if previous is not None and previous != key:
                self.data["files"].pop(previous, None)
            self._writers[rep.output] = key
        self.data["files"][key] = {**asdict(rep), "dst": str(job.dst), "source": _source_stamp(job.src)}
        # Rewritten after every file. Only for huge batches, where the JSON itself takes a while to
        # write, a save may be left to a later file: photos with an output are found finished by their
        # output anyway, so those without one (the manifest is their only record) are always saved.
        # Decided by size, not by the measured cost alone: an fsync on a slow disk can take 20+ ms
        # for a tiny file, and skipping there would only save milliseconds.
        small = len(self.data["files"]) < LAZY_MANIFEST_FILES
        if small or rep.output is None or time.monotonic() - self._last_save >= 10 * self._save_cost:
            self.save()

    def finish(self, complete: bool) -> None:
        self.data["complete"] = complete
        if complete:
            self.data.pop("incomplete_since_ns", None)
        self.save()

    def save(self) -> None:
        self.data["updated"] = _now()
        t0 = time.monotonic()
        try:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            _write_json_atomic(self.path, self.data, indent=None)  # compact: ~20 ms for 2,000 photos
            self.save_error = ""
            self._last_save, self._save_cost = time.monotonic(), time.monotonic() - t0
        except OSError as e:  # the photos matter more than the bookkeeping: report, keep going
            self.save_error = f"Could not update {self.path.name}: {e.strerror or e}"


# ----------------------------------------------------------------------------------------- timing
class BatchClock:
    """Elapsed time without pauses, and an estimate of the time left from the photos processed so far."""

    def __init__(self):
        self._start = time.monotonic()
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self.processed = 0  # photos that went through the engine (skipped ones take no time)
        self._first_done: float | None = None

    def pause(self) -> None:
        if self._paused_at is None:
            self._paused_at = time.monotonic()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._paused_total += time.monotonic() - self._paused_at
            self._paused_at = None

    @property
    def paused(self) -> bool:
        return self._paused_at is not None

    def elapsed(self) -> float:
        now = self._paused_at if self._paused_at is not None else time.monotonic()
        return now - self._start - self._paused_total

    def file_processed(self) -> None:
        self.processed += 1

    def remaining(self, left: int) -> float | None:
        """Seconds for ``left`` more photos at the rate so far; None until one photo has been processed."""
        if self.processed == 0:
            return None
        return left * self.elapsed() / self.processed

    def per_minute(self) -> float | None:
        e = self.elapsed()
        return 60 * self.processed / e if self.processed and e > 0 else None


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    s = int(round(seconds))
    h, m, s = s // 3600, s % 3600 // 60, s % 60
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


# ----------------------------------------------------------------------------------------- warnings
# Pillow reports damaged files with warnings ("Corrupt EXIF data...", DecompressionBombWarning), which
# Python prints raw on stderr, once per source line. In a batch each becomes a note on the photo that
# caused it. warnings.catch_warnings() is process-wide and not thread-safe (two lanes load at once),
# so one hook is installed for good and routes each warning to the photo its thread is working on.
_photo_notes = threading.local()
_hook_lock = threading.Lock()
_shown_before: list = []  # the showwarning the hook replaced


def _show_warning(message, category, filename, lineno, file=None, line=None):
    notes = getattr(_photo_notes, "notes", None)
    if notes is None:
        return _shown_before[0](message, category, filename, lineno, file, line)
    text = " ".join(str(message).split())
    if "EXIF" in text or category.__name__ == "UserWarning" and "Tag" in text:
        text = "the EXIF metadata is damaged; what could be read was kept"
    if text not in notes:
        notes.append(text)


@contextmanager
def _notes_for_photo(notes: list[str]):
    with _hook_lock:
        if warnings.showwarning is not _show_warning:
            _shown_before[:] = [warnings.showwarning]
            warnings.showwarning = _show_warning
    # "always": the default shows a warning once per source line, the second damaged photo would get no note.
    warnings.filterwarnings("always", module=r"PIL\.")
    _photo_notes.notes = notes
    try:
        yield
    finally:
        _photo_notes.notes = None


# ----------------------------------------------------------------------------------------- the work
@dataclass
class _Work:
    """One photo moving through the stages: loaded -> processed -> written."""

    job: Job
    rep: FileReport
    busy: float = 0.0  # seconds spent on this photo (load + process + write; not waiting in the queues)
    img: object = None  # LoadedImage
    mask: np.ndarray | None = None
    result: object = None  # pipeline.Result
    faces: list | None = None  # found on the loading thread, so detection overlaps the previous photo
    index: int = -1
    fatal: str = ""  # set when the failure will repeat for every file (disk full, no permission)
    no_user_mask: str = ""  # with a masks folder: why this photo has no mask (it passes through unchanged)


def _fatal_reason(e: BaseException) -> str:
    """A message when ``e`` means the output location is unusable (so the batch should stop)."""
    cause = e.__cause__ if isinstance(e, ImageSaveError) else e
    if isinstance(cause, OSError):
        if cause.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
            return "The disk is full. Free some space (or choose another output folder), then resume the batch."
        if isinstance(cause, PermissionError) or cause.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return ("The output folder cannot be written to (permission denied or read-only). Choose another "
                    "output folder, or fix its permissions, then resume the batch.")
    return ""


def _fail(w: _Work, e: BaseException) -> _Work:
    if isinstance(e, Cancelled):
        w.rep.status, w.rep.message = "cancelled", "cancelled"
    elif isinstance(e, (ImageLoadError, ImageSaveError)):
        w.rep.status, w.rep.message = "failed", str(e)
    elif isinstance(e, MemoryError):
        w.rep.status, w.rep.message = "failed", "not enough memory for this photo"
    elif isinstance(e, OSError) and _fatal_reason(e):
        w.rep.status, w.rep.message = "failed", f"Could not write {w.job.dst.name}: {e.strerror or e}"
    else:  # one bad file must not stop a 2,000-photo batch
        w.rep.status, w.rep.message = "failed", f"{type(e).__name__}: {e}"
    w.fatal = _fatal_reason(e)
    w.rep.output = None
    w.img = w.result = None  # free the pixels now
    return w


def _load(job: Job, opts: BatchOptions, index: int = -1, engine: Engine | None = None) -> _Work:
    """Decode (and, given ``engine``, find the faces: Engine.run would do the same first thing, so the
    result is identical, but on the loading thread it overlaps the previous photo's inpainting)."""
    w = _Work(job, FileReport(str(job.src), str(job.dst), "failed"), index=index)
    t0 = time.perf_counter()
    try:
        with _notes_for_photo(w.rep.notes):
            w.img = load_image(job.src)
        w.rep.notes += [n for n in w.img.notes if n not in w.rep.notes]
        if opts.masks_dir:
            mpath = find_user_mask(Path(opts.masks_dir), job.src)
            if mpath is None:  # like any photo without a mask: copied unchanged (or skipped)
                w.no_user_mask = f"no mask named {job.src.stem}.* in {opts.masks_dir}"
                return w
            w.mask = load_user_mask(mpath, w.img.rgb.shape[:2])
        if engine is not None:
            w.faces = engine.detect(w.img.rgb)
    except Exception as e:  # noqa: BLE001
        return _fail(w, e)
    finally:
        w.busy += time.perf_counter() - t0
    return w


def _process(engine: Engine, w: _Work, cancel: Callable[[], bool]) -> _Work:
    if w.img is None:
        return w
    t0 = time.perf_counter()
    try:
        if w.no_user_mask:
            w.result = Result(w.img.rgb, np.zeros(w.img.rgb.shape[:2], np.uint8), [])
        else:
            w.result = engine.run(w.img.rgb, mask=w.mask, faces=w.faces, cancel=cancel)
    except Exception as e:  # noqa: BLE001
        return _fail(w, e)
    finally:
        w.busy += time.perf_counter() - t0
    # Writing needs the metadata, not the input pixels (the result is a new array): free them now,
    # 72 MB per 24 MP photo waiting for the encoder.
    w.img, w.mask = replace(w.img, rgb=None), None
    return w


ImageFn = Callable[[int, np.ndarray], None]


def _write(w: _Work, opts: BatchOptions, on_image: ImageFn | None = None) -> _Work:
    rep = w.rep
    t0 = time.perf_counter()
    try:
        if w.result is None:
            return w
        result, job = w.result, w.job
        rep.faces = len(result.faces)
        changed = bool(result.mask.any()) and bool(result.faces)
        if w.no_user_mask:
            rep.status, rep.message = "no_mask", w.no_user_mask
        elif not result.faces:
            rep.status, rep.message = "no_faces", "no face found"
        else:
            rep.status = "done" if changed else "no_mask"
            if not changed:
                rep.message = "faces found, but no face covering"
        if not changed and opts.skip_unmasked:
            rep.output = None
            if on_image is not None:
                on_image(w.index, result.image)  # unchanged: the photo itself
            return w
        job.dst.parent.mkdir(parents=True, exist_ok=True)
        if not changed and opts.keep_metadata and job.dst.suffix.lower() == job.src.suffix.lower():
            _atomic_copy(job.src, job.dst)  # nothing to change: keep the original bytes, no re-encode
        else:
            like = w.img if opts.keep_metadata else replace(w.img, exif=None, icc_profile=None)
            save_image(job.dst, result.image, like=like, quality=opts.quality, alpha=w.img.alpha)
        if opts.save_masks and changed:
            save_image(mask_path(job.dst), np.repeat(result.mask[..., None], 3, -1))
        if on_image is not None:
            on_image(w.index, result.image)
    except Exception as e:  # noqa: BLE001
        _fail(w, e)
    finally:
        rep.seconds = round(w.busy + time.perf_counter() - t0, 3)
        w.img = w.result = w.mask = None
    return w


def process_one(engine: Engine, job: Job, opts: BatchOptions, cancel: Callable[[], bool] = lambda: False) -> FileReport:
    """The plain sequential path: load, process, write one photo."""
    return _write(_process(engine, _load(job, opts), cancel), opts).rep


def _run_lanes(engine: Engine, jobs: list[Job], opts: BatchOptions, manifest: Manifest | None, lanes: int,
               finish, wait_while_paused, report: BatchReport, cancel, pause, on_start, on_image) -> None:
    """``run_batch`` with ``lanes`` photos in flight (see there). At most ``lanes`` photos hold pixels
    at a time; one more job per lane waits in the pool's queue (no pixels) so a lane never idles while
    the oldest photo is still being reported."""
    engines: queue.SimpleQueue = queue.SimpleQueue()
    engines.put(engine)
    for _ in range(lanes - 1):
        engines.put(engine.lane())

    halt = threading.Event()  # a failure that will repeat (disk full): lanes start nothing more

    def chain(i: int, job: Job) -> _Work | None:
        if cancel() or halt.is_set():
            return None  # stopped before this lane got to it: not started, not reported
        eng = engines.get()
        try:
            on_start(i, job)
            w = _write(_process(eng, _load(job, opts, i, eng), cancel), opts, on_image)
            if w.fatal:
                halt.set()
            return w
        finally:
            engines.put(eng)

    pending = deque(enumerate(jobs))  # not handed to a lane yet
    inflight: deque = deque()  # (i, job, future, or the report of a job not to process), in job order
    with ThreadPoolExecutor(lanes, thread_name_prefix="unmask-lane") as pool:
        def report_oldest() -> bool:
            i, job, fut = inflight.popleft()
            if isinstance(fut, FileReport):
                return finish(i, fut)
            w = fut.result()
            return w is not None and finish(i, w.rep, w.fatal)

        running = True
        while running and (pending or inflight):
            if cancel():
                report.interrupted = True
                break
            if pause():
                # Take back what no lane has started (it holds nothing), finish what has started.
                while inflight and (isinstance(inflight[-1][2], FileReport) or inflight[-1][2].cancel()):
                    i, job, _ = inflight.pop()
                    pending.appendleft((i, job))
                while inflight and running:
                    running = report_oldest()
                if running:
                    wait_while_paused()
                continue
            while pending and len(inflight) < 2 * lanes:
                i, job = pending.popleft()
                pre = precheck(job, opts, manifest)
                inflight.append((i, job, pre if pre is not None else pool.submit(chain, i, job)))
            running = report_oldest()
        # Stopped early: jobs no lane has started are dropped (nothing was written for them); photos
        # being processed finish (or see the cancel) and are reported, so no output goes unrecorded.
        for _, _, fut in inflight:
            if isinstance(fut, Future):
                fut.cancel()
        for i, job, fut in inflight:
            if isinstance(fut, Future) and not fut.cancelled():
                w = fut.result()
                if w is not None:
                    finish(i, w.rep, w.fatal)


def load_user_mask(path: Path, shape: tuple[int, int]) -> np.ndarray:
    m = load_image(path)
    grey = m.rgb.max(-1) if m.alpha is None else np.minimum(m.rgb.max(-1), m.alpha)
    if grey.shape != shape:
        raise ImageLoadError(f"Mask {path.name} is {grey.shape[1]}x{grey.shape[0]} but the photo is "
                             f"{shape[1]}x{shape[0]}; masks must match their photo's size.")
    return np.where(grey > 127, 255, 0).astype(np.uint8)


def _atomic_copy(src: Path, dst: Path) -> None:
    try:
        with open(src, "rb") as f_in:
            atomic_write(dst, lambda f_out: shutil.copyfileobj(f_in, f_out, 1 << 20))
        shutil.copystat(src, dst)
    except OSError as e:
        raise ImageSaveError(f"Could not write {dst}: {e.strerror or e}") from e


def precheck(job: Job, opts: BatchOptions, manifest: Manifest | None = None) -> FileReport | None:
    """What earlier runs mean for ``job``: None to process it; else its report without processing it,
    "skipped" when this photo was finished before, "failed" when its output path holds a file that is
    not this photo's result (another photo's, or one no batch wrote), which is never replaced unless
    ``overwrite`` says so. With a manifest a photo is known by its path, size and mtime, not by the
    name of its output; without one (library callers) an existing output counts as done."""
    if opts.overwrite:
        return None
    if manifest is None:
        return _skipped(job) if job.dst.exists() else None
    if manifest.is_finished(job):
        return _skipped(job)
    if not os.path.lexists(job.dst):
        return None
    writer = manifest.writer_of(job.dst)
    if writer == str(Path(job.src).absolute()):
        return None  # this photo's own earlier result, and the photo changed since: redo it
    if writer is None and manifest.written_by_interrupted_run(job.dst):
        return _skipped(job)
    if writer is None:
        why = "already exists in the output folder and was not written from this photo"
    else:
        why = f"holds the result of another photo ({writer})"
    return FileReport(str(job.src), None, "failed", message=f"{job.dst.name} {why}; it is kept. Choose another "
                      "output folder, or use --overwrite to replace it.")


def _skipped(job: Job) -> FileReport:
    return FileReport(str(job.src), str(job.dst), "skipped", message="done in an earlier run")


def is_done(job: Job, opts: BatchOptions, manifest: Manifest | None = None) -> bool:
    """Finished earlier: the manifest says so (photos without an output too) or, without a manifest,
    the output exists."""
    pre = precheck(job, opts, manifest)
    return pre is not None and pre.status == "skipped"


def thumbnail(rgb: np.ndarray, max_side: int = 96) -> np.ndarray:
    """A small copy for a preview: strided first (cheap on 24 MP), then area-averaged."""
    import cv2

    h, w = rgb.shape[:2]
    step = max(1, min(h, w) // (4 * max_side))
    if step > 1:
        rgb = rgb[::step, ::step]
        h, w = rgb.shape[:2]
    k = max_side / max(h, w)
    if k >= 1:
        return np.ascontiguousarray(rgb)
    return cv2.resize(np.ascontiguousarray(rgb), (max(1, round(w * k)), max(1, round(h * k))),
                      interpolation=cv2.INTER_AREA)


def run_batch(engine: Engine, jobs: list[Job], opts: BatchOptions,
              on_file: Callable[[int, FileReport], None] = lambda i, r: None,
              cancel: Callable[[], bool] = lambda: False, pipelined: bool = True,
              pause: Callable[[], bool] = lambda: False,
              manifest: Manifest | None = None,
              on_start: Callable[[int, Job], None] = lambda i, j: None,
              on_image: ImageFn | None = None,
              on_paused: Callable[[bool], None] = lambda paused: None,
              lanes: int = 1) -> BatchReport:
    """Process ``jobs`` in order. Pipelined: the next photo is decoded and the previous one encoded
    on worker threads while the engine works on the current one (decoders, encoders and onnxruntime
    all release the GIL); the next photo's faces are found on the loading thread too. One photo is
    decoded ahead and at most two wait for the encoder (as results only), which bounds memory.

    ``cancel``: stop after the current photo (nothing half-written remains). ``pause``: while it
    returns True no new photo is started (the current one finishes and is written; ``on_paused``
    reports the change). ``manifest``: updated after every file and marked complete at the end; photos
    it lists as finished are skipped. ``on_start(i, job)`` when the engine starts on a photo;
    ``on_image(i, rgb)`` with the written image (called on a worker thread; do not keep ``rgb``).
    ``on_file(i, report)`` for every job, in order, including skipped ones.

    ``lanes`` > 1 (pipelined only): that many photos go through load -> process -> write at once, each
    on its own thread with its own face finder and the shared ONNX sessions. On two cores this keeps
    both busy where one pipeline leaves gaps (its stages are unequal and partly hold the GIL).
    Reports still come in job order."""
    report = BatchReport()

    def finish(i: int, rep: FileReport, fatal: str = "") -> bool:
        report.files.append(rep)
        if manifest is not None:
            manifest.record(jobs[i], rep)
        on_file(i, rep)
        if rep.status == "cancelled":
            report.interrupted = True
        if fatal and not report.stop_reason:
            report.stop_reason, report.interrupted = fatal, True
        return not report.interrupted

    def wait_while_paused() -> None:
        if not pause() or cancel():
            return
        on_paused(True)
        while pause() and not cancel():
            time.sleep(0.05)
        on_paused(False)

    if not pipelined:
        for i, job in enumerate(jobs):
            pre = precheck(job, opts, manifest)
            if pre is not None:
                if not finish(i, pre):
                    break
                continue
            wait_while_paused()
            if cancel():
                report.interrupted = True
                break
            on_start(i, job)
            w = _write(_process(engine, _load(job, opts, i), cancel), opts, on_image)
            if not finish(i, w.rep, w.fatal):
                break
    elif lanes > 1:
        _run_lanes(engine, jobs, opts, manifest, lanes, finish, wait_while_paused, report,
                   cancel, pause, on_start, on_image)
    else:
        with ThreadPoolExecutor(1, thread_name_prefix="unmask-load") as loader, \
                ThreadPoolExecutor(1, thread_name_prefix="unmask-write") as writer:
            loads: deque = deque()
            writes: deque = deque()
            it = iter(enumerate(jobs))

            def top_up():
                # One photo decoded ahead is enough (decoding + detection take less time than the rest
                # of the engine); a second would only hold another full-size image in memory.
                while not any(isinstance(f, Future) for _, _, f in loads) and len(loads) < 64:
                    nxt = next(it, None)
                    if nxt is None:
                        return
                    i, job = nxt
                    pre = precheck(job, opts, manifest)
                    loads.append((i, job, pre if pre is not None else loader.submit(_load, job, opts, i, engine)))

            def drain(limit: int) -> bool:
                while len(writes) > limit:
                    i, fut = writes.popleft()
                    w = fut.result()
                    if not finish(i, w.rep, w.fatal):
                        return False
                return True

            top_up()
            while loads:
                if cancel():
                    report.interrupted = True
                    break
                i, job, fut = loads[0]
                if isinstance(fut, FileReport):
                    loads.popleft()
                    top_up()
                    if not drain(0) or not finish(i, fut):
                        break
                    continue
                if pause():
                    if not drain(0):  # everything started is written and reported before pausing
                        break
                    wait_while_paused()
                    continue  # re-check cancel
                loads.popleft()
                top_up()
                on_start(i, job)
                w = _process(engine, fut.result(), cancel)
                writes.append((i, writer.submit(_write, w, opts, on_image)))
                if w.rep.status == "cancelled" or not drain(1):
                    break
            drain(0)
            for _, _, fut in loads:  # decoded but never processed: nothing was written for them
                if isinstance(fut, Future):
                    fut.cancel()
    if cancel():
        report.interrupted = True
    if manifest is not None:
        manifest.finish(complete=not report.interrupted and len(report.files) == len(jobs))
    return report
