"""Concurrent runs are told who holds the lock, and a training whose warehouse changed under
it says what changed it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tamales_inc.core.files import exclusive_lock
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.cli import LOCK_FILE
from tamales_inc.forecasting.freshness import describe_change, training_fingerprint
from tamales_inc.forecasting.registry import current_version
from tamales_inc.warehouse.publish import publish_lock
from tests.conftest import REPO_ROOT, copy_home, run_module


def test_a_second_training_names_the_one_running(trained_settings: Settings, tmp_path: Path):
    settings = copy_home(trained_settings, tmp_path / "home")
    lock = settings.models_dir / LOCK_FILE
    with exclusive_lock(lock, "train"):
        done = run_module("tamales_inc.forecasting", "--force", home=settings.home)
    assert done.returncode == 1
    assert done.stderr == (
        f"train: error: train (pid {os.getpid()}) holds {lock}; wait for it to finish, "
        "then run train again\n"
    )


def test_a_transform_waits_for_the_publish_lock_and_names_its_holder(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(warehouse_settings, tmp_path / "home")
    log = tmp_path / "transform.log"
    with publish_lock(settings, "train"), log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tamales_inc.warehouse.transform", "--force"],
            cwd=REPO_ROOT,
            env={"TAMALES_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        waiting = f"transform: waiting for train (pid {os.getpid()}) to release .publish.lock"
        deadline = time.monotonic() + 120
        while waiting not in log.read_text(encoding="utf-8"):
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)  # a wait for a lock stops on a signal too
        assert process.wait(timeout=30) == 143


def test_a_changed_warehouse_is_told_apart_from_another_training(
    trained_settings: Settings, older_build: tuple[Settings, subprocess.CompletedProcess[str]]
) -> None:
    inputs = training_fingerprint(trained_settings, seed=42, horizons=(1, 2, 3), n_origins=6)
    assert describe_change(trained_settings, inputs) == (
        f"another train run published model {current_version(trained_settings)} meanwhile"
    )
    rebuilt, _ = older_build
    assert describe_change(rebuilt, inputs) == (
        "a transform published a new build while this run trained"
    )
