"""What each model forecasts for a cut-off's held-out months, one frame per kind of model.

Every frame has `FORECAST_COLUMNS`: the model's name, the mart's `series_id`, the month forecast
(`sales_month`), the horizon in months after the cut-off and `y_pred`, plus the 80% and 95%
interval bounds where the model gives them (NULL otherwise). Every model sees only the published
mart, which holds no month after the cut-off.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from accuracy.mart import query_warehouse
from tamales_inc.core.months import month_number
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.forecast import active_origins
from tamales_inc.forecasting.intervals import LEVELS, apply_intervals, level_tag
from tamales_inc.forecasting.metrics import SEASON_LENGTH
from tamales_inc.forecasting.registry import load_run_record, load_version

BOUNDS: tuple[str, ...] = tuple(
    f"{side}_{level_tag(level)}" for level in LEVELS for side in ("lower", "upper")
)
FORECAST_COLUMNS: tuple[str, ...] = (
    "model",
    "series_id",
    "sales_month",
    "horizon",
    "y_pred",
    *BOUNDS,
)
CHAMPION = "champion"
STATISTICAL_MODELS: tuple[str, ...] = ("AutoETS", "SeasonalNaive", "Naive")


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every FORECAST_COLUMNS column (missing bounds as NULL), in order."""
    missing = [pl.lit(None, dtype=pl.Float64).alias(b) for b in BOUNDS if b not in frame.columns]
    return frame.with_columns(missing).select(
        pl.col("model").cast(pl.String),
        pl.col("series_id").cast(pl.String),
        pl.col("sales_month").cast(pl.Date),
        pl.col("horizon").cast(pl.Int32),
        pl.col("y_pred").cast(pl.Float64),
        *(pl.col(b).cast(pl.Float64) for b in BOUNDS),
    )


def champion_forecasts(settings: Settings, ids: pl.DataFrame) -> tuple[dict, pl.DataFrame]:
    """The training run's champion and its `ml.forecasts` rows (with their intervals).

    Returns ({run_id, model_name, model_version, is_promoted}, forecasts); `ids` maps the mart's
    (source, product_id, zone_id) to `series_id`.
    """
    run = query_warehouse(
        settings,
        "select run_id, model_name, model_version, is_promoted from ml.model_runs "
        "where is_champion order by trained_at desc limit 1",
    ).row(0, named=True)
    rows = query_warehouse(
        settings,
        "select source, product_id, zone_id, sales_month, horizon, yhat, yhat_lower, yhat_upper, "
        "level from ml.forecasts where model_version = ?",
        [run["model_version"]],
    )
    keys = ["source", "product_id", "zone_id", "sales_month", "horizon"]
    wide = rows.filter((pl.col("level") - LEVELS[0]).abs() < 1e-9).select(*keys, "yhat")
    for level in LEVELS:
        tag = level_tag(level)
        wide = wide.join(
            rows.filter((pl.col("level") - level).abs() < 1e-9).select(
                *keys,
                pl.col("yhat_lower").alias(f"lower_{tag}"),
                pl.col("yhat_upper").alias(f"upper_{tag}"),
            ),
            on=keys,
        )
    named = wide.join(ids, on=["source", "product_id", "zone_id"], how="inner").select(
        pl.lit(CHAMPION).alias("model"), pl.exclude("yhat"), pl.col("yhat").alias("y_pred")
    )
    return run, _finish(named)


def candidate_forecasts(settings: Settings, run_id: str, horizons: tuple[int, ...]) -> pl.DataFrame:
    """Every candidate the training run `run_id` registered, loaded from the registry (its run
    record names each version), forecasting from each active series' last row of the published
    mart as `ml.forecasts` does, with the version's own 80% and 95% intervals."""
    features = read_features(settings).features
    origins = active_origins(features)
    record = load_run_record(settings, run_id)
    frames = []
    for name, version in record["candidates"].items():
        loaded = load_version(settings, version)
        predicted = loaded.model.predict(origins, horizons).rename({"y_pred": "yhat"})
        bounded = apply_intervals(predicted, loaded.quantiles)
        frames.append(
            _finish(
                bounded.select(
                    pl.lit(name).alias("model"),
                    "series_id",
                    pl.col("target_month").alias("sales_month"),
                    "horizon",
                    pl.col("yhat").alias("y_pred"),
                    *(
                        pl.col(f"yhat_{side}_{tag}").alias(f"{side}_{tag}")
                        for tag in map(level_tag, LEVELS)
                        for side in ("lower", "upper")
                    ),
                )
            )
        )
    return pl.concat(frames)


def statistical_forecasts(
    features: pl.DataFrame, cutoff: date, horizons: tuple[int, ...]
) -> pl.DataFrame:
    """statsforecast's AutoETS, SeasonalNaive and Naive (season 12), fitted per series on the
    mart's sales up to the cut-off, with their 80% and 95% intervals."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, Naive, SeasonalNaive

    history = features.filter(
        (pl.col("sales_month") <= cutoff) & pl.col("sales").is_not_null()
    ).select(
        pl.col("series_id").alias("unique_id"),
        pl.col("sales_month").alias("ds"),
        pl.col("sales").alias("y"),
    )
    models = [
        AutoETS(season_length=SEASON_LENGTH),
        SeasonalNaive(season_length=SEASON_LENGTH),
        Naive(),
    ]
    engine = StatsForecast(models=models, freq="1mo", n_jobs=1)
    levels = [int(level_tag(level)) for level in LEVELS]
    out = engine.forecast(df=history, h=max(horizons), level=levels)
    horizon = (
        pl.col("ds").dt.year() * 12 + pl.col("ds").dt.month() - 1 - month_number(cutoff)
    ).alias("horizon")
    frames = []
    for name in STATISTICAL_MODELS:
        frames.append(
            _finish(
                out.select(
                    pl.lit(name).alias("model"),
                    pl.col("unique_id").alias("series_id"),
                    pl.col("ds").alias("sales_month"),
                    horizon,
                    pl.col(name).alias("y_pred"),
                    *(
                        pl.col(f"{name}-{side}-{tag}").alias(f"{bound}_{tag}")
                        for tag in map(level_tag, LEVELS)
                        for side, bound in (("lo", "lower"), ("hi", "upper"))
                    ),
                )
            ).filter(pl.col("horizon").is_in(list(horizons)))
        )
    return pl.concat(frames)
