"""Warehouse stage: `dbt build` into a fresh DuckDB file, publish it atomically, export parquet."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.settings import ENGINES, Settings
from tamales_inc.core.versions import is_version
from tamales_inc.warehouse.engine import dbt_build
from tamales_inc.warehouse.export import ExportedTable, export_processed
from tamales_inc.warehouse.publish import staged_warehouse

# landed tables the dbt sources read: (source, table)
LANDED_TABLES: tuple[tuple[str, str], ...] = (
    ("tamales_inc", "monthly_sales"),
    ("teinvento_inc", "fact_table"),
    ("teinvento_inc", "product_dim"),
    ("teinvento_inc", "region_dim"),
)
# tables whose row counts the summary line reports
COUNTED_TABLES: tuple[str, ...] = (
    "marts.fct_sales",
    "marts.fct_sales_monthly",
    "marts.sales_features",
)


class TransformError(RuntimeError):
    """The warehouse could not be built; the published warehouse was left untouched."""


@dataclass(frozen=True)
class TransformResult:
    """What a transform run built and published."""

    warehouse_path: Path
    data_version: str
    row_counts: dict[str, int]
    exports: list[ExportedTable] = field(default_factory=list)
    dbt_seconds: float = 0.0
    seconds: float = 0.0

    def summary(self) -> str:
        """The stage's one-line summary."""
        counts = self.row_counts
        return (
            f"transform: data_version {self.data_version}, "
            f"{counts['marts.fct_sales']} sales lines -> "
            f"{counts['marts.fct_sales_monthly']} monthly rows, "
            f"{counts['marts.sales_features']} feature rows; "
            f"published {self.warehouse_path}, {len(self.exports)} parquet exports; "
            f"{self.seconds:.1f} s (dbt build {self.dbt_seconds:.1f} s)"
        )


def landed_versions(settings: Settings) -> dict[tuple[str, str], list[str]]:
    """Data versions landed for each source table the warehouse reads."""
    found: dict[tuple[str, str], list[str]] = {}
    for source, table in LANDED_TABLES:
        source_dir = settings.raw_dir / source
        versions = sorted(
            path.parent.name for path in source_dir.glob(f"*/{table}.parquet") if path.is_file()
        )
        found[(source, table)] = versions
    return found


def _check_landed(settings: Settings, data_version: str | None) -> None:
    versions = landed_versions(settings)
    missing = [f"{source}/{table}" for (source, table), found in versions.items() if not found]
    if missing:
        raise TransformError(
            f"no landed parquet for {', '.join(missing)} under {settings.raw_dir}: "
            "run `just ingest` first"
        )
    if data_version is None:
        return
    if not is_version(data_version):
        raise TransformError(f"--data-version {data_version!r} is not a yyyymmdd date")
    lacking = [
        f"{source}/{table}"
        for (source, table), found in versions.items()
        if data_version not in found
    ]
    if lacking:
        raise TransformError(
            f"data version {data_version} is not landed for {', '.join(lacking)} "
            f"under {settings.raw_dir}"
        )


def _carry_over_ml_tables(con: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Copy the `ml` schema of the published warehouse (training outputs) into the new build."""
    if not published.is_file():
        return []
    con.execute(f"attach '{published}' as published_warehouse (read_only)")
    try:
        tables = [
            row[0]
            for row in con.execute(
                "select table_name from duckdb_tables() "
                "where database_name = 'published_warehouse' and schema_name = 'ml' "
                "order by table_name"
            ).fetchall()
        ]
        if tables:
            con.execute("create schema if not exists ml")
        for table in tables:
            con.execute(
                f'create or replace table ml."{table}" as '
                f'select * from published_warehouse.ml."{table}"'
            )
    finally:
        con.execute("detach published_warehouse")
    return [f"ml.{table}" for table in tables]


def _write_build_info(
    con: duckdb.DuckDBPyConnection, built_at: datetime, dbt_version: str, engine: str
) -> str:
    (data_version,) = con.execute(
        "select string_agg(distinct data_version, ',' order by data_version) from marts.fct_sales"
    ).fetchone()
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.build_info "
        "(built_at timestamp, data_version varchar, dbt_version varchar, engine varchar)"
    )
    con.execute(
        "insert into meta.build_info values (?, ?, ?, ?)",
        [built_at.replace(tzinfo=None), data_version, dbt_version, engine],
    )
    return data_version


def run_transform(
    settings: Settings, data_version: str | None = None, export: bool = True
) -> TransformResult:
    """Build the warehouse from the landed parquet with `dbt build` and publish it atomically.

    The build goes to a new DuckDB file next to `settings.warehouse_path`; only when every dbt
    model and test passed is it given `meta.build_info` (and the published `ml` tables), then
    checkpointed and swapped in. Raises TransformError, leaving the published file untouched,
    when dbt fails. `data_version` pins the landed version staging reads (default: the latest).
    """
    from dbt.version import __version__ as dbt_version

    started = time.perf_counter()
    _check_landed(settings, data_version)
    dbt_vars: dict[str, object] = {}
    if data_version is not None:
        dbt_vars["data_version"] = data_version
    with staged_warehouse(settings, from_current=False) as db_path:
        print(f"transform: dbt build on {settings.engine} into {db_path} ...", flush=True)
        dbt_started = time.perf_counter()
        outcome = dbt_build(settings, db_path, dbt_vars)
        dbt_finished = time.perf_counter()
        dbt_seconds = dbt_finished - dbt_started
        if not outcome.success:
            raise TransformError(
                f"dbt build failed, published warehouse left untouched: {outcome.failure_summary()}"
            )
        print(f"transform: dbt build passed in {dbt_seconds:.1f} s; publishing ...", flush=True)
        con = duckdb.connect(str(db_path))
        try:
            _carry_over_ml_tables(con, settings.warehouse_path)
            built_version = _write_build_info(con, datetime.now(UTC), dbt_version, settings.engine)
            counts = {
                table: con.execute(f"select count(*) from {table}").fetchone()[0]
                for table in COUNTED_TABLES
            }
        finally:
            con.close()
    published_at = time.perf_counter()
    print(
        f"transform: published {settings.warehouse_path} "
        f"({published_at - dbt_finished:.1f} s after dbt); exporting ...",
        flush=True,
    )
    exports = export_processed(settings) if export else []
    if export:
        print(
            f"transform: exported {len(exports)} parquet files in "
            f"{time.perf_counter() - published_at:.1f} s",
            flush=True,
        )
    return TransformResult(
        warehouse_path=settings.warehouse_path,
        data_version=built_version,
        row_counts=counts,
        exports=exports,
        dbt_seconds=dbt_seconds,
        seconds=time.perf_counter() - started,
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.warehouse.transform [--data-version yyyymmdd] [--no-export]`."""
    parser = argparse.ArgumentParser(
        prog="python -m tamales_inc.warehouse.transform",
        description="Build the dbt warehouse from the landed parquet and publish it atomically.",
    )
    parser.add_argument(
        "--data-version", help="landed data version to build (yyyymmdd; default: the latest)"
    )
    parser.add_argument(
        "--no-export", action="store_true", help="skip the processed parquet exports"
    )
    parser.add_argument(
        "--engine", choices=ENGINES, help="engine dbt builds on (default: TAMALES_ENGINE, duckdb)"
    )
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.engine:
        settings = dataclasses.replace(settings, engine=args.engine)
    try:
        result = run_transform(settings, data_version=args.data_version, export=not args.no_export)
    except (TransformError, TamalesError, FileNotFoundError, ValueError, duckdb.Error) as error:
        print(f"transform: error: {error}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
