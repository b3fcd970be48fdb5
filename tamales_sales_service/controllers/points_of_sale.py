"""GET /points-of-sale: where sales are recorded (one per source and zone)."""

from __future__ import annotations

from litestar import Controller, get

from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import responses
from tamales_sales_service.params import SourceFilter, ZoneIdFilter
from tamales_sales_service.schemas import PointOfSale


class PointOfSaleController(Controller):
    """Points of sale, served from the in-memory copy of marts.dim_point_of_sale."""

    path = "/points-of-sale"
    tags = ["points-of-sale"]

    @get(
        operation_id="listPointsOfSale",
        summary="Points of sale",
        description=(
            "Where sales are recorded: one point of sale per source and zone, optionally only "
            "those of one zone and/or one source. An unknown zone is a 404."
        ),
        sync_to_thread=False,
        responses=responses(400, 404, 429, 503),
    )
    def list_points_of_sale(
        self, snapshot: CurrentSnapshot, zone_id: ZoneIdFilter = None, source: SourceFilter = None
    ) -> list[PointOfSale]:
        """Points of sale, optionally of one zone and/or source."""
        snapshot.require_zone(zone_id)
        return [
            p
            for p in snapshot.points_of_sale
            if (zone_id is None or p.zone_id == zone_id) and (source is None or p.source == source)
        ]
