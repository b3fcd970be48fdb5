"""GET /forecasts: the forecasts published by the last training run (ml.forecasts)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from tamales_inc.forecasting.tables import FORECASTS
from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import WarehouseUnavailable, responses
from tamales_sales_service.params import Limit, Offset, ProductIdFilter, SourceFilter, ZoneIdFilter
from tamales_sales_service.queries import ForecastQuery, SeriesFilter, run_query
from tamales_sales_service.schemas import ForecastPage, ForecastRow


class ForecastController(Controller):
    """Published forecasts with 80 % and 95 % intervals."""

    path = "/forecasts"
    tags = ["forecasts"]

    @get(operation_id="listForecasts", responses=responses(404, 503))
    async def list_forecasts(
        self,
        snapshot: CurrentSnapshot,
        product_id: ProductIdFilter = None,
        zone_id: ZoneIdFilter = None,
        source: SourceFilter = None,
        horizon: Annotated[
            int | None,
            QueryParameter(
                name="horizon", ge=1, le=120, description="Months ahead of the last data"
            ),
        ] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> ForecastPage:
        """Forecasts matching the filters, ordered by series, month and horizon."""
        snapshot.require_product(product_id)
        snapshot.require_zone(zone_id)
        if not snapshot.has_table(FORECASTS.qualified_name):
            raise WarehouseUnavailable(
                f"no forecasts in warehouse {snapshot.build.data_version} yet: run `just train`"
            )
        query = ForecastQuery(
            series=SeriesFilter(product_id=product_id, zone_id=zone_id, source=source),
            horizon=horizon,
            limit=limit,
            offset=offset,
        )
        total, items = await snapshot.query(query, lambda cur: run_query(cur, query, ForecastRow))
        return ForecastPage(total=total, limit=limit, offset=offset, items=items)
