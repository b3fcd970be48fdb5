"""GET /forecasts: the forecasts published by the last training run (ml.forecasts), flagged when
they were made from another data version than the warehouse holds."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import BadParameter, WarehouseUnavailable, responses
from tamales_sales_service.params import Limit, Offset, ProductIdFilter, SourceFilter, ZoneIdFilter
from tamales_sales_service.queries import ForecastQuery, SeriesFilter, run_query
from tamales_sales_service.schemas import ForecastPage, ForecastRow


class ForecastController(Controller):
    """Published forecasts with 80 % and 95 % intervals."""

    path = "/forecasts"
    tags = ["forecasts"]

    @get(
        operation_id="listForecasts",
        summary="Published forecasts with intervals",
        description=(
            "The last training run's forecasts, one row per series, month and horizon with "
            "`yhat` and the 80 % and 95 % bounds (rounded to cents), ordered by series, month "
            "and horizon. `horizon` must be one the forecasts cover (a 400 names the range). "
            "Forecasts made from another data version than the warehouse holds (after a "
            "transform without a training run since) are served, flagged: `is_stale` is true "
            "and `forecast_data_version` says which version they were made from."
        ),
        responses=responses(400, 404, 429, 503),
    )
    async def list_forecasts(
        self,
        snapshot: CurrentSnapshot,
        product_id: ProductIdFilter = None,
        zone_id: ZoneIdFilter = None,
        source: SourceFilter = None,
        horizon: Annotated[
            int | None,
            QueryParameter(
                name="horizon",
                ge=1,
                le=120,
                description=(
                    "Only this many months ahead of the last month of data; one of the "
                    "horizons the published forecasts cover (1-3 by default)"
                ),
            ),
        ] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> ForecastPage:
        """Forecasts matching the filters, ordered by series, month and horizon."""
        snapshot.require_product(product_id)
        snapshot.require_zone(zone_id)
        published = snapshot.forecasts
        if published is None:
            raise WarehouseUnavailable(
                f"no forecasts in warehouse {snapshot.build.data_version} yet: run `just train`"
            )
        first, last = published.horizons
        if horizon is not None and not first <= horizon <= last:
            raise BadParameter(
                "horizon", f"{horizon} is outside the published forecasts' horizons {first}-{last}"
            )
        query = ForecastQuery(
            series=SeriesFilter(product_id=product_id, zone_id=zone_id, source=source),
            horizon=horizon,
            limit=limit,
            offset=offset,
        )
        total, items = await snapshot.query(query, lambda cur: run_query(cur, query, ForecastRow))
        return ForecastPage(
            total=total,
            limit=limit,
            offset=offset,
            data_version=snapshot.build.data_version,
            forecast_data_version=published.data_version,
            is_stale=bool(snapshot.forecasts_are_stale),
            items=items,
        )
