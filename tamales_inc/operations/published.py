"""What is published and what it depends on: the warehouse's build, its forecasts' model and the
promoted model, read without changing anything (for `just status` and `just gc`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import duckdb

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.freshness import LAST_RUN_FIRST, MODEL_RUNS
from tamales_inc.forecasting.registry import METADATA_FILE, current_version


@dataclass(frozen=True)
class ModelRun:
    """A training run recorded in the published warehouse's `ml.model_runs`."""

    model_version: str
    training_data_version: str | None
    trained_at: datetime


@dataclass(frozen=True)
class Published:
    """The published warehouse: its build and the training outputs it holds."""

    data_version: str
    built_at: datetime
    table_versions: dict[str, str] = field(default_factory=dict)
    is_mixed_versions: bool = False
    latest_sales_month: date | None = None
    forecast_models: list[str] = field(default_factory=list)
    last_run: ModelRun | None = None

    @property
    def data_versions(self) -> set[str]:
        """Every data version the build read (one, unless mixed)."""
        return set(self.table_versions.values()) or {self.data_version}


@dataclass(frozen=True)
class CurrentModel:
    """The promoted model (`models/current`) and its registry metadata."""

    version: str
    metadata: dict[str, Any]

    @property
    def training_data_version(self) -> str | None:
        return self.metadata.get("training_data_version")

    @property
    def trained_at(self) -> datetime | None:
        text = self.metadata.get("trained_at")
        return datetime.fromisoformat(text.rstrip("Z")) if text else None


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_catalog = current_database()"
    ).fetchall()
    return {name for (name,) in rows}


def _table_versions(text: str | None) -> dict[str, str]:
    """`tamales_inc/monthly_sales=20200901, ...` as a mapping."""
    pairs = (item.strip().partition("=") for item in (text or "").split(","))
    return {table: version for table, _, version in pairs if table and version}


def read_published(settings: Settings) -> Published | None:
    """The published warehouse's facts, or None when nothing is published."""
    if not settings.warehouse_path.is_file():
        return None
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = _tables(con)
        if "meta.build_info" not in tables:
            return None
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'meta' and table_name = 'build_info'"
            ).fetchall()
        }
        extra = "table_versions, is_mixed_versions" if "table_versions" in columns else "'', false"
        row = con.execute(
            f"select data_version, built_at, {extra} from meta.build_info "
            "order by built_at desc limit 1"
        ).fetchone()
        if row is None:
            return None
        data_version, built_at, table_versions, is_mixed = row
        month = None
        if "marts.fct_sales_monthly" in tables:
            (month,) = con.execute(
                "select max(sales_month) from marts.fct_sales_monthly where sales <> 0"
            ).fetchone()
        forecast_models: list[str] = []
        if "ml.forecasts" in tables:
            forecast_models = [
                version
                for (version,) in con.execute(
                    "select distinct model_version from ml.forecasts order by 1"
                ).fetchall()
            ]
        last_run = None
        if MODEL_RUNS in tables:
            run = con.execute(
                "select model_version, training_data_version, trained_at "
                f"from {MODEL_RUNS} {LAST_RUN_FIRST} limit 1"
            ).fetchone()
            last_run = ModelRun(*run) if run else None
    finally:
        con.close()
    return Published(
        data_version=str(data_version),
        built_at=built_at,
        table_versions=_table_versions(table_versions),
        is_mixed_versions=bool(is_mixed),
        latest_sales_month=month,
        forecast_models=forecast_models,
        last_run=last_run,
    )


def read_current_model(settings: Settings) -> CurrentModel | None:
    """The promoted model and its metadata, or None when none is promoted."""
    version = current_version(settings)
    if version is None:
        return None
    path = settings.models_dir / version / METADATA_FILE
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        metadata = {}
    return CurrentModel(version, metadata if isinstance(metadata, dict) else {})
