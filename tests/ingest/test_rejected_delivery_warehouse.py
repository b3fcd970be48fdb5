"""End to end: a rejected delivery never reaches the published warehouse."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from deliveries import SCENARIOS, error_pattern

from tamales_inc.core.settings import Settings

pytestmark = pytest.mark.slow
REPO_ROOT = Path(__file__).resolve().parents[2]
JUST = Path(sys.executable).with_name("just")


def run_just(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    clean["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}"
    return subprocess.run(
        [str(JUST), *args],
        cwd=REPO_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _value(value: object) -> object:
    """Floats to 12 significant digits: two dbt builds of the same landing may sum in another
    order and differ in the last bits (the transform's determinism is not this test's subject)."""
    return float(f"{value:.12g}") if isinstance(value, float) else value


def published_tables(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every table of a warehouse file, rows sorted (the build time aside)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute(
            "select schema_name, table_name from duckdb_tables() order by all"
        ).fetchall()
        tables = {}
        for schema, table in names:
            columns = "* exclude (built_at)" if (schema, table) == ("meta", "build_info") else "*"
            query = f'select {columns} from "{schema}"."{table}" order by all'
            rows = con.execute(query).fetchall()
            tables[f"{schema}.{table}"] = [tuple(_value(v) for v in row) for row in rows]
        return tables
    finally:
        con.close()


def test_a_rejected_delivery_leaves_the_published_warehouse_as_it_was(
    warehouse_settings: Settings, sample_container: Path, tmp_path: Path
) -> None:
    home, container = tmp_path / "home", tmp_path / "container"
    shutil.copytree(warehouse_settings.home, home)
    shutil.copytree(sample_container, container)
    published = Settings.from_env({"TAMALES_HOME": str(home)}).warehouse_path
    before_bytes = hashlib.sha256(published.read_bytes()).hexdigest()
    before = published_tables(published)
    (build_info,) = before["meta.build_info"]  # one build, of one data version
    assert build_info[0] == "20200901"
    zero_byte = next(s for s in SCENARIOS if s.name == "zero-byte-erp")
    zero_byte.edit(container)  # the ERP side of 20200901 re-delivered as empty files
    next(s for s in SCENARIOS if s.name == "parquet-parts").edit(container)  # and a lost table
    env = {"TAMALES_HOME": str(home), "TAMALES_SOURCE_DIR": str(container)}

    build = run_just(env, "build")  # ingest, then transform and train: just stops at the ingest
    assert build.returncode == 1
    assert error_pattern(zero_byte, container).search(build.stderr), build.stderr
    assert "transform:" not in build.stdout and "train:" not in build.stdout
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before_bytes

    transform = run_just(env, "transform")  # a transform run anyway sees the same landing
    assert transform.returncode == 0, transform.stderr
    assert "transform: up to date (data version 20200901, " in transform.stdout
    assert published_tables(published) == before
