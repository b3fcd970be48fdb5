"""Metric functions on hand-computed examples."""

from __future__ import annotations

import math
from datetime import date

import polars as pl
import pytest

from tamales_inc.forecasting.metrics import bias, mase, rmse, score, series_scales, wape


def test_wape_rmse_bias_by_hand() -> None:
    y = [10.0, 20.0, 30.0, 40.0]
    p = [12.0, 18.0, 33.0, 40.0]
    # |e| = 2, 2, 3, 0 -> 7 / 100
    assert wape(y, p) == pytest.approx(0.07)
    # e^2 = 4, 4, 9, 0 -> mean 4.25
    assert rmse(y, p) == pytest.approx(math.sqrt(4.25))
    # sum(p - y) = 2 - 2 + 3 + 0 = 3 -> 3 / 100
    assert bias(y, p) == pytest.approx(0.03)


def test_wape_uses_absolute_actuals_and_handles_zero_total() -> None:
    assert wape([-10.0, 10.0], [0.0, 10.0]) == pytest.approx(10.0 / 20.0)
    assert math.isnan(wape([0.0, 0.0], [1.0, 1.0]))
    assert math.isnan(bias([0.0], [1.0]))
    with pytest.raises(ValueError, match="shape"):
        wape([1.0, 2.0], [1.0])


def test_mase_scales_per_point_and_skips_zero_scales() -> None:
    # errors 2 and 6 over scales 2 and 3 -> (1 + 2) / 2; the zero-scale point is left out
    assert mase([10.0, 20.0, 5.0], [12.0, 14.0, 0.0], [2.0, 3.0, 0.0]) == pytest.approx(1.5)
    assert math.isnan(mase([1.0], [2.0], [0.0]))


def _months(n: int, start: date = date(2018, 1, 1)) -> list[date]:
    return [
        date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
        for i in range(n)
    ]


def test_series_scales_uses_only_history_up_to_origin() -> None:
    months = _months(26)
    sales = [float(i) for i in range(26)]  # naive diffs 1, seasonal diffs 12
    frame = pl.DataFrame({"series_id": ["a"] * 26, "sales_month": months, "sales": sales})
    out = series_scales(frame, [months[9], months[23], months[25]]).sort("origin_month")
    assert out["scale_kind"].to_list() == ["naive", "seasonal", "seasonal"]
    assert out["mase_scale"].to_list() == pytest.approx([1.0, 12.0, 12.0])
    # changing data after the first origin does not change its scale
    later = frame.with_columns(
        pl.when(pl.col("sales_month") > months[9]).then(pl.col("sales") * 100).otherwise("sales")
    )
    again = series_scales(later, [months[9]])
    assert again["mase_scale"].to_list() == pytest.approx([1.0])


def test_series_scales_naive_for_short_history_seasonal_for_two_years() -> None:
    short = pl.DataFrame(
        {"series_id": ["s"] * 4, "sales_month": _months(4), "sales": [1.0, 3.0, 2.0, 6.0]}
    )  # |lag-1 diffs| 2, 1, 4 -> 7/3
    out = series_scales(short, [_months(4)[-1]])
    assert out.row(0, named=True)["mase_scale"] == pytest.approx(7.0 / 3.0)
    assert out["scale_kind"].to_list() == ["naive"]
    values = [float(m % 12) for m in range(24)]  # exactly seasonal: lag-12 diffs are all 0
    values[-1] += 12.0  # one seasonal diff of 12 over 12 diffs -> 1.0
    long = pl.DataFrame({"series_id": ["s"] * 24, "sales_month": _months(24), "sales": values})
    out = series_scales(long, [_months(24)[-1]])
    assert out["mase_scale"].to_list() == pytest.approx([1.0])
    assert out["scale_kind"].to_list() == ["seasonal"]
    single = pl.DataFrame({"series_id": ["s"], "sales_month": _months(1), "sales": [5.0]})
    assert series_scales(single, _months(1))["mase_scale"].to_list() == [None]


def test_score_groups_overall_product_and_horizon() -> None:
    preds = pl.DataFrame(
        {
            "model": ["m"] * 4,
            "product_id": ["p1", "p1", "p2", "p2"],
            "horizon": [1, 2, 1, 2],
            "y_true": [10.0, 10.0, 20.0, None],
            "y_pred": [11.0, 8.0, 20.0, 5.0],
            "mase_scale": [1.0, 2.0, 4.0, 1.0],
        }
    )
    out = score(preds)
    row = out.filter(pl.col("scope") == "overall").row(0, named=True)
    assert row["n"] == 3  # the row without an actual is ignored
    assert row["wape"] == pytest.approx(3.0 / 40.0)
    assert row["mase"] == pytest.approx((1.0 + 1.0 + 0.0) / 3.0)
    by_product = dict(
        out.filter(pl.col("scope") == "product").select("scope_value", "wape").iter_rows()
    )
    assert by_product == pytest.approx({"p1": 3.0 / 20.0, "p2": 0.0})
    by_h = dict(out.filter(pl.col("scope") == "horizon").select("scope_value", "n").iter_rows())
    assert by_h == {"1": 2, "2": 1}
