"""The feature mart recomputed independently from the monthly fact: lags, target, cross-source."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from tamales_inc.core.settings import Settings

SERIES = ["source", "product_id", "zone_id"]
# SQL's sum: NULL when every value is NULL
SQL_SUM = pl.when(pl.col("sales").count() > 0).then(pl.col("sales").sum())


@pytest.fixture(scope="module")
def frames(warehouse_settings: Settings) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(warehouse_settings.warehouse_path), read_only=True)
    try:
        return {
            name: con.sql(f"select * from marts.{name}").pl()
            for name in ("sales_features", "fct_sales_monthly", "dim_product")
        }
    finally:
        con.close()


def _shifted(monthly: pl.DataFrame, months: int, name: str) -> pl.DataFrame:
    """The monthly fact moved `months` later, so it joins as the value `months` months before."""
    return monthly.select(
        *SERIES,
        pl.col("sales_month").dt.offset_by(f"{months}mo"),
        pl.col("sales").alias(name),
    )


def test_one_feature_row_per_monthly_fact_row(frames: dict[str, pl.DataFrame]) -> None:
    features, monthly = frames["sales_features"], frames["fct_sales_monthly"]
    assert features.height == monthly.height
    assert features.select("series_id", "sales_month").is_duplicated().sum() == 0
    expected_ids = features["source"] + ":" + features["product_id"] + ":" + features["zone_id"]
    assert (features["series_id"] == expected_ids).all()
    # Tamales Inc products have an own-sales series and a market-feed series
    own = features.filter(pl.col("is_own_brand"))
    assert set(own["source"]) == {"tamales_inc", "teinvento_inc"}


@pytest.mark.parametrize("lag", [1, 2, 3, 6, 12])
def test_lags_equal_the_monthly_fact_shifted(frames: dict[str, pl.DataFrame], lag: int) -> None:
    features, monthly = frames["sales_features"], frames["fct_sales_monthly"]
    column = f"sales_lag_{lag}"
    expected = features.select(*SERIES, "sales_month", column).join(
        _shifted(monthly, lag, "expected"), on=[*SERIES, "sales_month"], how="left"
    )
    assert expected.height == features.height
    both = expected.filter(pl.col("expected").is_not_null())
    assert both.height > 0
    assert (both[column] == both["expected"]).all()
    # no value where the series has no month t - lag (history too short)
    absent = expected.filter(pl.col("expected").is_null())
    assert absent[column].null_count() == absent.height
    assert features.filter(pl.col("months_of_history") <= lag)[column].null_count() == (
        features.filter(pl.col("months_of_history") <= lag).height
    )


def test_target_is_the_next_month(frames: dict[str, pl.DataFrame]) -> None:
    features, monthly = frames["sales_features"], frames["fct_sales_monthly"]
    expected = features.join(
        _shifted(monthly, -1, "next_sales"), on=[*SERIES, "sales_month"], how="left"
    )
    has_next = expected.filter(pl.col("next_sales").is_not_null())
    assert (has_next["target_sales_next_month"] == has_next["next_sales"]).all()
    last_months = features.group_by(*SERIES).agg(pl.col("sales_month").max())
    last = features.join(last_months, on=[*SERIES, "sales_month"])
    assert last["target_sales_next_month"].null_count() == last.height


def test_rolling_and_yoy_use_months_up_to_t(frames: dict[str, pl.DataFrame]) -> None:
    features, monthly = frames["sales_features"], frames["fct_sales_monthly"]
    window = pl.concat(
        [
            _shifted(monthly, k, "value").with_columns(offset=pl.lit(k))
            for k in range(3)  # months t, t-1, t-2
        ]
    )
    expected = (
        features.select(*SERIES, "sales_month", "rolling_mean_3", "rolling_std_3")
        .join(window, on=[*SERIES, "sales_month"], how="inner")
        .group_by(*SERIES, "sales_month", "rolling_mean_3", "rolling_std_3")
        .agg(pl.col("value").mean().alias("mean"), pl.col("value").std().alias("std"))
        .filter(pl.col("mean").is_not_null())
    )
    assert expected.height > 0
    assert (expected["rolling_mean_3"] - expected["mean"]).abs().max() < 1e-6 * max(
        1.0, expected["mean"].abs().max()
    )
    with_std = expected.filter(pl.col("std").is_not_null())
    assert (with_std["rolling_std_3"] - with_std["std"]).abs().max() < 1e-6 * max(
        1.0, with_std["std"].abs().max()
    )
    yoy = features.filter(pl.col("sales_lag_12").is_not_null())
    assert yoy.height > 0
    assert ((yoy["yoy_change"] - (yoy["sales"] - yoy["sales_lag_12"])).abs() < 1e-6).all()


def test_cross_source_and_market_features(frames: dict[str, pl.DataFrame]) -> None:
    features, monthly, products = (
        frames["sales_features"],
        frames["fct_sales_monthly"],
        frames["dim_product"],
    )
    other = monthly.select(
        pl.when(pl.col("source") == "tamales_inc")
        .then(pl.lit("teinvento_inc"))
        .otherwise(pl.lit("tamales_inc"))
        .alias("source"),
        "product_id",
        "zone_id",
        "sales_month",
        pl.col("sales").alias("expected_other"),
    )
    checked = features.join(other, on=[*SERIES, "sales_month"], how="left")
    assert checked.filter(pl.col("expected_other").is_not_null()).height > 0
    assert (
        checked["other_source_sales"].fill_null(-1.0) == checked["expected_other"].fill_null(-1.0)
    ).all()

    market = monthly.filter(pl.col("source") == "teinvento_inc").join(
        products.select("product_id", "calorie_category", "is_own_brand"), on="product_id"
    )
    per_category = market.group_by("zone_id", "sales_month", "calorie_category").agg(
        SQL_SUM.alias("expected_market")
    )
    shares = market.group_by("zone_id", "sales_month").agg(
        (pl.col("sales").filter(pl.col("is_own_brand")).sum() / pl.col("sales").sum()).alias(
            "expected_share"
        )
    )
    checked = features.join(
        per_category, on=["zone_id", "sales_month", "calorie_category"], how="inner"
    ).join(shares, on=["zone_id", "sales_month"], how="inner")
    checked = checked.filter(
        pl.col("expected_market").is_not_null() & pl.col("expected_share").is_finite()
    )
    assert checked.height > 0
    assert ((checked["market_category_sales"] - checked["expected_market"]).abs() < 1e-3).all()
    assert ((checked["own_share_of_market"] - checked["expected_share"]).abs() < 1e-9).all()
    assert checked["own_share_of_market"].is_between(0, 1).all()


def test_month_weight_uses_only_months_up_to_t(frames: dict[str, pl.DataFrame]) -> None:
    features, monthly, products = (
        frames["sales_features"],
        frames["fct_sales_monthly"],
        frames["dim_product"],
    )
    categories = (
        monthly.join(products.select("product_id", "calorie_category"), on="product_id")
        .group_by("source", "calorie_category", "sales_month")
        .agg(SQL_SUM.alias("category_sales"))
    )
    expected_rows = []
    for key, group in categories.group_by("source", "calorie_category"):
        group = group.sort("sales_month")
        for row in group.iter_rows(named=True):
            history = group.filter(pl.col("sales_month") <= row["sales_month"])
            history = history.filter(pl.col("category_sales").is_not_null())
            same_month = history.filter(
                pl.col("sales_month").dt.month() == row["sales_month"].month
            )
            top = history["category_sales"].max()
            weight = (
                None
                if not top or same_month.is_empty()
                else (same_month["category_sales"].mean() / top)
            )
            expected_rows.append((key[0], key[1], row["sales_month"], weight))
    expected = pl.DataFrame(
        expected_rows,
        schema=["source", "calorie_category", "sales_month", "expected_weight"],
        orient="row",
    )
    checked = features.join(expected, on=["source", "calorie_category", "sales_month"])
    assert checked.height == features.filter(pl.col("calorie_category").is_not_null()).height
    valid = checked.filter(pl.col("expected_weight").is_not_null())
    assert ((valid["month_weight"] - valid["expected_weight"]).abs() < 1e-9).all()
    assert valid["month_weight"].max() <= 1.0 + 1e-12


def test_source_yoy_ratio_pools_the_source_series_at_t(frames: dict[str, pl.DataFrame]) -> None:
    features, monthly = frames["sales_features"], frames["fct_sales_monthly"]
    pairs = monthly.join(
        _shifted(monthly, 12, "year_before"), on=[*SERIES, "sales_month"], how="inner"
    ).filter(
        pl.col("sales").is_not_null() & (pl.col("n_sales_lines") > 0) & (pl.col("year_before") > 0)
    )
    expected = pairs.group_by("source", "sales_month").agg(
        (pl.col("sales").sum() / pl.col("year_before").sum()).alias("expected_ratio")
    )
    checked = features.join(expected, on=["source", "sales_month"], how="left")
    with_ratio = checked.filter(pl.col("expected_ratio").is_not_null())
    # every month of a source after its first year has a ratio, the same on each of its rows
    assert with_ratio["sales_month"].n_unique() >= 12
    assert ((with_ratio["source_yoy_ratio"] - with_ratio["expected_ratio"]).abs() < 1e-9).all()
    assert checked.filter(pl.col("expected_ratio").is_null())["source_yoy_ratio"].null_count() == (
        checked.filter(pl.col("expected_ratio").is_null()).height
    )
    # the spring-2020 shock of the sample shows in both sources' pooled ratio
    april = with_ratio.filter(pl.col("sales_month") == pl.date(2020, 4, 1))
    assert april["source"].n_unique() == 2 and (april["source_yoy_ratio"] < 0.7).all()
