"""Warehouse stage: `dbt build` into a fresh DuckDB file, publish it atomically, export parquet.

The build reads one data version of every landed table (`landed.plan_build`) and is skipped when
the published build recorded the same inputs (`freshness`), unless forced. Cheap to import: dbt
is imported only when a build runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest.tables import LANDED_TABLES
from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.files import require_free_space, require_writable
from tamales_inc.core.fingerprint import Fingerprint
from tamales_inc.core.runs import recorded_run
from tamales_inc.core.settings import ENGINES, Settings
from tamales_inc.warehouse.engine import dbt_build
from tamales_inc.warehouse.errors import TransformError
from tamales_inc.warehouse.export import ExportedTable, export_processed
from tamales_inc.warehouse.freshness import UpToDate, check_up_to_date, transform_fingerprint
from tamales_inc.warehouse.landed import BuildPlan, landed, plan_build
from tamales_inc.warehouse.publish import staged_warehouse

__all__ = ["LANDED_TABLES", "TransformError", "TransformResult", "main", "run_transform"]

PROG = "transform"
# tables whose row counts the summary line reports
COUNTED_TABLES: tuple[str, ...] = (
    "marts.fct_sales",
    "marts.fct_sales_monthly",
    "marts.sales_features",
)
PUBLISHED_ALIAS = "published_warehouse"
# the command's options a run record keeps
OPTIONS = ("data_version", "no_export", "allow_mixed_versions", "force", "engine")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransformResult:
    """What a transform run built and published."""

    warehouse_path: Path
    data_version: str
    row_counts: dict[str, int]
    exports: list[ExportedTable] = field(default_factory=list)
    dbt_seconds: float = 0.0
    seconds: float = 0.0
    inputs_fingerprint: str = ""

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
    return landed(settings).versions


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
    con: duckdb.DuckDBPyConnection,
    plan: BuildPlan,
    fingerprint: Fingerprint,
    built_at: datetime,
    dbt_version: str,
    engine: str,
) -> None:
    """`meta.build_info`, one row: when, from which data version (and each table's, for a mixed
    build), with which dbt on which engine, from which inputs (the fingerprint is the build's
    identity)."""
    versions = con.execute("select distinct data_version from marts.fct_sales").fetchall()
    built = {row[0] for row in versions}
    planned = set(plan.table_versions.values())
    if not built <= planned:
        raise TransformError(
            f"marts.fct_sales holds data versions {', '.join(sorted(built))}, not the planned "
            f"{', '.join(sorted(planned))}; published warehouse left untouched"
        )
    con.execute("create schema if not exists meta")
    con.execute(
        "create or replace table meta.build_info (built_at timestamp, data_version varchar, "
        "dbt_version varchar, table_versions varchar, is_mixed_versions boolean, "
        "inputs_fingerprint varchar, inputs varchar, engine varchar)"
    )
    con.execute(
        "insert into meta.build_info values (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            built_at.replace(tzinfo=None),
            plan.data_version,
            dbt_version,
            plan.describe_versions(),
            plan.is_mixed,
            fingerprint.value,
            fingerprint.to_json(),
            engine,
        ],
    )


def _complete_build(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    plan: BuildPlan,
    fingerprint: Fingerprint,
    dbt_version: str,
) -> dict[str, int]:
    """Give a passed dbt build its `meta.build_info` and the published warehouse's other schemas;
    return the row counts of the summary."""
    _write_build_info(con, plan, fingerprint, datetime.now(UTC), dbt_version, settings.engine)
    carried = carry_over_schemas(con, settings.warehouse_path)
    if carried:
        log.debug(
            "kept %d table(s) of the published warehouse: %s", len(carried), ", ".join(carried)
        )
    return {
        table: con.execute(f"select count(*) from {table}").fetchone()[0]
        for table in COUNTED_TABLES
    }


def run_transform(
    settings: Settings,
    data_version: str | None = None,
    export: bool = True,
    *,
    allow_mixed: bool = False,
    force: bool = True,
    options: dict[str, object] | None = None,
) -> TransformResult | UpToDate:
    """Build the warehouse from the landed parquet with `dbt build` and publish it atomically.

    Reads one data version of every table: `data_version`, else the latest landed for every
    table (`allow_mixed`: each table's latest, see `landed.plan_build`). Unless `force`, returns
    UpToDate without building when the published build recorded the same inputs. Raises
    TransformError, leaving the published file untouched, when the data cannot be built or dbt
    fails.
    """
    plan = plan_build(settings, data_version, allow_mixed=allow_mixed)
    fingerprint = transform_fingerprint(settings, plan, export=export, options=options)
    if not force:
        verdict = check_up_to_date(settings, fingerprint, export=export)
        if isinstance(verdict, UpToDate):
            return verdict
        log.info("building data version %s (changed: %s)", plan.data_version, ", ".join(verdict))
    return _build(settings, plan, fingerprint, export)


def _memory_advice(settings: Settings, failure: str) -> str:
    """What to do when DuckDB ran out of memory: its limit, and how to raise it."""
    if settings.engine != "duckdb" or "Out of Memory" not in failure:
        return ""
    return (
        f" (DuckDB's memory limit is {settings.duckdb_memory_limit}: raise "
        "TAMALES_DUCKDB_MEMORY_LIMIT, e.g. to 3GB for 110M sales lines)"
    )


def _build(
    settings: Settings, plan: BuildPlan, fingerprint: Fingerprint, export: bool
) -> TransformResult:
    """dbt build into the staged file, complete it, publish it, export it."""
    from dbt.version import __version__ as dbt_version

    started = time.perf_counter()
    require_writable(settings.warehouse_dir, settings.dbt_dir)
    if settings.warehouse_path.is_file():  # a new build is about the size of the last one
        size = settings.warehouse_path.stat().st_size
        require_free_space(settings.warehouse_dir, size + size // 5, "a new warehouse build")
    with staged_warehouse(settings, from_current=False, holder=PROG) as db_path:
        log.debug("dbt build on %s into %s ...", settings.engine, db_path)
        dbt_started = time.perf_counter()
        outcome = dbt_build(settings, db_path, plan.dbt_vars())
        dbt_finished = time.perf_counter()
        dbt_seconds = dbt_finished - dbt_started
        if not outcome.success:
            failure = outcome.failure_summary()
            raise TransformError(
                "dbt build failed, published warehouse left untouched: "
                f"{failure}{_memory_advice(settings, failure)}"
            )
        log.debug("dbt build passed in %.1f s; publishing ...", dbt_seconds)
        con = duckdb.connect(str(db_path), config={"memory_limit": settings.duckdb_memory_limit})
        try:
            counts = _complete_build(con, settings, plan, fingerprint, dbt_version)
        finally:
            con.close()
    published_at = time.perf_counter()
    log.debug("published (%.1f s after dbt)", published_at - dbt_finished)
    exports = export_processed(settings) if export else []
    if export:
        log.debug(
            "exported %d parquet files in %.1f s", len(exports), time.perf_counter() - published_at
        )
    return TransformResult(
        warehouse_path=settings.warehouse_path,
        data_version=plan.data_version,
        row_counts=counts,
        exports=exports,
        dbt_seconds=dbt_seconds,
        seconds=time.perf_counter() - started,
        inputs_fingerprint=fingerprint.value,
    )


def _command(args: argparse.Namespace) -> None:
    settings = Settings.from_env()
    if args.engine:
        settings = dataclasses.replace(settings, engine=args.engine)
    options = {name: getattr(args, name) for name in OPTIONS}
    with recorded_run(settings.manifests_dir, PROG, options) as record:
        result = run_transform(
            settings,
            data_version=args.data_version,
            export=not args.no_export,
            allow_mixed=args.allow_mixed_versions,
            force=args.force,
        )
        record.details.update(_record_details(result))
        if isinstance(result, UpToDate):
            record.status = "up_to_date"
    print(result.summary(), flush=True)


def _record_details(result: TransformResult | UpToDate) -> dict[str, object]:
    """What a run record says about the run's outcome."""
    if isinstance(result, UpToDate):
        build = result.build
        return {"data_version": build.data_version, "built_at": build.built_at.isoformat()}
    return {
        "data_version": result.data_version,
        "inputs_fingerprint": result.inputs_fingerprint,
        "warehouse_path": str(result.warehouse_path),
        "row_counts": result.row_counts,
        "exports": [str(exported.path) for exported in result.exports],
        "dbt_seconds": round(result.dbt_seconds, 3),
    }


def build_parser() -> argparse.ArgumentParser:
    """The `transform` command line."""
    parser = make_parser(
        PROG,
        "Build the dbt warehouse from the landed parquet and publish it atomically; skipped "
        "when the published build has the same inputs (landed data, dbt project, code).",
    )
    parser.add_argument(
        "--data-version",
        help="landed data version to build (yyyymmdd; default: the latest landed for every table)",
    )
    parser.add_argument(
        "--allow-mixed-versions",
        action="store_true",
        help="build each table from its own latest landed version when they differ",
    )
    parser.add_argument(
        "--no-export", action="store_true", help="skip the processed parquet exports"
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even when the inputs did not change"
    )
    parser.add_argument(
        "--engine", choices=ENGINES, help="engine dbt builds on (default: TAMALES_ENGINE, duckdb)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.warehouse.transform [--data-version yyyymmdd] [--force] ...`."""
    return run_command(PROG, build_parser(), _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
