"""Prediction intervals: split conformal on scaled backtest residuals per horizon, and coverage."""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from tamales_inc.forecasting.tables import INTERVAL_COVERAGE

LEVELS: tuple[float, ...] = (0.8, 0.95)

# `ml.interval_coverage` but the model's version and name, which the training run adds.
COVERAGE_SCHEMA: dict[str, pl.DataType] = {
    name: dtype
    for name, dtype in INTERVAL_COVERAGE.schema.items()
    if name not in ("model_version", "model_name")
}


def level_tag(level: float) -> str:
    """`0.8` -> `80`, `0.95` -> `95` (column suffixes)."""
    return str(round(level * 100))


def _conformal_q(scores: np.ndarray, level: float) -> float:
    """The ceil((n+1)*level)-th smallest score (finite-sample conformal quantile)."""
    scores = np.sort(scores[np.isfinite(scores)])
    n = scores.size
    if n == 0:
        return float("nan")
    rank = min(math.ceil((n + 1) * level), n)
    return float(scores[rank - 1])


def _scaled_residuals(predictions: pl.DataFrame) -> pl.DataFrame:
    return predictions.filter(pl.col("y_true").is_not_null()).with_columns(
        ((pl.col("y_true") - pl.col("y_pred")).abs() / pl.col("scale")).alias("score")
    )


def conformal_quantiles(
    predictions: pl.DataFrame, levels: tuple[float, ...] = LEVELS
) -> pl.DataFrame:
    """Half-widths in scale units, per horizon and level, from one model's backtest residuals.

    `predictions` needs horizon, y_true, y_pred and scale (the series level known at the origin).
    Returns (horizon, level, q); an interval is y_pred -/+ q * scale.
    """
    scored = _scaled_residuals(predictions)
    rows = []
    for (horizon,), part in scored.sort("horizon").group_by(["horizon"], maintain_order=True):
        values = part["score"].to_numpy()
        for level in levels:
            rows.append({"horizon": int(horizon), "level": level, "q": _conformal_q(values, level)})
    return pl.DataFrame(rows, schema={"horizon": pl.Int32, "level": pl.Float64, "q": pl.Float64})


def apply_intervals(
    frame: pl.DataFrame,
    quantiles: pl.DataFrame,
    *,
    point: str = "yhat",
    levels: tuple[float, ...] = LEVELS,
) -> pl.DataFrame:
    """Add `yhat_lower_<L>`/`yhat_upper_<L>` per level to rows carrying horizon, `point`, scale.

    Horizons missing from `quantiles` reuse the widest known horizon's half-width. Bounds are
    clipped so every interval contains its point forecast.
    """
    out = frame
    known = quantiles.sort("horizon")
    for level in levels:
        table = known.filter(pl.col("level") == level).select(
            pl.col("horizon").cast(pl.Int32), pl.col("q").alias("_q")
        )
        fallback = float(table["_q"].max()) if table.height else float("nan")
        tag = level_tag(level)
        out = (
            out.with_columns(pl.col("horizon").cast(pl.Int32))
            .join(table, on="horizon", how="left")
            .with_columns(pl.col("_q").fill_null(fallback).fill_nan(fallback))
            .with_columns(
                pl.min_horizontal(
                    pl.col(point) - pl.col("_q") * pl.col("scale"), pl.col(point)
                ).alias(f"yhat_lower_{tag}"),
                pl.max_horizontal(
                    pl.col(point) + pl.col("_q") * pl.col("scale"), pl.col(point)
                ).alias(f"yhat_upper_{tag}"),
            )
            .drop("_q")
        )
    return out


def interval_coverage(
    predictions: pl.DataFrame, levels: tuple[float, ...] = LEVELS
) -> pl.DataFrame:
    """Out-of-sample coverage by leave-one-origin-out: intervals for each origin are calibrated
    on the other origins' residuals, then checked against that origin's actuals.

    Returns `COVERAGE_SCHEMA` (horizon, level, coverage, n, relative_width: total width over
    total |actual|) per horizon, plus an `all` row per level (horizon 0).
    """
    scored = _scaled_residuals(predictions)
    origins = scored["origin_month"].unique().sort().to_list()
    checked = []
    for origin in origins:
        calibrate = scored.filter(pl.col("origin_month") != origin)
        target = scored.filter(pl.col("origin_month") == origin)
        if calibrate.is_empty() or target.is_empty():
            continue
        q = conformal_quantiles(calibrate, levels)
        bounded = apply_intervals(target, q, point="y_pred", levels=levels)
        for level in levels:
            tag = level_tag(level)
            checked.append(
                bounded.select(
                    "horizon",
                    pl.lit(level).alias("level"),
                    (
                        (pl.col("y_true") >= pl.col(f"yhat_lower_{tag}"))
                        & (pl.col("y_true") <= pl.col(f"yhat_upper_{tag}"))
                    ).alias("covered"),
                    (pl.col(f"yhat_upper_{tag}") - pl.col(f"yhat_lower_{tag}")).alias("width"),
                    pl.col("y_true").abs().alias("abs_y"),
                )
            )
    if not checked:
        return pl.DataFrame(schema=COVERAGE_SCHEMA)
    allrows = pl.concat(checked)

    def summarise(frame: pl.DataFrame, by: list[str]) -> pl.DataFrame:
        return frame.group_by(by).agg(
            pl.col("covered").mean().alias("coverage"),
            pl.len().cast(pl.Int64).alias("n"),
            (pl.col("width").sum() / pl.col("abs_y").sum()).alias("relative_width"),
        )

    per_horizon = summarise(allrows, ["horizon", "level"])
    overall = summarise(allrows, ["level"]).with_columns(pl.lit(0, dtype=pl.Int32).alias("horizon"))
    columns = list(COVERAGE_SCHEMA)
    return (
        pl.concat([per_horizon.select(columns), overall.select(columns)])
        .cast(COVERAGE_SCHEMA)
        .sort("level", "horizon")
    )
