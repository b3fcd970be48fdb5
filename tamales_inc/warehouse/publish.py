"""Atomic publish of the DuckDB warehouse: build into a staged file, swap it in only on success.

"Publish" means one thing in this package: `os.replace` a finished, checkpointed DuckDB file onto
`warehouse/tamales.duckdb`, under the publish lock. The transform publishes a fresh dbt build;
the training stage publishes a copy of the current warehouse with its `ml` tables added.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.files import exclusive_lock, fsync_path, remove_path
from tamales_inc.core.settings import Settings

STAGING_DIR_NAME = ".build"
LOCK_NAME = ".publish.lock"


class WarehouseNotPublished(TamalesError, FileNotFoundError):
    """No warehouse has been published in this TAMALES_HOME yet."""


class PublishError(TamalesError):
    """A staged warehouse could not be finalized; the published one was left untouched."""


def require_published(settings: Settings) -> Path:
    """The published warehouse's path; WarehouseNotPublished (one line) when there is none yet."""
    path = settings.warehouse_path
    if not path.is_file():
        raise WarehouseNotPublished(f"no published warehouse at {path}: run `just transform` first")
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


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def finalize_database(path: Path) -> None:
    """Checkpoint a DuckDB file (WAL folded in), close it and flush it to disk."""
    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    if _wal_path(path).exists():
        raise PublishError(
            f"{_wal_path(path)} still exists after CHECKPOINT; not publishing {path}"
        )
    fsync_path(path)


@contextmanager
def publish_lock(settings: Settings, holder: str = "a warehouse publish") -> Iterator[None]:
    """Hold the warehouse's publish lock as `holder`: one build or publish at a time per
    TAMALES_HOME. A second one logs who holds the lock and waits for it."""
    with exclusive_lock(settings.warehouse_dir / LOCK_NAME, holder, wait=True):
        yield


@contextmanager
def staged_warehouse(
    settings: Settings, from_current: bool, holder: str = "a warehouse publish"
) -> Iterator[Path]:
    """Yield a staged DuckDB path next to the published warehouse; publish it atomically on success.

    With `from_current`, the staged file starts as a copy of the published warehouse (to add
    tables to it, e.g. the training stage's `ml.*`); otherwise it does not exist yet. When the
    block exits normally the file is checkpointed, closed, flushed and `os.replace`d onto
    `settings.warehouse_path`; readers holding the old file open keep reading their snapshot.
    When the block raises, the staged file is removed and the published warehouse is untouched.
    Callers must close their own connections to the staged file before leaving the block. The
    publish lock is held (as `holder`) for the whole block, so concurrent builds take turns.
    """
    with publish_lock(settings, holder):
        staged = staged_path(settings)
        staged.parent.mkdir(parents=True, exist_ok=True)
        for leftover in staged_builds(settings):  # a killed run's file; we hold the lock
            remove_path(leftover)
        try:
            if from_current:
                shutil.copyfile(require_published(settings), staged)
            yield staged
            finalize_database(staged)
            # the publish itself: same file system, so readers see the old file or the new one
            os.replace(staged, settings.warehouse_path)
            fsync_path(settings.warehouse_dir)
        except BaseException:
            remove_path(staged)
            remove_path(_wal_path(staged))
            raise
