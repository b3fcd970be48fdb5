"""Is the published warehouse up to date? The transform's inputs, fingerprinted, against the
fingerprint the published build recorded in `meta.build_info`.

The inputs: the landed state of the table versions the build reads (their ingest state records
and parquet files), the dbt project's files, the dbt variables that change what is built, the
warehouse package's code, the dbt and DuckDB versions and the transform's options. Settings that
change only how fast it runs (threads, memory limit) are left out. The fingerprint's value is
also the build's identity, which the training records as what it trained on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tamales_inc.core.fingerprint import (
    Fingerprint,
    distribution_versions,
    files_digest,
    package_digest,
)
from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.dbt import DBT_PROJECT_DIR
from tamales_inc.warehouse.export import WAREHOUSE_SOURCE
from tamales_inc.warehouse.landed import BuildPlan, table_label

WAREHOUSE_PACKAGE_DIR = Path(__file__).resolve().parent
DBT_PROJECT_SUFFIXES = (".sql", ".yml", ".yaml", ".md", ".csv")
LIBRARIES = ("dbt-core", "dbt-duckdb", "duckdb")
BUILD_INFO = "meta.build_info"


@dataclass(frozen=True)
class RecordedBuild:
    """What the published warehouse's `meta.build_info` says about its build."""

    data_version: str
    built_at: datetime
    inputs: Fingerprint | None


@dataclass(frozen=True)
class UpToDate:
    """A transform skipped because the published build has the same inputs."""

    build: RecordedBuild

    def summary(self) -> str:
        return (
            f"transform: up to date (data version {self.build.data_version}, built "
            f"{self.build.built_at:%Y-%m-%d %H:%M} UTC from the same inputs; --force rebuilds)"
        )


def transform_fingerprint(
    settings: Settings,
    plan: BuildPlan,
    *,
    export: bool,
    options: dict[str, object] | None = None,
    dbt_project_dir: Path = DBT_PROJECT_DIR,
    code_dir: Path = WAREHOUSE_PACKAGE_DIR,
) -> Fingerprint:
    """The fingerprint of a build of `plan` with the dbt project and warehouse code in these
    folders; `options` are further transform options that change the result (e.g. an engine).
    Paths are left out: a TAMALES_HOME moved with its files' times kept is still up to date."""
    return Fingerprint.of(
        landed=_landed_part(settings, plan),
        dbt_project=files_digest(dbt_project_dir, DBT_PROJECT_SUFFIXES),
        dbt_vars=plan.dbt_vars(),
        code=package_digest(code_dir),
        libraries=distribution_versions(*LIBRARIES),
        options={
            "engine": settings.engine,
            "export": export,
            "mixed_versions": plan.is_mixed,
            **(options or {}),
        },
    )


def _landed_part(settings: Settings, plan: BuildPlan) -> dict[str, object]:
    """Per table: the version read, its ingest state record and its parquet file's size and
    modification time."""
    part: dict[str, object] = {}
    for (source, table), version in plan.table_versions.items():
        path = settings.raw_path(source, version, table)
        stat = path.stat()
        part[table_label(source, table)] = {
            "version": version,
            "record": plan.record((source, table)),
            "file": [stat.st_size, stat.st_mtime_ns],
        }
    return part


def recorded_build(settings: Settings) -> RecordedBuild | None:
    """The published warehouse's build record, or None when there is none (or it is unreadable,
    or was built before builds recorded their inputs)."""
    path = settings.warehouse_path
    if not path.is_file():
        return None
    import duckdb

    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return None
    try:
        row = con.execute(
            f"select data_version, built_at, inputs from {BUILD_INFO} order by built_at desc"
        ).fetchone()
    except duckdb.Error:
        return None
    finally:
        con.close()
    if row is None:
        return None
    data_version, built_at, inputs = row
    return RecordedBuild(str(data_version), built_at, Fingerprint.from_json(inputs))


def check_up_to_date(
    settings: Settings, fingerprint: Fingerprint, *, export: bool
) -> UpToDate | list[str]:
    """UpToDate when the published build has this fingerprint (and its exports are in place
    when asked for); otherwise the names of the inputs that changed."""
    build = recorded_build(settings)
    if build is None:
        return ["no published build with recorded inputs"]
    changed = fingerprint.changed(build.inputs.parts if build.inputs else None)
    if changed:
        return changed
    exported = settings.processed_dir / WAREHOUSE_SOURCE / build.data_version
    if export and not exported.is_dir():
        return ["processed exports missing"]
    return UpToDate(build)
