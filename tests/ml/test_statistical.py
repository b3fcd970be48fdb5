"""statsforecast models on the sample's real series: fits, the declared fallbacks (short,
all-zero, negative, gappy), forward updates, parallel fits, and finite forecasts everywhere."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl
import pytest

from tamales_inc.core.months import month_after
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.forecast import active_origins
from tamales_inc.forecasting.models import (
    AutoARIMAForecaster,
    AutoETSForecaster,
    SeasonalNaiveForecaster,
    StatisticalForecaster,
    statistical,
)
from tamales_inc.forecasting.models.statistical import (
    FAILED,
    MODEL,
    SHORT_NAIVE,
    SHORT_SEASONAL,
    ZERO,
    series_arrays,
)

STATISTICAL = [
    cls for cls in statistical.StatisticalForecaster.__subclasses__() if hasattr(cls, "name")
]


@pytest.fixture(scope="module")
def features(warehouse_settings: Settings) -> pl.DataFrame:
    return read_features(warehouse_settings).features


@pytest.fixture(scope="module")
def market_series(features: pl.DataFrame) -> list[str]:
    """The market-feed series with at least two seasons of months (fitted by the model)."""
    counts = features.filter(pl.col("source") == "teinvento_inc").group_by("series_id").len()
    return sorted(counts.filter(pl.col("len") >= 24)["series_id"].to_list())


@pytest.fixture(scope="module")
def edge_cases(features: pl.DataFrame, market_series: list[str]) -> tuple[pl.DataFrame, dict]:
    """Real series turned into each fallback case: all zero, with returns (negative months),
    with interior and trailing gaps, and one cut to 15 months."""
    zero, negative, gappy, short = market_series[:4]
    months = features.filter(pl.col("series_id") == gappy)["sales_month"].sort()
    gaps = [months[5], months[6], months[-1]]
    last_short = features.filter(pl.col("series_id") == short)["sales_month"].max()
    keep_from = month_after(last_short, -14)  # 15 months
    frame = features.with_columns(
        pl.when(pl.col("series_id") == zero)
        .then(0.0)
        .when((pl.col("series_id") == negative) & (pl.col("sales_month").dt.month() == 3))
        .then(-pl.col("sales"))
        .when((pl.col("series_id") == gappy) & pl.col("sales_month").is_in(gaps))
        .then(None)
        .otherwise(pl.col("sales"))
        .alias("sales")
    ).filter((pl.col("series_id") != short) | (pl.col("sales_month") >= keep_from))
    return frame, {"zero": zero, "negative": negative, "gappy": gappy, "short": short}


def test_short_series_are_the_ones_under_two_seasons(edge_cases) -> None:
    frame, names = edge_cases
    n = frame.filter(pl.col("series_id") == names["short"]).height
    assert 12 <= n < 24


@pytest.mark.parametrize("cls", STATISTICAL, ids=lambda c: c.name)
def test_fallbacks_are_declared_and_forecasts_finite(cls, edge_cases) -> None:
    frame, names = edge_cases
    model = cls().fit(frame)
    methods = dict(model.fits.select("series_id", "method").iter_rows())
    assert methods[names["zero"]] == ZERO
    assert methods[names["short"]] == SHORT_SEASONAL
    assert methods[names["negative"]] in (MODEL, FAILED)
    assert methods[names["gappy"]] in (MODEL, FAILED)
    # ERP series start in 2019: 21 months, under two seasons
    erp = frame.filter(pl.col("source") == "tamales_inc")["series_id"].unique().to_list()
    assert {methods[s] for s in erp} == {SHORT_SEASONAL}
    predicted = model.predict(frame)
    assert predicted.height == frame.height * 3
    assert predicted["y_pred"].is_finite().all()
    last = active_origins(frame)
    ahead = model.predict(last)
    zero = ahead.filter(pl.col("series_id") == names["zero"])
    assert zero.height == 3 and (zero["y_pred"] == 0).all()
    # a short series without gaps forecasts exactly what seasonal naive forecasts
    short = last.filter(pl.col("source") == "tamales_inc")
    snaive = SeasonalNaiveForecaster().fit(frame).predict(short)
    assert model.predict(short)["y_pred"].to_list() == snaive["y_pred"].to_list()


def test_gaps_are_interpolated_and_trailing_ones_carried_forward() -> None:
    months = [date(2020, m, 1) for m in range(1, 8)]
    frame = pl.DataFrame(
        {
            "series_id": ["s"] * 7,
            "sales_month": months,
            "sales": [None, 10.0, None, 30.0, 40.0, None, None],
        }
    )
    [(series_id, (first, last), values)] = series_arrays(frame)
    assert series_id == "s" and first == months[1] and last == months[-1]
    assert values.tolist() == [10.0, 20.0, 30.0, 40.0, 40.0, 40.0]


def test_model_series_are_fitted_by_statsforecast_and_differ_from_seasonal_naive(
    features: pl.DataFrame, market_series: list[str]
) -> None:
    model = AutoETSForecaster().fit(features)
    methods = dict(model.fits.select("series_id", "method").iter_rows())
    assert {methods[s] for s in market_series} == {MODEL}
    last = active_origins(features).filter(pl.col("series_id").is_in(market_series))
    ets = model.predict(last)
    snaive = SeasonalNaiveForecaster().fit(features).predict(last)
    assert not np.allclose(ets["y_pred"].to_numpy(), snaive["y_pred"].to_numpy())


def test_update_forwards_the_fitted_parameters(features: pl.DataFrame) -> None:
    """Moving a fit to the same history again reproduces its forecasts; moving it to a longer
    history changes the forecasts without re-estimating (statsforecast `forward`)."""
    last = features["sales_month"].max()
    earlier = features.filter(pl.col("sales_month") < last)
    model = AutoARIMAForecaster().fit(earlier)
    same = model.update(earlier)
    assert same.forecasts.sort("series_id", "origin_month", "target_month")[
        "y_stat"
    ].to_numpy() == pytest.approx(
        model.forecasts.sort("series_id", "origin_month", "target_month")["y_stat"].to_numpy()
    )
    moved = model.update(features)
    assert isinstance(moved, StatisticalForecaster)
    assert moved.forecasts["origin_month"].max() == last
    assert moved.predict(active_origins(features))["y_pred"].is_finite().all()


def test_parallel_fit_gives_the_same_forecasts(
    features: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(statistical, "PARALLEL_MIN_SERIES", 2)
    serial = AutoETSForecaster(n_jobs=1).fit(features)
    parallel = AutoETSForecaster(n_jobs=2).fit(features)
    assert parallel.forecasts.equals(serial.forecasts)
    assert parallel.fits.equals(serial.fits)


def test_short_history_without_a_season_is_naive() -> None:
    months = [date(2020, m, 1) for m in range(1, 9)]
    y = np.arange(1.0, 9.0)
    fit = statistical._fit_one("AutoETS", 12, 3, "s", (months[0], months[-1]), y, None)
    assert fit.method == SHORT_NAIVE
    assert fit.ahead.tolist() == [8.0, 8.0, 8.0]
