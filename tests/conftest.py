"""Shared fixtures: the scale-1 sample run through each stage once per test session."""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import polars as pl
import pytest

from tamales_inc.core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
HOME_PARTS = ("raw", "quarantine", "manifests", "warehouse", "processed", "models", "reports")


def settings_for(home: Path, **overrides: object) -> Settings:
    """Settings rooted at `home`, ignoring whatever the developer's environment holds."""
    env = {"TAMALES_HOME": str(home)}
    env.update({k: str(v) for k, v in overrides.items()})
    return Settings.from_env(env)


def copy_home(source: Settings, home: Path, parts: tuple[str, ...] = HOME_PARTS) -> Settings:
    """A private copy of `source`'s TAMALES_HOME folders (file times kept, so the copy's inputs
    fingerprint as the original's), reading the same source folder."""
    home.mkdir(parents=True, exist_ok=True)
    for part in parts:
        if (source.home / part).exists():
            shutil.copytree(source.home / part, home / part, symlinks=True)
    extra = {"TAMALES_SOURCE_DIR": source.source_dir} if source.source_dir else {}
    return settings_for(home, **extra)


def run_module(
    module: str, *args: str, home: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`python -m <module> <args>` on `home`, outside the developer's environment."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env={"TAMALES_HOME": str(home), "PATH": "/usr/bin:/bin", **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def query_warehouse(settings: Settings, sql: str) -> pl.DataFrame:
    """Run `sql` on the published warehouse of `settings`, read-only."""
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return con.execute(sql).pl()
    finally:
        con.close()


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Undo the logging set-up of a CLI run in-process (its handler writes to a captured stream)."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def sample_container(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scale-1 sample container (both default versions) as a local folder."""
    from ingest.sample import generate

    out = tmp_path_factory.mktemp("sample_container")
    generate(out, scale=1, seed=42)
    return out


@pytest.fixture(scope="session")
def landed_settings(tmp_path_factory: pytest.TempPathFactory, sample_container: Path) -> Settings:
    """A TAMALES_HOME with both sample versions landed as raw parquet."""
    from ingest.pipeline import run_ingest

    home = tmp_path_factory.mktemp("home_landed")
    settings = settings_for(home, TAMALES_SOURCE_DIR=sample_container)
    run_ingest(settings)
    return settings


@pytest.fixture(scope="session")
def warehouse_settings(landed_settings: Settings) -> Settings:
    """The landed home with the dbt warehouse built and published."""
    from tamales_inc.warehouse.transform import run_transform

    run_transform(landed_settings)
    return landed_settings


@pytest.fixture(scope="session")
def trained_settings(warehouse_settings: Settings) -> Iterator[Settings]:
    """The published warehouse with the ml tables, a promoted model and forecasts."""
    from tamales_inc.forecasting.train import run_training

    run_training(warehouse_settings)
    yield warehouse_settings
