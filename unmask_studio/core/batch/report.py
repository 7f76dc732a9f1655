"""What happened to each photo (``Status``, ``FileReport``) and to the whole batch (``BatchReport``,
written as ``unmask-report.json``)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path

from unmask_studio.core.batch.files import write_json_atomic
from unmask_studio.core.batch.options import BatchInputError
from unmask_studio.core.io import is_supported

REPORT_NAME = "unmask-report.json"


class Status(StrEnum):
    """A photo's state in a batch. The values are what reports and manifests store (plain strings, so
    files written before this enum existed read the same)."""

    PENDING = "pending"  # not started yet
    WORKING = "working"  # in a lane: loading, processing or writing
    DONE = "done"  # masks removed, output written (or, with skip_unmasked, none needed)
    SKIPPED = "skipped"  # finished by an earlier run: not redone
    NO_FACES = "no_faces"  # no face found: copied unchanged (or nothing written)
    NO_MASK = "no_mask"  # faces, but no covering (or no user mask): copied unchanged (or nothing written)
    FAILED = "failed"  # could not be read, processed or written; the message says why
    CANCELLED = "cancelled"  # stopped before it finished: nothing was written for it

    @property
    def finished(self) -> bool:
        """Needs no more work: a later run skips it."""
        return self in (Status.DONE, Status.NO_FACES, Status.NO_MASK, Status.SKIPPED)

    @property
    def problem(self) -> bool:
        """Worth a look: failed, or nothing was removed."""
        return self in (Status.FAILED, Status.NO_FACES, Status.NO_MASK)


FINISHED = tuple(s.value for s in Status if s.finished)


@dataclass
class FileReport:
    input: str
    output: str | None
    status: Status
    faces: int = 0
    seconds: float = 0.0
    message: str = ""
    notes: list[str] = field(default_factory=list)  # what was done to the photo on the way (first page only...)
    reference: str = ""  # the reference photo the restored face was made with, if any


@dataclass
class BatchReport:
    files: list[FileReport] = field(default_factory=list)
    interrupted: bool = False
    stop_reason: str = ""  # set when the batch stopped by itself (disk full, output not writable)
    not_processed: list[tuple[Path, str]] = field(default_factory=list)  # left out while planning, and why

    @property
    def failed(self) -> int:
        return sum(f.status == Status.FAILED for f in self.files)

    def counts(self) -> dict[str, int]:
        c: dict[str, int] = {}
        for f in self.files:
            c[str(f.status)] = c.get(str(f.status), 0) + 1
        return c

    def write(self, path: Path) -> None:
        data = {"interrupted": self.interrupted, "counts": self.counts(), "files": [asdict(f) for f in self.files]}
        if self.stop_reason:
            data["stop_reason"] = self.stop_reason
        if self.not_processed:
            data["not_processed"] = [{"input": str(p), "reason": why} for p, why in self.not_processed]
        write_json_atomic(path, data)


def check_report_path(report: Path, taken: set[Path]) -> None:
    """Raise BatchInputError unless the JSON report can go to ``report`` without touching anything else:
    not one of the ``taken`` paths (inputs, outputs, the manifest: ``--report *.jpg`` swallows the first
    photo as its value), not a symlink, not some other existing file."""
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
    if report.resolve() in {p.resolve() for p in taken}:
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
