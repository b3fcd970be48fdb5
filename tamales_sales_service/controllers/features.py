"""GET /features: rows of the feature mart (marts.sales_features)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import QueryParameter

from tamales_inc.core.months import parse_month
from tamales_sales_service.dependencies import CurrentSnapshot
from tamales_sales_service.errors import responses
from tamales_sales_service.params import Limit, Offset, ProductIdFilter, SourceFilter, ZoneIdFilter
from tamales_sales_service.queries import FeatureQuery, SeriesFilter, run_query
from tamales_sales_service.schemas import MONTH_PATTERN, FeaturePage, FeatureRow


class FeatureController(Controller):
    """The model's inputs, one row per series and month."""

    path = "/features"
    tags = ["features"]

    @get(
        operation_id="listFeatures",
        summary="Rows of the feature mart",
        description=(
            "The model's inputs, one row per series (source, product, zone) and month, ordered "
            "by series and month, optionally filtered; every column of the mart under its own "
            "name. Amounts of money are rounded to cents; ratios and counts are as stored."
        ),
        responses=responses(400, 404, 429, 503),
    )
    async def list_features(
        self,
        snapshot: CurrentSnapshot,
        product_id: ProductIdFilter = None,
        zone_id: ZoneIdFilter = None,
        source: SourceFilter = None,
        month: Annotated[
            str | None,
            QueryParameter(
                name="month", pattern=MONTH_PATTERN, description="Only this month, YYYY-MM"
            ),
        ] = None,
        limit: Limit = 100,
        offset: Offset = 0,
    ) -> FeaturePage:
        """Feature rows matching the filters, ordered by series and month."""
        snapshot.require_product(product_id)
        snapshot.require_zone(zone_id)
        query = FeatureQuery(
            series=SeriesFilter(product_id=product_id, zone_id=zone_id, source=source),
            month=parse_month(month) if month is not None else None,
            limit=limit,
            offset=offset,
        )
        total, items = await snapshot.query(query, lambda cur: run_query(cur, query, FeatureRow))
        return FeaturePage(total=total, limit=limit, offset=offset, items=items)
