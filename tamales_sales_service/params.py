"""Query parameters shared by several endpoints, declared once with their constraints."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

from tamales_sales_service.schemas import MONTH_PATTERN, Source

ProductIdFilter = Annotated[
    str | None,
    QueryParameter(
        name="product_id",
        min_length=1,
        max_length=200,
        description="Only this product (see GET /products); an unknown id is a 404",
    ),
]
ZoneIdFilter = Annotated[
    str | None,
    QueryParameter(
        name="zone_id",
        min_length=1,
        max_length=200,
        description="Only this zone (see GET /zones); an unknown id is a 404",
    ),
]
SourceFilter = Annotated[
    Source | None, QueryParameter(name="source", description="Only this source's sales")
]
FromMonth = Annotated[
    str | None,
    QueryParameter(
        name="from",
        pattern=MONTH_PATTERN,
        description="First month included, YYYY-MM",
    ),
]
ToMonth = Annotated[
    str | None,
    QueryParameter(name="to", pattern=MONTH_PATTERN, description="Last month included, YYYY-MM"),
]
Limit = Annotated[
    int, QueryParameter(name="limit", ge=1, le=1000, description="Page size (1-1000)")
]
Offset = Annotated[
    int, QueryParameter(name="offset", ge=0, le=10_000_000, description="Rows to skip")
]
