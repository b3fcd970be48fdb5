"""Ctrl-C and SIGTERM stop the ingest within seconds at any point; silent services time out."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from ingest_helpers import account_url, container_sas_url, upload_folder
from stall import SilentServer, StallingProxy

from tamales_inc.core.files import exclusive_lock

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN = 8.0  # seconds from the signal to the exit: the grace period (3 s) and start-up slack

# `python -m ingest` whose landing parses slowly (or hangs) from blob argv[1] on: each parse,
# which polars' sink drives from its own threads, then sleeps argv[2] seconds.
SLOW_INGEST = """
import itertools, runpy, sys, time
import ingest.landing

after, pause, parsed = int(sys.argv[1]), float(sys.argv[2]), itertools.count(1)

class SlowParser(ingest.landing.BlobParser):
    def batches(self):
        yield from super().batches()
        if next(parsed) >= after:
            print("landing slowly", file=sys.stderr, flush=True)
            time.sleep(pause)

ingest.landing.BlobParser = SlowParser
sys.argv[1:] = []
runpy.run_module("ingest", run_name="__main__")  # exactly `python -m ingest`
"""


def clean_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("TAMALES_", "AZURE_"))}
    return base | env


def start(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        cwd=REPO_ROOT,
        env=clean_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(process: subprocess.Popen[str], text: str) -> list[str]:
    """Read the child's stderr until a line holds `text` (the child is killed if it ends)."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never printed; stderr: {''.join(seen)}")


def stop(process: subprocess.Popen[str], signum: int) -> tuple[int, float, str]:
    """Send `signum`; the exit code, the seconds it took and the rest of stderr."""
    sent = time.monotonic()
    process.send_signal(signum)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    return process.returncode, time.monotonic() - sent, err


def assert_clean_after_interrupt(home: Path) -> None:
    """No temp file left, the lock free and empty, the run recorded as interrupted."""
    assert not list(home.rglob(".*.tmp-*"))
    lock = home / "manifests" / ".ingest.lock"
    with exclusive_lock(lock, "test"):
        pass
    assert lock.read_text() == ""
    runs = [json.loads(p.read_text()) for p in (home / "manifests" / "runs").glob("*.json")]
    assert [run["status"] for run in runs] == ["interrupted"]


@pytest.mark.parametrize(
    ("signum", "code", "pause"),
    [
        (signal.SIGINT, 130, 1.0),  # landing slowly: the worker stops at the next blob
        (signal.SIGTERM, 143, 1.0),
        (signal.SIGINT, 130, 3600.0),  # landing hung: the process leaves without the worker
    ],
    ids=["sigint-slow", "sigterm-slow", "sigint-hung"],
)
def test_a_signal_while_landing_stops_the_ingest_within_seconds(
    signum: int, code: int, pause: float, sample_container: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    env = {"TAMALES_HOME": str(home), "TAMALES_SOURCE_DIR": str(sample_container)}
    process = start([sys.executable, "-c", SLOW_INGEST, "6", str(pause)], env)
    wait_for_line(process, "landing slowly")  # inside polars' sink, second delivery
    returncode, seconds, err = stop(process, signum)
    assert returncode == code, err
    assert seconds < STOP_WITHIN
    assert "nothing half-written was published, rerun to finish" in err
    assert_clean_after_interrupt(home)
    assert (home / "raw/tamales_inc/20200801/monthly_sales.parquet").is_file()  # landed before
    assert not (home / "raw/tamales_inc/20200901").exists()
    rerun = subprocess.run(
        [sys.executable, "-m", "ingest"],
        cwd=REPO_ROOT,
        env=clean_env(env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "ingest: 8 tables (7 landed, 1 unchanged)" in rerun.stdout


@pytest.mark.azurite
def test_a_signal_while_a_download_stalls_stops_the_ingest_within_seconds(
    azurite: str, container_name: str, sample_container: Path, tmp_path: Path
) -> None:
    upload_folder(azurite, container_name, sample_container)
    proxy = StallingProxy(account_url(azurite))
    try:
        sas = urlsplit(container_sas_url(azurite, container_name))
        url = urlunsplit(sas._replace(netloc=f"127.0.0.1:{proxy.port}"))
        home = tmp_path / "home"
        env = {"TAMALES_HOME": str(home), "TAMALES_BLOB_URL": url, "TAMALES_BLOB_TIMEOUT": "60"}
        process = start([sys.executable, "-m", "ingest"], env)
        assert proxy.stalled.wait(60), "no download reached the proxy"
        time.sleep(0.5)  # the downloads now wait on a service that never answers
        returncode, seconds, err = stop(process, signal.SIGINT)
    finally:
        proxy.close()
    assert returncode == 130, err
    assert seconds < STOP_WITHIN
    assert_clean_after_interrupt(home)
    direct = {
        "TAMALES_HOME": str(home),
        "AZURE_STORAGE_CONNECTION_STRING": azurite,
        "TAMALES_CONTAINER": container_name,
    }
    rerun = subprocess.run(
        [sys.executable, "-m", "ingest"],
        cwd=REPO_ROOT,
        env=clean_env(direct),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert "ingest: 8 tables (8 landed, 0 unchanged)" in rerun.stdout


def test_a_service_that_never_answers_fails_in_bounded_time(tmp_path: Path) -> None:
    server = SilentServer()
    try:
        url = (
            f"http://127.0.0.1:{server.port}/devstoreaccount1/tamales-inc"
            "?sv=2020-04-08&se=2099-01-01T00%3A00%3A00Z&sr=c&sp=rl&sig=c2VjcmV0"
        )
        env = {
            "TAMALES_HOME": str(tmp_path / "home"),
            "TAMALES_BLOB_URL": url,
            "TAMALES_BLOB_TIMEOUT": "1",
        }
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, "-m", "ingest"],
            cwd=REPO_ROOT,
            env=clean_env(env),
            capture_output=True,
            text=True,
            timeout=120,
        )
        seconds = time.monotonic() - started
    finally:
        server.close()
    assert result.returncode == 1
    assert len(server.accepted) == 4  # the first try and 3 retries, each waiting 1 s
    assert seconds < 30  # 4 x 1 s of waiting, about 9 s of back-off, Python's start-up
    assert result.stderr == (
        f"ingest: error: cannot list http://127.0.0.1:{server.port}/devstoreaccount1/tamales-inc/"
        "tamales_inc/: the storage service did not answer within 1 s, 3 retries included "
        + result.stderr.split("3 retries included ", 1)[1]
    )
    assert "raise TAMALES_BLOB_TIMEOUT" in result.stderr and len(result.stderr.splitlines()) == 1
    assert "c2VjcmV0" not in result.stderr
