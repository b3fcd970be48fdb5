"""Incremental transform: skipped when nothing it reads changed, rebuilt when the landed data, the
dbt project, a var, the code or an option changed, and always with --force."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ingest.pipeline import run_ingest
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.freshness import UpToDate as TrainUpToDate
from tamales_inc.forecasting.freshness import check_up_to_date as train_check
from tamales_inc.forecasting.freshness import training_fingerprint
from tamales_inc.warehouse.dbt import DBT_PROJECT_DIR
from tamales_inc.warehouse.freshness import (
    WAREHOUSE_PACKAGE_DIR,
    UpToDate,
    check_up_to_date,
    recorded_build,
    transform_fingerprint,
)
from tamales_inc.warehouse.landed import plan_build
from tamales_inc.warehouse.transform import TransformResult, run_transform
from tests.conftest import REPO_ROOT, copy_home, query_warehouse, run_module

NO_IMPORTS = (
    "import sys; from tamales_inc.warehouse.transform import main; code = main([]); "
    "print(code, sorted(m for m in ('dbt', 'polars', 'xgboost') if m in sys.modules))"
)


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns


def _verdict(settings: Settings, **kwargs: object) -> UpToDate | list[str]:
    plan = plan_build(settings, kwargs.pop("data_version", None))  # type: ignore[arg-type]
    export = bool(kwargs.pop("export", True))
    fingerprint = transform_fingerprint(settings, plan, export=export, **kwargs)  # type: ignore[arg-type]
    return check_up_to_date(settings, fingerprint, export=export)


def test_unchanged_inputs_skip_before_dbt_is_imported_and_force_rebuilds(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(trained_settings, tmp_path / "home")  # a moved home: still up to date
    published = settings.warehouse_path
    before = _identity(published)
    noop = run_module("tamales_inc.warehouse.transform", home=settings.home)
    assert noop.returncode == 0, noop.stderr
    build = recorded_build(settings)
    assert build is not None
    assert noop.stdout == (
        f"transform: up to date (data version 20200901, built {build.built_at:%Y-%m-%d %H:%M} "
        "UTC from the same inputs; --force rebuilds)\n"
    )
    assert noop.stderr == ""
    # the check runs before the heavy libraries are imported
    light = subprocess.run(
        [sys.executable, "-c", NO_IMPORTS],
        cwd=REPO_ROOT,
        env={"TAMALES_HOME": str(settings.home), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert light.stdout.splitlines()[-1] == "0 []", light.stderr
    assert _identity(published) == before

    forced = run_module("tamales_inc.warehouse.transform", "--force", home=settings.home)
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("transform: data_version 20200901, 6102 sales lines")
    assert _identity(published) != before
    rebuilt = recorded_build(settings)
    assert rebuilt is not None and rebuilt.built_at > build.built_at
    assert rebuilt.inputs == build.inputs  # same inputs, same build identity
    # so the training the rebuild carried over is still up to date
    inputs = training_fingerprint(settings, seed=42, horizons=(1, 2, 3), n_origins=6)
    assert isinstance(train_check(settings, inputs, report=True), TrainUpToDate)


def test_a_changed_landed_table_rebuilds_once(warehouse_settings: Settings, tmp_path: Path) -> None:
    container = tmp_path / "container"
    shutil.copytree(warehouse_settings.source_dir, container)
    settings = copy_home(warehouse_settings, tmp_path / "home")
    settings = Settings.from_env(
        {"TAMALES_HOME": str(settings.home), "TAMALES_SOURCE_DIR": str(container)}
    )
    assert isinstance(run_transform(settings, force=False), UpToDate)
    # a re-delivered zone file with one more line: the ingest re-lands that table
    (zone_file,) = container.glob("tamales_inc/*/mx/20200901/csv/Norte/*.csv")
    first_line = zone_file.read_text(encoding="utf-8").splitlines()[0]
    with zone_file.open("a", encoding="utf-8") as handle:
        handle.write(first_line + "\n")
    report = run_ingest(settings)
    assert [str(t.key) for t in report.landed] == ["tamales_inc/20200901/monthly_sales"]
    assert _verdict(settings) == ["landed"]
    rebuilt = run_transform(settings, force=False)
    assert isinstance(rebuilt, TransformResult)
    assert rebuilt.row_counts["marts.fct_sales"] == 6103
    lines = query_warehouse(settings, "select count(*) as n from marts.fct_sales")["n"][0]
    assert lines == 6103
    assert isinstance(run_transform(settings, force=False), UpToDate)


def test_a_changed_dbt_file_var_code_or_option_is_seen(
    warehouse_settings: Settings, tmp_path: Path
) -> None:
    settings = copy_home(warehouse_settings, tmp_path / "home")
    assert isinstance(_verdict(settings), UpToDate)
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    assert isinstance(_verdict(settings, dbt_project_dir=project), UpToDate)
    model = project / "models" / "marts" / "dim_zone.sql"
    model.write_text(model.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
    assert _verdict(settings, dbt_project_dir=project) == ["dbt_project"]
    # a pinned data version is a var and other landed files
    assert _verdict(settings, data_version="20200801") == ["dbt_vars", "landed"]
    code = tmp_path / "warehouse"
    shutil.copytree(WAREHOUSE_PACKAGE_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    assert isinstance(_verdict(settings, code_dir=code), UpToDate)
    (code / "export.py").write_text("# edited\n", encoding="utf-8")
    assert _verdict(settings, code_dir=code) == ["code"]
    assert _verdict(settings, export=False) == ["options"]
    assert _verdict(settings, options={"engine": "spark"}) == ["options"]
    shutil.rmtree(settings.processed_dir)
    assert _verdict(settings) == ["processed exports missing"]
