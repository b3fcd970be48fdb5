"""GET /sales: monthly sales, filtered, optionally grouped, paged with the total count."""

from __future__ import annotations

from typing import Annotated, cast

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
from tamales_sales_service.schemas import GROUP_BY_PATTERN, GroupBy, SalesPage, SalesRow


def parse_group_by(text: str | None) -> tuple[GroupBy, ...]:
    """`zone,month` as ("zone", "month"); a dimension named twice is a 400."""
    if text is None:
        return ()
    dimensions = tuple(cast(GroupBy, d) for d in text.split(","))
    for dimension in dimensions:
        if dimensions.count(dimension) > 1:
            raise BadParameter("group_by", f"'{dimension}' is named twice in {text}")
    return dimensions


class SalesController(Controller):
    """Sales from marts.fct_sales_monthly (one row per source, product, zone and month)."""

    path = "/sales"
    tags = ["sales"]

    @get(
        operation_id="listSales",
        summary="Monthly sales, filtered and optionally grouped",
        description=(
            "Rows of the monthly sales fact (one per source, product, zone and month), filtered "
            "by product, zone, source and month range. With `group_by` (one or more of `month`, "
            "`product`, `zone`, `source`, comma-separated) the rows are summed per group and "
            "per source (the two sources are never summed together); the columns grouped away "
            "are null and `n_series_months` counts the rows summed. Sales are rounded to cents. "
            "`total` counts every matching row or group."
        ),
        responses=responses(400, 404, 429, 503),
    )
    async def list_sales(
        self,
        snapshot: CurrentSnapshot,
        product_id: ProductIdFilter = None,
        zone_id: ZoneIdFilter = None,
        source: SourceFilter = None,
        from_: FromMonth = None,
        to: ToMonth = None,
        group_by: Annotated[
            str | None,
            QueryParameter(
                name="group_by",
                pattern=GROUP_BY_PATTERN,
                description=(
                    "Sum sales per month, product, zone and/or source: one dimension or several, "
                    "comma-separated (`zone,month`), each at most once; always per source too "
                    "(the two sources are different measures and are never summed together). "
                    "Rows are ordered by source, then the dimensions in the order given"
                ),
            ),
        ] = None,
        sort: Annotated[
            SortKey,
            QueryParameter(name="sort", description="Order by the row key (default) or by sales"),
        ] = "key",
        order: Annotated[
            SortOrder,
            QueryParameter(name="order", description="Sort direction: asc (default) or desc"),
        ] = "asc",
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> SalesPage:
        """Monthly sales matching the filters; `total` counts every matching row (or group)."""
        snapshot.require_product(product_id)
        snapshot.require_zone(zone_id)
        dimensions = parse_group_by(group_by)
        start = parse_month(from_) if from_ is not None else None
        end = parse_month(to) if to is not None else None
        if start is not None and end is not None and start > end:
            raise BadParameter("from", f"{from_} is after to={to}")
        query = SalesQuery(
            series=SeriesFilter(product_id=product_id, zone_id=zone_id, source=source),
            from_month=start,
            to_month=end,
            group_by=dimensions,
            sort=sort,
            order=order,
            limit=limit,
            offset=offset,
        )
        total, items = await snapshot.query(query, lambda cur: run_query(cur, query, SalesRow))
        return SalesPage(total=total, limit=limit, offset=offset, group_by=group_by, items=items)
