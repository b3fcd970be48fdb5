"""Warehouse stage: `dbt build` into a fresh DuckDB file, publish it atomically, export parquet."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.contract import TABLES
from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import TamalesError
from tamales_inc.core.settings import ENGINES, Settings
from tamales_inc.core.versions import is_version
from tamales_inc.warehouse.engine import dbt_build
from tamales_inc.warehouse.export import ExportedTable, export_processed
from tamales_inc.warehouse.publish import staged_warehouse

PROG = "transform"
# landed tables the dbt sources read, (source, table): every table of the raw-data contract
LANDED_TABLES: tuple[tuple[str, str], ...] = tuple(TABLES)
# tables whose row counts the summary line reports
COUNTED_TABLES: tuple[str, ...] = (
    "marts.fct_sales",
    "marts.fct_sales_monthly",
    "marts.sales_features",
)
PUBLISHED_ALIAS = "published_warehouse"
log = logging.getLogger(__name__)


class TransformError(TamalesError):
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


def carry_over_schemas(con: duckdb.DuckDBPyConnection, published: Path) -> list[str]:
    """Copy into the new build (`con`) the tables of every schema of the `published` warehouse
    that the build does not contain itself; return them as `schema.table`.

    These are the schemas later stages add to the published warehouse (today `ml`, the training
    outputs): a rebuild keeps them as they were until that stage publishes again. A schema the
    build has (`staging`, `marts`, `meta`, ...) is never copied, so nothing dbt builds goes stale.
    """
    if not published.is_file():
        return []
    literal = str(published).replace("'", "''")
    con.execute(f"attach '{literal}' as {PUBLISHED_ALIAS} (read_only)")
    try:
        built = {
            row[0]
            for row in con.execute(
                "select schema_name from duckdb_schemas() where database_name = current_database()"
            ).fetchall()
        }
        carried = [
            (schema, table)
            for schema, table in con.execute(
                "select schema_name, table_name from duckdb_tables() "
                f"where database_name = '{PUBLISHED_ALIAS}' order by all"
            ).fetchall()
            if schema not in built
        ]
        for schema in sorted({schema for schema, _ in carried}):
            con.execute(f'create schema if not exists "{schema}"')
        for schema, table in carried:
            con.execute(
                f'create table "{schema}"."{table}" as '
                f'select * from {PUBLISHED_ALIAS}."{schema}"."{table}"'
            )
    finally:
        con.execute(f"detach {PUBLISHED_ALIAS}")
    return [f"{schema}.{table}" for schema, table in carried]


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


def _complete_build(
    con: duckdb.DuckDBPyConnection, settings: Settings, dbt_version: str
) -> tuple[str, dict[str, int]]:
    """Give a passed dbt build its `meta.build_info` and the published warehouse's other schemas;
    return its data version and the row counts of the summary."""
    built_version = _write_build_info(con, datetime.now(UTC), dbt_version, settings.engine)
    carried = carry_over_schemas(con, settings.warehouse_path)
    if carried:
        log.info(
            "kept %d table(s) of the published warehouse: %s", len(carried), ", ".join(carried)
        )
    counts = {
        table: con.execute(f"select count(*) from {table}").fetchone()[0]
        for table in COUNTED_TABLES
    }
    return built_version, counts


def run_transform(
    settings: Settings, data_version: str | None = None, export: bool = True
) -> TransformResult:
    """Build the warehouse from the landed parquet with `dbt build` and publish it atomically.

    The build goes to a staged DuckDB file next to `settings.warehouse_path`; only when every dbt
    model and test passed is it given `meta.build_info` (and the schemas of the published
    warehouse that dbt does not build, see `carry_over_schemas`), then checkpointed and swapped
    in. Raises TransformError, leaving the published file untouched, when dbt fails.
    `data_version` pins the landed version staging reads (default: the latest).
    """
    from dbt.version import __version__ as dbt_version

    started = time.perf_counter()
    _check_landed(settings, data_version)
    extra_vars = {} if data_version is None else {"data_version": data_version}
    with staged_warehouse(settings, from_current=False, holder=PROG) as db_path:
        log.info("dbt build on %s into %s ...", settings.engine, db_path)
        dbt_started = time.perf_counter()
        outcome = dbt_build(settings, db_path, extra_vars)
        dbt_finished = time.perf_counter()
        dbt_seconds = dbt_finished - dbt_started
        if not outcome.success:
            raise TransformError(
                f"dbt build failed, published warehouse left untouched: {outcome.failure_summary()}"
            )
        log.info("dbt build passed in %.1f s; publishing ...", dbt_seconds)
        con = duckdb.connect(str(db_path))
        try:
            built_version, counts = _complete_build(con, settings, dbt_version)
        finally:
            con.close()
    published_at = time.perf_counter()
    log.info(
        "published %s (%.1f s after dbt)%s",
        settings.warehouse_path,
        published_at - dbt_finished,
        "; exporting ..." if export else "",
    )
    exports = export_processed(settings) if export else []
    if export:
        log.info(
            "exported %d parquet files in %.1f s", len(exports), time.perf_counter() - published_at
        )
    return TransformResult(
        warehouse_path=settings.warehouse_path,
        data_version=built_version,
        row_counts=counts,
        exports=exports,
        dbt_seconds=dbt_seconds,
        seconds=time.perf_counter() - started,
    )


def _command(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    if args.engine:
        settings = dataclasses.replace(settings, engine=args.engine)
    result = run_transform(settings, data_version=args.data_version, export=not args.no_export)
    print(result.summary())


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.warehouse.transform [--data-version yyyymmdd] [--no-export]`."""
    parser = make_parser(
        PROG, "Build the dbt warehouse from the landed parquet and publish it atomically."
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
    return run_command(PROG, parser, _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
