"""The same data and seed give byte-identical marts and metrics, whatever the thread counts:
a second build with one dbt thread and a second training with one polars thread match the
session's (two threads each) value for value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import METADATA_FILE, current_version
from tests.conftest import copy_home, query_warehouse, run_module

MARTS = ("marts.fct_sales_monthly", "marts.sales_features")
ML = {
    "ml.backtest_metrics": "select * from ml.backtest_metrics order by model, scope, scope_value",
    "ml.backtest_predictions": "select * from ml.backtest_predictions order by all",
    "ml.interval_coverage": "select * exclude (model_version) from ml.interval_coverage "
    "order by all",
    "ml.forecasts": "select * exclude (model_version) from ml.forecasts order by all",
}


def _exact(settings: Settings, sql: str) -> list[tuple[str, ...]]:
    """Every row as the repr of each value: floats compared to the last bit."""
    return [tuple(repr(v) for v in row) for row in query_warehouse(settings, sql).rows()]


def _metrics(settings: Settings) -> dict[str, object]:
    version = current_version(settings)
    assert version is not None
    metadata = json.loads((settings.models_dir / version / METADATA_FILE).read_text("utf-8"))
    return {"metrics": metadata["metrics"], "coverage": metadata["interval_coverage"]}


@pytest.mark.slow
def test_two_builds_and_trainings_give_identical_numbers(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home", parts=("raw", "manifests"))
    built = run_module(
        "tamales_inc.warehouse.transform",
        "--no-export",
        home=settings.home,
        env={"TAMALES_DBT_THREADS": "1"},
    )
    assert built.returncode == 0, built.stderr
    for mart in MARTS:
        sql = f"select * from {mart} order by all"
        assert _exact(settings, sql) == _exact(trained_settings, sql), mart
    trained = run_module(
        "tamales_inc.forecasting",
        "--no-report",
        home=settings.home,
        env={"POLARS_MAX_THREADS": "1"},
    )
    assert trained.returncode == 0, trained.stderr
    for table, sql in ML.items():
        assert _exact(settings, sql) == _exact(trained_settings, sql), table
    assert _metrics(settings) == _metrics(trained_settings)
