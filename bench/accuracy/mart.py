"""The planted series as the published warehouse names them, and the check that the feature
mart holds exactly the planted history (every month, every value, nothing else)."""

from __future__ import annotations

import duckdb
import polars as pl

from accuracy.container import Container
from tamales_inc.core.settings import Settings


class MartMismatch(Exception):
    """The warehouse does not hold what the container planted."""


def query_warehouse(settings: Settings, sql: str, params: list | None = None) -> pl.DataFrame:
    """Run one query on the published warehouse of `settings`, read-only."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql, params).pl()
    finally:
        con.close()


def series_ids(settings: Settings, container: Container) -> pl.DataFrame:
    """(series_key, series_id, source, product_id, zone_id) of every planted series, matched
    through the published product and zone dimensions (ERP product code or feed product id)."""
    products = query_warehouse(
        settings,
        "select product_id, tamales_inc_product_code, teinvento_id_product from marts.dim_product",
    )
    zones = query_warehouse(settings, "select zone_id, zone_name from marts.dim_zone")
    keys = query_warehouse(
        settings, "select distinct series_id, source, product_id, zone_id from marts.sales_features"
    )
    placed = container.placement
    erp = placed.filter(pl.col("source") == "tamales_inc").join(
        products, left_on="product_code", right_on="tamales_inc_product_code", how="left"
    )
    feed = placed.filter(pl.col("source") == "teinvento_inc").join(
        products, left_on="id_product", right_on="teinvento_id_product", how="left"
    )
    columns = ["series_key", "source", "product_id", "zone"]
    matched = (
        pl.concat([erp.select(columns), feed.select(columns)])
        .join(zones, left_on="zone", right_on="zone_name", how="left")
        .join(keys, on=["source", "product_id", "zone_id"], how="left")
    )
    missing = matched.filter(pl.col("series_id").is_null())["series_key"].to_list()
    if missing:
        raise MartMismatch(f"series not found in marts.sales_features: {', '.join(missing[:5])}")
    if keys.height != matched.height:
        raise MartMismatch(f"the mart has {keys.height} series, the container {matched.height}")
    return matched.select("series_key", "series_id", "source", "product_id", "zone_id")


def check_history(features: pl.DataFrame, ids: pl.DataFrame, container: Container) -> None:
    """Raise unless the mart's `sales` are exactly the container's history: the same months of
    the same series with the same values (integers add up exactly in doubles)."""
    planted = container.history.join(ids, on="series_key").select(
        "series_id", pl.col("month").alias("sales_month"), pl.col("units").cast(pl.Float64)
    )
    mart = features.select("series_id", "sales_month", "sales")
    both = planted.join(mart, on=["series_id", "sales_month"], how="full", coalesce=True)
    wrong = both.filter(pl.col("units").ne_missing(pl.col("sales")))
    if wrong.height:
        first = wrong.row(0, named=True)
        raise MartMismatch(
            f"{wrong.height} series-months differ between the container and the mart, e.g. "
            f"{first['series_id']} {first['sales_month']}: planted {first['units']}, "
            f"mart {first['sales']}"
        )
