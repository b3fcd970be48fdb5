"""POST /predictions answers from a table scored in one batch per warehouse and model: it must
hold, for every registered model, exactly what scoring each feature row alone gives."""

from __future__ import annotations

import anyio
import duckdb
import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import PREDICTION_OUTPUT, load_version, registered_versions
from tamales_sales_service import queries
from tamales_sales_service.controllers.predictions import _predict, prediction_table
from tamales_sales_service.served_model import ServedModel
from tamales_sales_service.snapshot import new_cursor, open_snapshot
from tamales_sales_service.watch import file_signature


def test_every_model_family_is_registered(api_settings: Settings) -> None:
    families = {version.split("-", 1)[1] for version in registered_versions(api_settings)}
    assert {"seasonal_naive", "auto_ets", "xgboost", "comb_stat_mean"} <= families


@pytest.mark.parametrize(
    "family",
    ["seasonal_yoy", "auto_ets", "auto_arima", "xgboost", "comb_best3_weighted", "comb_stat_mean"],
)
def test_the_batch_table_is_what_each_row_alone_gives(
    api_settings: Settings, wh: duckdb.DuckDBPyConnection, family: str
) -> None:
    version = next(v for v in registered_versions(api_settings) if v.endswith(f"-{family}"))
    model = ServedModel(load_version(api_settings, version))
    cur = new_cursor(wh)
    table = prediction_table(cur, model)
    features = queries.all_feature_rows(cur)
    assert len(table) == features.height > 0
    # every month of two series of each source, scored one row at a time as a request would
    series = features.select("source", "series_id").unique().sort("series_id")
    picked = series.group_by("source", maintain_order=True).head(2)["series_id"]
    rows = features.filter(pl.col("series_id").is_in(picked.implode())).sort(
        "series_id", "sales_month"
    )
    assert rows.height > 20
    for i in range(rows.height):
        row = rows.slice(i, 1)
        alone = model.predict(row).row(0, named=True)
        key = (row["source"][0], row["product_id"][0], row["zone_id"][0], row["sales_month"][0])
        batch = table[key]
        assert batch.series_id == row["series_id"][0]
        assert batch.actual == row["target_sales_next_month"][0]
        for name in PREDICTION_OUTPUT:
            assert batch.outputs[name] == pytest.approx(alone[name], rel=1e-9, abs=1e-6), (
                key,
                name,
            )


class BatchRefusingModel(ServedModel):
    """A served model that scores one row but refuses a batch (a fault that cannot be staged
    with a registered model), counting the batches it was asked for."""

    batches = 0

    def predict(self, features: pl.DataFrame) -> pl.DataFrame:
        if features.height > 1:
            type(self).batches += 1
            raise ValueError("no batches")
        return super().predict(features)


def test_a_model_that_cannot_score_the_batch_answers_row_by_row_and_is_tried_once(
    api_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = api_settings.warehouse_path
    snapshot = open_snapshot(path, file_signature(path), cache_size=16)
    try:
        version = next(v for v in registered_versions(api_settings) if v.endswith("-seasonal_yoy"))
        model = BatchRefusingModel(load_version(api_settings, version))
        row = queries.all_feature_rows(snapshot.cursor()).row(0, named=True)
        series = queries.Series(row["source"], row["product_id"], row["zone_id"])
        alone = model.predict(
            queries.feature_rows(snapshot.cursor(), series, row["sales_month"])
        ).row(0, named=True)
        for _ in range(3):
            got = anyio.run(_predict, snapshot, model, series, row["sales_month"], "asked")
            assert got.outputs["yhat"] == alone["yhat"]
        assert BatchRefusingModel.batches == 1
        assert caplog.text.count("could not score the feature mart in one batch (ValueError)") == 1
    finally:
        snapshot.connection.close()
