"""Rolling-origin backtest: refit every model at each of the last K origins, score horizons 1..H."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from tamales_inc.core.months import month_after
from tamales_inc.forecasting.data import SERIES_KEYS
from tamales_inc.forecasting.metrics import score, series_scales
from tamales_inc.forecasting.models import Forecaster
from tamales_inc.forecasting.targets import actuals, cut_at_origin

DEFAULT_ORIGINS = 6

log = logging.getLogger(__name__)


@dataclass
class BacktestResult:
    """Every model's out-of-sample predictions and their metrics."""

    predictions: pl.DataFrame
    metrics: pl.DataFrame
    origins: list[date]
    seconds: dict[str, float] = field(default_factory=dict)
    # combination label -> its members and weights at each origin (see `selection`)
    combinations: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def backtest_origins(features: pl.DataFrame, n_origins: int = DEFAULT_ORIGINS) -> list[date]:
    """The `n_origins` months before the last month with sales, oldest first."""
    if n_origins < 1:
        raise ValueError(f"n_origins must be >= 1, got {n_origins}")
    last = features.filter(pl.col("sales").is_not_null())["sales_month"].max()
    if last is None:
        raise ValueError("the feature mart has no month with sales")
    first = features["sales_month"].min()
    origins = [month_after(last, -k) for k in range(n_origins, 0, -1)]
    origins = [o for o in origins if o > first]
    if not origins:
        raise ValueError(f"history from {first} to {last} is too short for a backtest")
    return origins


def cross_validation(
    make_model: Callable[[], Forecaster],
    features: pl.DataFrame,
    origins: list[date],
    horizons: tuple[int, ...],
    progress: Callable[[], None] | None = None,
) -> pl.DataFrame:
    """Fit a fresh model at the first origin on the history cut there and move it to each later
    origin with `Forecaster.update` (a refit, unless the family keeps its parameters and takes
    in the new months); forecast from each origin.

    Returns one row per (origin, series, horizon) whose actual exists: the columns of
    `ml.backtest_predictions` (sales_month is the month forecast), then series_id and scale.
    `progress` is called once per origin done.
    """
    known = actuals(features)
    pieces = []
    name = ""
    model: Forecaster | None = None
    for origin in origins:
        history = cut_at_origin(features, origin)
        model = make_model().fit(history) if model is None else model.update(history)
        name = model.name
        # the model keeps the history it was fitted on: the origin's rows are enough
        at_origin = model.predict(history.filter(pl.col("sales_month") == origin), horizons)
        pieces.append(
            at_origin.join(known, on=["series_id", "target_month"], how="inner").select(
                pl.lit(model.name).alias("model"),
                pl.col("sales_month").alias("origin_month"),
                *SERIES_KEYS,
                pl.col("target_month").alias("sales_month"),
                "horizon",
                "y_true",
                "y_pred",
                "series_id",
                "scale",
            )
        )
        if progress is not None:
            progress()
    if not pieces:
        raise ValueError(f"no backtest origin for {name}")
    return pl.concat(pieces)


def run_backtest(
    factories: dict[str, Callable[[], Forecaster]],
    features: pl.DataFrame,
    *,
    horizons: tuple[int, ...],
    n_origins: int = DEFAULT_ORIGINS,
    progress: Callable[[], None] | None = None,
) -> BacktestResult:
    """Backtest every model on the same origins and score them the same way (`predictions` also
    carry `scale` and `mase_scale`); `progress` is called once per model and origin."""
    origins = backtest_origins(features, n_origins)
    scales = series_scales(features, origins)
    frames, seconds = [], {}
    for name, factory in factories.items():
        started = time.perf_counter()
        frames.append(cross_validation(factory, features, origins, horizons, progress))
        seconds[name] = time.perf_counter() - started
        log.info("backtest %s: %d origins in %.2f s", name, len(origins), seconds[name])
    predictions = (
        pl.concat(frames)
        .join(scales, on=["series_id", "origin_month"], how="left")
        .sort("model", "origin_month", "series_id", "horizon")
    )
    return BacktestResult(predictions, score(predictions), origins, seconds)
