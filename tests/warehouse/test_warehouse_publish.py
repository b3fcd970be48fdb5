"""Atomic publish: a failing dbt build or block leaves the published file alone; readers survive."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.export import export_processed
from tamales_inc.warehouse.publish import (
    publish_lock,
    require_published,
    staged_builds,
    staged_path,
    staged_warehouse,
)
from tamales_inc.warehouse.transform import (
    TransformError,
    carry_over_schemas,
    main,
    run_transform,
)
from tests.conftest import query_warehouse

REPO_ROOT = Path(__file__).resolve().parents[2]


def _settings(home: Path) -> Settings:
    return Settings.from_env({"TAMALES_HOME": str(home)})


def _fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_ino, stat.st_mtime_ns


def _copy_home(source: Settings, tmp_path: Path) -> Settings:
    """A private copy of a home's landed parquet and published warehouse."""
    home = tmp_path / "home"
    shutil.copytree(source.raw_dir, home / "raw")
    (home / "warehouse").mkdir(parents=True)
    shutil.copy2(source.warehouse_path, home / "warehouse" / "tamales.duckdb")
    return _settings(home)


def test_failing_dbt_test_leaves_published_warehouse_untouched(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = _copy_home(warehouse_settings, tmp_path)
    # corrupt one landed value of the older version, then build that version: the staging
    # accepted_values test on calorie_category must fail the build
    landed = settings.raw_path("tamales_inc", "20200801", "monthly_sales")
    frame = pl.read_parquet(landed)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 7)
        .then(pl.lit("Ultra-Calorie"))
        .otherwise(pl.col("calorie_category"))
        .alias("calorie_category")
    )
    frame.write_parquet(landed)
    before = _fingerprint(settings.warehouse_path)
    reader = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        with pytest.raises(TransformError) as failure:
            run_transform(settings, data_version="20200801")
        message = str(failure.value)
        assert "published warehouse left untouched" in message
        assert "accepted_values_stg_tamales_inc__monthly_sales_calorie_category" in message
        assert "\n" not in message
        assert reader.sql("select data_version from meta.build_info").fetchone() == ("20200901",)
    finally:
        reader.close()
    assert _fingerprint(settings.warehouse_path) == before
    assert staged_builds(settings) == []
    assert not settings.processed_dir.exists()


def test_reader_keeps_working_across_a_publish(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = _copy_home(warehouse_settings, tmp_path)
    reader = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        (lines_before,) = reader.sql("select count(*) from marts.fct_sales").fetchone()
        old_inode = settings.warehouse_path.stat().st_ino
        with staged_warehouse(settings, from_current=True) as staged:
            writer = duckdb.connect(str(staged))
            writer.execute("create schema if not exists ml")
            writer.execute("create table ml.publish_probe as select 42 as answer")
            writer.execute("delete from marts.fct_sales where source = 'teinvento_inc'")
            writer.close()
        assert settings.warehouse_path.stat().st_ino != old_inode
        # the old reader still sees its snapshot, complete
        assert reader.sql("select count(*) from marts.fct_sales").fetchone() == (lines_before,)
        probe = "select table_name from duckdb_tables() where table_name = 'publish_probe'"
        assert reader.sql(probe).fetchall() == []
    finally:
        reader.close()
    # a new reader (in a fresh process, as the API would be) sees the published change
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1], read_only=True); "
            "print(con.sql('select answer from ml.publish_probe').fetchone()[0], "
            "con.sql('select count(distinct source) from marts.fct_sales').fetchone()[0])",
            str(settings.warehouse_path),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.split() == ["42", "1"]
    assert staged_builds(settings) == []


def test_failing_block_removes_the_staged_file(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = _copy_home(warehouse_settings, tmp_path)
    before = _fingerprint(settings.warehouse_path)
    with pytest.raises(RuntimeError, match="training failed"):
        with staged_warehouse(settings, from_current=True) as staged:
            writer = duckdb.connect(str(staged))
            writer.execute("drop table marts.fct_sales")
            writer.close()
            assert staged.is_file() and staged == staged_path(settings)
            assert staged.name == settings.warehouse_path.name  # same DuckDB catalog name
            raise RuntimeError("training failed")
    assert _fingerprint(settings.warehouse_path) == before
    assert staged_builds(settings) == []


def test_from_current_and_exports_need_a_published_warehouse(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "empty")
    expected = f"no published warehouse at {settings.warehouse_path}: run `just transform` first"
    with pytest.raises(FileNotFoundError) as missing:
        require_published(settings)
    assert str(missing.value) == expected
    with pytest.raises(FileNotFoundError, match="no published warehouse"):
        with staged_warehouse(settings, from_current=True):
            pass
    assert staged_builds(settings) == []
    with pytest.raises(FileNotFoundError) as missing:
        export_processed(settings)
    assert str(missing.value) == expected
    assert not settings.processed_dir.exists()


def test_leftover_build_is_swept_and_publishes_take_turns(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    leftover = staged_path(settings)
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half written by a killed run")
    finished: list[str] = []

    def publish_in_thread() -> None:
        with staged_warehouse(settings, from_current=False) as staged:
            assert not staged.exists()  # the leftover was swept
            con = duckdb.connect(str(staged))
            con.execute("create table t as select 1 as i")
            con.close()
        finished.append("published")

    with publish_lock(settings):
        worker = threading.Thread(target=publish_in_thread)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive() and finished == []  # waits for the lock
        assert leftover.exists()
    worker.join(timeout=30)
    assert finished == ["published"]
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    assert con.sql("select i from t").fetchall() == [(1,)]
    con.close()
    assert staged_builds(settings) == []


def test_transform_carries_published_ml_tables_over(tmp_path: Path) -> None:
    published = tmp_path / "published.duckdb"
    con = duckdb.connect(str(published))
    con.execute("create schema ml")
    con.execute("create table ml.model_runs as select 'v1' as model_version, true as is_champion")
    con.execute("create schema marts")
    con.execute("create table marts.dim_zone as select 'old' as zone_id")
    con.execute("create table marts.dropped_mart as select 1 as i")
    con.close()
    built = duckdb.connect(str(tmp_path / "built.duckdb"))
    try:
        built.execute("create schema marts")
        built.execute("create table marts.dim_zone as select 'new' as zone_id")
        assert carry_over_schemas(built, published) == ["ml.model_runs"]
        assert built.sql("select * from ml.model_runs").fetchall() == [("v1", True)]
        # a schema the build has is the build's own: nothing of it is carried over
        assert built.sql("select * from marts.dim_zone").fetchall() == [("new",)]
        tables = "select table_name from duckdb_tables() where schema_name = 'marts'"
        assert built.sql(tables).fetchall() == [("dim_zone",)]
        assert carry_over_schemas(built, tmp_path / "missing.duckdb") == []
    finally:
        built.close()


def test_cli_without_landed_data_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TAMALES_HOME", str(tmp_path / "nothing"))
    assert main([]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("transform: error: no landed parquet for tamales_inc/monthly_sales")
    assert "run `just ingest` first" in err and "\n" not in err
    assert main(["--data-version", "2020-08"]) == 1
    # the version check runs after the landed check, so it reports the missing data first
    assert "no landed parquet" in capsys.readouterr().err


def test_data_version_must_be_a_landed_real_date(landed_settings: Settings, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "home")
    shutil.copytree(landed_settings.raw_dir, settings.raw_dir)
    with pytest.raises(TransformError, match="'20201341' is not a yyyymmdd date"):
        run_transform(settings, data_version="20201341")
    with pytest.raises(TransformError, match="data version 20201001 is not landed"):
        run_transform(settings, data_version="20201001")
    assert not settings.warehouse_dir.exists()


def test_rebuild_keeps_the_training_outputs_and_reads_dbt_settings(
    trained_settings: Settings, tmp_path: Path
) -> None:
    home = _copy_home(trained_settings, tmp_path).home
    settings = Settings.from_env({"TAMALES_HOME": str(home), "TAMALES_DBT_THREADS": "1"})
    ml_tables = "select table_name from duckdb_tables() where schema_name = 'ml' order by 1"
    tables = query_warehouse(settings, ml_tables)["table_name"].to_list()
    assert {"model_runs", "forecasts", "backtest_metrics"} <= set(tables)
    before = {table: query_warehouse(settings, f"select * from ml.{table}") for table in tables}
    run_transform(settings, export=False)
    assert query_warehouse(settings, ml_tables)["table_name"].to_list() == tables
    for table, frame in before.items():
        assert query_warehouse(settings, f"select * from ml.{table}").equals(frame), table
    # profiles.yml takes its threads from the settings (dbt logs the concurrency it runs with)
    log = (settings.dbt_dir / "logs" / "dbt.log").read_text(encoding="utf-8")
    assert "Concurrency: 1 threads" in log and "Concurrency: 2 threads" not in log
