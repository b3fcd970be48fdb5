"""The dbt docs' declaration of the `ml` tables follows the one contract in `tables.py`."""

from __future__ import annotations

import yaml

from tamales_inc.forecasting.tables import SCHEMA, TABLES
from tests.conftest import REPO_ROOT

SOURCES = REPO_ROOT / "dbt_project" / "models" / "marts" / "ml" / "_ml__sources.yml"


def test_ml_sources_list_the_declared_tables_and_columns() -> None:
    (source,) = yaml.safe_load(SOURCES.read_text("utf-8"))["sources"]
    assert source["name"] == SCHEMA and source["schema"] == SCHEMA
    declared = {table["name"]: table for table in source["tables"]}
    assert set(declared) == {table.name for table in TABLES}
    for table in TABLES:
        columns = declared[table.name]["columns"]
        assert tuple(c["name"] for c in columns) == table.column_names, table.name
        assert declared[table.name]["description"].strip()
        assert all(str(c.get("description", "")).strip() for c in columns), table.name
