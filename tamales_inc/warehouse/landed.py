"""What the ingest has landed, and which data version the transform builds from.

A table version is landed when the ingest state (`manifests/ingest_state.json`) records it and
its parquet file is in `raw/` (without a state file, e.g. parquet copied by hand, the files
alone count). The transform builds one data version for every table: the latest version landed
for all of them (`plan_build`); a table that has a newer one waits for the others. Cheap to
import: no polars, no dbt.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from ingest.tables import LANDED_TABLES
from tamales_inc.core.settings import Settings
from tamales_inc.core.versions import is_version
from tamales_inc.warehouse.errors import LandedDataError

log = logging.getLogger(__name__)


def table_label(source: str, table: str) -> str:
    return f"{source}/{table}"


@dataclass(frozen=True)
class Landed:
    """The landed versions of every table the warehouse reads, and their ingest state records."""

    versions: dict[tuple[str, str], list[str]]
    records: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    def latest(self, key: tuple[str, str]) -> str | None:
        found = self.versions.get(key) or []
        return found[-1] if found else None

    def common(self) -> list[str]:
        """The versions landed for every table, oldest first."""
        sets = [set(found) for found in self.versions.values()]
        return sorted(set.intersection(*sets)) if sets else []


def read_state(settings: Settings) -> dict[str, dict[str, Any]] | None:
    """The ingest state's table records by `<source>/<version>/<table>`, None when there is no
    state file (nothing ingested in this TAMALES_HOME)."""
    path = settings.ingest_state_path
    if not path.is_file():
        return None
    try:
        tables = json.loads(path.read_text(encoding="utf-8"))["tables"]
    except (ValueError, KeyError, TypeError) as exc:
        raise LandedDataError(
            f"ingest state {path} is unreadable ({exc}); rerun `just ingest` to rebuild it"
        ) from None
    return {str(key): value for key, value in tables.items()}


def landed(settings: Settings) -> Landed:
    """Every landed version of each table the warehouse reads (sorted), with its state record."""
    state = read_state(settings)
    versions: dict[tuple[str, str], list[str]] = {}
    records: dict[tuple[str, str, str], dict[str, Any]] = {}
    for source, table in LANDED_TABLES:
        on_disk = sorted(
            path.parent.name
            for path in (settings.raw_dir / source).glob(f"*/{table}.parquet")
            if path.is_file() and is_version(path.parent.name)
        )
        if state is None:
            versions[(source, table)] = on_disk
            continue
        found = []
        for version in on_disk:
            record = state.get(f"{source}/{version}/{table}")
            if record is not None:
                found.append(version)
                records[(source, version, table)] = record
        versions[(source, table)] = found
    return Landed(versions, records)


@dataclass(frozen=True)
class BuildPlan:
    """The landed version each table is built from; one `data_version` unless mixed."""

    table_versions: dict[tuple[str, str], str]
    waiting: list[str] = field(default_factory=list)
    records: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)

    @property
    def is_mixed(self) -> bool:
        return len(set(self.table_versions.values())) > 1

    @property
    def data_version(self) -> str:
        """The build's data version: the one version, or the newest of a mixed build."""
        return max(self.table_versions.values())

    def record(self, key: tuple[str, str]) -> dict[str, Any] | None:
        """The ingest state record of the version `key` (source, table) is built from."""
        source, table = key
        return self.records.get((source, self.table_versions[key], table))

    def describe_versions(self) -> str:
        """`tamales_inc/monthly_sales=20200801, ...` for a mixed build's record."""
        return ", ".join(
            f"{table_label(*key)}={version}" for key, version in self.table_versions.items()
        )

    def dbt_vars(self) -> dict[str, object]:
        """The dbt variables that pin the staging models to the plan (none for a mixed build,
        whose staging models each read their table's latest landed version)."""
        return {} if self.is_mixed else {"data_version": self.data_version}


def plan_build(
    settings: Settings, data_version: str | None = None, *, allow_mixed: bool = False
) -> BuildPlan:
    """Which landed version of each table to build from.

    `data_version` pins one (it must be landed for every table); by default the latest version
    landed for every table is built, and a table with a newer version is reported as waiting for
    the others. When no version is landed for every table the build is refused, unless
    `allow_mixed`: then each table is read at its own latest version.
    """
    found = landed(settings)
    missing = [table_label(*key) for key, versions in found.versions.items() if not versions]
    if missing:
        raise LandedDataError(
            f"no landed parquet for {', '.join(missing)} under {settings.raw_dir}: "
            "run `just ingest` first"
        )
    if data_version is not None:
        return _pinned(settings, found, data_version)
    if allow_mixed:
        latest = {key: versions[-1] for key, versions in found.versions.items()}
        plan = BuildPlan(latest, records=found.records)
        if plan.is_mixed:
            log.warning("building mixed data versions, as asked: %s", plan.describe_versions())
        return plan
    common = found.common()
    if not common:
        raise LandedDataError(
            "no data version is landed for every table ("
            + "; ".join(
                f"{table_label(*key)}: {', '.join(versions)}"
                for key, versions in found.versions.items()
            )
            + "): wait for the ingest to land a complete version, pin one with --data-version, "
            "or build each table's latest with --allow-mixed-versions"
        )
    version = common[-1]
    waiting = _waiting(found, version)
    for line in waiting:
        log.info("%s", line)
    return BuildPlan({key: version for key in found.versions}, waiting, found.records)


def _pinned(settings: Settings, found: Landed, data_version: str) -> BuildPlan:
    if not is_version(data_version):
        raise LandedDataError(f"--data-version {data_version!r} is not a yyyymmdd date")
    lacking = [
        table_label(*key)
        for key, versions in found.versions.items()
        if data_version not in versions
    ]
    if lacking:
        raise LandedDataError(
            f"data version {data_version} is not landed for {', '.join(lacking)} "
            f"under {settings.raw_dir}"
        )
    return BuildPlan({key: data_version for key in found.versions}, records=found.records)


def _waiting(found: Landed, version: str) -> list[str]:
    """One line per newer version landed for some tables only: which tables it waits for."""
    newer: dict[str, list[str]] = {}
    for key, versions in found.versions.items():
        for later in versions:
            if later > version:
                newer.setdefault(later, []).append(table_label(*key))
    lines = []
    for later, have in sorted(newer.items()):
        lacking = [table_label(*key) for key in found.versions if table_label(*key) not in have]
        lines.append(
            f"data version {later} is landed for {', '.join(have)} only: waiting for "
            f"{', '.join(lacking)}; building {version}, the latest landed for every table"
        )
    return lines
