"""No information after the origin: changing future targets changes no feature and no past
prediction; saved models predict exactly as before."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.backtest import backtest_origins, cross_validation
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.inputs import model_features
from tamales_inc.forecasting.models import (
    MODEL_CLASSES,
    Forecaster,
    NaiveForecaster,
    XGBoostForecaster,
    default_models,
)
from tamales_inc.forecasting.models.base import register
from tamales_inc.forecasting.targets import build_targets, cut_at_origin

HORIZONS = (1, 2, 3)


@pytest.fixture(scope="module")
def features(warehouse_settings: Settings) -> pl.DataFrame:
    return read_features(warehouse_settings).features


def _scramble_future(features: pl.DataFrame, after) -> pl.DataFrame:
    """Multiply every sales value after `after` (and the next-month target of `after`) by 7."""
    return features.with_columns(
        pl.when(pl.col("sales_month") > after)
        .then(pl.col("sales") * 7 + 1)
        .otherwise(pl.col("sales"))
        .alias("sales"),
        pl.when(pl.col("sales_month") >= after)
        .then(pl.col("target_sales_next_month") * 7 + 1)
        .otherwise(pl.col("target_sales_next_month"))
        .alias("target_sales_next_month"),
    )


def test_changing_future_targets_changes_no_feature(features: pl.DataFrame) -> None:
    origins = backtest_origins(features, 6)
    cut_month = origins[2]
    scrambled = _scramble_future(features, cut_month)
    assert not scrambled.equals(features)
    before = cut_at_origin(features, cut_month)
    after = cut_at_origin(scrambled, cut_month)
    assert before.equals(after)
    assert before["target_sales_next_month"].filter(before["sales_month"] == cut_month).null_count()
    targets = build_targets(before, HORIZONS)
    assert targets["target_month"].max() <= cut_month
    stacked = targets.with_columns(pl.lit(None, dtype=pl.Float64).alias("seasonal_value"))
    assert model_features(stacked).equals(
        model_features(
            build_targets(after, HORIZONS).with_columns(
                pl.lit(None, dtype=pl.Float64).alias("seasonal_value")
            )
        )
    )


@pytest.mark.parametrize("model", default_models(), ids=lambda m: m.name)
def test_changing_future_targets_changes_no_past_prediction(
    features: pl.DataFrame, model: Forecaster
) -> None:
    origins = backtest_origins(features, 6)
    cut_month = origins[2]
    past = origins[:3]
    scrambled = _scramble_future(features, cut_month)
    original = cross_validation(model.clone, features, past, HORIZONS)
    changed = cross_validation(model.clone, scrambled, past, HORIZONS)
    keys = ["origin_month", "series_id", "horizon"]
    joined = original.join(changed, on=keys, how="inner", suffix="_changed")
    assert joined.height == original.height == changed.height > 0
    assert (joined["y_pred"] == joined["y_pred_changed"]).all()
    # the actuals did change after the cut, so the check above is not vacuous
    later = joined.filter(pl.col("sales_month") > cut_month)
    assert later.height > 0 and (later["y_true"] != later["y_true_changed"]).any()


@pytest.mark.parametrize("model", default_models(), ids=lambda m: m.name)
def test_save_load_round_trip_predicts_identically(
    features: pl.DataFrame, model: Forecaster, tmp_path: Path
) -> None:
    fitted = model.clone().fit(features)
    fitted.save(tmp_path / "m")
    loaded = Forecaster.load(tmp_path / "m")
    assert type(loaded) is type(fitted) and loaded.params == fitted.params
    assert loaded.feature_names == fitted.feature_names
    assert loaded.predict(features).equals(fitted.predict(features))
    # one mart row per series (what the API sends) gives the same forecasts as the whole mart
    last = features.filter(pl.col("sales_month") == pl.col("sales_month").max().over("series_id"))
    whole = fitted.predict(features).join(
        last.select("series_id", "sales_month"), on=["series_id", "sales_month"]
    )
    single_rows = loaded.predict(last)
    assert single_rows.sort("series_id", "horizon").equals(whole.sort("series_id", "horizon"))


def test_same_seed_same_fit_other_seed_differs_only_when_sampling(
    features: pl.DataFrame,
) -> None:
    origin = backtest_origins(features, 6)[-1]
    history = cut_at_origin(features, origin)
    a = XGBoostForecaster(seed=7, subsample=0.8).fit(history).predict(history)
    b = XGBoostForecaster(seed=7, subsample=0.8).fit(history).predict(history)
    c = XGBoostForecaster(seed=8, subsample=0.8).fit(history).predict(history)
    assert a.equals(b)
    assert not a["y_pred"].equals(c["y_pred"])


def test_every_default_model_kind_is_registered_once() -> None:
    assert {model.name for model in default_models()} <= set(MODEL_CLASSES)
    assert all(MODEL_CLASSES[model.name] is type(model) for model in default_models())
    with pytest.raises(ValueError, match="already registered"):
        register(NaiveForecaster)
