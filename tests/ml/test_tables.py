"""The `ml` table contract: declared once in `forecasting/tables.py`, stated in
docs/contracts.md, written by DuckDB as declared."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import polars as pl
import pytest

from tamales_inc.forecasting.metrics import METRIC_COLUMNS
from tamales_inc.forecasting.tables import BACKTEST_METRICS, MODEL_RUNS, TABLES, write_table
from tests.conftest import REPO_ROOT


def test_docs_list_every_ml_table_with_its_columns_in_order() -> None:
    lines = (REPO_ROOT / "docs" / "contracts.md").read_text("utf-8").splitlines()
    for table in TABLES:
        line = next(x for x in lines if x.startswith(f"- `{table.qualified_name}`"))
        text, start = line.partition(":")[2], 0
        for name in table.column_names:
            found = re.compile(rf"\b{name}\b").search(text, start)
            assert found, f"{table.name}.{name} missing (or out of order) in docs/contracts.md"
            start = found.end()


def test_metric_columns_close_the_metrics_table() -> None:
    assert BACKTEST_METRICS.column_names == ("model", "scope", "scope_value", *METRIC_COLUMNS)


def _metrics_row(model: str) -> dict[str, object]:
    return {"model": model, "scope": "overall", "scope_value": "all", "wape": 0.5, "mase": 1.0}


def _run_row(run_id: str) -> dict[str, object]:
    row: dict[str, object] = {name: None for name in MODEL_RUNS.column_names}
    row.update(run_id=run_id, model_version="v", trained_at=date(2020, 9, 1), model_name="m")
    row.update(params="{}", warehouse_sha256="0" * 64, is_champion=True, is_promoted=False)
    return row


def test_write_table_replaces_rows_or_keeps_history() -> None:
    con = duckdb.connect()
    try:
        for model in ("a", "b"):
            frame = pl.DataFrame([{**_metrics_row(model), "rmse": 2.0, "bias": 0.0, "n": 3}])
            write_table(con, BACKTEST_METRICS, frame)
            write_table(con, MODEL_RUNS, pl.DataFrame([_run_row(f"run-{model}")]))
        metrics = con.execute("select model, n from ml.backtest_metrics").fetchall()
        runs = con.execute("select run_id, trained_at from ml.model_runs order by 1").fetchall()
    finally:
        con.close()
    assert metrics == [("b", 3)]  # replaced by the latest run
    assert [run_id for run_id, _ in runs] == ["run-a", "run-b"]  # appended
    assert str(runs[0][1]) == "2020-09-01 00:00:00"


def test_write_table_refuses_a_frame_missing_a_column() -> None:
    con = duckdb.connect()
    try:
        with pytest.raises(pl.exceptions.ColumnNotFoundError, match="rmse"):
            write_table(con, BACKTEST_METRICS, pl.DataFrame([_metrics_row("a")]))
        with pytest.raises(duckdb.ConstraintException, match="model_runs.run_id"):
            write_table(con, MODEL_RUNS, pl.DataFrame([{**_run_row("x"), "run_id": None}]))
    finally:
        con.close()
