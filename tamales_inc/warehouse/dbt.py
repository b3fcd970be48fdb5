"""In-process dbt invocations on the repo's dbt project, configured from Settings.

Everything dbt needs from the project's settings reaches it as a dbt variable (`--vars`): the
landed parquet folder (`raw_dir`, read by the sources) and the DuckDB file, threads and memory
limit (`db_path`, `threads`, `duckdb_memory_limit`, read by `dbt_project/profiles.yml`, which keeps
defaults for a bare `dbt` run). Nothing is passed through environment variables.

dbt prints its own lines only with `--verbose` (its log file under `$TAMALES_HOME/dbt/logs` always
has them); otherwise a progress bar (or throttled lines) counts the nodes, and a failure is logged
here in full (each failing node's message) before the caller's one-line error. dbt's own error
output would add stack traces, e.g. for a full disk.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from tamales_inc.core.errors import os_advice
from tamales_inc.core.progress import Progress
from tamales_inc.core.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
FAILED_STATUSES = {"error", "fail", "runtime error"}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DbtOutcome:
    """What one dbt invocation did: success, per-status node counts and failing nodes."""

    success: bool
    status_counts: dict[str, int]
    failures: list[str]
    exception: str | None

    def failure_summary(self) -> str:
        """One line naming what failed (and what to do, for a full or read-only disk)."""
        if self.exception:
            text = self.exception.strip()
            line = text.splitlines()[0] if text else "dbt failed"
        else:
            shown = "; ".join(self.failures[:5])
            more = f" (+{len(self.failures) - 5} more)" if len(self.failures) > 5 else ""
            text = "\n".join(self.failures)
            line = f"{len(self.failures)} failing node(s): {shown}{more}"
        advice = os_advice(text)
        return f"{line}: {advice}" if advice else line


def dbt_target_dir(settings: Settings) -> Path:
    """Where dbt writes its artefacts (manifest, run results) for this TAMALES_HOME."""
    return settings.dbt_dir / "target"


def dbt_log_dir(settings: Settings) -> Path:
    """Where dbt writes its log file for this TAMALES_HOME."""
    return settings.dbt_dir / "logs"


def dbt_vars(settings: Settings, db_path: Path) -> dict[str, object]:
    """The dbt variables every invocation gets: where to read and build, and how."""
    return {
        "raw_dir": str(settings.raw_dir),
        "db_path": str(db_path),
        "threads": settings.dbt_threads,
        "duckdb_memory_limit": settings.duckdb_memory_limit,
        "spark_dir": str(settings.spark_dir),
    }


def _close_duckdb_environment() -> None:
    """Drop dbt-duckdb's process-wide connection so the built file is closed before publishing."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    env = DuckDBConnectionManager._ENV
    if env is not None:
        env.close()
    DuckDBConnectionManager.close_all_connections()


class _NodeCounter:
    """A dbt event callback counting finished nodes into a Progress."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def __call__(self, event: object) -> None:
        name = event.info.name  # type: ignore[attr-defined]
        if name == "LogStartLine":
            total = int(event.data.total)  # type: ignore[attr-defined]
            if total != self.progress.total:
                self.progress.set_total(total)
        elif name == "NodeFinished":
            self.progress.advance()
        else:  # parsing, planning: keep the elapsed time moving
            self.progress.refresh()


def invoke_dbt(
    settings: Settings,
    command: list[str],
    db_path: Path,
    extra_vars: dict[str, object] | None = None,
    target_dir: Path | None = None,
) -> DbtOutcome:
    """Run one dbt command in-process against the DuckDB file `db_path`, with `dbt_vars` and
    `extra_vars` (e.g. `data_version`) as its variables. dbt prints its own lines only when this
    process logs debug lines (`--verbose`); failures are logged in full either way. Ctrl-C or
    SIGTERM during the run is raised again here once dbt has cancelled its queries."""
    from dbt.cli.main import dbtRunner

    target = target_dir or dbt_target_dir(settings)
    all_vars = {**dbt_vars(settings, db_path), **(extra_vars or {})}
    level = "info" if log.isEnabledFor(logging.DEBUG) else "none"
    args = [
        "--log-level",
        level,
        "--log-level-file",  # explicit: it follows --log-level otherwise
        "debug",
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
    progress = Progress(f"dbt {command[0]}", unit="nodes", logger=log)
    try:
        with progress:
            result = dbtRunner(callbacks=[_NodeCounter(progress)]).invoke(args)
    finally:
        _close_duckdb_environment()
    if isinstance(result.exception, KeyboardInterrupt):
        raise result.exception
    counts: dict[str, int] = {}
    failures: list[str] = []
    node_results = getattr(result.result, "results", None) or []
    for node_result in node_results:
        status = str(getattr(node_result.status, "value", node_result.status)).lower()
        counts[status] = counts.get(status, 0) + 1
        if status in FAILED_STATUSES:
            failures.append(_report_failure(node_result, status, target))
    exception = None if result.exception is None else str(result.exception)
    if exception and len(exception.strip().splitlines()) > 1:
        log.error("dbt %s failed:\n%s", command[0], exception.strip())
    return DbtOutcome(
        success=bool(result.success), status_counts=counts, failures=failures, exception=exception
    )


def _report_failure(node_result: object, status: str, target: Path) -> str:
    """Log a failing node's whole message (and where its compiled SQL is); return its one-line
    summary for the error."""
    node = node_result.node  # type: ignore[attr-defined]
    message = (node_result.message or "").strip()  # type: ignore[attr-defined]
    compiled = getattr(node, "compiled_path", None)
    where = f"\n  compiled SQL: {target / compiled}" if compiled else ""
    log.error("%s %s: %s%s", node.resource_type, node.name, message or status, where)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0] if lines else status
    # dbt's first line says where ("Runtime Error in model x"); the engine's says what
    cause = next((line for line in lines[1:] if "Error:" in line), None)
    return f"{node.resource_type} {node.name} ({first}{f': {cause}' if cause else ''})"
