"""The published warehouse as the service sees it: the current snapshot, replaced when a new file
is published (hot swap, no restart), and why the file now published is not the one served."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import duckdb

from tamales_sales_service.errors import WarehouseUnavailable, without_paths
from tamales_sales_service.snapshot import Snapshot, open_snapshot
from tamales_sales_service.watch import Signature, file_signature

log = logging.getLogger(__name__)


class PublishedWarehouse:
    """The currently published warehouse; `refresh()` moves to a newly published file.

    `last_error` says why the file at `path` is not the one being served (it cannot be opened,
    or it is gone), in words fit for a client (no paths); None while the served file is the
    published one.
    """

    def __init__(self, path: Path, threads: int = 1, cache_size: int = 0) -> None:
        self.path = path
        self.threads = threads
        self.cache_size = cache_size
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None
        self._failed: tuple[Signature | None, str] | None = None  # the last failure logged

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot requests should read (raises WarehouseUnavailable if none)."""
        snap = self._snapshot
        if snap is None:
            reason = f" ({self.last_error})" if self.last_error else ""
            raise WarehouseUnavailable(f"no warehouse published yet{reason}: run `just transform`")
        return snap

    @property
    def is_open(self) -> bool:
        return self._snapshot is not None

    def refresh(self) -> bool:
        """Open the published file if it changed since the last look; True when it switched.

        A file that cannot be opened (missing, locked, incomplete, not a warehouse) leaves the
        current snapshot in place and is retried on the next call, so the builder is never
        blocked or raced; each distinct failure is logged once.
        """
        with self._lock:
            signature = file_signature(self.path)
            current = self._snapshot
            if signature is None:
                if current is not None:
                    self._failed_to_load(signature, "the published warehouse file is missing")
                return False
            if current is not None and current.signature == signature:
                self.last_error = None
                return False
            try:
                snap = open_snapshot(self.path, signature, self.threads, self.cache_size)
            except (duckdb.Error, WarehouseUnavailable) as exc:
                self._failed_to_load(signature, str(exc).splitlines()[0] or type(exc).__name__)
                return False
            self._snapshot = snap
            self.last_error = None
            self._failed = None
            log.info(
                "serving warehouse %s (data version %s, built %s)",
                self.path,
                snap.build.data_version,
                snap.build.built_at,
            )
            return True

    def _failed_to_load(self, signature: Signature | None, reason: str) -> None:
        self.last_error = without_paths(reason)
        if self._failed != (signature, reason):
            self._failed = (signature, reason)
            served = "" if self._snapshot is None else " (still serving the previous one)"
            log.warning("warehouse %s not opened: %s%s", self.path, reason, served)

    def close(self) -> None:
        """Drop the current snapshot (its connection closes once in-flight requests finish)."""
        with self._lock:
            self._snapshot = None
