"""Every candidate is in the registry, and the API serves a statistical or a combination champion
from one mart row like any other model."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from litestar.testing import TestClient

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.forecast import active_origins, make_forecasts
from tamales_inc.forecasting.models import CombinationForecaster, StatisticalForecaster
from tamales_inc.forecasting.registry import (
    RUNS_DIR,
    load_run_record,
    load_version,
    promote,
)
from tamales_inc.forecasting.tables import FORECASTS, write_table
from tamales_inc.warehouse.publish import staged_warehouse
from tamales_sales_service.app import create_app
from tests.conftest import query_warehouse, settings_for


def _latest_run(settings: Settings) -> dict:
    run_id = query_warehouse(
        settings, "select run_id from ml.model_runs order by trained_at desc limit 1"
    )["run_id"][0]
    return load_run_record(settings, run_id)


def test_registry_holds_every_candidate_of_the_run(trained_settings: Settings) -> None:
    record = _latest_run(trained_settings)
    rows = query_warehouse(
        trained_settings,
        "select model_name, model_version, is_champion, is_promoted from ml.model_runs "
        f"where run_id = '{record['run_id']}'",
    )
    assert dict(rows.select("model_name", "model_version").iter_rows()) == record["candidates"]
    assert rows.filter(pl.col("is_champion"))["model_name"].to_list() == [record["champion"]]
    assert rows["is_promoted"].sum() == int(record["is_promoted"])
    features = read_features(trained_settings).features
    last = active_origins(features)
    for name, version in record["candidates"].items():
        loaded = load_version(trained_settings, version)
        assert loaded.model.name == name
        assert loaded.metadata["model_name"] == name
        assert loaded.metadata["warehouse_sha256"] == record["warehouse_sha256"]
        assert loaded.metadata["training_data_version"] == record["training_data_version"]
        assert loaded.metadata["metrics"]["overall"]["wape"] > 0
        assert loaded.metadata["is_champion"] == (name == record["champion"])
        out = loaded.predict(last)
        assert out.height == last.height and out["yhat"].is_finite().all(), name
    coverage = query_warehouse(
        trained_settings, "select distinct model_name from ml.interval_coverage"
    )
    assert set(coverage["model_name"]) == set(record["candidates"])
    assert (trained_settings.models_dir / RUNS_DIR / f"{record['run_id']}.json").is_file()


def _serve_version(home: Settings, version: str) -> pl.DataFrame:
    """Publish `version`'s forecasts as `ml.forecasts` and promote it (what a run does for its
    champion); returns the forecasts."""
    loaded = load_version(home, version)
    features = read_features(home).features
    forecasts = make_forecasts(
        loaded.model,
        features,
        loaded.quantiles,
        horizons=tuple(loaded.metadata["horizons"]),
        model_version=version,
    )
    with staged_warehouse(home, from_current=True) as staged:
        con = duckdb.connect(str(staged))
        try:
            write_table(con, FORECASTS, forecasts)
        finally:
            con.close()
    promote(home, version)
    return forecasts


@pytest.mark.parametrize("family", ["statistical", "combination"])
def test_api_serves_a_statistical_or_combination_champion(
    trained_settings: Settings, tmp_path: Path, family: str
) -> None:
    home_dir = tmp_path / "home"
    home_dir.mkdir()
    for name in ("warehouse", "models"):
        shutil.copytree(trained_settings.home / name, home_dir / name)
    home = settings_for(home_dir)
    record = _latest_run(home)
    name = "auto_ets" if family == "statistical" else "comb_stat_mean"
    version = record["candidates"][name]
    forecasts = _serve_version(home, version)
    loaded = load_version(home, version)
    expected_class = StatisticalForecaster if family == "statistical" else CombinationForecaster
    assert isinstance(loaded.model, expected_class)

    features = read_features(home).features
    last = active_origins(features).filter(pl.col("source") == "teinvento_inc").row(0, named=True)
    month = last["sales_month"]
    next_month = f"{month.year + month.month // 12}-{month.month % 12 + 1:02d}"
    row = features.filter(
        (pl.col("series_id") == last["series_id"]) & (pl.col("sales_month") == month)
    )
    expected = loaded.predict(row).row(0, named=True)
    with TestClient(app=create_app(home)) as client:
        response = client.post(
            "/predictions",
            json={
                "product_id": last["product_id"],
                "zone_id": last["zone_id"],
                "source": last["source"],
                "month": next_month,
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["model_version"] == version
        for column in ("yhat", "yhat_lower_80", "yhat_upper_80", "yhat_lower_95", "yhat_upper_95"):
            assert body[column] == pytest.approx(expected[column])
        served = client.get(
            "/forecasts",
            params={
                "product_id": last["product_id"],
                "zone_id": last["zone_id"],
                "source": last["source"],
                "horizon": 1,
            },
        ).json()
    mine = forecasts.filter(
        (pl.col("product_id") == last["product_id"])
        & (pl.col("zone_id") == last["zone_id"])
        & (pl.col("source") == last["source"])
        & (pl.col("horizon") == 1)
    )
    assert served["total"] == 1
    item = served["items"][0]
    assert item["model_version"] == version
    assert item["yhat"] == pytest.approx(mine["yhat"][0]) == pytest.approx(body["yhat"])
