"""The `ml` schema's tables, declared once: their columns in order, types and nullability.

The training run creates and fills them from these declarations; the backtest, the metrics,
the intervals and the forecasts shape their frames by them; the tests check the published
warehouse and docs/contracts.md section 4 against them.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

SCHEMA = "ml"

# DuckDB type -> the polars type a frame holds before it is written.
_POLARS_TYPES: dict[str, pl.DataType] = {
    "varchar": pl.String(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "integer": pl.Int32(),
    "bigint": pl.Int64(),
    "double": pl.Float64(),
    "boolean": pl.Boolean(),
}


@dataclass(frozen=True)
class Column:
    """One column: name, DuckDB type, whether it may hold NULL."""

    name: str
    sql_type: str
    nullable: bool = True

    @property
    def ddl(self) -> str:
        return f"{self.name} {self.sql_type}" + ("" if self.nullable else " not null")


@dataclass(frozen=True)
class Table:
    """One `ml` table. Each run replaces its rows, or appends to them with `keeps_history`."""

    name: str
    columns: tuple[Column, ...]
    keeps_history: bool = False

    @property
    def qualified_name(self) -> str:
        return f"{SCHEMA}.{self.name}"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def schema(self) -> dict[str, pl.DataType]:
        """The polars schema of the table's rows."""
        return {column.name: _POLARS_TYPES[column.sql_type] for column in self.columns}

    def create_sql(self) -> str:
        """`create or replace table` (`create table if not exists` when it keeps history)."""
        verb = "create table if not exists" if self.keeps_history else "create or replace table"
        columns = ", ".join(column.ddl for column in self.columns)
        return f"{verb} {self.qualified_name} ({columns})"

    def missing_columns_sql(self, existing: set[str]) -> list[str]:
        """`alter table` statements adding the nullable columns an older table lacks (a table
        that keeps history outlives the code that created it)."""
        return [
            f"alter table {self.qualified_name} add column {column.name} {column.sql_type}"
            for column in self.columns
            if column.name not in existing and column.nullable
        ]

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """`frame`'s columns of this table, in its order and cast to its types."""
        return frame.select(self.column_names).cast(self.schema)


def _required(name: str, sql_type: str) -> Column:
    return Column(name, sql_type, nullable=False)


_SERIES = (
    _required("source", "varchar"),
    _required("product_id", "varchar"),
    _required("zone_id", "varchar"),
)

BACKTEST_PREDICTIONS = Table(
    "backtest_predictions",
    (
        _required("model", "varchar"),
        _required("origin_month", "date"),  # the last month the model saw
        *_SERIES,
        _required("sales_month", "date"),  # the month forecast
        _required("horizon", "integer"),
        Column("y_true", "double"),
        Column("y_pred", "double"),
    ),
)
BACKTEST_METRICS = Table(
    "backtest_metrics",
    (
        _required("model", "varchar"),
        _required("scope", "varchar"),  # overall | product | horizon
        _required("scope_value", "varchar"),
        Column("wape", "double"),
        Column("mase", "double"),
        Column("rmse", "double"),
        Column("bias", "double"),
        _required("n", "bigint"),
    ),
)
MODEL_RUNS = Table(
    "model_runs",
    (
        _required("run_id", "varchar"),
        _required("model_version", "varchar"),
        _required("trained_at", "timestamp"),
        _required("model_name", "varchar"),
        _required("params", "varchar"),  # JSON text
        Column("training_data_version", "varchar"),
        _required("warehouse_sha256", "varchar"),
        Column("wape", "double"),
        Column("mase", "double"),
        Column("seasonal_naive_wape", "double"),
        _required("is_champion", "boolean"),
        _required("is_promoted", "boolean"),
        Column("inputs_fingerprint", "varchar"),  # the run's inputs (forecasting/freshness.py)
        Column("inputs", "varchar"),  # JSON text: the digest of each input
    ),
    keeps_history=True,
)
FORECASTS = Table(
    "forecasts",
    (
        *_SERIES,
        _required("sales_month", "date"),  # the month forecast
        _required("horizon", "integer"),
        _required("yhat", "double"),
        _required("yhat_lower", "double"),
        _required("yhat_upper", "double"),
        _required("level", "double"),
        _required("model_version", "varchar"),
    ),
)
INTERVAL_COVERAGE = Table(
    "interval_coverage",
    (
        _required("model_version", "varchar"),
        _required("model_name", "varchar"),
        _required("horizon", "integer"),  # 0: every horizon
        _required("level", "double"),
        Column("coverage", "double"),
        _required("n", "bigint"),
        Column("relative_width", "double"),
    ),
)

TABLES: tuple[Table, ...] = (
    BACKTEST_PREDICTIONS,
    BACKTEST_METRICS,
    MODEL_RUNS,
    FORECASTS,
    INTERVAL_COVERAGE,
)


def write_table(con: duckdb.DuckDBPyConnection, table: Table, frame: pl.DataFrame) -> None:
    """Create `table` in `con` (replacing it unless it keeps history) and insert `frame`'s rows."""
    con.execute(f"create schema if not exists {SCHEMA}")
    con.execute(table.create_sql())
    if table.keeps_history:
        existing = con.execute(
            "select column_name from duckdb_columns() "
            "where database_name = current_database() and schema_name = ? and table_name = ?",
            [SCHEMA, table.name],
        ).fetchall()
        for statement in table.missing_columns_sql({name for (name,) in existing}):
            con.execute(statement)
    con.register("_frame", table.conform(frame).to_arrow())
    try:
        columns = ", ".join(table.column_names)
        con.execute(f"insert into {table.qualified_name} ({columns}) select {columns} from _frame")
    finally:
        con.unregister("_frame")
