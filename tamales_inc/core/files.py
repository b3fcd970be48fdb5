"""File safety: outputs written to hidden temps and renamed into place, stale temps swept, locks.

Every stage writes its outputs through these helpers, so a run killed at any point leaves either
the previous file or the new one, never half of one, and the next run sweeps what it left.
"""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tamales_inc.core.errors import TamalesError, os_advice

TEMP_MARK = ".tmp-"
log = logging.getLogger(__name__)


class LockBusy(TamalesError):
    """Another process holds the lock (the message names it)."""


def temp_path(path: Path, tag: str | None = None) -> Path:
    """A hidden temp path beside `path` (same file system, so `os.replace` is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tag = tag or f"{os.getpid()}-{secrets.token_hex(3)}"
    return path.with_name(f".{path.name}{TEMP_MARK}{tag}")


def is_temp(path: Path) -> bool:
    """Whether `path` is a temp written by `temp_path`."""
    return path.name.startswith(".") and TEMP_MARK in path.name


def remove_path(path: Path) -> None:
    """Delete a file or a folder tree if it exists."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def fsync_path(path: Path) -> None:
    """Flush a file's (or a folder's entries') data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_output(path: Path, tag: str | None = None) -> Iterator[Path]:
    """Yield a temp path to write `path`'s new content to (a file or a folder); rename it onto
    `path` when the block succeeds, delete it when the block raises."""
    tmp = temp_path(path, tag)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file and a rename."""
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: Path, payload: object) -> None:
    """Write `payload` as indented JSON to `path` through a temp file and a rename."""
    write_text_atomic(path, json.dumps(payload, indent=2, default=str) + "\n")


def remove_stale_temps(*roots: Path) -> list[Path]:
    """Delete temp files and folders left by killed runs under `roots`; return what went."""
    removed: list[Path] = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in sorted(root.rglob(f".*{TEMP_MARK}*"), reverse=True):
            remove_path(path)
            removed.append(path)
    return removed


@contextmanager
def exclusive_lock(lock_file: Path, holder: str, *, wait: bool = False) -> Iterator[None]:
    """Hold an exclusive lock on `lock_file` as `holder` (e.g. `ingest`), released by the OS even
    if the process is killed. When another process holds it: raise LockBusy naming that holder,
    or with `wait`, log who holds it and wait for it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another process"
            if not wait:
                raise LockBusy(
                    f"{other} holds {lock_file}; wait for it to finish, then run {holder} again"
                ) from None
            log.info("waiting for %s to release %s ...", other, lock_file.name)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{holder} (pid {os.getpid()})\n")
            handle.flush()
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)


def require_writable(*folders: Path) -> None:
    """Create each folder and a probe file in it, before a long run writes there: a read-only,
    full or foreign folder fails now (OSError: one line with advice), not after the work."""
    for folder in folders:
        probe = folder / f".write-probe{TEMP_MARK}{os.getpid()}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(probe, "x", encoding="utf-8") as handle:
                try:
                    handle.write("probe\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    probe.unlink()
        except OSError as exc:  # name the folder, not the probe
            raise OSError(exc.errno, exc.strerror, str(folder)) from None


def require_free_space(folder: Path, needed: int, what: str) -> None:
    """Fail now (one line, ENOSPC's advice) when `folder`'s file system has less than `needed`
    bytes free for `what`, rather than part-way through writing it."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise TamalesError(
            f"{what} needs about {needed / 1e6:,.1f} MB in {folder}, {free / 1e6:,.1f} MB free: "
            f"{os_advice(errno.ENOSPC)}"
        )
