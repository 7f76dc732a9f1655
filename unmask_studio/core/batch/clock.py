"""Time for the people watching a batch: elapsed time without pauses, an estimate of the time left."""
from __future__ import annotations

import time


class BatchClock:
    """Elapsed time without pauses, and an estimate of the time left from the photos processed so far."""

    def __init__(self):
        self._start = time.monotonic()
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self.processed = 0  # photos that went through the engine (skipped ones take no time)

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
