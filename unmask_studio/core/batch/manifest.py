"""``OUT/.unmask-batch.json``: what a batch was asked to do and how far it got, and from it what a
later run may skip (``precheck``)."""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from unmask_studio.core.batch.files import write_json_atomic
from unmask_studio.core.batch.options import BatchOptions
from unmask_studio.core.batch.references import reference_key
from unmask_studio.core.batch.report import FINISHED, FileReport, Status

if TYPE_CHECKING:
    from unmask_studio.core.batch.planning import Job

MANIFEST_NAME = ".unmask-batch.json"
# Below this many entries the manifest is written after every photo.
LAZY_MANIFEST_FILES = 1000


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _source_stamp(src: Path) -> list[int] | None:
    try:
        st = src.stat()
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns]


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
        self._opts: BatchOptions | None = None  # this run's options (begin)
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
            return since is not None and output.stat().st_mtime_ns > since
        except OSError:
            return False

    # --- writing
    def begin(self, inputs: Iterable[str | Path], opts: BatchOptions, total: int) -> None:
        """Start (or continue) a run: entries of earlier runs are kept, they are what makes resuming work."""
        new_series = self.data.get("complete", True) or "incomplete_since_ns" not in self.data
        self._opts = opts
        self.data.update(inputs=[str(Path(p).absolute()) for p in inputs], options=opts.to_json(), total=total,
                         complete=False, started=_now())
        self.save()
        if new_series:  # the manifest's own mtime: the clock output files are stamped with (time.time_ns() is
            try:        # finer than the kernel's coarse file clock, files written just before could look newer)
                self.data["incomplete_since_ns"] = self.path.stat().st_mtime_ns
            except OSError:
                self.data["incomplete_since_ns"] = time.time_ns()
            self.save()

    def record(self, job: Job, rep: FileReport) -> None:
        key = str(Path(job.src).absolute())
        old = self.data["files"].get(key)
        if rep.status == Status.SKIPPED and old and old.get("status") in FINISHED:
            return  # keep what the run that did it knew (faces, seconds)
        if rep.status == Status.CANCELLED:
            return  # nothing happened to it
        if rep.output is not None:
            # The output now holds this photo's result: whatever photo it held before is no longer done.
            previous = self._writers.get(rep.output)
            if previous is not None and previous != key:
                self.data["files"].pop(previous, None)
            self._writers[rep.output] = key
        self.data["files"][key] = {**asdict(rep), "dst": str(job.dst), "source": _source_stamp(job.src),
                                   "reference_key": reference_key(job, self._opts or self.options())}
        # Rewritten after every file. Only for huge batches, where the JSON itself takes a while to
        # write, a save may be left to a later file: outputs that appear while the batch is unfinished
        # are recognised as its own (written_by_interrupted_run), so those without one (the manifest is
        # their only record) are always saved. Decided by size, not by the measured cost alone: on a
        # slow disk a tiny file can take 20+ ms, and skipping there would only save milliseconds.
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
            write_json_atomic(self.path, self.data, indent=None)  # compact: ~20 ms for 2,000 photos
            self.save_error = ""
            self._last_save, self._save_cost = time.monotonic(), time.monotonic() - t0
        except OSError as e:  # the photos matter more than the bookkeeping: report, keep going
            self.save_error = f"Could not update {self.path.name}: {e.strerror or e}"


def precheck(job: Job, opts: BatchOptions, manifest: Manifest | None = None) -> FileReport | None:
    """What earlier runs mean for ``job``: None to process it; else its report without processing it,
    "skipped" when this photo was finished before, "failed" when its output path holds a file that is
    not this photo's result (another photo's, or one no batch wrote), which is never replaced unless
    ``overwrite`` says so. With a manifest a photo is known by its path, size and mtime, not by the
    name of its output; without one (library callers) an existing output counts as done."""
    if opts.overwrite:
        return None
    if manifest is None:
        return skipped_report(job) if job.dst.exists() else None
    if manifest.is_finished(job) and manifest.entry(job.src).get("reference_key", "") == reference_key(job, opts):
        return skipped_report(job)  # (finished with another reference photo, or none: it is redone)
    if not os.path.lexists(job.dst):
        return None
    writer = manifest.writer_of(job.dst)
    if writer == str(Path(job.src).absolute()):
        return None  # this photo's own earlier result, and the photo changed since: redo it
    if writer is None and manifest.written_by_interrupted_run(job.dst):
        return skipped_report(job)
    if writer is None:
        why = "already exists in the output folder and was not written from this photo"
    else:
        why = f"holds the result of another photo ({writer})"
    return FileReport(str(job.src), None, Status.FAILED, message=f"{job.dst.name} {why}; it is kept. Choose "
                      "another output folder, or redo every photo to replace it (--overwrite; in the editor: "
                      "Redo every photo).")


def skipped_report(job: Job) -> FileReport:
    return FileReport(str(job.src), str(job.dst), Status.SKIPPED, message="done in an earlier run")


def is_done(job: Job, opts: BatchOptions, manifest: Manifest | None = None) -> bool:
    """Finished earlier: the manifest says so (photos without an output too) or, without a manifest,
    the output exists."""
    pre = precheck(job, opts, manifest)
    return pre is not None and pre.status == Status.SKIPPED
