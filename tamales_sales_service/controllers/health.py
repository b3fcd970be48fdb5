"""GET /health: is the service serving, and which data and model versions."""

from __future__ import annotations

from litestar import Controller, get
from litestar.datastructures import State

from tamales_sales_service.errors import responses
from tamales_sales_service.schemas import Health


class HealthController(Controller):
    """Liveness plus the versions being served."""

    path = "/health"
    tags = ["health"]

    @get(operation_id="getHealth", sync_to_thread=False, responses=responses(503))
    def get_health(self, state: State) -> Health:
        """Status, data version, model version and when the warehouse was built (503 if none)."""
        snap = state.warehouse.snapshot
        model = state.models.model
        return Health(
            status="ok",
            data_version=snap.build.data_version,
            warehouse_built_at=snap.build.built_at,
            dbt_version=snap.build.dbt_version,
            model_version=model.version if model else None,
            model_training_data_version=model.training_data_version if model else None,
            warehouse_loaded_at=snap.loaded_at,
        )
