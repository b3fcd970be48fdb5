"""GET /health: is the service serving what is published, which versions, and how old."""

from __future__ import annotations

from litestar import Controller, get

from tamales_sales_service.dependencies import CurrentModel, CurrentSnapshot, Published
from tamales_sales_service.errors import responses
from tamales_sales_service.health import assess
from tamales_sales_service.schemas import Health


class HealthController(Controller):
    """Liveness, the reasons it is degraded if it is, and the versions and ages served."""

    path = "/health"
    tags = ["health"]

    @get(
        operation_id="getHealth",
        summary="Service health, versions and ages",
        description=(
            "`status` is `ok`, or `degraded` with one line per reason in `reasons`: the "
            "warehouse published now cannot be loaded (the previous one keeps serving), the "
            "promoted model cannot be loaded or none is promoted, or the forecasts were made "
            "from another data version than the warehouse holds (or none exist). Also the data "
            "and model versions, their ages in seconds (build and training time to now), the "
            "latest month with sales, and whether the model and the forecasts are stale (made "
            "from another data version). Answers 503 only while no warehouse is served at all."
        ),
        sync_to_thread=False,
        responses=responses(400, 503),
    )
    def get_health(
        self, snapshot: CurrentSnapshot, model: CurrentModel, published: Published
    ) -> Health:
        """Status and reasons, versions and ages of data and model (503 if nothing is served)."""
        return assess(published, snapshot, model)
