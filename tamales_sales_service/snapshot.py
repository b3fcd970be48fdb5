"""One published warehouse file, opened read-only: its catalogs in memory, a cursor per thread
and a cache of query results."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import duckdb

from tamales_sales_service import queries
from tamales_sales_service.cache import ResultCache
from tamales_sales_service.errors import UnknownId, WarehouseUnavailable
from tamales_sales_service.queries import BuildInfo, PublishedForecasts
from tamales_sales_service.schemas import PointOfSale, Product, Zone
from tamales_sales_service.watch import Signature

CATALOG = "warehouse"
T = TypeVar("T")


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


@dataclass
class Snapshot:
    """One opened warehouse file: its connection, cached catalogs and facts, per-thread cursors."""

    path: Path
    signature: Signature
    connection: duckdb.DuckDBPyConnection
    build: BuildInfo
    products: dict[str, Product]
    zones: dict[str, Zone]
    points_of_sale: list[PointOfSale]
    tables: frozenset[str]
    latest_sales_month: str | None
    forecasts: PublishedForecasts | None
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

    @property
    def forecasts_are_stale(self) -> bool | None:
        """Whether the published forecasts were made from another data version than this
        warehouse's (None when there are none); an unrecorded version counts as another."""
        if self.forecasts is None:
            return None
        return self.forecasts.data_version != self.build.data_version


def open_snapshot(
    path: Path, signature: Signature, threads: int = 1, cache_size: int = 0
) -> Snapshot:
    """Open the warehouse at `path` and load its small catalogs into memory."""
    con = connect_read_only(path, threads)
    try:
        build = queries.build_info(con)
        if build is None:
            raise WarehouseUnavailable("meta.build_info is empty")
        tables = queries.table_names(con)
        return Snapshot(
            path=path,
            signature=signature,
            connection=con,
            build=build,
            products=queries.products(con),
            zones=queries.zones(con),
            points_of_sale=queries.points_of_sale(con),
            tables=tables,
            latest_sales_month=queries.latest_sales_month(con),
            forecasts=queries.published_forecasts(con, tables),
            loaded_at=datetime.now(UTC),
            cache=ResultCache(cache_size),
        )
    except Exception:
        con.close()
        raise
