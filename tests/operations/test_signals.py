"""Ctrl-C and SIGTERM stop the transform (inside dbt) and the training (inside the backtest)
within seconds, with exit 130 / 143, no staged build, temp or held lock left, the published
warehouse untouched, a run record saying so, and a rerun that proceeds."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tamales_inc.core.files import TEMP_MARK, exclusive_lock
from tamales_inc.core.runs import run_records_dir
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.cli import LOCK_FILE as TRAIN_LOCK_FILE
from tamales_inc.warehouse.publish import LOCK_NAME, staged_builds, staged_path
from tests.conftest import REPO_ROOT, copy_home, query_warehouse, run_module

STOP_WITHIN_SECONDS = 10.0
CODES = {signal.SIGINT: (130, "interrupted"), signal.SIGTERM: (143, "terminated")}


def _start(module: str, *args: str, home: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=REPO_ROOT,
            env={"TAMALES_HOME": str(home), "PATH": "/usr/bin:/bin"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait_for(ready: Callable[[], bool], process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 180
    while not ready():
        assert process.poll() is None, f"exited with {process.returncode} before {what}"
        assert time.monotonic() < deadline, f"no {what} within 180 s"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[bytes], signum: signal.Signals) -> tuple[int, float]:
    sent = time.monotonic()
    process.send_signal(signum)
    code = process.wait(timeout=60)
    return code, time.monotonic() - sent


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _assert_clean(settings: Settings, stage: str, status: str) -> None:
    """No staged build, temp or held lock; the last run record says how the run ended."""
    assert staged_builds(settings) == []
    temps = [p for p in settings.home.rglob(f"*{TEMP_MARK}*")]
    assert temps == []
    for lock in (settings.warehouse_dir / LOCK_NAME, settings.models_dir / TRAIN_LOCK_FILE):
        with exclusive_lock(lock, "test"):  # free: taken at once, no LockBusy
            pass
    records = sorted(run_records_dir(settings.manifests_dir, stage).glob("*.json"))
    assert json.loads(records[-1].read_text(encoding="utf-8"))["status"] == status


@pytest.mark.slow
def test_ctrl_c_inside_dbt_stops_the_transform_and_a_rerun_builds(
    landed_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(landed_settings, tmp_path / "home", parts=("raw", "manifests"))
    log = tmp_path / "transform.log"
    process = _start("tamales_inc.warehouse.transform", "--no-export", home=settings.home, log=log)
    _wait_for(staged_path(settings).is_file, process, "staged build")
    time.sleep(0.5)  # dbt is running its nodes
    code, seconds = _stop(process, signal.SIGINT)
    output = log.read_text(encoding="utf-8")
    assert (code, seconds < STOP_WITHIN_SECONDS) == (130, True), output
    assert output.splitlines()[-1] == (
        "transform: interrupted; nothing half-written was published, rerun to finish"
    )
    assert not settings.warehouse_path.exists()
    _assert_clean(settings, "transform", "interrupted")
    rerun = run_module("tamales_inc.warehouse.transform", "--no-export", home=settings.home)
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.startswith("transform: data_version 20200901, 6102 sales lines")


@pytest.mark.slow
def test_sigterm_inside_dbt_leaves_the_published_warehouse_untouched(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(warehouse_settings, tmp_path / "home")
    published = _sha(settings.warehouse_path)
    log = tmp_path / "transform.log"
    process = _start(
        "tamales_inc.warehouse.transform", "--force", "--no-export", home=settings.home, log=log
    )
    _wait_for(staged_path(settings).is_file, process, "staged build")
    time.sleep(0.5)
    code, seconds = _stop(process, signal.SIGTERM)
    output = log.read_text(encoding="utf-8")
    assert (code, seconds < STOP_WITHIN_SECONDS) == (143, True), output
    assert output.splitlines()[-1].startswith("transform: terminated; nothing half-written")
    assert _sha(settings.warehouse_path) == published
    _assert_clean(settings, "transform", "terminated")
    rerun = run_module("tamales_inc.warehouse.transform", home=settings.home)
    assert rerun.returncode == 0 and rerun.stdout.startswith("transform: up to date"), rerun


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_inside_the_backtest_stops_the_training(
    trained_settings: Settings, tmp_path: Path, signum: signal.Signals
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    published = _sha(settings.warehouse_path)
    runs_sql = "select count(distinct run_id) as n from ml.model_runs"
    runs = query_warehouse(settings, runs_sql)["n"][0]
    log = tmp_path / "train.log"
    process = _start(
        "tamales_inc.forecasting", "--force", "--no-report", home=settings.home, log=log
    )
    # read_mart logs the mart it read just before the backtest starts
    _wait_for(lambda: "feature rows" in log.read_text(encoding="utf-8"), process, "backtest")
    time.sleep(0.3)
    code, seconds = _stop(process, signum)
    expected, status = CODES[signum]
    output = log.read_text(encoding="utf-8")
    assert (code, seconds < STOP_WITHIN_SECONDS) == (expected, True), output
    assert output.splitlines()[-1].startswith(f"train: {status}; nothing half-written")
    assert "Traceback" not in output
    assert _sha(settings.warehouse_path) == published
    _assert_clean(settings, "train", status)
    rerun = run_module("tamales_inc.forecasting", "--force", "--no-report", home=settings.home)
    assert rerun.returncode == 0, rerun.stderr
    assert query_warehouse(settings, runs_sql)["n"][0] == runs + 1
