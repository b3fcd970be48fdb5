"""Ingest from local folders: the sample container, idempotency, changes, quarantine, the CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl
import pytest
from ingest_helpers import TAMALES_DIR, TAMALES_LINE, TEINVENTO_DIR, minimal_files

from ingest.contract import TABLES
from ingest.errors import IngestError
from ingest.pipeline import run_ingest
from tamales_inc.core.files import LockBusy, exclusive_lock
from tamales_inc.core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def settings_for(home: Path, **env: object) -> Settings:
    return Settings.from_env({"TAMALES_HOME": str(home), **{k: str(v) for k, v in env.items()}})


def snapshot(home: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime_ns) of every landed parquet file."""
    return {
        str(p.relative_to(home)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for sub in ("raw", "quarantine")
        for p in sorted((home / sub).rglob("*.parquet"))
    }


def source_lines(container: Path, version: str, folder: str) -> int:
    files = [p for p in container.rglob("*.csv") if f"/{version}/" in p.as_posix()]
    files = [p for p in files if f"/{folder}/" in p.as_posix()]
    return sum(len(p.read_bytes().splitlines()) for p in files)


def test_sample_lands_every_table_of_both_versions(
    landed_settings: Settings, sample_container: Path
) -> None:
    home = landed_settings.home
    state = json.loads((home / "manifests" / "ingest_state.json").read_text())
    assert sorted(state["tables"]) == [
        f"{source}/{version}/{table}"
        for source, version, table in [
            ("tamales_inc", "20200801", "monthly_sales"),
            ("tamales_inc", "20200901", "monthly_sales"),
            ("teinvento_inc", "20200801", "fact_table"),
            ("teinvento_inc", "20200801", "product_dim"),
            ("teinvento_inc", "20200801", "region_dim"),
            ("teinvento_inc", "20200901", "fact_table"),
            ("teinvento_inc", "20200901", "product_dim"),
            ("teinvento_inc", "20200901", "region_dim"),
        ]
    ]
    con = duckdb.connect()
    for key, record in state["tables"].items():
        source, version, table = key.split("/")
        raw = landed_settings.raw_path(source, version, table)
        folder = "csv" if table == "monthly_sales" else table
        lines = source_lines(sample_container, version, folder)
        assert record["rows_read"] == lines
        assert record["rows_read"] == record["rows_landed"] + record["rows_quarantined"]
        assert record["rows_quarantined"] == 0  # the sample honours the contract
        described = con.sql(f"describe select * from '{raw}'").fetchall()
        expected = {
            pl.Int32: "INTEGER", pl.Int64: "BIGINT", pl.Float64: "DOUBLE", pl.String: "VARCHAR",
            pl.Datetime("us"): "TIMESTAMP",
        }  # fmt: skip
        spec = TABLES[(source, table)]
        assert [(c[0], c[1]) for c in described] == [
            (name, expected[dtype]) for name, dtype in spec.landed_schema.items()
        ]
        count, distinct = con.sql(
            f"select count(*), count(distinct (blob_name, line_number)) from '{raw}'"
        ).fetchone()
        assert count == distinct == record["rows_landed"]
        assert all(
            b["checksum"].startswith("md5:") and len(b["checksum"]) == 36 for b in record["blobs"]
        )
    assert (
        con.sql(
            f"select count(*) from '{home}/raw/tamales_inc/20200801/monthly_sales.parquet' "
            "where product_code = '206050084'"
        ).fetchone()[0]
        > 0
    )
    runs = list((home / "manifests" / "runs").glob("*.json"))
    manifest = json.loads(runs[0].read_text())
    assert manifest["status"] == "succeeded"
    assert all(t["reconciled"] for t in manifest["tables"])
    assert manifest["rows_read"] == manifest["rows_landed"] + manifest["rows_quarantined"]


def test_unchanged_rerun_downloads_and_rewrites_nothing(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801") | minimal_files("20200901"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    first = run_ingest(settings)
    assert len(first.landed) == 8 and first.blobs_downloaded == 12
    before = snapshot(settings.home)
    state_before = (settings.manifests_dir / "ingest_state.json").stat().st_mtime_ns
    second = run_ingest(settings)
    assert second.blobs_downloaded == 0 and second.bytes_downloaded == 0
    assert len(second.unchanged) == 8 and not second.landed
    assert snapshot(settings.home) == before
    assert (settings.manifests_dir / "ingest_state.json").stat().st_mtime_ns == state_before
    assert second.rows_read == first.rows_read == 22
    assert len(list((settings.manifests_dir / "runs").glob("*.json"))) == 2


def test_changed_blob_relands_its_table_exactly_once(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801") | minimal_files("20200901"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    run_ingest(settings)
    before = snapshot(settings.home)
    changed = container / TAMALES_DIR / "20200901/csv/Centro/ventas.csv"
    changed.write_text(f"{TAMALES_LINE}\n" * 5)
    second = run_ingest(settings)
    assert [str(t.key) for t in second.landed] == ["tamales_inc/20200901/monthly_sales"]
    assert second.blobs_downloaded == 2  # both blobs of that table, nothing else
    after = snapshot(settings.home)
    changed_files = {k for k in after if after[k] != before[k]}
    assert changed_files == {
        "raw/tamales_inc/20200901/monthly_sales.parquet",
        "quarantine/tamales_inc/20200901/monthly_sales.parquet",
    }
    landed = pl.read_parquet(settings.raw_path("tamales_inc", "20200901", "monthly_sales"))
    assert landed.height == 6  # 5 + 1, no duplicates of the old 3
    assert landed.select(pl.struct("blob_name", "line_number").n_unique()).item() == 6
    third = run_ingest(settings)
    assert third.blobs_downloaded == 0 and not third.landed


def test_malformed_rows_are_quarantined_and_reconciled(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    files = minimal_files("20200801")
    bad_name = f"{TAMALES_DIR}/20200801/csv/Norte/ventas.csv"
    files[bad_name] = (
        f"{TAMALES_LINE}\n"
        "2019,Jan,Mexico\n"
        "2019,Foo,Mexico,Regular,Dulce,Norte,206050084,Tamal mix,1\n".encode()
        + b"2019,Jan,Mexico,Regular,Dulce,Norte,2060\xff,Tamal mix,1\n"
        + b"2019,Jan,Mexico,Regular,Dulce,Norte,206050084,Tamal mix,12abc\n"
    )
    container = make_container(files)
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    report = run_ingest(settings)
    table = next(t for t in report.tables if str(t.key) == "tamales_inc/20200801/monthly_sales")
    assert (table.rows_read, table.rows_landed, table.rows_quarantined) == (9, 5, 4)
    quarantine = pl.read_parquet(table.quarantine_path)
    assert quarantine.columns == [
        "blob_name", "line_number", "raw_line", "reason", "data_version", "ingested_at",
    ]  # fmt: skip
    assert quarantine.sort("line_number").select("line_number", "reason").rows() == [
        (2, "wrong column count: 3 (expected 9)"),
        (3, "month: not Jan..Dec: 'Foo'"),
        (4, "invalid UTF-8 at byte 41"),
        (5, "sales: not a finite number: '12abc'"),
    ]
    assert set(quarantine["blob_name"]) == {bad_name}
    assert quarantine["raw_line"][1] == "2019,Foo,Mexico,Regular,Dulce,Norte,206050084,Tamal mix,1"
    state = json.loads((settings.manifests_dir / "ingest_state.json").read_text())
    record = state["tables"]["tamales_inc/20200801/monthly_sales"]
    assert (record["rows_read"], record["rows_landed"], record["rows_quarantined"]) == (9, 5, 4)
    blob = next(b for b in record["blobs"] if b["name"] == bad_name)
    assert (blob["rows_read"], blob["rows_landed"], blob["rows_quarantined"]) == (5, 1, 4)


def test_empty_part_files_land_zero_rows(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    files = minimal_files("20200801")
    only_empty = f"{TEINVENTO_DIR}/20200801/region_dim"
    files = {k: v for k, v in files.items() if not k.startswith(only_empty)}
    files[f"{only_empty}/part-00000-x-c000.csv"] = b""
    files[f"{only_empty}/part-00001-x-c000.csv"] = b""
    files[f"{only_empty}/_SUCCESS"] = b""
    container = make_container(files)
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    report = run_ingest(settings)
    region = next(t for t in report.tables if t.key.table == "region_dim")
    assert (region.rows_read, region.blobs) == (0, 2)
    landed = pl.read_parquet(region.raw_path)
    assert landed.height == 0 and landed.columns[:3] == ["id_region", "country", "region"]
    fact = next(t for t in report.tables if t.key.table == "fact_table")
    assert (fact.rows_read, fact.rows_landed, fact.blobs) == (2, 2, 2)  # one part is empty


def test_empty_source_fails_and_replaces_nothing(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801"))
    home = tmp_path / "home"
    run_ingest(settings_for(home, TAMALES_SOURCE_DIR=container))
    before = snapshot(home)
    empty = make_container({"unrelated/readme.txt": "x"}, name="empty")
    with pytest.raises(IngestError, match="no CSV blobs under tamales_inc/ or teinvento_inc/"):
        run_ingest(settings_for(home, TAMALES_SOURCE_DIR=empty))
    assert snapshot(home) == before
    manifests = sorted((home / "manifests" / "runs").glob("*.json"))
    statuses = sorted(json.loads(p.read_text())["status"] for p in manifests)
    assert statuses == ["failed", "succeeded"]


def test_table_gone_from_source_is_kept(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801") | minimal_files("20200901"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    run_ingest(settings)
    for path in (container / TAMALES_DIR / "20200801").rglob("*.csv"):
        path.unlink()
    report = run_ingest(settings)
    assert report.missing == ["tamales_inc/20200801/monthly_sales"]
    assert settings.raw_path("tamales_inc", "20200801", "monthly_sales").is_file()


def test_deleted_output_is_landed_again(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    run_ingest(settings)
    settings.raw_path("teinvento_inc", "20200801", "region_dim").unlink()
    report = run_ingest(settings)
    assert [str(t.key) for t in report.landed] == ["teinvento_inc/20200801/region_dim"]
    assert pl.read_parquet(settings.raw_path("teinvento_inc", "20200801", "region_dim")).height == 2


def test_stale_temp_files_of_a_killed_run_are_swept(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    stale = settings.raw_dir / "tamales_inc" / "20200801" / ".monthly_sales.parquet.tmp-x"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"partial")
    run_ingest(settings)
    assert not stale.exists()
    assert not list(settings.home.rglob("*.tmp-*"))


def test_a_second_concurrent_run_is_refused(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    lock = settings.manifests_dir / ".ingest.lock"
    busy = rf"ingest \(pid {os.getpid()}\) holds {re.escape(str(lock))}; wait for it to finish"
    with exclusive_lock(lock, "ingest"):
        with pytest.raises(LockBusy, match=busy):
            run_ingest(settings)
        result = run_cli({"TAMALES_HOME": str(settings.home), "TAMALES_SOURCE_DIR": str(container)})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("ingest: error: ") and len(result.stderr.splitlines()) == 1
    assert re.search(busy, result.stderr)
    assert not settings.raw_dir.exists()
    assert run_ingest(settings).landed  # the lock is free again


def test_no_source_generates_the_sample_once(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "home")
    first = run_ingest(settings)
    sample = settings.sample_container_dir
    assert sample.is_dir() and first.source == f"folder {sample}"
    assert len(first.landed) == 8 and first.rows_quarantined == 0
    marker = sample.stat().st_ino, sample.stat().st_mtime_ns
    second = run_ingest(settings)
    assert (sample.stat().st_ino, sample.stat().st_mtime_ns) == marker
    assert second.blobs_downloaded == 0 and len(second.unchanged) == 8
    assert not list(settings.home.glob(".sample_container*"))


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    return subprocess.run(
        [sys.executable, "-m", "ingest", *args],
        cwd=REPO_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_prints_one_summary_line_per_table_and_exits_zero(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801"))
    env = {"TAMALES_HOME": str(tmp_path / "home"), "TAMALES_SOURCE_DIR": str(container)}
    result = run_cli(env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "tamales_inc/20200801/monthly_sales: read 4 / landed 4 / quarantined 0 / "
        + lines[0].split(" / ")[-1]
    )
    assert lines[0].endswith("s (landed from 2 blobs)")
    assert len(lines) == 5 and lines[-1].startswith("ingest: 4 tables (4 landed, 0 unchanged)")
    again = run_cli(env, "--quiet")
    assert again.returncode == 0 and "4 unchanged" in again.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TAMALES_SOURCE_DIR": "/nonexistent/container"}, "source folder /nonexistent/container"),
        ({"AZURE_STORAGE_CONNECTION_STRING": "x=y"}, "TAMALES_CONTAINER is not set"),
        ({"TAMALES_BLOB_URL": "not a url"}, "is not a container URL"),
        (
            {"AZURE_STORAGE_CONNECTION_STRING": "garbage", "TAMALES_CONTAINER": "c"},
            "AZURE_STORAGE_CONNECTION_STRING is invalid",
        ),
    ],
)
def test_cli_configuration_errors_are_one_line_and_exit_one(
    tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result = run_cli({"TAMALES_HOME": str(tmp_path / "home"), **env})
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("ingest: error: ") and message in result.stderr


def test_cli_usage_error_exits_two(tmp_path: Path) -> None:
    result = run_cli({"TAMALES_HOME": str(tmp_path / "home")}, "--workers", "zero")
    assert result.returncode == 2


def test_added_part_file_relands_only_its_table(
    tmp_path: Path, make_container: Callable[..., Path]
) -> None:
    container = make_container(minimal_files("20200801"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    run_ingest(settings)
    extra = container / TEINVENTO_DIR / "20200801/fact_table/part-00002-a-c000.csv"
    extra.write_text("2020,Aug,1.5,446676598784,85899345920\n")
    report = run_ingest(settings)
    assert [str(t.key) for t in report.landed] == ["teinvento_inc/20200801/fact_table"]
    assert report.blobs_downloaded == 3
    fact = pl.read_parquet(settings.raw_path("teinvento_inc", "20200801", "fact_table"))
    assert fact.height == 3


def test_a_failed_download_publishes_nothing_for_its_table(
    tmp_path: Path, make_container: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.source import LocalSource

    container = make_container(minimal_files("20200801"))
    settings = settings_for(tmp_path / "home", TAMALES_SOURCE_DIR=container)
    original = LocalSource.download

    def failing(self: LocalSource, blob):  # noqa: ANN001, ANN202
        if "product_dim" in blob.name:
            raise IngestError(f"cannot download {blob.name}: simulated outage")
        return original(self, blob)

    monkeypatch.setattr(LocalSource, "download", failing)
    with pytest.raises(IngestError, match="simulated outage"):
        run_ingest(settings)
    assert settings.raw_path("teinvento_inc", "20200801", "fact_table").is_file()
    assert not settings.raw_path("teinvento_inc", "20200801", "product_dim").exists()
    assert not list(settings.home.rglob(".*.tmp-*"))
    state = json.loads((settings.manifests_dir / "ingest_state.json").read_text())
    assert "teinvento_inc/20200801/product_dim" not in state["tables"]
    run = json.loads(next((settings.manifests_dir / "runs").glob("*.json")).read_text())
    assert run["status"] == "failed" and "simulated outage" in run["error"]
    monkeypatch.setattr(LocalSource, "download", original)
    report = run_ingest(settings)
    assert [t.key.table for t in report.landed] == ["product_dim", "region_dim"]
