"""Watching published files: a file's identity on disk, and the thread that polls for changes."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)

Signature = tuple[int, int, int, int]


def file_signature(path: Path) -> Signature | None:
    """Identity of the file at `path` (device, inode, mtime, size), or None if it is missing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


class Refreshable(Protocol):
    def refresh(self) -> bool:
        """Move to a newly published file if there is one; True when it switched."""
        ...


class Reloader:
    """A daemon thread calling `refresh()` on each of `watched` every `interval` seconds."""

    def __init__(self, *watched: Refreshable, interval: float = 0.5) -> None:
        self._watched = watched
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling in the background."""
        self._thread = threading.Thread(target=self._run, name="warehouse-reloader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for watched in self._watched:
                try:
                    watched.refresh()
                except Exception:  # the poller must survive anything a half-built file throws
                    log.exception("refresh failed")

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
