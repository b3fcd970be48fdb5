"""Baselines with nothing to fit but the kept history: naive, seasonal naive, seasonal_yoy and
the original exercise's base model."""

from __future__ import annotations

import polars as pl

from tamales_inc.forecasting.inputs import base_forecast_expr
from tamales_inc.forecasting.models.base import DEFAULT_HORIZONS, Forecaster, finish, register
from tamales_inc.forecasting.targets import SEASON_LENGTH


@register
class NaiveForecaster(Forecaster):
    """The last known value, for every horizon."""

    name = "naive"
    feature_names = ("sales",)

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return finish(frame, pl.col("last_sales"))


@register
class SeasonalNaiveForecaster(Forecaster):
    """The same month a season earlier; the last value where the history is shorter."""

    name = "seasonal_naive"
    feature_names = ("sales", "sales a season before the target month")

    def __init__(
        self, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, season_length: int = SEASON_LENGTH
    ) -> None:
        super().__init__(horizons=horizons)
        self.season_length = int(season_length)

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return finish(frame, pl.coalesce("seasonal_value", "last_sales"))


@register
class SeasonalYoYForecaster(Forecaster):
    """The mean of the seasonal naive forecast and the same value times the year-over-year ratio
    at t (the source's pooled ratio; see `inputs.base_forecast_expr`): a forecast combination
    with no fitted weight, hedging between last year's level coming back and this year's level
    persisting. The XGBoost model can boost from it (`use_base_margin`)."""

    name = "seasonal_yoy"
    feature_names = (
        "sales",
        "sales a year before the target month",
        "sales_lag_12",
        "source_yoy_ratio",
        "rolling_mean_3",
    )

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return finish(frame.with_columns(base_forecast_expr()), pl.col("base_forecast"))


@register
class ExerciseBaseForecaster(Forecaster):
    """The original exercise's base model: `sales * month_weight + ln(sales)` (ln only if > 0)."""

    name = "exercise_base"
    feature_names = ("sales", "month_weight")

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        sales = pl.col("last_sales")
        weight = pl.col("month_weight").cast(pl.Float64).fill_null(1.0)
        log_term = pl.when(sales > 0).then(sales.log()).otherwise(0.0)
        return finish(frame, sales * weight + log_term)
