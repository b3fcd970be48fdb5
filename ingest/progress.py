"""Progress of a long ingest: a throttled one-line count of blobs, bytes and rows on stderr."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Prints `ingest: 12/40 blobs, 380/770 MB, 5,123,456 rows, 6.1 s` at most every `every` s."""

    def __init__(
        self,
        total_blobs: int,
        total_bytes: int,
        *,
        stream: TextIO | None = sys.stderr,
        every: float = 2.0,
    ) -> None:
        self.total_blobs = total_blobs
        self.total_bytes = total_bytes
        self.blobs = 0
        self.bytes = 0
        self.rows = 0
        self._stream = stream
        self._every = every
        self._start = time.perf_counter()
        self._last = self._start

    def advance(self, size: int, rows: int) -> None:
        """Count one more blob parsed; print when the last line is old enough."""
        self.blobs += 1
        self.bytes += size
        self.rows += rows
        now = time.perf_counter()
        if self._stream is not None and now - self._last >= self._every:
            self._last = now
            print(self.line(), file=self._stream, flush=True)

    def line(self) -> str:
        mb, total_mb = self.bytes / 1e6, self.total_bytes / 1e6
        return (
            f"ingest: {self.blobs}/{self.total_blobs} blobs, {mb:,.0f}/{total_mb:,.0f} MB, "
            f"{self.rows:,} rows, {time.perf_counter() - self._start:.1f} s"
        )
