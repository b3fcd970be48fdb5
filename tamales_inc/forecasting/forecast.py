"""Forecasts of the next H months of every active series, with 80% and 95% intervals."""

from __future__ import annotations

import polars as pl

from tamales_inc.forecasting.data import SERIES_KEYS, prepare
from tamales_inc.forecasting.intervals import LEVELS, apply_intervals, level_tag
from tamales_inc.forecasting.models import Forecaster
from tamales_inc.forecasting.tables import FORECASTS


def active_origins(features: pl.DataFrame) -> pl.DataFrame:
    """The last row of every active series: one with sales in its source's last month of data.

    Sources are cut separately (the market feed may lag the ERP by a month); a series whose
    last month is earlier than its source's has ended and is not forecast.
    """
    frame = prepare(features)
    last_per_source = (
        frame.filter(pl.col("sales").is_not_null())
        .group_by("source")
        .agg(pl.col("sales_month").max().alias("_last"))
    )
    return (
        frame.join(last_per_source, on="source", how="inner")
        .filter(pl.col("sales_month") == pl.col("_last"))
        .drop("_last")
    )


def make_forecasts(
    model: Forecaster,
    features: pl.DataFrame,
    quantiles: pl.DataFrame,
    *,
    horizons: tuple[int, ...],
    model_version: str,
    levels: tuple[float, ...] = LEVELS,
) -> pl.DataFrame:
    """`ml.forecasts` rows: per active series, horizon and level, yhat with its interval
    (`sales_month` is the month forecast).

    `model` must already be fitted on `features`; `quantiles` are its conformal half-widths.
    """
    predicted = model.predict(active_origins(features), horizons)
    bounded = apply_intervals(predicted.rename({"y_pred": "yhat"}), quantiles, levels=levels)
    parts = [
        bounded.select(
            *SERIES_KEYS,
            pl.col("target_month").alias("sales_month"),
            "horizon",
            "yhat",
            pl.col(f"yhat_lower_{level_tag(level)}").alias("yhat_lower"),
            pl.col(f"yhat_upper_{level_tag(level)}").alias("yhat_upper"),
            pl.lit(level, dtype=pl.Float64).alias("level"),
            pl.lit(model_version).alias("model_version"),
        )
        for level in levels
    ]
    return FORECASTS.conform(pl.concat(parts).sort(*SERIES_KEYS, "sales_month", "level"))
