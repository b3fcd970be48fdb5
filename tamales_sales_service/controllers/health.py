"""GET /health: is the service serving, and which data and model versions."""

from __future__ import annotations

from litestar import Controller, get

from tamales_sales_service.dependencies import CurrentModel, CurrentSnapshot
from tamales_sales_service.errors import responses
from tamales_sales_service.schemas import Health


class HealthController(Controller):
    """Liveness plus the versions being served."""

    path = "/health"
    tags = ["health"]

    @get(operation_id="getHealth", sync_to_thread=False, responses=responses(503))
    def get_health(self, snapshot: CurrentSnapshot, model: CurrentModel) -> Health:
        """Status, data version, model version and when the warehouse was built (503 if none)."""
        return Health(
            status="ok",
            data_version=snapshot.build.data_version,
            warehouse_built_at=snapshot.build.built_at,
            dbt_version=snapshot.build.dbt_version,
            model_version=model.version,
            model_training_data_version=model.training_data_version,
            warehouse_loaded_at=snapshot.loaded_at,
        )
