"""Conformal intervals: quantiles by hand, containment, coverage bookkeeping; champion choice."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from tamales_inc.forecasting.backtest import BacktestResult
from tamales_inc.forecasting.intervals import (
    apply_intervals,
    conformal_quantiles,
    interval_coverage,
)
from tamales_inc.forecasting.metrics import score
from tamales_inc.forecasting.train import choose_champion


def test_conformal_quantile_is_the_finite_sample_rank() -> None:
    # scores |y - yhat| / scale = 1..9; level 0.8 -> rank ceil(10 * 0.8) = 8 -> 8.0
    preds = pl.DataFrame(
        {
            "horizon": [1] * 9,
            "y_true": [float(i) for i in range(1, 10)],
            "y_pred": [0.0] * 9,
            "scale": [1.0] * 9,
        }
    )
    q = conformal_quantiles(preds, (0.8, 0.95))
    assert dict(q.select("level", "q").iter_rows()) == pytest.approx({0.8: 8.0, 0.95: 9.0})


def test_apply_intervals_scales_and_contains_the_point() -> None:
    q = pl.DataFrame({"horizon": [1, 1], "level": [0.8, 0.95], "q": [0.1, 0.3]})
    rows = pl.DataFrame({"horizon": [1, 2], "yhat": [100.0, -5.0], "scale": [50.0, 10.0]})
    out = apply_intervals(rows, q)
    first = out.row(0, named=True)
    assert (first["yhat_lower_80"], first["yhat_upper_80"]) == pytest.approx((95.0, 105.0))
    assert (first["yhat_lower_95"], first["yhat_upper_95"]) == pytest.approx((85.0, 115.0))
    second = out.row(1, named=True)  # horizon 2 unknown: widest known half-width
    assert (second["yhat_lower_80"], second["yhat_upper_80"]) == pytest.approx((-6.0, -4.0))
    nan_q = pl.DataFrame({"horizon": [1], "level": [0.8], "q": [float("nan")]})
    clipped = apply_intervals(rows, nan_q, levels=(0.8,))
    assert (clipped["yhat_lower_80"] <= clipped["yhat"]).all()
    assert (clipped["yhat_upper_80"] >= clipped["yhat"]).all()


def test_interval_coverage_leaves_one_origin_out() -> None:
    origins = [date(2020, m, 1) for m in (1, 2, 3)]
    preds = pl.DataFrame(
        {
            "origin_month": [o for o in origins for _ in range(4)],
            "horizon": [1] * 12,
            "y_true": [1.0, 2.0, 3.0, 4.0] * 3,
            "y_pred": [0.0] * 12,
            "scale": [1.0] * 12,
        }
    )
    cov = interval_coverage(preds, (0.8,))
    overall = cov.filter(pl.col("horizon") == 0).row(0, named=True)
    # each fold calibrates on 8 scores {1,1,2,2,3,3,4,4}: rank ceil(9 * 0.8) = 8 -> 4 covers all
    assert overall["n"] == 12
    assert overall["coverage"] == pytest.approx(1.0)


def _backtest(wapes: dict[str, float]) -> BacktestResult:
    """A backtest where each model's only forecast misses an actual of 1 by its WAPE."""
    origins = [date(2020, m, 1) for m in (1, 2)]
    predictions = pl.DataFrame(
        {
            "model": [m for m in wapes for _ in origins],
            "origin_month": origins * len(wapes),
            "sales_month": [date(2020, 3, 1)] * 2 * len(wapes),
            "series_id": ["s"] * 2 * len(wapes),
            "product_id": ["p"] * 2 * len(wapes),
            "horizon": [1] * 2 * len(wapes),
            "y_true": [1.0] * 2 * len(wapes),
            "y_pred": [1.0 + w for w in wapes.values() for _ in origins],
            "mase_scale": [1.0] * 2 * len(wapes),
        }
    )
    return BacktestResult(predictions, score(predictions), origins)


def test_champion_is_lowest_wape_and_promoted_only_if_it_beats_seasonal_naive() -> None:
    (champion, promoted, _), _ = choose_champion(
        _backtest({"naive": 0.3, "seasonal_naive": 0.25, "xgboost": 0.2})
    )
    assert (champion, promoted) == ("xgboost", True)
    (champion, promoted, reason), _ = choose_champion(
        _backtest({"naive": 0.3, "seasonal_naive": 0.2, "xgboost": 0.25})
    )
    assert (champion, promoted) == ("seasonal_naive", False)
    assert "seasonal naive" in reason
