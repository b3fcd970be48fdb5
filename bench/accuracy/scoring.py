"""Scores on the held-out months with the project's metric definitions: WAPE and MASE per model
and horizon, interval coverage, and their means over cut-offs."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from tamales_inc.forecasting.intervals import LEVELS, level_tag
from tamales_inc.forecasting.metrics import mase, series_scales, wape

ALL_HORIZONS = 0  # the `horizon` of a score over every horizon

SCORE_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "horizon": pl.Int32(),
    "wape": pl.Float64(),
    "mase": pl.Float64(),
    "n": pl.Int64(),
}
COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    "model": pl.String(),
    "level": pl.Float64(),
    "coverage": pl.Float64(),
    "n": pl.Int64(),
}


class IncompleteForecasts(Exception):
    """A model did not forecast every held-out series-month."""


def actuals(holdout: pl.DataFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """(series_id, sales_month, y_true) of the held-out months."""
    return (
        holdout.join(ids, on="series_key")
        .select("series_id", pl.col("month").alias("sales_month"), pl.col("units").cast(pl.Float64))
        .rename({"units": "y_true"})
    )


def scored_rows(
    forecasts: pl.DataFrame, truth: pl.DataFrame, features: pl.DataFrame, cutoff: date
) -> pl.DataFrame:
    """Forecasts with `y_true` and the MASE scale known at the cut-off; raises unless every model
    forecast every held-out series-month with a finite value."""
    scales = series_scales(features, [cutoff]).select("series_id", "mase_scale")
    rows = forecasts.join(truth, on=["series_id", "sales_month"], how="inner").join(
        scales, on="series_id", how="left"
    )
    counts = rows.filter(pl.col("y_pred").is_finite()).group_by("model").len()
    short = {m for m, n in counts.iter_rows() if n != truth.height}
    short |= set(forecasts["model"].unique()) - set(counts["model"])
    if short:
        raise IncompleteForecasts(
            f"cut-off {cutoff}: {', '.join(sorted(short))} did not forecast all "
            f"{truth.height} held-out series-months with a finite value"
        )
    return rows


def scores(rows: pl.DataFrame) -> pl.DataFrame:
    """WAPE and MASE per model, over every horizon (`ALL_HORIZONS`) and per horizon."""
    out = []
    for (model,), part in rows.group_by(["model"], maintain_order=True):
        groups = [(ALL_HORIZONS, part)]
        groups += [(int(h), p) for (h,), p in part.sort("horizon").group_by(["horizon"])]
        for horizon, group in groups:
            y, p = group["y_true"].to_numpy(), group["y_pred"].to_numpy()
            out.append(
                {
                    "model": model,
                    "horizon": horizon,
                    "wape": wape(y, p),
                    "mase": mase(y, p, group["mase_scale"].to_numpy()),
                    "n": group.height,
                }
            )
    return pl.DataFrame(out, schema=SCORE_SCHEMA).sort("model", "horizon")


def coverage(rows: pl.DataFrame) -> pl.DataFrame:
    """Share of held-out values inside each model's 80% and 95% intervals (models with bounds)."""
    out = []
    for level in LEVELS:
        tag = level_tag(level)
        lower, upper = pl.col(f"lower_{tag}"), pl.col(f"upper_{tag}")
        with_bounds = rows.filter(lower.is_not_null() & upper.is_not_null())
        inside = with_bounds.group_by("model").agg(
            pl.lit(level).alias("level"),
            pl.col("y_true").is_between(lower, upper).mean().alias("coverage"),
            pl.len().alias("n"),
        )
        out.append(inside.select(COVERAGE_SCHEMA.keys()))
    return pl.concat(out).cast(COVERAGE_SCHEMA).sort("model", "level")  # type: ignore[arg-type]


def mean_over_cutoffs(frames: list[pl.DataFrame], by: list[str]) -> pl.DataFrame:
    """The mean of every float column over cut-offs (one frame per cut-off), per `by` group."""
    stacked = pl.concat(frames)
    values = [c for c, t in stacked.schema.items() if t == pl.Float64 and c not in by]
    return stacked.group_by(by, maintain_order=True).agg(pl.col(values).mean())


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is not a positive number."""
    return numerator / denominator if np.isfinite(denominator) and denominator > 0 else np.nan
