"""The published warehouse, opened read-only, with a cursor per thread and hot swap on publish."""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
import duckdb

from tamales_sales_service.schemas import PointOfSale, Product, Zone

log = logging.getLogger(__name__)

Signature = tuple[int, int, int, int]
T = TypeVar("T")


class WarehouseUnavailable(Exception):
    """No warehouse has been published (or it cannot be opened) yet."""


class UnknownId(LookupError):
    """A product, zone or series id that the warehouse does not hold (answered with 404)."""


def file_signature(path: Path) -> Signature | None:
    """Identity of the file at `path` (device, inode, mtime, size), or None if it is missing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)


def as_utc(value: datetime) -> datetime:
    """Warehouse TIMESTAMPs are naive UTC; give them their timezone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


CATALOG = "warehouse"


def connect_read_only(path: Path, threads: int = 1) -> duckdb.DuckDBPyConnection:
    """Open `path` read-only with external access (files, network, extensions) disabled.

    The file is ATTACHed to a private in-memory database rather than opened with
    `duckdb.connect(path)`: DuckDB caches databases by path within a process, so a plain
    connect after a publish (os.replace) would hand back the old, replaced file.
    """
    con = duckdb.connect(":memory:", config={"threads": threads})
    try:
        literal = str(path).replace("'", "''")
        con.execute(f"attach '{literal}' as {CATALOG} (read_only)")
        con.execute("set enable_external_access = false")
        con.execute("set lock_configuration = true")
        con.execute(f"use {CATALOG}")
    except Exception:
        con.close()
        raise
    return con


def new_cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor (its own connection to the same database) reading the attached warehouse."""
    cur = con.cursor()
    cur.execute(f"use {CATALOG}")
    return cur


class ResultCache:
    """A bounded LRU of query results; one per snapshot, so a publish starts it afresh."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def peek(self, key: Hashable) -> Any | None:
        """The cached result for `key`, or None (never computes)."""
        if self.maxsize <= 0:
            return None
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached result for `key`, computing (outside the lock) and storing it if absent."""
        if self.maxsize <= 0:
            return compute()
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        value = compute()
        with self._lock:
            self._data[key] = value
            if len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value


@dataclass(frozen=True)
class BuildInfo:
    """meta.build_info of a published warehouse."""

    built_at: datetime
    data_version: str
    dbt_version: str | None


@dataclass
class Snapshot:
    """One opened warehouse file: its connection, cached catalogs and per-thread cursors."""

    path: Path
    signature: Signature
    connection: duckdb.DuckDBPyConnection
    build: BuildInfo
    products: dict[str, Product]
    zones: dict[str, Zone]
    points_of_sale: list[PointOfSale]
    tables: frozenset[str]
    loaded_at: datetime
    cache: ResultCache
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's cursor on the snapshot (created on first use)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = new_cursor(self.connection)
            self._local.cursor = cur
        return cur

    async def query(self, key: Hashable, run: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """`run(cursor)`, cached under `key`; a miss runs in a worker thread on its own cursor.

        Hits are answered on the event loop: hopping to a thread for a dictionary lookup costs
        more than the lookup and, under load, queues behind the GIL.
        """
        hit = self.cache.peek(key)
        if hit is not None:
            return hit
        return await anyio.to_thread.run_sync(
            lambda: self.cache.get(key, lambda: run(self.cursor()))
        )

    def require_product(self, product_id: str | None) -> None:
        """Raise UnknownId unless `product_id` is None or a known product."""
        if product_id is not None and product_id not in self.products:
            raise UnknownId(f"unknown product_id '{product_id}': see GET /products")

    def require_zone(self, zone_id: str | None) -> None:
        """Raise UnknownId unless `zone_id` is None or a known zone."""
        if zone_id is not None and zone_id not in self.zones:
            raise UnknownId(f"unknown zone_id '{zone_id}': see GET /zones")

    def has_table(self, qualified_name: str) -> bool:
        """Whether `schema.table` exists in this warehouse."""
        return qualified_name in self.tables


def open_snapshot(
    path: Path, signature: Signature, threads: int = 1, cache_size: int = 0
) -> Snapshot:
    """Open the warehouse at `path` and load its small catalogs into memory."""
    con = connect_read_only(path, threads)
    try:
        tables = frozenset(
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_catalog = ?",
                [CATALOG],
            ).fetchall()
        )
        row = con.execute(
            "select built_at, data_version, dbt_version from meta.build_info "
            "order by built_at desc limit 1"
        ).fetchone()
        if row is None:
            raise WarehouseUnavailable(f"{path}: meta.build_info is empty")
        build = BuildInfo(built_at=as_utc(row[0]), data_version=row[1], dbt_version=row[2])
        products = {
            r[0]: Product(*r)
            for r in con.execute(
                "select product_id, product_name, flavor, brand, producer, calorie_category, "
                "coalesce(is_own_brand, false), tamales_inc_product_code, teinvento_id_product, "
                "coalesce(is_unknown, false) from marts.dim_product order by product_id"
            ).fetchall()
        }
        zones = {
            r[0]: Zone(*r)
            for r in con.execute(
                "select zone_id, zone_name, tamales_inc_zone, teinvento_id_region "
                "from marts.dim_zone order by zone_id"
            ).fetchall()
        }
        points = [
            PointOfSale(*r)
            for r in con.execute(
                "select point_of_sale_id, source, zone_id, description "
                "from marts.dim_point_of_sale order by point_of_sale_id"
            ).fetchall()
        ]
    except Exception:
        con.close()
        raise
    return Snapshot(
        path=path,
        signature=signature,
        connection=con,
        build=build,
        products=products,
        zones=zones,
        points_of_sale=points,
        tables=tables,
        loaded_at=datetime.now(UTC),
        cache=ResultCache(cache_size),
    )


class Warehouse:
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


class Reloader:
    """A daemon thread calling `refresh` callables every `interval` seconds."""

    def __init__(self, *refreshers: object, interval: float = 0.5) -> None:
        self._refreshers = refreshers
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start polling in the background."""
        self._thread = threading.Thread(target=self._run, name="warehouse-reloader", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for refresher in self._refreshers:
                try:
                    refresher.refresh()  # type: ignore[attr-defined]
                except Exception:  # the poller must survive anything a half-built file throws
                    log.exception("refresh failed")

    def stop(self) -> None:
        """Stop polling and wait for the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
