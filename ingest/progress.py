"""Progress of a long ingest: a throttled log line counting blobs, bytes and rows."""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)


class Progress:
    """Logs `12/40 blobs, 380/770 MB, 5,123,456 rows, 6.1 s` at most every `every` seconds."""

    def __init__(self, total_blobs: int, total_bytes: int, *, every: float = 2.0) -> None:
        self.total_blobs = total_blobs
        self.total_bytes = total_bytes
        self.blobs = 0
        self.bytes = 0
        self.rows = 0
        self._every = every
        self._start = time.perf_counter()
        self._last = self._start

    def advance(self, size: int, rows: int) -> None:
        """Count one more blob parsed; log when the last line is old enough."""
        self.blobs += 1
        self.bytes += size
        self.rows += rows
        now = time.perf_counter()
        if now - self._last >= self._every and log.isEnabledFor(logging.INFO):
            self._last = now
            log.info("%s", self.line())

    def line(self) -> str:
        mb, total_mb = self.bytes / 1e6, self.total_bytes / 1e6
        return (
            f"{self.blobs}/{self.total_blobs} blobs, {mb:,.0f}/{total_mb:,.0f} MB, "
            f"{self.rows:,} rows, {time.perf_counter() - self._start:.1f} s"
        )
