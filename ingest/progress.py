"""Progress of a long ingest: blobs, bytes and rows so far, as a bar on a terminal or log lines."""

from __future__ import annotations

import logging
import time
from typing import Protocol, TextIO

log = logging.getLogger(__name__)


class Display(Protocol):
    """Shows a `Progress`: `update` after each blob, `finish` once at the end."""

    def update(self, progress: Progress) -> None: ...

    def finish(self, progress: Progress) -> None: ...


class LogLines:
    """A log line (`12/40 blobs, 380/770 MB, 5,123,456 rows, 6.1 s`) at most every `every`
    seconds: for CI and log files."""

    def __init__(self, every: float = 2.0) -> None:
        self._every = every
        self._last = time.perf_counter()

    def update(self, progress: Progress) -> None:
        now = time.perf_counter()
        if now - self._last >= self._every and log.isEnabledFor(logging.INFO):
            self._last = now
            log.info("%s", progress.line())

    def finish(self, progress: Progress) -> None:
        """Nothing: the run's summary line follows."""


class TerminalBar:
    """A bar redrawn in place (`\\r`) on a terminal, at most every `every` seconds, ended with a
    newline: `ingest: [########------------]  12/40 blobs, 380/770 MB, 5,123,456 rows, 6.1 s`."""

    WIDTH = 24

    def __init__(self, stream: TextIO, prefix: str, every: float = 0.1) -> None:
        self._stream = stream
        self._prefix = prefix
        self._every = every
        self._last = 0.0
        self._drawn = False

    def update(self, progress: Progress) -> None:
        now = time.perf_counter()
        if now - self._last >= self._every or progress.blobs == progress.total_blobs:
            self._last = now
            self._draw(progress)

    def finish(self, progress: Progress) -> None:
        if self._drawn:
            self._draw(progress)
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self, progress: Progress) -> None:
        done = progress.blobs / progress.total_blobs if progress.total_blobs else 1.0
        filled = round(done * self.WIDTH)
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self._stream.write(f"\r\x1b[K{self._prefix}[{bar}] {progress.line()}")
        self._stream.flush()
        self._drawn = True


class Progress:
    """Counts the blobs, bytes and rows parsed so far and shows them on `display`."""

    def __init__(
        self, total_blobs: int, total_bytes: int, *, display: Display | None = None
    ) -> None:
        self.total_blobs = total_blobs
        self.total_bytes = total_bytes
        self.blobs = 0
        self.bytes = 0
        self.rows = 0
        self._display = display or LogLines()
        self._start = time.perf_counter()

    def advance(self, size: int, rows: int) -> None:
        """Count one more blob parsed."""
        self.blobs += 1
        self.bytes += size
        self.rows += rows
        self._display.update(self)

    def finish(self) -> None:
        """The end of the landing: the display completes its last line."""
        self._display.finish(self)

    def line(self) -> str:
        mb, total_mb = self.bytes / 1e6, self.total_bytes / 1e6
        return (
            f"{self.blobs}/{self.total_blobs} blobs, {mb:,.0f}/{total_mb:,.0f} MB, "
            f"{self.rows:,} rows, {time.perf_counter() - self._start:.1f} s"
        )
