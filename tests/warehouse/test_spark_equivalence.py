"""The Spark engine builds the same warehouse as DuckDB from the same landed parquet (scale 1).

One Spark build (one session, one JVM) for the module: `run_transform` with the spark engine on a
copy of the landed parquet the DuckDB warehouse (`warehouse_settings`) was built from. Every
relation of the staging, intermediate and mart schemas is compared row for row, sorted by all its
columns; floating-point values agree within FLOAT_TOLERANCE (summation order differs between the
engines, and between runs of either).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.spark import BUILT_SCHEMAS, spark_dbt_target_dir, spark_dir
from tests.conftest import query_warehouse, settings_for

# |spark - duckdb| <= FLOAT_TOLERANCE * max(|duckdb value|, largest |value| of that column / 1e3):
# relative to the value, with a floor for values that cancel to (nearly) zero, e.g. the standard
# deviation of a constant window, 0.0 on one engine and 1e-13 on the other.
FLOAT_TOLERANCE = 1e-9
FLOAT_TYPES = {"DOUBLE", "FLOAT"}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None or shutil.which("java") is None,
        reason="needs the spark dependency group and Java 17 (`uv run just test` installs them)",
    ),
]


@pytest.fixture(scope="module")
def spark_settings(landed_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home with the same landed parquet, transformed and published by the spark engine."""
    from tamales_inc.warehouse.transform import run_transform

    home = tmp_path_factory.mktemp("home_spark")
    shutil.copytree(landed_settings.raw_dir, home / "raw")
    settings = settings_for(home, TAMALES_ENGINE="spark")
    run_transform(settings)
    return settings


def _relations(settings: Settings) -> pl.DataFrame:
    schemas = ", ".join(f"'{schema}'" for schema in BUILT_SCHEMAS)
    return query_warehouse(
        settings,
        "select table_schema, table_name, column_name, data_type, ordinal_position "
        f"from information_schema.columns where table_schema in ({schemas}) "
        "order by table_schema, table_name, ordinal_position",
    )


def _sorted_rows(settings: Settings, relation: str, float_columns: list[str]) -> pl.DataFrame:
    frame = query_warehouse(settings, f"select * from {relation}")
    order = [c for c in frame.columns if c not in float_columns] + float_columns
    return frame.sort(order, nulls_last=True)


def _float_mismatches(column: str, built: pl.Series, reference: pl.Series) -> list[str]:
    if not built.is_null().equals(reference.is_null()):
        return [f"{column}: NULLs differ"]
    scale = reference.abs().max() or 0.0
    allowed = FLOAT_TOLERANCE * pl.max_horizontal(reference.abs(), pl.lit(scale / 1e3))
    diff = (built - reference).abs()
    frame = pl.DataFrame({"diff": diff, "reference": reference, "built": built})
    bad = frame.filter(pl.col("diff") > allowed)
    if bad.height == 0:
        return []
    worst = bad.sort("diff", descending=True).row(0, named=True)
    return [f"{column}: {bad.height} values differ, e.g. {worst['built']} vs {worst['reference']}"]


def test_spark_builds_every_relation_with_the_duckdb_build_columns_and_types(
    spark_settings: Settings, warehouse_settings: Settings
) -> None:
    built = _relations(spark_settings)
    reference = _relations(warehouse_settings)
    assert set(reference["table_schema"]) == set(BUILT_SCHEMAS)
    assert reference.height > 0
    assert built.equals(reference)


def test_spark_relations_equal_the_duckdb_ones_row_for_row(
    spark_settings: Settings, warehouse_settings: Settings
) -> None:
    columns = _relations(warehouse_settings)
    mismatches: list[str] = []
    compared = 0
    for (schema, table), described in columns.group_by(
        ["table_schema", "table_name"], maintain_order=True
    ):
        relation = f"{schema}.{table}"
        floats = described.filter(pl.col("data_type").is_in(FLOAT_TYPES))["column_name"].to_list()
        built = _sorted_rows(spark_settings, relation, floats)
        reference = _sorted_rows(warehouse_settings, relation, floats)
        assert reference.height > 0, relation
        if built.height != reference.height:
            mismatches.append(f"{relation}: {built.height} rows, DuckDB {reference.height}")
            continue
        for column in reference.columns:
            if column in floats:
                found = _float_mismatches(column, built[column], reference[column])
                mismatches.extend(f"{relation}.{line}" for line in found)
            elif not built[column].equals(reference[column]):
                mismatches.append(f"{relation}.{column}: values differ")
        compared += 1
    assert mismatches == []
    assert compared == columns.select("table_schema", "table_name").unique().height


def test_every_dbt_data_test_and_unit_test_passed_on_spark(spark_settings: Settings) -> None:
    target = spark_dbt_target_dir(spark_settings)
    manifest = json.loads((target / "manifest.json").read_text())
    results = json.loads((target / "run_results.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "spark"
    expected = {
        unique_id: node["resource_type"]
        for unique_id, node in {**manifest["nodes"], **manifest["unit_tests"]}.items()
        if node["resource_type"] in {"model", "test", "unit_test"}
        and node["package_name"] == "tamales"
        and node["config"].get("materialized") != "ephemeral"  # compiled into its children
    }
    statuses = {result["unique_id"]: result["status"] for result in results["results"]}
    assert {unique_id: statuses.get(unique_id) for unique_id in expected} == {
        unique_id: "success" if kind == "model" else "pass" for unique_id, kind in expected.items()
    }
    kinds = list(expected.values())
    assert kinds.count("unit_test") >= 7 and kinds.count("test") >= 80
    singular = [u for u in expected if u.startswith("test.tamales.assert_")]
    assert len(singular) == 2


def test_build_info_names_the_engine(
    spark_settings: Settings, warehouse_settings: Settings
) -> None:
    spark_info = query_warehouse(spark_settings, "select * from meta.build_info")
    duckdb_info = query_warehouse(warehouse_settings, "select * from meta.build_info")
    assert spark_info["engine"].to_list() == ["spark"]
    assert duckdb_info["engine"].to_list() == ["duckdb"]
    assert spark_info["data_version"].to_list() == duckdb_info["data_version"].to_list()
    assert spark_info["dbt_version"].to_list() == duckdb_info["dbt_version"].to_list()


def test_spark_build_publishes_exports_and_leaves_its_warehouse_in_home(
    spark_settings: Settings, warehouse_settings: Settings
) -> None:
    def exported(settings: Settings) -> list[Path]:
        root = settings.processed_dir
        return sorted(path.relative_to(root) for path in root.rglob("*.parquet"))

    assert exported(spark_settings) == exported(warehouse_settings) != []
    home = spark_dir(spark_settings)
    assert (home / "metastore_db").is_dir()
    assert {p.name for p in (home / "warehouse").iterdir()} >= {
        f"{schema}.db" for schema in ("intermediate", "marts")
    }
    assert not (home / "unload").exists()


def test_training_runs_on_the_spark_built_warehouse(spark_settings: Settings) -> None:
    from tamales_inc.forecasting.train import run_training

    run_training(spark_settings)
    forecasts = query_warehouse(
        spark_settings,
        "select count(*) as n, count(distinct (source, product_id, zone_id)) as series "
        "from ml.forecasts",
    )
    assert forecasts["n"][0] > 0 and forecasts["series"][0] > 0
