"""`just status`: one fact a line, exit 0, on a built home, an empty one and one whose
forecasts no longer match the published data."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import current_version
from tamales_inc.operations.status import main
from tests.conftest import copy_home

WHEN = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC, \d+ (s|min|h|days) ago"


def _status(home: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> list[str]:
    monkeypatch.setenv("TAMALES_HOME", str(home))
    assert main([]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out.splitlines()


def test_status_of_a_trained_home(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    version = current_version(settings)
    lines = _status(settings.home, monkeypatch, capsys)
    patterns = [
        rf"published data version: 20200901 \(built {WHEN}\)",
        r"latest month with sales: 2020-09",
        rf"model: {version} \(promoted\), trained {WHEN}, on data version 20200901",
        rf"forecasts: model {version}, trained on data version 20200901, "
        r"matching the published data version",
        r"landed tamales_inc/monthly_sales: 20200801, 20200901",
        r"landed teinvento_inc/fact_table: 20200801, 20200901",
        r"landed teinvento_inc/product_dim: 20200801, 20200901",
        r"landed teinvento_inc/region_dim: 20200801, 20200901",
        rf"last ingest run: succeeded {WHEN} \(8 tables: 8 landed, 0 unchanged\)",
        r"last transform run: none",  # the session's stages ran as library calls
        r"last train run: none",
    ]
    assert len(lines) == len(patterns), lines
    for line, pattern in zip(lines, patterns, strict=True):
        assert re.fullmatch(pattern, line), (line, pattern)


def test_status_of_an_empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    lines = _status(tmp_path / "empty", monkeypatch, capsys)
    assert lines == [
        "published data version: none (run `just build`)",
        "model: none promoted (run `just train`)",
        "forecasts: none published (run `just train`)",
        "landed tamales_inc/monthly_sales: none",
        "landed teinvento_inc/fact_table: none",
        "landed teinvento_inc/product_dim: none",
        "landed teinvento_inc/region_dim: none",
        "last ingest run: none",
        "last transform run: none",
        "last train run: none",
    ]


def test_status_says_the_forecasts_do_not_match_an_older_rebuild(
    older_build: tuple[Settings, subprocess.CompletedProcess[str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    settings, built = older_build
    assert built.returncode == 0, built.stderr
    version = current_version(settings)
    lines = _status(settings.home, monkeypatch, capsys)
    assert re.fullmatch(rf"published data version: 20200801 \(built {WHEN}\)", lines[0])
    assert lines[1] == "latest month with sales: 2020-08"
    assert lines[3] == (
        f"forecasts: model {version}, trained on data version 20200901, NOT matching the "
        "published data version 20200801 (run `just train`)"
    )
    assert re.fullmatch(rf"last transform run: succeeded {WHEN}", lines[-2])
