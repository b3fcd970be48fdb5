"""GET /sales: monthly sales, filtered, optionally grouped, paged with the total count."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from tamales_inc.core.months import parse_month
from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import BadParameter, responses
from tamales_sales_service.params import (
    FromMonth,
    Limit,
    Offset,
    ProductIdFilter,
    SourceFilter,
    ToMonth,
    ZoneIdFilter,
)
from tamales_sales_service.queries import (
    SalesQuery,
    SeriesFilter,
    SortKey,
    SortOrder,
    run_query,
)
from tamales_sales_service.schemas import GroupBy, SalesPage, SalesRow


class SalesController(Controller):
    """Sales from marts.fct_sales_monthly (one row per source, product, zone and month)."""

    path = "/sales"
    tags = ["sales"]

    @get(operation_id="listSales", responses=responses(404, 503))
    async def list_sales(
        self,
        snapshot: CurrentSnapshot,
        product_id: ProductIdFilter = None,
        zone_id: ZoneIdFilter = None,
        source: SourceFilter = None,
        from_: FromMonth = None,
        to: ToMonth = None,
        group_by: Annotated[
            GroupBy | None,
            QueryParameter(
                name="group_by",
                description=(
                    "Sum sales per month, product, zone or source; always per source too "
                    "(the two sources are different measures and are never summed together)"
                ),
            ),
        ] = None,
        sort: Annotated[
            SortKey,
            QueryParameter(name="sort", description="Order by the row key (default) or by sales"),
        ] = "key",
        order: Annotated[
            SortOrder, QueryParameter(name="order", description="asc or desc")
        ] = "asc",
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> SalesPage:
        """Monthly sales matching the filters; `total` counts every matching row (or group)."""
        snapshot.require_product(product_id)
        snapshot.require_zone(zone_id)
        start = parse_month(from_) if from_ is not None else None
        end = parse_month(to) if to is not None else None
        if start is not None and end is not None and start > end:
            raise BadParameter("from", f"{from_} is after to={to}")
        query = SalesQuery(
            series=SeriesFilter(product_id=product_id, zone_id=zone_id, source=source),
            from_month=start,
            to_month=end,
            group_by=group_by,
            sort=sort,
            order=order,
            limit=limit,
            offset=offset,
        )
        total, items = await snapshot.query(query, lambda cur: run_query(cur, query, SalesRow))
        return SalesPage(total=total, limit=limit, offset=offset, group_by=group_by, items=items)
