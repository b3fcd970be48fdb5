"""`just gc`: a dry run deletes nothing, --apply deletes exactly what it listed (and drops it
from the ingest state), and nothing in use is ever deleted."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.registry import (
    current_version,
    load_current,
    load_run_record,
    promote,
    run_record_path,
)
from tamales_inc.forecasting.train import run_training
from tamales_inc.operations.gc import main, plan_gc
from tamales_inc.warehouse.freshness import UpToDate
from tamales_inc.warehouse.landed import landed, read_state
from tamales_inc.warehouse.transform import run_transform
from tests.conftest import copy_home, query_warehouse

LISTED = re.compile(
    r"gc: (would delete|deleted) (\S+) \([\d.,]+ k?B, (data version|model version|training run) "
    r"\S+\)"
)


def _run_of(settings: Settings, version: str) -> str:
    """The id of the training run that registered `version`."""
    runs = query_warehouse(
        settings, f"select distinct run_id from ml.model_runs where model_version = '{version}'"
    )
    return str(runs["run_id"][0])


def _files(home: Path) -> dict[str, int]:
    """Every file under `home` (relative path -> mtime), lock files aside."""
    return {
        str(path.relative_to(home)): path.stat().st_mtime_ns
        for path in home.rglob("*")
        if path.is_file() and not path.name.endswith(".lock")
    }


def _gc(home: Path, monkeypatch: pytest.MonkeyPatch, capsys, *args: str, **keep: int) -> list[str]:
    monkeypatch.setenv("TAMALES_HOME", str(home))
    for name, value in keep.items():
        monkeypatch.setenv(f"TAMALES_KEEP_{name.upper()}", str(value))
    assert main(list(args)) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out.splitlines()


def test_dry_run_deletes_nothing_and_apply_deletes_exactly_the_listed_folders(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")
    before = _files(settings.home)
    dry = _gc(settings.home, monkeypatch, capsys, data_versions=1)
    listed = [LISTED.fullmatch(line) for line in dry[:-1]]
    assert all(listed), dry
    paths = sorted(match.group(2) for match in listed if match)
    older = sorted(
        str(folder.relative_to(settings.home))
        for root in (settings.raw_dir, settings.quarantine_dir, settings.processed_dir)
        for folder in root.glob("*/20200801")
    )
    assert paths == older and len(paths) == 4  # raw and quarantine of both sources
    assert dry[-1].startswith("gc: would free ") and "run `just gc --apply`" in dry[-1]
    assert _files(settings.home) == before  # nothing deleted, nothing touched

    applied = _gc(settings.home, monkeypatch, capsys, "--apply", data_versions=1)
    assert [line.replace("gc: deleted", "gc: would delete") for line in applied[:-1]] == dry[:-1]
    after = _files(settings.home)
    gone = {path for path in before if path not in after}
    assert gone == {path for path in before if any(path.startswith(p + "/") for p in paths)}
    assert {path for path in after if path not in before} == set()
    # the state no longer calls them landed; the published build is still up to date
    state = read_state(settings)
    assert state is not None and not [key for key in state if "/20200801/" in key]
    assert set(map(tuple, landed(settings).versions.values())) == {("20200901",)}
    assert isinstance(run_transform(settings, force=False), UpToDate)
    candidates = load_run_record(settings, _run_of(settings, current_version(settings) or ""))
    n_versions = len(candidates["candidates"])
    assert _gc(settings.home, monkeypatch, capsys, data_versions=1) == [
        "gc: nothing to delete; kept 1 data version(s) (20200901) and 1 training run(s) "
        f"({n_versions} model version(s))"
    ]


def test_gc_never_deletes_what_is_in_use(
    older_build: tuple[Settings, subprocess.CompletedProcess[str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys,
) -> None:
    settings = copy_home(older_build[0], tmp_path / "home")
    first = current_version(settings)  # trained on 20200901, while 20200801 is published
    assert first is not None
    first_run = load_run_record(settings, _run_of(settings, first))
    second_run = run_training(settings, seed=7, report=False)
    second = second_run.model_version
    third_run = run_training(settings, seed=8, report=False)
    third = third_run.model_version
    promote(settings, first)  # an operator rolls back to the first model
    assert len({first, second, third}) == 3
    forecasts = query_warehouse(settings, "select distinct model_version from ml.forecasts")
    assert forecasts["model_version"].to_list() == [third]

    monkeypatch.setenv("TAMALES_HOME", str(settings.home))
    monkeypatch.setenv("TAMALES_KEEP_DATA_VERSIONS", "1")
    monkeypatch.setenv("TAMALES_KEEP_MODELS", "1")
    plan = plan_gc(Settings.from_env())
    # the second run goes whole: every candidate version it registered, then its record
    second_versions = sorted(second_run.candidate_versions.values())
    assert [deletion.path for deletion in plan.deletions] == [
        *(settings.models_dir / version for version in second_versions),
        run_record_path(settings, second_run.run_id),
    ]
    assert plan.kept_runs == {
        third_run.run_id: "one of the newest 1 training runs",
        first_run["run_id"]: f"the training run of {first} (the promoted model)",
    }
    assert plan.kept_models[first] == "the promoted model"
    assert plan.kept_models[third] == "its forecasts are published"
    kept = {*first_run["candidates"].values(), *third_run.candidate_versions.values()}
    assert set(plan.kept_models) == kept
    # the older version the warehouse is published from, the newer the promoted model's data
    assert plan.kept_data_versions == {
        "20200801": "the published warehouse's data",
        "20200901": "the promoted model was trained on it",
    }
    applied = _gc(settings.home, monkeypatch, capsys, "--apply")
    assert applied[0].startswith(f"gc: deleted models/{second_versions[0]} (")
    assert {p.name for p in settings.models_dir.iterdir() if p.is_dir()} == {*kept, "runs"}
    assert not run_record_path(settings, second_run.run_id).exists()
    for record in (settings.models_dir / "runs").glob("*.json"):  # kept records name no gap
        named = load_run_record(settings, record.stem)["candidates"].values()
        assert all((settings.models_dir / version).is_dir() for version in named)
    model = load_current(settings)
    assert model is not None and model.version == first
    assert (settings.raw_dir / "tamales_inc" / "20200801").is_dir()


def test_gc_of_an_empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    assert _gc(tmp_path / "empty", monkeypatch, capsys, "--apply") == [
        "gc: nothing to delete; kept 0 data version(s) (none) and 0 training run(s) "
        "(0 model version(s))"
    ]
