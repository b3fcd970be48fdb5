"""Incremental training: skipped (before the models are imported) when the published training
has the same inputs; a changed parameter, code or warehouse build retrains; --force retrains
and the registry keeps one version per set of inputs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting import cli
from tamales_inc.forecasting.backtest import DEFAULT_ORIGINS
from tamales_inc.forecasting.freshness import (
    FORECASTING_PACKAGE_DIR,
    UpToDate,
    check_up_to_date,
    training_fingerprint,
)
from tamales_inc.forecasting.models import DEFAULT_HORIZONS
from tamales_inc.forecasting.registry import current_version, registered_versions
from tamales_inc.forecasting.train import DEFAULT_SEED
from tests.conftest import REPO_ROOT, copy_home, query_warehouse

NO_IMPORTS = (
    "import sys; from tamales_inc.forecasting.cli import main; code = main([]); "
    "print(code, sorted(m for m in ('polars', 'xgboost', 'statsforecast') if m in sys.modules))"
)


def _inputs(settings: Settings, seed: int = 42, code_dir: Path = FORECASTING_PACKAGE_DIR):
    return training_fingerprint(
        settings, seed=seed, horizons=(1, 2, 3), n_origins=6, code_dir=code_dir
    )


def test_the_cli_defaults_are_the_library_defaults() -> None:
    assert cli.DEFAULT_SEED == DEFAULT_SEED
    assert cli.DEFAULT_HORIZON == len(DEFAULT_HORIZONS) and DEFAULT_HORIZONS == (1, 2, 3)
    assert cli.DEFAULT_ORIGINS == DEFAULT_ORIGINS


def test_unchanged_inputs_skip_before_the_models_are_imported(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    version = current_version(settings)
    done = subprocess.run(
        [sys.executable, "-c", NO_IMPORTS],
        cwd=REPO_ROOT,
        env={"TAMALES_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = done.stdout.splitlines()
    assert lines[-1] == "0 []", done.stderr
    assert lines[0].startswith(f"train: up to date (model {version}, trained ")
    assert lines[0].endswith(" on data version 20200901 from the same inputs; --force retrains)")
    assert done.stderr == ""


def test_a_changed_parameter_code_or_missing_output_retrains(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    assert isinstance(check_up_to_date(settings, _inputs(settings), report=True), UpToDate)
    assert check_up_to_date(settings, _inputs(settings, seed=7), report=True) == ["params"]
    code = tmp_path / "forecasting"
    shutil.copytree(FORECASTING_PACKAGE_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    (code / "metrics.py").write_text("# edited\n", encoding="utf-8")
    assert check_up_to_date(settings, _inputs(settings, code_dir=code), report=True) == ["code"]
    shutil.rmtree(settings.reports_dir)
    assert check_up_to_date(settings, _inputs(settings), report=True) == ["report missing"]
    assert isinstance(check_up_to_date(settings, _inputs(settings), report=False), UpToDate)


def test_force_retrains_and_reuses_the_registered_version(
    trained_settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    version = current_version(settings)
    registered = registered_versions(settings)
    runs_sql = "select run_id, model_version, is_champion from ml.model_runs order by trained_at"
    before = query_warehouse(settings, runs_sql)
    assert before["run_id"].n_unique() == 1  # the fixture's one training run
    candidates = before.height
    assert version in registered and len(registered) == candidates > 5
    monkeypatch.setenv("TAMALES_HOME", str(settings.home))
    assert cli.main(["--force", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"train: 769 rows in, {candidates} candidates x 6 origins"), out
    assert version in out
    runs = query_warehouse(settings, runs_sql)
    added = runs.slice(before.height)
    # one new run: a row per candidate, each reusing the version registered for the same inputs
    assert added["run_id"].n_unique() == 1 and added.height == candidates
    assert sorted(added["model_version"]) == registered
    assert added.filter("is_champion")["model_version"].to_list() == [version]
    assert registered_versions(settings) == registered
