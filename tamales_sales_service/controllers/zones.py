"""GET /zones and /zones/{zone_id}: the five zones."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import PathParameter

from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import responses
from tamales_sales_service.schemas import Zone


class ZoneController(Controller):
    """Zones, served from the in-memory copy of marts.dim_zone."""

    path = "/zones"
    tags = ["zones"]

    @get(
        operation_id="listZones",
        summary="Every zone",
        description="The five zones sales are recorded in, ordered by `zone_id`.",
        sync_to_thread=False,
        responses=responses(400, 429, 503),
    )
    def list_zones(self, snapshot: CurrentSnapshot) -> list[Zone]:
        """Every zone, ordered by zone_id."""
        return list(snapshot.zones.values())

    @get(
        "/{zone_id:str}",
        operation_id="getZone",
        summary="One zone",
        description="One zone by its id; an unknown id is a 404.",
        sync_to_thread=False,
        responses=responses(400, 404, 429, 503),
    )
    def get_zone(
        self,
        snapshot: CurrentSnapshot,
        zone_id: Annotated[
            str, PathParameter(description="A zone id (see GET /zones), e.g. norte")
        ],
    ) -> Zone:
        """One zone by id (404 if unknown)."""
        snapshot.require_zone(zone_id)
        return snapshot.zones[zone_id]
