"""Atomic publish of the DuckDB warehouse: build into a temp file, swap it in only on success."""

from __future__ import annotations

import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tamales_inc.core.settings import Settings

STAGING_DIR_NAME = ".build"
LOCK_NAME = ".publish.lock"


def require_published(settings: Settings) -> Path:
    """The published warehouse's path; FileNotFoundError (one line) when none is published yet."""
    path = settings.warehouse_path
    if not path.is_file():
        raise FileNotFoundError(f"no published warehouse at {path}: run `just transform` first")
    return path


def staged_path(settings: Settings) -> Path:
    """Where a new warehouse is built before it is published.

    The file keeps the published file's name (so its DuckDB catalog name, `tamales`, does not
    change when it is moved) and a stable path (so dbt can reuse its partial parse between runs);
    the publish lock makes it safe to reuse.
    """
    return settings.warehouse_dir / STAGING_DIR_NAME / settings.warehouse_path.name


def staged_builds(settings: Settings) -> list[Path]:
    """Staged (not yet published) warehouse files currently on disk."""
    staging_dir = settings.warehouse_dir / STAGING_DIR_NAME
    return sorted(staging_dir.iterdir()) if staging_dir.is_dir() else []


def _remove_database_files(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        candidate.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def finalize_database(path: Path) -> None:
    """Checkpoint a DuckDB file (WAL folded in), close it and flush it to disk."""
    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    wal = path.with_name(path.name + ".wal")
    if wal.exists():
        raise RuntimeError(f"{wal} still exists after CHECKPOINT; not publishing {path}")
    _fsync(path)


@contextmanager
def publish_lock(settings: Settings) -> Iterator[None]:
    """Hold the warehouse's publish lock: one build or publish at a time per TAMALES_HOME."""
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.warehouse_dir / LOCK_NAME, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(
                f"publish: waiting for another build of {settings.warehouse_path} to finish ...",
                file=sys.stderr,
                flush=True,
            )
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def staged_warehouse(settings: Settings, from_current: bool) -> Iterator[Path]:
    """Yield a temp DuckDB path next to the published warehouse; publish it atomically on success.

    With `from_current`, the temp file starts as a copy of the published warehouse (to add tables
    to it, e.g. the training stage's `ml.*`); otherwise it does not exist yet. When the block
    exits normally the file is checkpointed, closed, flushed and `os.replace`d onto
    `settings.warehouse_path`; readers holding the old file open keep reading their snapshot.
    When the block raises, the temp file is removed and the published warehouse is untouched.
    Callers must close their own connections to the temp file before leaving the block. The
    publish lock is held for the whole block, so concurrent builds of one home take turns.
    """
    with publish_lock(settings):
        staged = staged_path(settings)
        staged.parent.mkdir(parents=True, exist_ok=True)
        for leftover in staged_builds(settings):  # a killed run's file; we hold the lock
            leftover.unlink()
        try:
            if from_current:
                shutil.copyfile(require_published(settings), staged)
            yield staged
            finalize_database(staged)
            os.replace(staged, settings.warehouse_path)
            _fsync(settings.warehouse_dir)
        except BaseException:
            _remove_database_files(staged)
            raise
