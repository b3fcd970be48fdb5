"""The service's health: `ok`, or `degraded` with the reasons, and the versions and ages of what
it serves. Degraded means something published is not being served as published: the warehouse
file now published cannot be loaded, the promoted model cannot be loaded (or none is), or the
forecasts were made from another data version than the warehouse holds (or none exist)."""

from __future__ import annotations

from datetime import UTC, datetime

from tamales_sales_service.schemas import Health
from tamales_sales_service.served_model import ServedModel
from tamales_sales_service.snapshot import Snapshot
from tamales_sales_service.warehouse import PublishedWarehouse


def _seconds(since: datetime, now: datetime) -> float:
    return round((now - since).total_seconds(), 1)


def degraded_reasons(
    warehouse: PublishedWarehouse, snapshot: Snapshot, model: ServedModel
) -> list[str]:
    """Why the service is not serving what is published, one line each (none: healthy)."""
    reasons = []
    version = snapshot.build.data_version
    if warehouse.last_error is not None:
        reasons.append(
            f"the warehouse published now cannot be loaded ({warehouse.last_error}); "
            f"still serving data version {version} built {snapshot.build.built_at:%Y-%m-%d %H:%M}"
        )
    if model.load_error is not None:
        serving = f"still serving model {model.version}" if model.loaded else "no model served"
        reasons.append(f"the promoted model cannot be loaded ({model.load_error}); {serving}")
    elif model.loaded is None:
        reasons.append("no model promoted yet: run `just train`")
    if snapshot.forecasts is None:
        reasons.append("no forecasts published yet: run `just train`")
    elif snapshot.forecasts_are_stale:
        made_from = snapshot.forecasts.data_version or "an unrecorded version"
        reasons.append(
            f"the forecasts were made from data version {made_from} but the warehouse holds "
            f"{version}: run `just train`"
        )
    return reasons


def assess(
    warehouse: PublishedWarehouse,
    snapshot: Snapshot,
    model: ServedModel,
    now: datetime | None = None,
) -> Health:
    """The health of the service serving `snapshot` and `model` at `now` (default: now)."""
    now = now or datetime.now(UTC)
    reasons = degraded_reasons(warehouse, snapshot, model)
    trained_on = model.training_data_version
    trained_at = model.trained_at
    forecasts = snapshot.forecasts
    return Health(
        status="degraded" if reasons else "ok",
        reasons=reasons,
        data_version=snapshot.build.data_version,
        warehouse_built_at=snapshot.build.built_at,
        data_age_seconds=_seconds(snapshot.build.built_at, now),
        latest_sales_month=snapshot.latest_sales_month,
        dbt_version=snapshot.build.dbt_version,
        model_version=model.version,
        model_training_data_version=trained_on,
        model_trained_at=trained_at,
        model_age_seconds=None if trained_at is None else _seconds(trained_at, now),
        model_is_stale=None if model.loaded is None else trained_on != snapshot.build.data_version,
        forecast_data_version=None if forecasts is None else forecasts.data_version,
        forecasts_are_stale=snapshot.forecasts_are_stale,
        warehouse_loaded_at=snapshot.loaded_at,
    )
