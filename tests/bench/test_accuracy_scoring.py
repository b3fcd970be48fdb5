"""The accuracy benchmark's scoring and its docs section: WAPE/MASE per horizon, coverage, the
refusal of incomplete forecasts, and the marker-bounded rewrite of the docs page."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from accuracy.forecasts import FORECAST_COLUMNS
from accuracy.report import DOCS_BEGIN, DOCS_END
from accuracy.scoring import (
    ALL_HORIZONS,
    IncompleteForecasts,
    coverage,
    scored_rows,
    scores,
)
from measure import write_section

from tamales_inc.core.months import month_after

CUTOFF = date(2019, 12, 1)


def _features() -> pl.DataFrame:
    """Two series with 36 months up to the cut-off: `a` rises by 10 a month, `b` is flat at 50."""
    months = [month_after(CUTOFF, -k) for k in range(35, -1, -1)]
    return pl.DataFrame(
        {
            "series_id": ["a"] * 36 + ["b"] * 36,
            "sales_month": months * 2,
            "sales": [float(100 + 10 * i) for i in range(36)] + [50.0] * 36,
        }
    )


def _forecasts(model: str, preds: dict[tuple[str, int], float]) -> pl.DataFrame:
    rows = [
        {
            "model": model,
            "series_id": series,
            "sales_month": month_after(CUTOFF, h),
            "horizon": h,
            "y_pred": value,
            "lower_80": value - 5,
            "upper_80": value + 5,
            "lower_95": value - 50,
            "upper_95": value + 50,
        }
        for (series, h), value in preds.items()
    ]
    return pl.DataFrame(rows).select(FORECAST_COLUMNS)


TRUTH = pl.DataFrame(
    {
        "series_id": ["a", "a", "b", "b"],
        "sales_month": [month_after(CUTOFF, 1), month_after(CUTOFF, 2)] * 2,
        "y_true": [460.0, 470.0, 50.0, 50.0],
    }
)


def test_scores_are_the_project_metrics_per_horizon() -> None:
    preds = {("a", 1): 450.0, ("a", 2): 490.0, ("b", 1): 50.0, ("b", 2): 40.0}
    rows = scored_rows(_forecasts("m", preds), TRUTH, _features(), CUTOFF)
    table = {h: (w, m) for _, h, w, m, _ in scores(rows).iter_rows()}
    # |errors| 10, 20, 0, 10 over |actuals| 460 + 470 + 50 + 50
    assert table[ALL_HORIZONS][0] == pytest.approx(40 / 1030)
    assert table[1][0] == pytest.approx(10 / 510)
    assert table[2][0] == pytest.approx(30 / 520)
    # MASE scales: a's 12-month differences are all 120, b's are 0 (left out)
    assert table[ALL_HORIZONS][1] == pytest.approx((10 / 120 + 20 / 120) / 2)

    cover = {lv: c for _, lv, c, _ in coverage(rows).iter_rows()}
    assert cover == {0.8: pytest.approx(0.25), 0.95: pytest.approx(1.0)}


def test_a_model_that_misses_a_series_month_is_refused() -> None:
    full = _forecasts("full", {("a", 1): 1.0, ("a", 2): 1.0, ("b", 1): 1.0, ("b", 2): 1.0})
    short = _forecasts("short", {("a", 1): 1.0, ("a", 2): 1.0, ("b", 1): 1.0})
    with pytest.raises(IncompleteForecasts, match="short did not forecast all 4"):
        scored_rows(pl.concat([full, short]), TRUTH, _features(), CUTOFF)
    nan = _forecasts("nan", {("a", 1): 1.0, ("a", 2): 1.0, ("b", 1): 1.0, ("b", 2): float("nan")})
    with pytest.raises(IncompleteForecasts, match="nan did not forecast"):
        scored_rows(nan, TRUTH, _features(), CUTOFF)


def test_the_docs_section_is_rewritten_between_its_markers(tmp_path: Path) -> None:
    page = tmp_path / "benchmarks.md"
    page.write_text(f"# Title\n\nintro\n\n{DOCS_BEGIN}\n\nold table\n\n{DOCS_END}\n\ntail\n")
    write_section(page, DOCS_BEGIN, DOCS_END, "| new | table |")
    text = page.read_text()
    assert "old table" not in text
    assert text.startswith("# Title\n\nintro\n\n")
    assert f"{DOCS_BEGIN}\n\n| new | table |\n\n{DOCS_END}\n\ntail\n" in text
    page.write_text("no markers\n")
    with pytest.raises(SystemExit, match="lacks the markers"):
        write_section(page, DOCS_BEGIN, DOCS_END, "x")
