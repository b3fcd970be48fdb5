"""The published warehouse as the service sees it: the current snapshot, replaced when a new file
is published (hot swap, no restart)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import duckdb

from tamales_sales_service.errors import WarehouseUnavailable
from tamales_sales_service.snapshot import Snapshot, open_snapshot
from tamales_sales_service.watch import file_signature

log = logging.getLogger(__name__)


class PublishedWarehouse:
    """The currently published warehouse; `refresh()` moves to a newly published file."""

    def __init__(self, path: Path, threads: int = 1, cache_size: int = 0) -> None:
        self.path = path
        self.threads = threads
        self.cache_size = cache_size
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.last_error: str | None = None

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot requests should read (raises WarehouseUnavailable if none)."""
        snap = self._snapshot
        if snap is None:
            reason = f" ({self.last_error})" if self.last_error else ""
            raise WarehouseUnavailable(
                f"no warehouse published at {self.path}{reason}: run `just transform`"
            )
        return snap

    @property
    def is_open(self) -> bool:
        return self._snapshot is not None

    def refresh(self) -> bool:
        """Open the published file if it changed since the last look; True when it switched.

        A file that cannot be opened yet (missing, locked, incomplete) leaves the current snapshot
        in place and is retried on the next call, so the builder is never blocked or raced.
        """
        with self._lock:
            signature = file_signature(self.path)
            current = self._snapshot
            if signature is None or (current is not None and current.signature == signature):
                return False
            try:
                snap = open_snapshot(self.path, signature, self.threads, self.cache_size)
            except (duckdb.Error, WarehouseUnavailable) as exc:
                self.last_error = str(exc).splitlines()[0]
                log.warning("warehouse %s not opened yet: %s", self.path, self.last_error)
                return False
            self._snapshot = snap
            self.last_error = None
            log.info(
                "serving warehouse %s (data version %s, built %s)",
                self.path,
                snap.build.data_version,
                snap.build.built_at,
            )
            return True

    def close(self) -> None:
        """Drop the current snapshot (its connection closes once in-flight requests finish)."""
        with self._lock:
            self._snapshot = None
