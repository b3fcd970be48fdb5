"""The transform's engine switch: settings, CLI option, and no Spark on the default path."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.settings import ENGINES, Settings
from tamales_inc.warehouse.spark import SparkUnavailable, check_spark_available, duckdb_column
from tests.conftest import REPO_ROOT


def test_engine_comes_from_tamales_engine() -> None:
    assert Settings.from_env({}).engine == "duckdb"
    assert Settings.from_env({"TAMALES_ENGINE": " Spark "}).engine == "spark"
    assert ENGINES == ("duckdb", "spark")
    with pytest.raises(ValueError, match="TAMALES_ENGINE 'flink' is not one of duckdb, spark"):
        Settings.from_env({"TAMALES_ENGINE": "flink"})


def test_default_transform_imports_no_spark() -> None:
    code = (
        "import sys\n"
        "import tamales_inc.warehouse.transform\n"
        "import tamales_inc.warehouse.engine\n"
        "import tamales_inc.warehouse.spark\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')\n"
        "    or m.startswith('dbt.adapters.spark'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_transform_cli_refuses_an_unknown_engine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tamales_inc.warehouse.transform", "--engine", "flink"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert "--engine: invalid choice: 'flink'" in result.stderr


def test_spark_engine_without_java_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(SparkUnavailable, match="Java 17"):
        check_spark_available()


def test_unloaded_spark_columns_get_the_duckdb_build_types() -> None:
    assert duckdb_column("sales", "double") == 'cast("sales" as DOUBLE) as "sales"'
    assert duckdb_column("year", "int") == 'cast("year" as INTEGER) as "year"'
    assert duckdb_column("id", "string") == 'cast("id" as VARCHAR) as "id"'
    assert duckdb_column("at", "timestamp") == (
        'cast("at" at time zone \'UTC\' as TIMESTAMP) as "at"'
    )
    assert duckdb_column("amount", "decimal(10,2)") == (
        'cast("amount" as DECIMAL(10,2)) as "amount"'
    )
    with pytest.raises(TamalesError, match="column tags has Spark type array<string>"):
        duckdb_column("tags", "array<string>")
