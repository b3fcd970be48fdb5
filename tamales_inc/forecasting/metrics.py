"""Forecast accuracy: WAPE, MASE (seasonal or naive scale), RMSE and bias, overall and by scope."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from tamales_inc.forecasting.tables import BACKTEST_METRICS
from tamales_inc.forecasting.targets import SEASON_LENGTH, history_lookup

# The metrics of every scope (the last columns of `ml.backtest_metrics`).
METRIC_COLUMNS: tuple[str, ...] = ("wape", "mase", "rmse", "bias", "n")


def _arrays(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"y_true has shape {t.shape} but y_pred has {p.shape}")
    return t, p


def wape(y_true, y_pred) -> float:
    """Weighted absolute percentage error: sum |y - yhat| / sum |y| (NaN if sum |y| is 0)."""
    t, p = _arrays(y_true, y_pred)
    denom = np.abs(t).sum()
    return float(np.abs(t - p).sum() / denom) if denom > 0 else float("nan")


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, in sales units (NaN when empty)."""
    t, p = _arrays(y_true, y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2))) if t.size else float("nan")


def bias(y_true, y_pred) -> float:
    """Relative bias: sum (yhat - y) / sum |y|; positive means over-forecasting."""
    t, p = _arrays(y_true, y_pred)
    denom = np.abs(t).sum()
    return float((p - t).sum() / denom) if denom > 0 else float("nan")


def mase(y_true, y_pred, scale) -> float:
    """Mean absolute error scaled per point by its series' in-sample scale.

    Points whose scale is missing, zero or not finite are left out; NaN when none is left.
    """
    t, p = _arrays(y_true, y_pred)
    s = np.asarray(scale, dtype=np.float64)
    keep = np.isfinite(s) & (s > 0)
    if not keep.any():
        return float("nan")
    return float(np.mean(np.abs(t[keep] - p[keep]) / s[keep]))


def series_scales(
    features: pl.DataFrame, origins: list[date], season_length: int = SEASON_LENGTH
) -> pl.DataFrame:
    """MASE scale per series and origin, from the history up to that origin only: the mean
    absolute lag-12 difference once the series holds two full seasons of months, else the
    lag-1 one (differences are taken between calendar months; a missing month drops its pairs).

    Returns (series_id, origin_month, mase_scale, scale_kind) with kind `seasonal` or `naive`.
    """
    frames = []
    for origin in origins:
        history = features.filter(pl.col("sales_month") <= origin).select(
            "series_id", "sales_month", "sales"
        )
        with_lags = history.join(
            history_lookup(history, -season_length, "seasonal_lag"),
            on=["series_id", "sales_month"],
            how="left",
        ).join(
            history_lookup(history, -1, "naive_lag"), on=["series_id", "sales_month"], how="left"
        )
        per_series = with_lags.group_by("series_id").agg(
            pl.col("sales").is_not_null().sum().alias("n_history"),
            (pl.col("sales") - pl.col("seasonal_lag")).abs().mean().alias("seasonal_mae"),
            (pl.col("sales") - pl.col("naive_lag")).abs().mean().alias("naive_mae"),
        )
        frames.append(
            per_series.select(
                "series_id",
                pl.lit(origin, dtype=pl.Date).alias("origin_month"),
                pl.when(pl.col("n_history") >= 2 * season_length)
                .then(pl.col("seasonal_mae"))
                .otherwise(pl.col("naive_mae"))
                .alias("mase_scale"),
                pl.when(pl.col("n_history") >= 2 * season_length)
                .then(pl.lit("seasonal"))
                .otherwise(pl.lit("naive"))
                .alias("scale_kind"),
            )
        )
    return pl.concat(frames)


def overall_metric(metrics: pl.DataFrame, model: str, column: str = "wape") -> float:
    """`model`'s overall value of `column` in `score`'s rows (NaN when the model is absent)."""
    row = metrics.filter((pl.col("model") == model) & (pl.col("scope") == "overall"))
    return float(row[column][0]) if row.height else float("nan")


def _score_group(frame: pl.DataFrame) -> dict[str, float | int]:
    t = frame["y_true"].to_numpy()
    p = frame["y_pred"].to_numpy()
    return {
        "wape": wape(t, p),
        "mase": mase(t, p, frame["mase_scale"].to_numpy()),
        "rmse": rmse(t, p),
        "bias": bias(t, p),
        "n": int(frame.height),
    }


def score(predictions: pl.DataFrame) -> pl.DataFrame:
    """Metrics per model, overall, per product and per horizon (the `ml.backtest_metrics` rows).

    `predictions` needs model, product_id, horizon, y_true, y_pred and mase_scale; rows without
    an actual are ignored.
    """
    rows = []
    scored = predictions.filter(pl.col("y_true").is_not_null())
    scopes = (("overall", None), ("product", "product_id"), ("horizon", "horizon"))
    for (model,), by_model in scored.group_by(["model"], maintain_order=True):
        for scope, column in scopes:
            if column is None:
                groups = [("all", by_model)]
            else:
                groups = [
                    (str(key[0]), part)
                    for key, part in by_model.sort(column).group_by([column], maintain_order=True)
                ]
            for value, part in groups:
                rows.append(
                    {"model": model, "scope": scope, "scope_value": value, **_score_group(part)}
                )
    return pl.DataFrame(rows, schema=BACKTEST_METRICS.schema).sort("model", "scope", "scope_value")
