"""Ingest from a real Azure Blob Storage emulator (Azurite): auth, listing, reruns, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import polars as pl
import pytest
from ingest_helpers import (
    TAMALES_DIR,
    TAMALES_LINE,
    TEINVENTO_DIR,
    container_sas_url,
    minimal_files,
    put_blob,
    upload_folder,
    write_container,
)

from ingest import source as source_module
from ingest.errors import IngestError
from ingest.pipeline import run_ingest
from ingest.source import AzureSource
from tamales_inc.core.settings import Settings

pytestmark = pytest.mark.azurite
REPO_ROOT = Path(__file__).resolve().parents[2]

# A run that sleeps after parsing its N-th blob (argv[1]): the ingest as `python -m ingest` runs
# it, with the landing's parse step wrapped so that a test can kill the run mid-way.
PAUSING_INGEST = """
import itertools, sys, time
import ingest.landing
from ingest.__main__ import main

pause_after, blobs_parsed = int(sys.argv[1]), itertools.count(1)

class PausingParser(ingest.landing.BlobParser):
    def batches(self):
        yield from super().batches()
        if next(blobs_parsed) == pause_after:
            print(f"pausing after {pause_after} blobs", file=sys.stderr, flush=True)
            time.sleep(3600)

ingest.landing.BlobParser = PausingParser
sys.exit(main([]))
"""


def conn_settings(home: Path, connection_string: str, container: str) -> Settings:
    return Settings.from_env(
        {
            "TAMALES_HOME": str(home),
            "AZURE_STORAGE_CONNECTION_STRING": connection_string,
            "TAMALES_CONTAINER": container,
        }
    )


def sas_settings(home: Path, url: str) -> Settings:
    return Settings.from_env({"TAMALES_HOME": str(home), "TAMALES_BLOB_URL": url})


def snapshot(home: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(home)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for sub in ("raw", "quarantine")
        for p in sorted((home / sub).rglob("*.parquet"))
    }


def landed_rows(home: Path) -> dict[str, pl.DataFrame]:
    """Every landed table without `ingested_at` (which differs between runs), sorted."""
    return {
        str(p.relative_to(home)): pl.read_parquet(p)
        .drop("ingested_at")
        .sort("blob_name", "line_number")
        for p in sorted((home / "raw").rglob("*.parquet"))
    }


def assert_same_landed(left: Path, right: Path) -> None:
    """Both homes hold the same landed tables with the same rows (ingested_at aside)."""
    a, b = landed_rows(left), landed_rows(right)
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].equals(b[key]), key


def run_cli(env: dict[str, str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    return subprocess.run(
        [sys.executable, "-m", "ingest"],
        cwd=REPO_ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def sample_blobs(azurite: str, sample_container: Path) -> str:
    """The scale-1 sample uploaded once to its own container (tests must not modify it)."""
    name = "sample-scale-1"
    upload_folder(azurite, name, sample_container)
    return name


def test_connection_string_ingest_matches_the_local_folder_ingest(
    azurite: str, sample_blobs: str, landed_settings: Settings, tmp_path: Path
) -> None:
    report = run_ingest(conn_settings(tmp_path / "home", azurite, sample_blobs))
    assert len(report.landed) == 8 and report.rows_quarantined == 0
    assert report.source.endswith(f"/devstoreaccount1/{sample_blobs}")
    assert "AccountKey" not in report.source
    assert_same_landed(tmp_path / "home", landed_settings.home)
    state = json.loads((tmp_path / "home/manifests/ingest_state.json").read_text())
    blobs = [b for t in state["tables"].values() for b in t["blobs"]]
    assert all(b["checksum_source"] == "service" for b in blobs if b["size"] > 0)
    assert all(b["etag"] and b["checksum"].startswith("md5:") for b in blobs)


def test_sas_url_ingest_and_the_token_never_leaks(
    azurite: str, sample_blobs: str, tmp_path: Path
) -> None:
    url = container_sas_url(azurite, sample_blobs)
    query = urlsplit(url).query
    raw_sig = next(p for p in query.split("&") if p.startswith("sig="))[len("sig=") :]
    sig = parse_qs(query)["sig"][0]  # decoded form
    home = tmp_path / "home"
    ok = run_cli({"TAMALES_HOME": str(home), "TAMALES_BLOB_URL": url})
    assert ok.returncode == 0, ok.stderr
    assert "8 tables (8 landed, 0 unchanged)" in ok.stdout
    bad_sig_url = url.replace(raw_sig, "AAAA" + raw_sig[4:])
    denied = run_cli({"TAMALES_HOME": str(tmp_path / "other"), "TAMALES_BLOB_URL": bad_sig_url})
    assert denied.returncode == 1
    assert "access denied (HTTP 403" in denied.stderr
    outputs = [ok.stdout, ok.stderr, denied.stdout, denied.stderr]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.suffix == ".json" for p in files) and any(p.suffix == ".parquet" for p in files)
    outputs += [p.read_bytes().decode("latin-1") for p in files]
    for secret in (sig, raw_sig, raw_sig[4:], query):
        assert not any(secret in text for text in outputs)


def test_expired_sas_fails_fast_with_one_line(
    azurite: str, sample_blobs: str, tmp_path: Path
) -> None:
    expired = container_sas_url(
        azurite, sample_blobs, expiry=datetime.now(UTC) - timedelta(hours=1)
    )
    started = time.monotonic()
    result = run_cli({"TAMALES_HOME": str(tmp_path / "home"), "TAMALES_BLOB_URL": expired})
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "SAS token" in result.stderr and "expired at" in result.stderr
    assert "sig=" not in result.stderr
    assert time.monotonic() - started < 60  # a safety net, not a speed assertion
    assert not (tmp_path / "home" / "raw").exists()


def test_azurite_itself_rejects_an_expired_sas(azurite: str, sample_blobs: str) -> None:
    """Bypass the local expiry check: the service's 403 becomes one clear line too."""
    from azure.storage.blob import ContainerClient

    expired = container_sas_url(
        azurite, sample_blobs, expiry=datetime.now(UTC) - timedelta(hours=1)
    )
    source = AzureSource(ContainerClient.from_container_url(expired), "azurite/sample")
    with pytest.raises(IngestError, match=r"access denied \(HTTP 403") as caught:
        list(source.list_blobs("tamales_inc/"))
    assert "sig=" not in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda url: url.replace("sig=", "sig=x"), r"access denied \(HTTP 403"),
        (lambda url: url.replace("sp=rl", "sp=r"), r"access denied \(HTTP 403"),
    ],
    ids=["bad-signature", "no-list-permission"],
)
def test_invalid_sas_fails_with_one_clear_line(
    azurite: str,
    sample_blobs: str,
    tmp_path: Path,
    mutate,
    match: str,  # noqa: ANN001
) -> None:
    url = mutate(container_sas_url(azurite, sample_blobs))
    with pytest.raises(IngestError, match=match) as caught:
        run_ingest(sas_settings(tmp_path / "home", url))
    message = str(caught.value)
    assert "\n" not in message and "sig=" not in message
    assert "TAMALES_BLOB_URL" in message


def test_missing_container_is_reported(azurite: str, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="not found"):
        run_ingest(conn_settings(tmp_path / "home", azurite, "no-such-container"))


def test_listing_follows_every_page_and_only_the_source_prefixes(
    azurite: str, container_name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = minimal_files("20200801") | minimal_files("20200901")
    files["other_source/ventas/mx/20200801/x.csv"] = TAMALES_LINE + "\n"
    upload_folder(azurite, container_name, write_container(tmp_path / "c", files))
    monkeypatch.setattr(source_module, "LIST_PAGE_SIZE", 2)
    source = AzureSource.from_connection_string(azurite, container_name)
    names = [b.name for p in ("tamales_inc/", "teinvento_inc/") for b in source.list_blobs(p)]
    source.close()
    assert sorted(names) == sorted(n for n in files if not n.startswith("other_source/"))
    report = run_ingest(conn_settings(tmp_path / "home", azurite, container_name))
    # 2 versions x (6 csv + 3 _SUCCESS): paged, other prefix unseen
    assert report.blobs_listed == 18
    assert len(report.landed) == 8 and report.rows_read == 22


def test_unchanged_rerun_then_changed_blob_relands_once(
    azurite: str, container_name: str, tmp_path: Path
) -> None:
    upload_folder(
        azurite,
        container_name,
        write_container(tmp_path / "c", minimal_files("20200801") | minimal_files("20200901")),
    )
    settings = conn_settings(tmp_path / "home", azurite, container_name)
    run_ingest(settings)
    before = snapshot(settings.home)
    rerun = run_ingest(settings)
    assert rerun.blobs_downloaded == 0 and len(rerun.unchanged) == 8
    assert snapshot(settings.home) == before
    name = f"{TEINVENTO_DIR}/20200801/region_dim/part-00000-c-c000.csv"
    put_blob(azurite, container_name, name, b"446676598784,Mexico,Norte\n850403524608,Mexico,Sur\n"
             b"893353197568,Mexico,Centro\n")  # fmt: skip
    changed = run_ingest(settings)
    assert [str(t.key) for t in changed.landed] == ["teinvento_inc/20200801/region_dim"]
    assert changed.blobs_downloaded == 1
    after = snapshot(settings.home)
    assert {k for k in after if after[k] != before[k]} == {
        "raw/teinvento_inc/20200801/region_dim.parquet",
        "quarantine/teinvento_inc/20200801/region_dim.parquet",
    }
    region = pl.read_parquet(settings.raw_path("teinvento_inc", "20200801", "region_dim"))
    assert region["region"].to_list() == ["Norte", "Sur", "Centro"]
    assert run_ingest(settings).blobs_downloaded == 0


def test_malformed_rows_and_empty_parts_through_azurite(
    azurite: str, container_name: str, tmp_path: Path
) -> None:
    files = minimal_files("20200801")
    files[f"{TAMALES_DIR}/20200801/csv/Sur/ventas.csv"] = (
        f"{TAMALES_LINE}\n2019,Jan\n{TAMALES_LINE.replace('Jan', 'Ene')}\n"
    )
    files[f"{TEINVENTO_DIR}/20200801/fact_table/part-00002-a-c000.csv"] = b""
    upload_folder(azurite, container_name, write_container(tmp_path / "c", files))
    settings = conn_settings(tmp_path / "home", azurite, container_name)
    # 2 of Sur's 3 lines are broken: this test is about the quarantine, not its thresholds
    settings = replace(settings, max_quarantined_per_blob=100.0, max_quarantined_per_table=100.0)
    report = run_ingest(settings)
    sales = next(t for t in report.tables if t.key.table == "monthly_sales")
    assert (sales.rows_read, sales.rows_landed, sales.rows_quarantined) == (7, 5, 2)
    fact = next(t for t in report.tables if t.key.table == "fact_table")
    assert (fact.blobs, fact.rows_read) == (3, 2)
    reasons = pl.read_parquet(sales.quarantine_path)["reason"].to_list()
    assert reasons == ["wrong column count: 2 (expected 9)", "month: not Jan..Dec: 'Ene'"]


def test_empty_container_fails_and_replaces_nothing(
    azurite: str, container_name: str, tmp_path: Path
) -> None:
    upload_folder(azurite, container_name, write_container(tmp_path / "c", minimal_files()))
    home = tmp_path / "home"
    run_ingest(conn_settings(home, azurite, container_name))
    before = snapshot(home)
    state = (home / "manifests/ingest_state.json").read_bytes()
    upload_folder(azurite, f"{container_name}-empty", None)
    result = run_cli(
        {
            "TAMALES_HOME": str(home),
            "AZURE_STORAGE_CONNECTION_STRING": azurite,
            "TAMALES_CONTAINER": f"{container_name}-empty",
        }
    )
    assert result.returncode == 1
    assert "no CSV blobs under tamales_inc/ or teinvento_inc/" in result.stderr
    assert "nothing was landed or replaced" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(home) == before
    assert (home / "manifests/ingest_state.json").read_bytes() == state


def test_run_killed_mid_download_then_rerun_loses_and_duplicates_nothing(
    azurite: str, sample_blobs: str, landed_settings: Settings, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {
        "TAMALES_HOME": str(home),
        "AZURE_STORAGE_CONNECTION_STRING": azurite,
        "TAMALES_CONTAINER": sample_blobs,
    }
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    # Table 1 has 4 blobs: pause (then die) in the middle of table 2, the second version's sales.
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSING_INGEST, "6"],
        cwd=REPO_ROOT,
        env=clean | env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    paused = False
    try:
        assert process.stderr is not None
        for line in process.stderr:  # the child sleeps an hour: wait for its line, then kill -9
            if "pausing after 6 blobs" in line:
                paused = True
                break
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert paused and process.returncode == -signal.SIGKILL
    raw = home / "raw"
    assert (raw / "tamales_inc/20200801/monthly_sales.parquet").is_file()
    assert not (raw / "tamales_inc/20200901/monthly_sales.parquet").exists()
    assert not (raw / "teinvento_inc").exists()
    state = json.loads((home / "manifests/ingest_state.json").read_text())
    assert list(state["tables"]) == ["tamales_inc/20200801/monthly_sales"]

    rerun = run_cli(env)
    assert rerun.returncode == 0, rerun.stderr
    assert "8 tables (7 landed, 1 unchanged)" in rerun.stdout
    assert not list(home.rglob(".*.tmp-*"))
    assert_same_landed(home, landed_settings.home)  # nothing lost
    for frame in landed_rows(home).values():  # nothing duplicated
        assert frame.select(pl.struct("blob_name", "line_number").is_unique().all()).item()
    final = run_ingest(conn_settings(home, azurite, sample_blobs))
    assert final.blobs_downloaded == 0
