"""Feature mart access: read `marts.sales_features` read-only; direct multi-horizon targets."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.publish import require_published

SERIES_KEYS: tuple[str, ...] = ("source", "product_id", "zone_id")

# The mart's lags and rolling statistics of a series' sales, all in sales units.
HISTORY_COLUMNS: tuple[str, ...] = (
    "sales_lag_1",
    "sales_lag_2",
    "sales_lag_3",
    "sales_lag_6",
    "sales_lag_12",
    "rolling_mean_3",
    "rolling_mean_6",
    "rolling_mean_12",
    "rolling_std_3",
    "rolling_std_6",
    "rolling_std_12",
)

# Columns of `marts.sales_features` the forecasters rely on (docs/contracts.md section 3).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "series_id",
    "source",
    "product_id",
    "zone_id",
    "sales_month",
    "calorie_category",
    "is_own_brand",
    "data_version",
    "sales",
    "target_sales_next_month",
    *HISTORY_COLUMNS,
    "month_of_year",
    "yoy_change",
    "yoy_pct_change",
    "other_source_sales",
    "market_category_sales",
    "own_share_of_market",
    "month_weight",
    "source_yoy_ratio",
    "n_sales_lines",
    "n_return_lines",
    "months_of_history",
)

# The only mart column holding information from after month t; cut at every origin.
FUTURE_COLUMNS: tuple[str, ...] = ("target_sales_next_month",)

# Below this absolute level a series' scale falls back to 1 (all-zero history).
MIN_SCALE = 1e-9
# Year-over-year ratios are clipped to this range (a near-zero month a year back is not news).
YOY_CLIP = (0.2, 5.0)


@dataclass(frozen=True)
class FeatureSnapshot:
    """The feature mart as read from one published warehouse file."""

    features: pl.DataFrame
    data_version: str
    warehouse_sha256: str
    warehouse_path: Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_columns(features: pl.DataFrame, needed: tuple[str, ...] = REQUIRED_COLUMNS) -> None:
    """Raise a one-line ValueError naming the feature columns that are missing."""
    missing = [name for name in needed if name not in features.columns]
    if missing:
        raise ValueError(f"sales_features frame lacks column(s): {', '.join(missing)}")


def read_features(settings: Settings) -> FeatureSnapshot:
    """Read `marts.sales_features` from the published warehouse (read-only) with its lineage."""
    path = require_published(settings)
    sha = file_sha256(path)
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        if "marts.sales_features" not in tables:
            raise ValueError(f"{path} has no table marts.sales_features: rerun `just transform`")
        features = con.execute(
            "select * from marts.sales_features order by series_id, sales_month"
        ).pl()
        version = None
        if "meta.build_info" in tables:
            row = con.execute("select max(data_version) from meta.build_info").fetchone()
            version = row[0] if row else None
    finally:
        con.close()
    check_columns(features)
    if features.is_empty():
        raise ValueError(f"{path}: marts.sales_features is empty, nothing to train on")
    features = prepare(features)
    if version is None:
        version = str(features["data_version"].max())
    return FeatureSnapshot(features, str(version), sha, path)


def prepare(features: pl.DataFrame) -> pl.DataFrame:
    """Normalise dtypes (month as Date, sales as Float64) and sort by series and month."""
    check_columns(features, ("series_id", "source", "product_id", "zone_id", "sales_month"))
    return features.with_columns(
        pl.col("sales_month").cast(pl.Date),
        *(
            pl.col(name).cast(pl.Float64)
            for name in ("sales", "target_sales_next_month")
            if name in features.columns
        ),
    ).sort("series_id", "sales_month")


def add_months(column: str | pl.Expr, months: int) -> pl.Expr:
    """The month `months` after the given first-of-month date column."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.offset_by(f"{months}mo")


def month_after(month: date, months: int) -> date:
    """Python twin of `add_months` for one date."""
    index = month.year * 12 + month.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def cut_at_origin(features: pl.DataFrame, origin: date) -> pl.DataFrame:
    """The history known at `origin`: rows up to it, with no column looking past it."""
    history = features.filter(pl.col("sales_month") <= origin)
    future = [name for name in FUTURE_COLUMNS if name in history.columns]
    return history.with_columns(
        pl.when(add_months("sales_month", 1) <= origin).then(pl.col(name)).alias(name)
        for name in future
    )


def scale_expr() -> pl.Expr:
    """Per-row series scale known at month t: the mean level of the last 12 (6, 3, 1) months."""
    level = pl.coalesce(
        pl.col("rolling_mean_12").abs(),
        pl.col("rolling_mean_6").abs(),
        pl.col("rolling_mean_3").abs(),
        pl.col("sales").abs(),
    )
    return pl.when(level > MIN_SCALE).then(level).otherwise(1.0).alias("scale")


def actuals(features: pl.DataFrame, name: str = "y_true") -> pl.DataFrame:
    """(series_id, target_month, `name`): every known sales value, to join forecasts to."""
    return features.select(
        "series_id", pl.col("sales_month").alias("target_month"), pl.col("sales").alias(name)
    ).filter(pl.col(name).is_not_null())


def stack_horizons(frame: pl.DataFrame, horizons: tuple[int, ...]) -> pl.DataFrame:
    """One copy of `frame` per horizon h, with `horizon` and `target_month` (= month t + h)."""
    return pl.concat(
        [
            frame.with_columns(
                pl.lit(h, dtype=pl.Int32).alias("horizon"),
                add_months("sales_month", h).alias("target_month"),
            )
            for h in horizons
        ]
    )


def build_targets(features: pl.DataFrame, horizons: tuple[int, ...]) -> pl.DataFrame:
    """Direct targets: one row per (series, month t, horizon h) with `y_target` = y_{t+h}.

    Targets come only from the `sales` of the frame itself, so a frame cut at an origin never
    yields a target after that origin. Rows whose target month is missing or NULL are dropped.
    """
    return stack_horizons(features, horizons).join(
        actuals(features, "y_target"), on=["series_id", "target_month"], how="inner"
    )


def history_lookup(features: pl.DataFrame, offset_months: int, name: str) -> pl.DataFrame:
    """Frame (series_id, sales_month, `name`) giving each row the series' sales `offset` months
    later (negative offsets look back), taken from the frame itself."""
    return features.select(
        "series_id",
        add_months("sales_month", -offset_months).alias("sales_month"),
        pl.col("sales").alias(name),
    )


def attach_seasonal_value(
    stacked: pl.DataFrame, history: pl.DataFrame, season_length: int = 12
) -> pl.DataFrame:
    """Add `seasonal_value` = y_{t+h-season} to rows carrying (series_id, sales_month, horizon),
    looked up in `history` (NULL when that month is not there). Needs h <= season_length, so the
    value is never after t."""
    if stacked.height and int(stacked["horizon"].max()) > season_length:
        raise ValueError(f"horizon {stacked['horizon'].max()} exceeds season {season_length}")
    past = history.select(
        "series_id",
        pl.col("sales_month").alias("_seasonal_month"),
        pl.col("sales").alias("seasonal_value"),
    )
    year_before_last = history_lookup(history, -13, "sales_lag_13")
    stacked = stacked.drop("sales_lag_13", strict=False).join(
        year_before_last, on=["series_id", "sales_month"], how="left", maintain_order="left"
    )
    return (
        stacked.drop("seasonal_value", strict=False)
        .with_columns(
            pl.col("sales_month")
            .dt.offset_by(pl.format("{}mo", pl.col("horizon") - season_length))
            .alias("_seasonal_month")
        )
        .join(past, on=["series_id", "_seasonal_month"], how="left", maintain_order="left")
        .drop("_seasonal_month")
    )


CATEGORICAL_FEATURES: tuple[str, ...] = ("source", "product_id", "zone_id", "calorie_category")

# Level columns divided by the series scale, so one global model serves series of any size.
_SCALED = ("sales", *HISTORY_COLUMNS)
RATIO_CLIP = 50.0

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


def model_features(frame: pl.DataFrame) -> pl.DataFrame:
    """The model's inputs, in `FEATURE_NAMES` order, for rows carrying a `horizon` column.

    Every input is a function of one `sales_features` row (month t) and the horizon, except
    `seasonal_value` (y_{t+h-12}, see `attach_seasonal_value`): NULL when the rows do not carry it.
    """
    scale = scale_expr()
    with_scale = frame.with_columns(scale)
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
        *(
            (pl.col(name).cast(pl.Float64) / pl.col("scale"))
            .clip(-RATIO_CLIP, RATIO_CLIP)
            .alias(f"{name}_ratio")
            for name in _SCALED
        ),
        (pl.col("seasonal_value").cast(pl.Float64) / pl.col("scale"))
        .clip(-RATIO_CLIP, RATIO_CLIP)
        .alias("seasonal_value_ratio"),
        (pl.col("base_forecast") / pl.col("scale"))
        .clip(-RATIO_CLIP, RATIO_CLIP)
        .alias("base_ratio"),
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
        (pl.col("other_source_sales").cast(pl.Float64) / pl.col("scale"))
        .clip(-RATIO_CLIP, RATIO_CLIP)
        .alias("other_source_ratio"),
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
