"""The batch dialog's words, without Qt: what each status is called, what a row's message says, the
title, the time line and the counts. Pure functions of plain values, so they are tested without
widgets and read the same wherever they are shown."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum
from pathlib import Path

from unmask_studio.core.batch import BatchClock, Status, format_duration

# A row's state in the table: the batch's statuses plus one only the table shows.
SAVING = "saving"  # with one pipeline, the previous photo is with the encoder while the next one runs
BUSY = (Status.WORKING, SAVING)
STATUS_TEXT = {Status.PENDING: "Waiting", Status.WORKING: "Working…", SAVING: "Saving…", Status.DONE: "Done",
               Status.SKIPPED: "Already done", Status.NO_FACES: "No face found", Status.NO_MASK: "No mask found",
               Status.FAILED: "Failed", Status.CANCELLED: "Cancelled"}
PROBLEMS = tuple(s for s in Status if s.problem)
# (label, statuses shown) for the table's "Show:" filter; None shows every row.
FILTERS = [("All photos", None), ("Problems (failed, no face, no mask)", PROBLEMS),
           ("Done", (Status.DONE, Status.SKIPPED)), ("Not done yet", (Status.PENDING, *BUSY, Status.CANCELLED))]


class RunState(StrEnum):
    """Where a batch in the dialog stands (BatchRun.state)."""

    IDLE = "idle"  # no batch run yet (or a recorded one under review)
    STARTING = "starting"  # loading the models, no photo started yet
    RUNNING = "running"
    PAUSING = "pausing"  # pause asked: the photos in progress finish first
    PAUSED = "paused"
    CANCELLING = "cancelling"  # cancel asked: the photos in progress finish first
    OVER = "over"  # ended by itself or by Cancel (the table says which)
    STOPPED = "stopped"  # stopped by a failure that would repeat (disk full, folder not writable)
    FAILED = "failed"  # could not run at all (e.g. a model is missing)

    @property
    def active(self) -> bool:
        return self in (RunState.STARTING, RunState.RUNNING, RunState.PAUSING, RunState.PAUSED, RunState.CANCELLING)


def _photos(n: int) -> str:
    return f"{n} photo{'s' * (n != 1)}"


def title(state: RunState, finished: int, total: int, left: int = 0, elapsed: float | None = None,
          folder: Path | None = None) -> str:
    """The progress page's heading. ``finished``: rows with an outcome; ``left``: rows still waiting."""
    if state == RunState.CANCELLING:
        return "Cancelling: finishing the current photo…"
    if state == RunState.PAUSED:
        return f"Paused — {finished} of {total} photos"
    if state == RunState.PAUSING:
        return "Pausing after the current photo…"
    if state == RunState.STARTING:
        return f"Starting: loading the models… ({_photos(total)})" if total else "Starting: listing the photos…"
    if state == RunState.RUNNING:
        return f"Removing masks — photo {min(total, finished + 1)} of {total}"
    if state == RunState.IDLE:
        return f"Batch in {folder}" if folder is not None else "Batch"
    if state == RunState.FAILED:
        return "The batch could not run"
    if state == RunState.STOPPED:
        return f"Stopped — {_photos(left)} not done"
    if left:
        return f"Cancelled — {finished} of {total} photos done; Resume does the rest"
    took = f" in {format_duration(elapsed)}" if elapsed is not None else ""
    return f"Finished — {_photos(total)}{took}"


def times_line(clock: BatchClock | None, left: int, running: bool) -> str:
    """Elapsed, remaining (while running) and the rate; empty before the first photo."""
    if clock is None:
        return ""
    parts = [f"Elapsed {format_duration(clock.elapsed())}"]
    if running:
        rem = clock.remaining(left)
        parts.append("Remaining " + (f"about {format_duration(rem)}" if rem is not None else "estimating…"))
    rate = clock.per_minute()
    if rate:
        parts.append(f"{rate:.1f} photos/min")
    return "    ".join(parts)


def local_time(stamp: str) -> str:
    """A manifest's time (ISO 8601 in UTC, as written) in the user's local time: "2026-11-30 10:15".
    Naive stamps are taken as UTC (that is what batches write); an unreadable one is shown as it is."""
    try:
        t = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return str(stamp or "")
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone().strftime("%Y-%m-%d %H:%M")


def counts_line(counts: dict[str, int]) -> str:
    names = [(Status.DONE, "done"), (Status.SKIPPED, "done earlier"), (Status.NO_FACES, "no face"),
             (Status.NO_MASK, "no mask"), (Status.FAILED, "failed")]
    return "  ·  ".join(f"{counts[k]} {label}" for k, label in names if counts.get(k))


def inputs_summary(inputs: list[str], photos: int, left_out: list[tuple[Path, str]] = ()) -> str:
    """"12 photos to process from 2 folders and 1 photo." and what the folders hold that cannot be
    processed (GIF, HEIC, special files, unreadable subfolders), named."""
    folders = sum(Path(p).is_dir() for p in inputs)
    files = len(inputs) - folders
    parts = [f"{folders} folder{'s' * (folders != 1)}"] * bool(folders) + [_photos(files)] * bool(files)
    text = f"{_photos(photos)} to process from " + " and ".join(parts) + "."
    if left_out:
        names = ", ".join(Path(p).name for p, _ in left_out[:3]) + ("…" if len(left_out) > 3 else "")
        n = len(left_out)
        text += f" {n} other file{'s' * (n != 1)} or folder{'s' * (n != 1)} cannot be processed ({names}); " \
                "the report lists them with the reason."
    return text


def row_message(status: str, message: str, output: str | None, src: Path, notes: list[str] = ()) -> str:
    """What the Message column says: what happened to the output, or why the photo failed."""
    out = Path(output).name if output else ""
    extra = "".join(f"; {n}" for n in notes if not n.startswith(("turned upright", "rotated/flipped upright")))
    if status == Status.DONE:
        return f"Saved {out}{extra}"
    if status == Status.SKIPPED:
        return f"Done in an earlier run ({out})" if out else "Done in an earlier run"
    if status in (Status.NO_FACES, Status.NO_MASK):
        why = "Faces found, but no face covering" if status == Status.NO_MASK and message.startswith("faces") \
            else (message[0].upper() + message[1:] if status == Status.NO_MASK and message else "")
        what = f"copied unchanged as {out}" if out else "nothing written"
        return (f"{why}: {what}" if why else what[0].upper() + what[1:]) + extra
    if status == Status.FAILED:
        prefix = f'Cannot open "{src.name}": '
        if message.startswith(prefix):  # the row already names the file
            message = message[len(prefix)].upper() + message[len(prefix) + 1:]
        return message
    return ""
