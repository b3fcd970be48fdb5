"""Direct multi-horizon targets: history cut at an origin, actuals, horizons stacked, y_{t+h}.

Also the values a forecast looks up in a series' own sales history (a month k back, the same
month a season before the target), so no input ever comes from after month t.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from tamales_inc.core.months import month_number

# Months in a season: the seasonal value of a target month is the same month a year earlier.
SEASON_LENGTH = 12

# The only mart column holding information from after month t; cut at every origin.
FUTURE_COLUMNS: tuple[str, ...] = ("target_sales_next_month",)


def add_months(column: str | pl.Expr, months: int) -> pl.Expr:
    """The month `months` after the given first-of-month date column (polars twin of
    `core.months.month_after`)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.offset_by(f"{months}mo")


def months_before(column: str, last: date) -> pl.Expr:
    """How many months each first-of-month date in `column` lies before the month `last`."""
    month = pl.col(column)
    return month_number(last) - (month.dt.year() * 12 + month.dt.month().cast(pl.Int32) - 1)


def cut_at_origin(features: pl.DataFrame, origin: date) -> pl.DataFrame:
    """The history known at `origin`: rows up to it, with no column looking past it."""
    history = features.filter(pl.col("sales_month") <= origin)
    future = [name for name in FUTURE_COLUMNS if name in history.columns]
    return history.with_columns(
        pl.when(add_months("sales_month", 1) <= origin).then(pl.col(name)).alias(name)
        for name in future
    )


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
    stacked: pl.DataFrame, history: pl.DataFrame, season_length: int = SEASON_LENGTH
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
