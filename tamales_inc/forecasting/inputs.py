"""The models' inputs: the series scale, scale-free ratios, the transparent base forecast, and
`model_features` in `FEATURE_NAMES` order."""

from __future__ import annotations

import polars as pl

from tamales_inc.forecasting.data import HISTORY_COLUMNS

# Below this absolute level a series' scale falls back to 1 (all-zero history).
MIN_SCALE = 1e-9
# Year-over-year ratios are clipped to this range (a near-zero month a year back is not news).
YOY_CLIP = (0.2, 5.0)
# Level columns over the series scale are clipped to +/- this.
RATIO_CLIP = 50.0

CATEGORICAL_FEATURES: tuple[str, ...] = ("source", "product_id", "zone_id", "calorie_category")

# Level columns divided by the series scale, so one global model serves series of any size.
_SCALED = ("sales", *HISTORY_COLUMNS)

NUMERIC_FEATURES: tuple[str, ...] = (
    "horizon",
    "month_of_year",
    "target_month_of_year",
    "log_scale",
    *(f"{name}_ratio" for name in _SCALED),
    "seasonal_value_ratio",
    "base_ratio",
    "yoy_ratio",
    "source_yoy_ratio",
    "yoy_momentum",
    "yoy_pct_change",
    "log_other_source_sales",
    "other_source_ratio",
    "log_market_category_sales",
    "own_share_of_market",
    "month_weight",
    "is_own_brand",
    "log_n_sales_lines",
    "return_line_share",
    "months_of_history",
)
FEATURE_NAMES: tuple[str, ...] = CATEGORICAL_FEATURES + NUMERIC_FEATURES


def scale_expr() -> pl.Expr:
    """Per-row series scale known at month t: the mean level of the last 12 (6, 3, 1) months."""
    level = pl.coalesce(
        pl.col("rolling_mean_12").abs(),
        pl.col("rolling_mean_6").abs(),
        pl.col("rolling_mean_3").abs(),
        pl.col("sales").abs(),
    )
    return pl.when(level > MIN_SCALE).then(level).otherwise(1.0).alias("scale")


def yoy_ratio_expr() -> pl.Expr:
    """y_t / y_{t-12}, clipped to `YOY_CLIP`; NULL without a positive value a year back."""
    lag = pl.col("sales_lag_12").cast(pl.Float64)
    return (
        pl.when(lag > 0)
        .then(pl.col("sales").cast(pl.Float64) / lag)
        .otherwise(None)
        .clip(*YOY_CLIP)
        .alias("yoy_ratio")
    )


def source_yoy_ratio_expr() -> pl.Expr:
    """The mart's pooled `source_yoy_ratio`, clipped to `YOY_CLIP`."""
    return pl.col("source_yoy_ratio").cast(pl.Float64).clip(*YOY_CLIP)


def level_ratio_expr() -> pl.Expr:
    """The year-over-year ratio that scales last year's value: the source's pooled ratio at t
    (less noisy than one series'), else the series' own, else 1; clipped to `YOY_CLIP`."""
    return pl.coalesce(source_yoy_ratio_expr(), yoy_ratio_expr(), pl.lit(1.0)).alias("level_ratio")


def base_forecast_expr() -> pl.Expr:
    """A transparent first guess of y_{t+h}: the equal-weight mean of the seasonal naive forecast
    (the same month last year) and that value times the year-over-year ratio at t, i.e.
    y_{t+h-12} * (1 + ratio) / 2; where last year's value is unknown, the month's sales (their
    3-month mean when the month is empty).

    The two halves bet on opposite things (last year's level comes back; this year's level
    persists); their unweighted mean is the classic hedge of forecast combination: no weight is
    fitted. Needs `seasonal_value`.
    """
    seasonal = pl.col("seasonal_value").cast(pl.Float64) * (1.0 + level_ratio_expr()) / 2.0
    level = pl.coalesce(pl.col("sales").cast(pl.Float64), pl.col("rolling_mean_3").cast(pl.Float64))
    return pl.coalesce(seasonal, level).alias("base_forecast")


def _signed_log(name: str) -> pl.Expr:
    value = pl.col(name).cast(pl.Float64)
    return value.sign() * value.abs().log1p()


def _over_scale(column: str, name: str) -> pl.Expr:
    """A level column divided by the series scale, clipped to +/- `RATIO_CLIP`."""
    ratio = pl.col(column).cast(pl.Float64) / pl.col("scale")
    return ratio.clip(-RATIO_CLIP, RATIO_CLIP).alias(name)


def model_features(frame: pl.DataFrame) -> pl.DataFrame:
    """The model's inputs, in `FEATURE_NAMES` order, for rows carrying a `horizon` column.

    Every input is a function of one `sales_features` row (month t) and the horizon, except
    `seasonal_value` (y_{t+h-12}, see `targets.attach_seasonal_value`): NULL when the rows do
    not carry it.
    """
    with_scale = frame.with_columns(scale_expr())
    for name in ("seasonal_value", "sales_lag_13"):
        if name not in with_scale.columns:
            with_scale = with_scale.with_columns(pl.lit(None, dtype=pl.Float64).alias(name))
    with_scale = with_scale.with_columns(base_forecast_expr())
    return with_scale.select(
        *(pl.col(name).cast(pl.String) for name in CATEGORICAL_FEATURES),
        pl.col("horizon").cast(pl.Float64),
        pl.col("month_of_year").cast(pl.Float64),
        (((pl.col("month_of_year") - 1 + pl.col("horizon")) % 12) + 1)
        .cast(pl.Float64)
        .alias("target_month_of_year"),
        pl.col("scale").log10().alias("log_scale"),
        *(_over_scale(name, f"{name}_ratio") for name in _SCALED),
        _over_scale("seasonal_value", "seasonal_value_ratio"),
        _over_scale("base_forecast", "base_ratio"),
        yoy_ratio_expr(),
        source_yoy_ratio_expr(),
        (
            yoy_ratio_expr()
            / pl.when(pl.col("sales_lag_13") > 0)
            .then(pl.col("sales_lag_1") / pl.col("sales_lag_13"))
            .otherwise(None)
            .clip(*YOY_CLIP)
        ).alias("yoy_momentum"),
        pl.col("yoy_pct_change").cast(pl.Float64).clip(-RATIO_CLIP, RATIO_CLIP),
        _signed_log("other_source_sales").alias("log_other_source_sales"),
        _over_scale("other_source_sales", "other_source_ratio"),
        _signed_log("market_category_sales").alias("log_market_category_sales"),
        pl.col("own_share_of_market").cast(pl.Float64),
        pl.col("month_weight").cast(pl.Float64),
        pl.col("is_own_brand").cast(pl.Float64),
        pl.col("n_sales_lines").cast(pl.Float64).log1p().alias("log_n_sales_lines"),
        (
            pl.col("n_return_lines").cast(pl.Float64)
            / pl.when(pl.col("n_sales_lines") > 0).then(pl.col("n_sales_lines")).otherwise(None)
        ).alias("return_line_share"),
        pl.col("months_of_history").cast(pl.Float64),
    )
