"""Spark engine: dbt-spark builds the warehouse in a local Spark session, DuckDB serves it.

`build_with_spark` runs `dbt build --target spark` (profile `dbt_project/profiles.yml`: the session
method, with its warehouse and Derby metastore under `$TAMALES_HOME/spark/`), then copies every
relation that build made in the `staging`, `intermediate` and `marts` schemas into the DuckDB file
being staged for publication, with the column types the DuckDB build gives them. The Spark session
and its JVM live exactly as long as one build. pyspark is imported only here, and only when a
build runs, so the default (DuckDB) path never loads it.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.files import remove_path
from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.dbt import DBT_PROJECT_DIR, DbtOutcome, invoke_dbt

if TYPE_CHECKING:  # pyspark is in the optional spark group, imported only when a build runs
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)

# the dbt target of profiles.yml that builds on Spark
SPARK_TARGET = "spark"
# schemas the dbt project builds (generate_schema_name keeps them unprefixed)
BUILT_SCHEMAS: tuple[str, ...] = ("staging", "intermediate", "marts")
# Spark's configuration folder while it runs here (its log4j2.properties: errors only)
SPARK_CONF_DIR = DBT_PROJECT_DIR / "spark_conf"
# Spark SQL type -> the DuckDB type the DuckDB build gives such a column
DUCKDB_TYPES: dict[str, str] = {
    "string": "VARCHAR",
    "boolean": "BOOLEAN",
    "tinyint": "TINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp_ntz": "TIMESTAMP",
    "timestamp": "TIMESTAMP",
}


class SparkUnavailable(TamalesError):
    """The Spark engine cannot start here (its dependency group or Java is missing)."""


def spark_dir(settings: Settings) -> Path:
    """Where the Spark target keeps its warehouse and metastore (the profile's `spark_dir`)."""
    return settings.spark_dir


def spark_dbt_target_dir(settings: Settings) -> Path:
    """dbt's artefacts of Spark builds, kept apart so each target keeps its partial parse."""
    return settings.dbt_dir / "spark" / "target"


def check_spark_available() -> None:
    """Raise SparkUnavailable naming what to install when pyspark, dbt-spark or Java is missing."""
    import importlib.util

    missing = [
        name for name in ("pyspark", "dbt.adapters.spark") if importlib.util.find_spec(name) is None
    ]
    needs = [f"{' and '.join(missing)} (run `uv sync --group spark --inexact`)"] if missing else []
    if shutil.which("java") is None:
        needs.append("Java 17 or newer on PATH (`java` not found)")
    if needs:
        raise SparkUnavailable(f"the spark engine needs {'; and '.join(needs)}")


@contextmanager
def _spark_configuration() -> Iterator[None]:
    """Point the JVM dbt-spark starts at SPARK_CONF_DIR, unless the user set their own."""
    if "SPARK_CONF_DIR" in os.environ:
        yield
        return
    os.environ["SPARK_CONF_DIR"] = str(SPARK_CONF_DIR)
    try:
        yield
    finally:
        os.environ.pop("SPARK_CONF_DIR", None)


def build_with_spark(
    settings: Settings, db_path: Path, dbt_vars: dict[str, object] | None = None
) -> DbtOutcome:
    """Run `dbt build` on Spark and, when it passes, load what it built into DuckDB at `db_path`.

    The Spark warehouse of the previous build is removed first, so every build starts empty, as
    the DuckDB build does with its fresh file. Returns dbt's outcome; the DuckDB file is written
    only when every model and test passed.
    """
    check_spark_available()
    home = spark_dir(settings)
    remove_path(home)
    try:
        with _spark_configuration():
            outcome = invoke_dbt(
                settings,
                ["build", "--target", SPARK_TARGET],
                db_path,
                dbt_vars,
                target_dir=spark_dbt_target_dir(settings),
            )
        if outcome.success:
            started = time.perf_counter()
            tables = load_into_duckdb(_active_session(), db_path, home / "unload")
            log.info(
                "loaded %d Spark relations into %s in %.1f s",
                len(tables),
                db_path,
                time.perf_counter() - started,
            )
    finally:
        stop_spark()
    return outcome


def _active_session() -> SparkSession:
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if session is None:
        raise TamalesError("dbt-spark finished without a Spark session to read its tables from")
    return session


def duckdb_column(name: str, spark_type: str) -> str:
    """A select-list item turning an unloaded Spark column into the DuckDB build's type."""
    quoted = '"' + name.replace('"', '""') + '"'
    if spark_type.startswith("decimal("):
        return f"cast({quoted} as {spark_type.upper()}) as {quoted}"
    duckdb_type = DUCKDB_TYPES.get(spark_type)
    if duckdb_type is None:
        raise TamalesError(f"column {name} has Spark type {spark_type}, which has no DuckDB type")
    if spark_type == "timestamp":
        # an instant (the Spark session runs in UTC): its UTC wall-clock time, as DuckDB builds it
        return f"cast({quoted} at time zone 'UTC' as TIMESTAMP) as {quoted}"
    return f"cast({quoted} as {duckdb_type}) as {quoted}"


def load_into_duckdb(spark: SparkSession, db_path: Path, unload_dir: Path) -> list[str]:
    """Copy every table and view of the built schemas from Spark into DuckDB tables.

    Each relation is written by Spark as parquet under `unload_dir` (what a cluster would write to
    the container), read by DuckDB with explicit column types and removed afterwards.
    """
    remove_path(unload_dir)
    loaded: list[str] = []
    con = duckdb.connect(str(db_path))
    try:
        for schema in BUILT_SCHEMAS:
            if not spark.catalog.databaseExists(schema):
                continue
            names = sorted(
                table.name for table in spark.catalog.listTables(schema) if not table.isTemporary
            )
            if names:
                con.execute(f"create schema if not exists {schema}")
            for name in names:
                relation = f"{schema}.{name}"
                frame = spark.table(relation)
                path = unload_dir / schema / name
                frame.write.parquet(str(path))
                columns = ", ".join(
                    duckdb_column(field.name, field.dataType.simpleString())
                    for field in frame.schema.fields
                )
                con.execute(
                    f"create table {relation} as select {columns} "
                    f"from read_parquet('{path}/*.parquet')"
                )
                loaded.append(relation)
    finally:
        con.close()
        remove_path(unload_dir)
    return loaded


def stop_spark() -> None:
    """Stop the Spark session dbt-spark started, and its JVM (the Derby metastore is released)."""
    import sys

    if "pyspark" not in sys.modules:
        return
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    session = SparkSession._instantiatedSession
    if session is not None:
        session.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    gateway.shutdown()
    process = getattr(gateway, "proc", None)
    if process is not None:
        process.stdin.close()  # the JVM exits when its stdin closes
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    SparkContext._gateway = None
    SparkContext._jvm = None
