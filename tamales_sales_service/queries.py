"""The SQL behind each endpoint: bound parameters only, sort and group columns from allowlists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import duckdb

from tamales_sales_service.schemas import FeatureRow, ForecastRow, SalesRow

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
FEATURE_COLUMNS: tuple[str, ...] = tuple(FeatureRow.__struct_fields__)


def month_start(text: str) -> date:
    """`YYYY-MM` as the first day of that month."""
    return date(int(text[:4]), int(text[5:7]), 1)


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


def fetch_page(cur: duckdb.DuckDBPyConnection, query: PagedQuery) -> tuple[int, list[tuple]]:
    """(total, rows of the page); the count query runs only when the page cannot tell."""
    sql, params = query.select_sql()
    rows = cur.execute(f"{sql} limit ? offset ?", [*params, query.limit, query.offset]).fetchall()
    if len(rows) < query.limit and (rows or query.offset == 0):
        return query.offset + len(rows), rows
    count_sql, count_params = query.count_sql()
    return cur.execute(count_sql, count_params).fetchone()[0], rows  # type: ignore[index]


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
            select = (
                "source, product_id, zone_id, strftime(sales_month, '%Y-%m'), sales, "
                "n_sales_lines, n_return_lines, 1, is_zero_filled"
            )
            group = ""
        else:
            # The two sources measure different things (own sell-in, market-reported sales):
            # summing them double counts, so every grouping keeps the source apart.
            column = GROUP_COLUMNS[self.group_by]
            keys = ("source",) if column == "source" else ("source", column)
            cols = {c: "null" for c in ("product_id", "zone_id")} | {"source": "source"}
            month = "null"
            if column == "sales_month":
                month = "strftime(sales_month, '%Y-%m')"
            else:
                cols[column] = column
            select = (
                f"{cols['source']}, {cols['product_id']}, {cols['zone_id']}, {month}, "
                "sum(sales), sum(n_sales_lines)::bigint, sum(n_return_lines)::bigint, "
                "count(*), null"
            )
            group = f" group by {', '.join(keys)}"
        if self.sort == "sales":
            order_by = f"{'sum(sales)' if self.group_by else 'sales'} {direction} nulls last, "
            order_by += ", ".join(keys)
        else:
            order_by = ", ".join(f"{k} {direction}" for k in keys)
        sql = f"select {select} from marts.fct_sales_monthly{_where_sql(clauses)}{group}"
        return f"{sql} order by {order_by}", params


def run_sales(cur: duckdb.DuckDBPyConnection, query: SalesQuery) -> tuple[int, list[SalesRow]]:
    """(total, rows) of a sales query."""
    total, rows = fetch_page(cur, query)
    return total, [SalesRow(*r) for r in rows]


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
        columns = ", ".join(
            "strftime(sales_month, '%Y-%m')" if c == "sales_month" else c for c in FEATURE_COLUMNS
        )
        sql = f"select {columns} from marts.sales_features{_where_sql(clauses)}"
        return f"{sql} order by source, product_id, zone_id, sales_month", params


def run_features(
    cur: duckdb.DuckDBPyConnection, query: FeatureQuery
) -> tuple[int, list[FeatureRow]]:
    """(total, rows) of a features query."""
    total, rows = fetch_page(cur, query)
    return total, [FeatureRow(*r) for r in rows]


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


def run_forecasts(
    cur: duckdb.DuckDBPyConnection, query: ForecastQuery
) -> tuple[int, list[ForecastRow]]:
    """(total, rows) of a forecasts query."""
    total, rows = fetch_page(cur, query)
    return total, [ForecastRow(*r) for r in rows]
