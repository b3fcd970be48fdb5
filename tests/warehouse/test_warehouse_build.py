"""The published warehouse on the scale-1 sample: row counts, reconciliation, catalogs, exports."""

from __future__ import annotations

import re

import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.export import STAGING_EXPORTS
from tests.conftest import query_warehouse

ZONES = {
    "norte": "Norte",
    "sur": "Sur",
    "centro": "Centro",
    "e-privados": "E. Privados",
    "no-definido": "No definido",
}


def _landed(settings: Settings, source: str, table: str) -> pl.DataFrame:
    return pl.read_parquet(settings.raw_dir / source / "*" / f"{table}.parquet")


def _latest(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(pl.col("data_version") == frame["data_version"].max())


def test_fct_sales_reconciles_with_the_latest_landed_version(warehouse_settings: Settings) -> None:
    built = query_warehouse(
        warehouse_settings,
        "select source, data_version, count(*) as n_lines, sum(sales) as sales, "
        "count(*) filter (where is_noise) as n_noise from marts.fct_sales group by all",
    )
    assert sorted(built["source"].to_list()) == ["tamales_inc", "teinvento_inc"]
    for source, table in [("tamales_inc", "monthly_sales"), ("teinvento_inc", "fact_table")]:
        landed = _latest(_landed(warehouse_settings, source, table))
        row = built.filter(pl.col("source") == source).row(0, named=True)
        assert row["data_version"] == landed["data_version"][0]
        assert row["n_lines"] == landed.height
        noise = landed.filter((pl.col("sales") != 0) & (pl.col("sales").abs() < 1e-6))
        assert row["n_noise"] == noise.height
        assert row["sales"] == pytest.approx(landed["sales"].sum(), rel=1e-9, abs=1e-6)
    # the sample has every quirk: noise lines, returns and empty market amounts
    tamales = built.filter(pl.col("source") == "tamales_inc")
    assert tamales["n_noise"][0] > 0


def test_every_sales_line_is_traceable_to_its_blob_and_line(warehouse_settings: Settings) -> None:
    lines = query_warehouse(
        warehouse_settings,
        "select source, blob_name, line_number, sales_line_id, sales, is_noise, is_return "
        "from marts.fct_sales",
    )
    landed = pl.concat(
        [
            _latest(_landed(warehouse_settings, "tamales_inc", "monthly_sales")).select(
                "blob_name", "line_number", raw_sales="sales"
            ),
            _latest(_landed(warehouse_settings, "teinvento_inc", "fact_table")).select(
                "blob_name", "line_number", raw_sales="sales"
            ),
        ]
    )
    joined = lines.join(landed, on=["blob_name", "line_number"], how="full", coalesce=True)
    assert joined.height == lines.height == landed.height
    assert joined["sales_line_id"].null_count() == 0
    assert (
        joined["sales_line_id"] == joined["blob_name"] + ":" + joined["line_number"].cast(str)
    ).all()
    noise = joined.filter(pl.col("is_noise"))
    assert (noise["sales"] == 0).all() and (noise["raw_sales"].abs() < 1e-6).all()
    returns = joined.filter(pl.col("is_return"))
    assert returns.height > 0
    assert (returns["sales"] == returns["raw_sales"]).all() and (returns["sales"] < 0).all()
    missing = joined.filter(pl.col("raw_sales").is_null())
    assert missing.height > 0 and missing["sales"].null_count() == missing.height


def test_dim_zone_holds_the_five_zones_with_both_sources_keys(warehouse_settings: Settings) -> None:
    zones = query_warehouse(warehouse_settings, "select * from marts.dim_zone order by zone_id")
    assert dict(zip(zones["zone_id"], zones["zone_name"], strict=True)) == ZONES
    regions = _latest(_landed(warehouse_settings, "teinvento_inc", "region_dim"))
    unnamed = regions.filter(
        pl.col("region").is_null() | (pl.col("region").str.strip_chars() == "")
    )
    no_definido = zones.filter(pl.col("zone_id") == "no-definido").row(0, named=True)
    assert no_definido["teinvento_id_region"] == unnamed["id_region"][0]
    assert no_definido["tamales_inc_zone"] is None
    e_privados = zones.filter(pl.col("zone_id") == "e-privados").row(0, named=True)
    assert e_privados["tamales_inc_zone"] == "E. Privados"
    assert zones["teinvento_id_region"].null_count() == 0


def test_every_tamales_inc_code_maps_to_the_tamales_inc_feed_product(
    warehouse_settings: Settings,
) -> None:
    erp = _latest(_landed(warehouse_settings, "tamales_inc", "monthly_sales"))
    feed = _latest(_landed(warehouse_settings, "teinvento_inc", "product_dim"))
    products = query_warehouse(warehouse_settings, "select * from marts.dim_product")
    codes = (
        erp.with_columns(
            pl.col("calorie_category").replace({"Low-Calorie": "Light"}),
            name=pl.col("product_name").str.strip_chars()
            + " "
            + pl.col("flavor").str.strip_chars(),
        )
        .group_by("product_code", "name", "calorie_category")
        .len()
        .sort("len", descending=True)
        .unique("product_code", keep="first")
    )
    assert codes.height == erp["product_code"].n_unique() == 5
    own_feed = feed.filter(pl.col("producer") == "Tamales Inc")
    for code in codes.iter_rows(named=True):
        expected = own_feed.filter(
            (pl.col("product").str.strip_chars() == code["name"])
            & (pl.col("calorie_category") == code["calorie_category"])
        )
        assert expected.height == 1, code
        mapped = products.filter(pl.col("tamales_inc_product_code") == code["product_code"])
        assert mapped.height == 1, code
        row = mapped.row(0, named=True)
        assert row["teinvento_id_product"] == expected["id_product"][0]
        assert row["producer"] == "Tamales Inc" and row["is_own_brand"]
        slug = re.sub(r"[^a-z0-9]+", "-", f"{code['name']} {code['calorie_category']}".lower())
        assert row["product_id"] == slug.strip("-")


def test_dim_product_keeps_the_unnamed_feed_product_as_unknown(
    warehouse_settings: Settings,
) -> None:
    feed = _latest(_landed(warehouse_settings, "teinvento_inc", "product_dim"))
    products = query_warehouse(warehouse_settings, "select * from marts.dim_product")
    assert products.height == feed.height  # every feed product once; ERP codes join their product
    unnamed = feed.filter(pl.col("product").is_null())
    assert unnamed.height == 1
    unknown = products.filter(pl.col("is_unknown"))
    assert unknown["product_id"].to_list() == [f"unknown-{unnamed['id_product'][0]}"]
    assert set(products["product_id"]) >= {"tamal-mix-dulce-regular", "tamal-mix-mole-light"}
    assert (
        products.filter(pl.col("is_own_brand")).height
        == feed.filter(pl.col("producer") == "Tamales Inc").height
    )


def test_point_of_sale_grain_is_source_and_zone(warehouse_settings: Settings) -> None:
    points = query_warehouse(warehouse_settings, "select * from marts.dim_point_of_sale")
    assert (points["point_of_sale_id"] == points["source"] + ":" + points["zone_id"]).all()
    lines = query_warehouse(
        warehouse_settings, "select distinct source, zone_id, point_of_sale_id from marts.fct_sales"
    )
    assert lines.height == points.height
    erp_points = points.filter(pl.col("source") == "tamales_inc")
    assert set(erp_points["zone_id"]) == {"norte", "sur", "centro", "e-privados"}


def test_monthly_fact_is_zero_filled_inside_each_span(warehouse_settings: Settings) -> None:
    monthly = query_warehouse(warehouse_settings, "select * from marts.fct_sales_monthly")
    spans = monthly.group_by("source", "product_id", "zone_id").agg(
        pl.len().alias("n"),
        pl.col("sales_month").min().alias("first"),
        pl.col("sales_month").max().alias("last"),
    )
    months = (spans["last"].dt.year() - spans["first"].dt.year()) * 12 + (
        spans["last"].dt.month() - spans["first"].dt.month()
    )
    assert (spans["n"] == months + 1).all()
    filled = monthly.filter(pl.col("is_zero_filled"))
    assert (filled["sales"] == 0).all() and (filled["n_sales_lines"] == 0).all()
    totals = query_warehouse(
        warehouse_settings,
        "select source, count(*) as n_lines, sum(sales) as sales from marts.fct_sales group by all",
    )
    for row in totals.iter_rows(named=True):
        per_source = monthly.filter(pl.col("source") == row["source"])
        assert per_source["n_sales_lines"].sum() == row["n_lines"]
        assert per_source["sales"].sum() == pytest.approx(row["sales"], rel=1e-9)


def test_build_info_and_schemas(warehouse_settings: Settings) -> None:
    info = query_warehouse(warehouse_settings, "select * from meta.build_info")
    assert info.height == 1
    versions = query_warehouse(
        warehouse_settings, "select distinct data_version from marts.fct_sales"
    )
    assert info["data_version"][0] == versions["data_version"][0] == "20200901"
    from dbt.version import __version__ as dbt_version

    assert info["dbt_version"][0] == dbt_version
    tables = query_warehouse(
        warehouse_settings,
        "select table_schema, table_name, table_type from information_schema.tables",
    )
    staging = tables.filter(pl.col("table_schema") == "staging")
    assert set(staging["table_name"]) == set(STAGING_EXPORTS)
    assert set(staging["table_type"]) == {"VIEW"}
    marts = tables.filter(pl.col("table_schema") == "marts")
    assert set(marts["table_name"]) == {
        "dim_product",
        "dim_zone",
        "dim_point_of_sale",
        "dim_month",
        "fct_sales",
        "fct_sales_monthly",
        "sales_features",
    }


def test_processed_exports_match_the_warehouse(warehouse_settings: Settings) -> None:
    settings = warehouse_settings
    for model, (source, table) in STAGING_EXPORTS.items():
        path = settings.processed_path(source, "20200901", table)
        assert path.is_file(), path
        staged = query_warehouse(settings, f"select count(*) as n from staging.{model}")["n"][0]
        assert pl.read_parquet(path).height == staged
    fct = pl.read_parquet(settings.processed_path("warehouse", "20200901", "fct_sales"))
    counted = query_warehouse(settings, "select count(*) as n from marts.fct_sales")
    assert fct.height == counted["n"][0]
    features = pl.read_parquet(settings.processed_path("warehouse", "20200901", "sales_features"))
    assert "target_sales_next_month" in features.columns
    leftovers = [p for p in settings.processed_dir.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
