"""In-process dbt invocations on the repo's dbt project, with paths computed from Settings."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tamales_inc.core.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
FAILED_STATUSES = {"error", "fail", "runtime error"}


@dataclass(frozen=True)
class DbtOutcome:
    """What one dbt invocation did: success, per-status node counts and failing nodes."""

    success: bool
    status_counts: dict[str, int]
    failures: list[str]
    exception: str | None

    def failure_summary(self) -> str:
        """One line naming what failed."""
        if self.exception:
            return self.exception.strip().splitlines()[0]
        shown = "; ".join(self.failures[:5])
        more = f" (+{len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
        return f"{len(self.failures)} failing node(s): {shown}{more}"


def dbt_target_dir(settings: Settings) -> Path:
    """Where dbt writes its artefacts (manifest, run results, docs) for this TAMALES_HOME."""
    return settings.home / "dbt" / "target"


def dbt_log_dir(settings: Settings) -> Path:
    """Where dbt writes its log file for this TAMALES_HOME."""
    return settings.home / "dbt" / "logs"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _close_duckdb_environment() -> None:
    """Drop dbt-duckdb's process-wide connection so the built file is closed before publishing."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


def invoke_dbt(
    settings: Settings,
    command: list[str],
    db_path: Path,
    dbt_vars: dict[str, object] | None = None,
    target_dir: Path | None = None,
) -> DbtOutcome:
    """Run one dbt command in-process against the DuckDB file `db_path`.

    The raw parquet location comes from `settings.raw_dir` (var `raw_dir`), the database file
    from the `TAMALES_DBT_DB_PATH` environment variable read by `dbt_project/profiles.yml`.
    """
    from dbt.cli.main import dbtRunner

    target = target_dir or dbt_target_dir(settings)
    all_vars = {"raw_dir": str(settings.raw_dir), **(dbt_vars or {})}
    args = [
        *command,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(dbt_log_dir(settings) if target_dir is None else target / "logs"),
        "--vars",
        json.dumps(all_vars),
    ]
    env = {"TAMALES_DBT_DB_PATH": str(db_path), "TAMALES_HOME": str(settings.home)}
    with _environment(env):
        try:
            result = dbtRunner().invoke(args)
        finally:
            _close_duckdb_environment()
    counts: dict[str, int] = {}
    failures: list[str] = []
    node_results = getattr(result.result, "results", None) or []
    for node_result in node_results:
        status = str(getattr(node_result.status, "value", node_result.status)).lower()
        counts[status] = counts.get(status, 0) + 1
        if status in FAILED_STATUSES:
            message = (node_result.message or "").strip().splitlines()
            detail = message[0] if message else status
            failures.append(f"{node_result.node.resource_type} {node_result.node.name} ({detail})")
    exception = None if result.exception is None else str(result.exception)
    return DbtOutcome(
        success=bool(result.success), status_counts=counts, failures=failures, exception=exception
    )
