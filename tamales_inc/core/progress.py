"""Progress of a long step: a live bar when stderr is a terminal, throttled log lines otherwise.

    with Progress("dbt build", total=113, unit="nodes") as progress:
        for node in nodes:
            ...
            progress.advance()

On a terminal the bar redraws in place (`transform: dbt build [#####-----] 53/113 nodes 4.2 s`)
and log lines printed meanwhile go above it (`ProgressAwareHandler`); in CI and log files a
plain `dbt build: 53/113 nodes, 4.2 s` line is logged at most every few seconds. With `--quiet`
(INFO disabled) nothing is shown. `advance` may be called from worker threads.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import TextIO

BAR_WIDTH = 24
REDRAW_SECONDS = 0.1
log = logging.getLogger(__name__)

_prefix = ""
_active: Progress | None = None
_active_lock = threading.Lock()


def set_prefix(prefix: str) -> None:
    """The command name a bar starts with (`transform: `), set by the CLI's logging set-up."""
    global _prefix
    _prefix = prefix


class Progress:
    """Counts the units of one step done out of `total` (which may be learnt later)."""

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "",
        *,
        logger: logging.Logger | None = None,
        every: float = 2.0,
        stream: TextIO | None = None,
        bar: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.done = 0
        self._log = logger or log
        self._every = every
        self._stream = stream if stream is not None else sys.stderr
        self._show = self._log.isEnabledFor(logging.INFO)
        self._bar = self._show and (_is_terminal(self._stream) if bar is None else bar)
        self._lock = threading.Lock()
        self._start = time.perf_counter()
        self._last_line = self._start
        self._last_draw = 0.0
        self._drawn = False

    def __enter__(self) -> Progress:
        global _active
        if self._bar:
            with _active_lock:
                _active = self
            self._draw(force=True)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._start

    def set_total(self, total: int) -> None:
        """Set the number of units once it is known (e.g. when dbt has planned its run)."""
        with self._lock:
            self.total = total
        self._tick()

    def advance(self, units: int = 1) -> None:
        """Count `units` more done; redraw the bar, or log a line when the last is old enough."""
        with self._lock:
            self.done += units
        self._tick()

    def refresh(self) -> None:
        """Show the elapsed time again (throttled) without counting anything, e.g. while a tool
        is still planning its work."""
        self._tick()

    def line(self) -> str:
        """`dbt build: 53/113 nodes, 4.2 s`."""
        return f"{self.label}: {self._count()}, {self.seconds:.1f} s"

    def close(self) -> None:
        """Clear the bar (the caller logs the step's own summary)."""
        global _active
        with _active_lock:
            if _active is self:
                _active = None
        if self._drawn:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._drawn = False

    def clear(self) -> None:
        """Erase the bar before a log line is written (it is redrawn by `redraw`)."""
        if self._drawn:
            self._stream.write("\r\x1b[K")

    def redraw(self) -> None:
        """Draw the bar again after a log line."""
        self._draw(force=True)

    def _tick(self) -> None:
        if not self._show:
            return
        if self._bar:
            self._draw()
            return
        now = time.perf_counter()
        if now - self._last_line >= self._every:
            self._last_line = now
            self._log.info("%s", self.line())

    def _count(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        total = "?" if self.total is None else f"{self.total:,}"
        return f"{self.done:,}/{total}{unit}"

    def _draw(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_draw < REDRAW_SECONDS:
            return
        self._last_draw = now
        if self.total:
            filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
            bar = "[" + "#" * filled + "-" * (BAR_WIDTH - filled) + "] "
        else:
            bar = ""
        text = f"\r{_prefix}{self.label} {bar}{self._count()} {self.seconds:.1f} s\x1b[K"
        self._stream.write(text)
        self._stream.flush()
        self._drawn = True


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class ProgressAwareHandler(logging.StreamHandler):
    """A stream handler that writes its lines above a live progress bar on the same stream."""

    def emit(self, record: logging.LogRecord) -> None:
        bar = _active
        if bar is None or bar._stream is not self.stream:
            super().emit(record)
            return
        with _active_lock:
            bar.clear()
            super().emit(record)
            bar.redraw()
