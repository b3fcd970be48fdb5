"""The SQL behind each endpoint: bound parameters only, sort and group columns from allowlists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, TypeVar

import duckdb
import msgspec

from tamales_sales_service.schemas import FeatureRow

GroupBy = Literal["month", "product", "zone", "source"]
SortKey = Literal["key", "sales"]
SortOrder = Literal["asc", "desc"]

# Allowlists: the only identifiers ever formatted into SQL text.
GROUP_COLUMNS: dict[str, str] = {
    "month": "sales_month",
    "product": "product_id",
    "zone": "zone_id",
    "source": "source",
}
NATURAL_ORDER = ("sales_month", "source", "product_id", "zone_id")
# A SalesRow's key fields, in order; a grouped query returns null for those grouped away.
SALES_KEYS = ("source", "product_id", "zone_id", "sales_month")
FEATURE_COLUMNS: tuple[str, ...] = tuple(FeatureRow.__struct_fields__)
Row = TypeVar("Row", bound=msgspec.Struct)


def month_start(text: str) -> date:
    """`YYYY-MM` as the first day of that month."""
    return date(int(text[:4]), int(text[5:7]), 1)


def _column_sql(column: str) -> str:
    """A column as the API returns it: months as `YYYY-MM` text."""
    return "strftime(sales_month, '%Y-%m')" if column == "sales_month" else column


@dataclass(frozen=True)
class SeriesFilter:
    """Optional equality filters shared by sales, features and forecasts."""

    product_id: str | None = None
    zone_id: str | None = None
    source: str | None = None

    def where(self) -> tuple[list[str], list[object]]:
        """SQL predicates and their bound values."""
        clauses: list[str] = []
        params: list[object] = []
        for column, value in (
            ("product_id", self.product_id),
            ("zone_id", self.zone_id),
            ("source", self.source),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        return clauses, params


def _where_sql(clauses: list[str]) -> str:
    return f" where {' and '.join(clauses)}" if clauses else ""


class PagedQuery:
    """A query answered one page at a time, with the total number of matching rows."""

    limit: int
    offset: int

    def select_sql(self) -> tuple[str, list[object]]:
        """The ordered SELECT without LIMIT/OFFSET, and its parameters."""
        raise NotImplementedError

    def count_sql(self) -> tuple[str, list[object]]:
        """SELECT count(*) of the rows the query matches, and its parameters."""
        sql, params = self.select_sql()
        return f"select count(*) from ({sql.rsplit(' order by ', 1)[0]})", params


def run_query(
    cur: duckdb.DuckDBPyConnection, query: PagedQuery, row: type[Row]
) -> tuple[int, list[Row]]:
    """(total, rows of the page as `row`); the count query runs only when the page cannot tell."""
    sql, params = query.select_sql()
    found = cur.execute(f"{sql} limit ? offset ?", [*params, query.limit, query.offset]).fetchall()
    items = [row(*r) for r in found]
    if len(found) < query.limit and (found or query.offset == 0):
        return query.offset + len(found), items
    count_sql, count_params = query.count_sql()
    return cur.execute(count_sql, count_params).fetchone()[0], items  # type: ignore[index]


@dataclass(frozen=True)
class SalesQuery(PagedQuery):
    """A `/sales` request, validated."""

    series: SeriesFilter
    from_month: date | None = None
    to_month: date | None = None
    group_by: GroupBy | None = None
    sort: SortKey = "key"
    order: SortOrder = "asc"
    limit: int = 100
    offset: int = 0

    def select_sql(self) -> tuple[str, list[object]]:
        clauses, params = self.series.where()
        if self.from_month is not None:
            clauses.append("sales_month >= ?")
            params.append(self.from_month)
        if self.to_month is not None:
            clauses.append("sales_month <= ?")
            params.append(self.to_month)
        direction = "desc" if self.order == "desc" else "asc"
        if self.group_by is None:
            keys = NATURAL_ORDER
            sales = "sales"
            measures = f"{sales}, n_sales_lines, n_return_lines, 1, is_zero_filled"
            group = ""
        else:
            # The two sources measure different things (own sell-in, market-reported sales):
            # summing them double counts, so every grouping keeps the source apart.
            column = GROUP_COLUMNS[self.group_by]
            keys = ("source",) if column == "source" else ("source", column)
            sales = "sum(sales)"
            measures = (
                f"{sales}, sum(n_sales_lines)::bigint, sum(n_return_lines)::bigint, count(*), null"
            )
            group = f" group by {', '.join(keys)}"
        select = ", ".join(_column_sql(c) if c in keys else "null" for c in SALES_KEYS)
        if self.sort == "sales":
            order_by = f"{sales} {direction} nulls last, {', '.join(keys)}"
        else:
            order_by = ", ".join(f"{k} {direction}" for k in keys)
        where = _where_sql(clauses)
        sql = f"select {select}, {measures} from marts.fct_sales_monthly{where}{group}"
        return f"{sql} order by {order_by}", params


@dataclass(frozen=True)
class FeatureQuery(PagedQuery):
    """A `/features` request, validated."""

    series: SeriesFilter
    month: date | None = None
    limit: int = 100
    offset: int = 0

    def select_sql(self) -> tuple[str, list[object]]:
        clauses, params = self.series.where()
        if self.month is not None:
            clauses.append("sales_month = ?")
            params.append(self.month)
        columns = ", ".join(_column_sql(c) for c in FEATURE_COLUMNS)
        sql = f"select {columns} from marts.sales_features{_where_sql(clauses)}"
        return f"{sql} order by source, product_id, zone_id, sales_month", params


@dataclass(frozen=True)
class ForecastQuery(PagedQuery):
    """A `/forecasts` request, validated."""

    series: SeriesFilter
    horizon: int | None = None
    limit: int = 100
    offset: int = 0

    def select_sql(self) -> tuple[str, list[object]]:
        clauses, params = self.series.where()
        if self.horizon is not None:
            clauses.append("horizon = ?")
            params.append(self.horizon)
        sql = (
            "select source, product_id, zone_id, strftime(sales_month, '%Y-%m'), horizon::integer, "
            "avg(yhat), "
            "max(case when round(level, 2) = 0.8 then yhat_lower end), "
            "max(case when round(level, 2) = 0.8 then yhat_upper end), "
            "max(case when round(level, 2) = 0.95 then yhat_lower end), "
            "max(case when round(level, 2) = 0.95 then yhat_upper end), "
            f"max(model_version) from ml.forecasts{_where_sql(clauses)} "
            "group by source, product_id, zone_id, sales_month, horizon"
        )
        return f"{sql} order by source, product_id, zone_id, sales_month, horizon", params
