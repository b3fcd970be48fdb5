"""The training run on the scale-1 sample: ml tables, registry, promotion, forecasts, report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.forecast import active_origins
from tamales_inc.forecasting.models import SeasonalYoYForecaster, default_models
from tamales_inc.forecasting.registry import current_version, load_current, load_version
from tamales_inc.forecasting.selection import COMBINATIONS
from tamales_inc.forecasting.tables import TABLES
from tamales_inc.forecasting.train import Candidate, Champion, Choice, report_importance
from tests.conftest import REPO_ROOT, query_warehouse, settings_for

CONTRACT_COLUMNS = {
    "backtest_predictions": [
        "model", "origin_month", "source", "product_id", "zone_id", "sales_month", "horizon",
        "y_true", "y_pred",
    ],
    "backtest_metrics": ["model", "scope", "scope_value", "wape", "mase", "rmse", "bias", "n"],
    "model_runs": [
        "run_id", "model_version", "trained_at", "model_name", "params", "training_data_version",
        "warehouse_sha256", "wape", "mase", "seasonal_naive_wape", "is_champion", "is_promoted",
        "inputs_fingerprint", "inputs",
    ],
    "forecasts": [
        "source", "product_id", "zone_id", "sales_month", "horizon", "yhat", "yhat_lower",
        "yhat_upper", "level", "model_version",
    ],
}  # fmt: skip


def test_ml_tables_follow_the_contract(trained_settings: Settings) -> None:
    declared = {table.name: list(table.column_names) for table in TABLES}
    assert {name: declared[name] for name in CONTRACT_COLUMNS} == CONTRACT_COLUMNS
    for table, columns in CONTRACT_COLUMNS.items():
        got = query_warehouse(trained_settings, f"select * from ml.{table} limit 0").columns
        assert got == columns, table
    for table in TABLES:  # names, types and nullability as declared in tables.py
        described = query_warehouse(trained_settings, f"describe {table.qualified_name}")
        assert described.select("column_name", "column_type", "null").rows() == [
            (c.name, c.sql_type.upper(), "YES" if c.nullable else "NO") for c in table.columns
        ], table.name
    models = query_warehouse(trained_settings, "select distinct model from ml.backtest_metrics")
    assert set(models["model"]) == {
        "naive",
        "seasonal_naive",
        "seasonal_yoy",
        "exercise_base",
        "auto_ets",
        "auto_theta",
        "auto_arima",
        "auto_ces",
        "xgboost",
        *(spec.label for spec in COMBINATIONS),
    }
    scopes = query_warehouse(trained_settings, "select distinct scope from ml.backtest_metrics")
    assert set(scopes["scope"]) == {"overall", "product", "horizon"}


def test_backtest_uses_six_origins_and_three_horizons_with_no_future(
    trained_settings: Settings,
) -> None:
    bt = query_warehouse(trained_settings, "select * from ml.backtest_predictions")
    assert bt["origin_month"].n_unique() == 6
    assert sorted(bt["horizon"].unique().to_list()) == [1, 2, 3]
    months_ahead = (bt["sales_month"].dt.year() - bt["origin_month"].dt.year()) * 12 + (
        bt["sales_month"].dt.month().cast(pl.Int32) - bt["origin_month"].dt.month().cast(pl.Int32)
    )
    assert (months_ahead == bt["horizon"]).all()
    assert bt["y_true"].null_count() == 0 and bt["y_pred"].null_count() == 0


CHAMPION_RUN = "select * from ml.model_runs where is_champion order by trained_at"


def test_champion_beats_seasonal_naive_and_is_promoted(trained_settings: Settings) -> None:
    run = query_warehouse(trained_settings, CHAMPION_RUN).row(-1, named=True)
    metrics = query_warehouse(
        trained_settings,
        "select model, wape from ml.backtest_metrics where scope = 'overall' order by wape",
    )
    assert run["model_name"] == metrics["model"][0] == "seasonal_yoy"
    assert run["wape"] < run["seasonal_naive_wape"]
    assert run["is_champion"] and run["is_promoted"]
    assert current_version(trained_settings) == run["model_version"]
    assert json.loads(run["params"]) == {"horizons": [1, 2, 3]}
    # the global XGBoost model beats seasonal naive too
    wape = dict(metrics.iter_rows())
    assert wape["xgboost"] < wape["seasonal_naive"]


def test_registry_metadata_and_round_trip(trained_settings: Settings) -> None:
    loaded = load_current(trained_settings)
    assert loaded is not None
    meta = json.loads(
        (trained_settings.models_dir / loaded.version / "metadata.json").read_text("utf-8")
    )
    for key in (
        "feature_names", "params", "training_data_version", "warehouse_sha256", "metrics",
        "trained_at", "interval_coverage",
    ):  # fmt: skip
        assert key in meta, key
    assert meta["feature_names"] == list(SeasonalYoYForecaster.feature_names)
    assert meta["feature_importance"] == {}  # the registered baseline learns no importance
    assert loaded.training_data_version == "20200901"
    assert loaded.metrics["overall"]["wape"] == pytest.approx(
        query_warehouse(trained_settings, CHAMPION_RUN)["wape"][-1]
    )
    assert len(meta["warehouse_sha256"]) == 64

    features = read_features(trained_settings).features
    last = active_origins(features)
    batch = loaded.predict(last)
    assert batch.height == last.height
    assert batch["series_id"].to_list() == last["series_id"].to_list()
    again = load_version(trained_settings, loaded.version).predict(last)
    assert batch.equals(again)
    # one mart row alone gives the same prediction as the batch (the model keeps its history)
    single = loaded.predict(last.slice(3, 1))
    assert single.row(0) == batch.row(3)
    # and the same as the published horizon-1 forecast
    published = query_warehouse(
        trained_settings,
        "select source, product_id, zone_id, yhat, yhat_lower, yhat_upper from ml.forecasts "
        "where horizon = 1 and level = 0.8",
    )
    joined = batch.join(published, on=["source", "product_id", "zone_id"], how="inner")
    assert joined.height == batch.height
    assert (joined["yhat"] == joined["yhat_right"]).all()
    assert (joined["yhat_lower_80"] == joined["yhat_lower"]).all()
    assert (joined["yhat_upper_80"] == joined["yhat_upper"]).all()


def test_forecasts_cover_every_active_series_and_intervals_contain_the_point(
    trained_settings: Settings,
) -> None:
    fc = query_warehouse(trained_settings, "select * from ml.forecasts")
    features = read_features(trained_settings).features
    active = active_origins(features)
    assert fc.height == active.height * 3 * 2
    assert sorted(fc["level"].unique().to_list()) == [0.8, 0.95]
    assert ((fc["yhat_lower"] <= fc["yhat"]) & (fc["yhat"] <= fc["yhat_upper"])).all()
    wide = fc.pivot(
        on="level", index=["source", "product_id", "zone_id", "sales_month"], values="yhat_upper"
    )
    assert (wide["0.95"] >= wide["0.8"]).all()
    assert fc["model_version"].unique().to_list() == [current_version(trained_settings)]


def test_interval_coverage_is_reported(trained_settings: Settings) -> None:
    cov = query_warehouse(
        trained_settings,
        "select c.* from ml.interval_coverage c join ml.model_runs r using (model_version) "
        "where c.horizon = 0 and r.is_champion",
    )
    assert sorted(cov["level"].to_list()) == [0.8, 0.95]
    assert cov["n"].min() > 100
    assert ((cov["coverage"] > 0.5) & (cov["coverage"] <= 1.0)).all()


def test_report_written(trained_settings: Settings) -> None:
    version = current_version(trained_settings)
    report = trained_settings.reports_dir / str(version)
    names = {p.name for p in report.iterdir()}
    assert {"README.md", "feature_importance.png", "error_by_horizon.png"} <= names
    n_products = read_features(trained_settings).features["product_id"].n_unique()
    assert sum(n.startswith("forecast_") and n.endswith(".png") for n in names) == n_products
    text = (report / "README.md").read_text("utf-8")
    assert "| xgboost |" in text and "| seasonal_naive |" in text
    assert (report / "error_by_horizon.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_importance_chart_is_the_champions_own_or_a_labelled_diagnostic(
    warehouse_settings: Settings,
) -> None:
    features = read_features(warehouse_settings).features
    models = {model.name: model for model in default_models()}
    empty = pl.DataFrame()

    def champion_of(name: str) -> Champion:
        fitted = models[name].clone().fit(features)
        candidate = Candidate(name, fitted, "v1", empty, empty)
        return Champion(Choice(name, True, "test"), candidate, None, empty)  # type: ignore[arg-type]

    xgboost = champion_of("xgboost")
    own = report_importance(xgboost, models, features)
    assert own is not None and own.gain == xgboost.model.feature_importance()
    assert sum(own.gain.values()) > 0
    assert "of the champion" in own.title and "Diagnostic" not in own.title
    diagnostic = report_importance(champion_of("seasonal_yoy"), models, features)
    assert diagnostic is not None
    assert diagnostic.title.startswith("Diagnostic XGBoost fit")
    assert "not the registered champion, seasonal_yoy" in diagnostic.title
    assert diagnostic.gain == own.gain  # the same XGBoost fit, not the registered model
    without_xgboost = {name: m for name, m in models.items() if name != "xgboost"}
    assert report_importance(champion_of("seasonal_yoy"), without_xgboost, features) is None


@pytest.fixture()
def home_copy(trained_settings: Settings, tmp_path: Path) -> Settings:
    """A private copy of the trained home (warehouse + registry) that a test may change."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("warehouse", "models"):
        shutil.copytree(trained_settings.home / name, home / name)
    return settings_for(home)


def test_second_run_appends_to_model_runs_and_reuses_the_registered_version(
    trained_settings: Settings, home_copy: Settings
) -> None:
    from tamales_inc.forecasting.train import run_training

    before = query_warehouse(trained_settings, "select * from ml.backtest_metrics order by all")
    result = run_training(home_copy, report=False)
    runs = query_warehouse(home_copy, CHAMPION_RUN)
    assert runs.height == 2
    assert runs["run_id"].n_unique() == 2
    assert runs["wape"][0] == runs["wape"][1]  # same seed, same data: same metrics
    after = query_warehouse(home_copy, "select * from ml.backtest_metrics order by all")
    assert after.equals(before)
    assert current_version(home_copy) == result.model_version
    # the same inputs: the registry keeps one version per candidate, which both runs name
    assert runs["inputs_fingerprint"][0] == runs["inputs_fingerprint"][1]
    assert runs["model_version"].to_list() == [result.model_version] * 2
    versions = [p for p in home_copy.models_dir.iterdir() if p.is_dir() and p.name != "runs"]
    assert sorted(p.name for p in versions) == sorted(result.candidate_versions.values())
    assert len(list((home_copy.models_dir / "runs").glob("*.json"))) == 2  # one record per run


def _train_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m tamales_inc.forecasting.train` on `home`, outside the developer's environment."""
    return subprocess.run(
        [sys.executable, "-m", "tamales_inc.forecasting.train", *args],
        cwd=REPO_ROOT,
        env={"TAMALES_HOME": str(home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_rejects_a_bad_horizon_with_exit_code_2(tmp_path: Path) -> None:
    proc = _train_cli(tmp_path, "--horizon", "13")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "train: error: --horizon must be between 1 and 12, got 13"
    ]


def test_cli_fails_cleanly_without_a_warehouse(tmp_path: Path) -> None:
    proc = _train_cli(tmp_path, "--no-report")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no published warehouse" in lines[0]
    assert not (tmp_path / "models").exists()
