"""`just status`: what is published, how old it is and whether its parts agree, one fact a line.

    published data version: 20200901 (built 2026-12-02 06:18 UTC, 5 min ago)
    latest month with sales: 2020-08
    model: 20261202T062012Z-seasonal_yoy (promoted), trained 2026-12-02 06:20 UTC, 3 min ago, on data version 20200901
    forecasts: model 20261202T062012Z-seasonal_yoy, trained on data version 20200901, matching the published data version
    landed tamales_inc/monthly_sales: 20200801, 20200901
    last ingest run: succeeded 2026-12-02 06:14 UTC, 9 min ago (8 tables: 0 landed, 8 unchanged)

Always exits 0: a missing part is a fact too (`published data version: none`).
"""  # noqa: E501

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.months import format_month
from tamales_inc.core.runs import run_records_dir
from tamales_inc.core.settings import Settings
from tamales_inc.operations.published import (
    CurrentModel,
    Published,
    read_current_model,
    read_published,
)
from tamales_inc.warehouse.landed import landed, table_label

PROG = "status"


def age(then: datetime | None, now: datetime) -> str:
    """`2026-12-02 06:18 UTC, 5 min ago` for a naive UTC or aware time."""
    if then is None:
        return "at an unknown time"
    when = then if then.tzinfo else then.replace(tzinfo=UTC)
    seconds = max(0.0, (now - when).total_seconds())
    if seconds < 90:
        ago = f"{seconds:.0f} s ago"
    elif seconds < 90 * 60:
        ago = f"{seconds / 60:.0f} min ago"
    elif seconds < 36 * 3600:
        ago = f"{seconds / 3600:.0f} h ago"
    else:
        ago = f"{seconds / 86400:.0f} days ago"
    return f"{when:%Y-%m-%d %H:%M} UTC, {ago}"


def warehouse_lines(published: Published | None, now: datetime) -> list[str]:
    if published is None:
        return ["published data version: none (run `just build`)"]
    mixed = (
        f", mixed: {', '.join(f'{t}={v}' for t, v in published.table_versions.items())}"
        if published.is_mixed_versions
        else ""
    )
    month = published.latest_sales_month
    return [
        f"published data version: {published.data_version} "
        f"(built {age(published.built_at, now)}{mixed})",
        f"latest month with sales: {format_month(month) if month else 'none'}",
    ]


def model_lines(
    published: Published | None, current: CurrentModel | None, now: datetime
) -> list[str]:
    if current is None:
        model = "model: none promoted (run `just train`)"
    else:
        model = (
            f"model: {current.version} (promoted), trained {age(current.trained_at, now)}, "
            f"on data version {current.training_data_version}"
        )
    run = published.last_run if published else None
    if published is None or not published.forecast_models or run is None:
        return [model, "forecasts: none published (run `just train`)"]
    models = ", ".join(published.forecast_models)
    trained_on = run.training_data_version
    if trained_on in published.data_versions:
        verdict = "matching the published data version"
    else:
        verdict = (
            f"NOT matching the published data version {published.data_version} (run `just train`)"
        )
    return [model, f"forecasts: model {models}, trained on data version {trained_on}, {verdict}"]


def landed_lines(settings: Settings) -> list[str]:
    try:
        versions = landed(settings).versions
    except Exception as exc:  # noqa: BLE001 - an unreadable state is a fact to show
        return [f"landed: unreadable ({exc})"]
    return [
        f"landed {table_label(*key)}: {', '.join(found) if found else 'none'}"
        for key, found in versions.items()
    ]


def _latest_record(folder: Path) -> dict[str, Any] | None:
    """The newest run record or manifest (JSON named by a time-sortable run id) in `folder`."""
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    for path in reversed(paths):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict):
            return record
    return None


def _finished_at(record: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(record.get("finished_at")))
    except ValueError:
        return None


def run_lines(settings: Settings, now: datetime) -> list[str]:
    lines = []
    ingest = _latest_record(settings.ingest_runs_dir)
    if ingest is None:
        lines.append("last ingest run: none")
    else:
        tables = ingest.get("tables") or []
        n_landed = sum(1 for table in tables if table.get("status") == "landed")
        outcome = f"{ingest.get('status')} {age(_finished_at(ingest), now)}"
        detail = f"{len(tables)} tables: {n_landed} landed, {len(tables) - n_landed} unchanged"
        error = f"; {ingest['error']}" if ingest.get("error") else ""
        lines.append(f"last ingest run: {outcome} ({detail}){error}")
    for stage in ("transform", "train"):
        record = _latest_record(run_records_dir(settings.manifests_dir, stage))
        if record is None:
            lines.append(f"last {stage} run: none")
            continue
        error = f"; {record['error']}" if record.get("error") else ""
        outcome = str(record.get("status")).replace("_", " ")
        lines.append(f"last {stage} run: {outcome} {age(_finished_at(record), now)}{error}")
    return lines


def status_lines(settings: Settings, now: datetime | None = None) -> list[str]:
    """Every fact, one a line."""
    now = now or datetime.now(UTC)
    published = read_published(settings)
    current = read_current_model(settings)
    return [
        *warehouse_lines(published, now),
        *model_lines(published, current, now),
        *landed_lines(settings),
        *run_lines(settings, now),
    ]


def _command(args: argparse.Namespace) -> None:
    for line in status_lines(Settings.from_env()):
        print(line)


def build_parser() -> argparse.ArgumentParser:
    return make_parser(
        PROG,
        "Print what is published and how old it is: the data version, the latest month with "
        "sales, the model and its forecasts, the landed versions and the last runs.",
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: `python -m tamales_inc.operations.status`."""
    return run_command(PROG, build_parser(), _command, argv)


if __name__ == "__main__":
    raise SystemExit(main())
