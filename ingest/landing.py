"""Atomic outputs: temp files renamed into place, stale temps swept, one writer at a time."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import IngestError

TEMP_MARK = ".tmp-"
LOCK_FILE = ".ingest.lock"


def temp_path(path: Path, run_id: str) -> Path:
    """A hidden temp path beside `path` (same file system, so `os.replace` is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}{TEMP_MARK}{run_id}")


def publish(tmp: Path, path: Path) -> None:
    """Atomically move a finished temp file to its final name."""
    os.replace(tmp, path)


def remove_stale_temps(*roots: Path) -> list[Path]:
    """Delete temp files and folders left by killed runs under `roots`; return what went."""
    removed: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(f".*{TEMP_MARK}*"), reverse=True):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


@contextmanager
def exclusive_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on `directory` (released by the OS even if the process is killed)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / LOCK_FILE, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise IngestError(
                f"another ingest is running on {directory.parent}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
