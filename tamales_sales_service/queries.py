"""Every SQL statement the service runs on the warehouse: the catalogs loaded per snapshot, the
paged queries behind /sales, /features and /forecasts, and the lookups of /health, /predictions
and /models. Bound parameters only; the only identifiers formatted into SQL come from allowlists
and the `ml` tables' declarations (`tamales_inc.forecasting.tables`). Amounts of money leave
SQL rounded to cents (`money`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal, TypeVar

import duckdb
import msgspec
import polars as pl

from tamales_inc.forecasting.tables import BACKTEST_METRICS, FORECASTS, MODEL_RUNS
from tamales_sales_service.schemas import (
    CENTS,
    MONEY_FEATURES,
    BacktestMetric,
    FeatureRow,
    GroupBy,
    PointOfSale,
    Product,
    Zone,
)

SortKey = Literal["key", "sales"]
SortOrder = Literal["asc", "desc"]

# Allowlists: the only identifiers ever formatted into SQL text.
GROUP_COLUMNS: dict[GroupBy, str] = {
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


def as_utc(value: datetime) -> datetime:
    """Warehouse TIMESTAMPs are naive UTC; give them their timezone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def money(expression: str) -> str:
    """An amount of money as the API returns it: rounded to cents."""
    return f"round({expression}, {CENTS})"


def _column_sql(column: str) -> str:
    """A column as the API returns it: months as `YYYY-MM` text, amounts rounded to cents."""
    if column == "sales_month":
        return "strftime(sales_month, '%Y-%m')"
    return money(column) if column in MONEY_FEATURES else column


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
    group_by: tuple[GroupBy, ...] = ()
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
        if not self.group_by:
            keys: tuple[str, ...] = NATURAL_ORDER
            sales = "sales"
            measures = f"{money(sales)}, n_sales_lines, n_return_lines, 1, is_zero_filled"
            group = ""
        else:
            # The two sources measure different things (own sell-in, market-reported sales):
            # summing them double counts, so every grouping keeps the source apart.
            columns = [GROUP_COLUMNS[dimension] for dimension in self.group_by]
            keys = ("source", *(c for c in columns if c != "source"))
            sales = "sum(sales)"
            measures = (
                f"{money(sales)}, sum(n_sales_lines)::bigint, sum(n_return_lines)::bigint, "
                "count(*), null"
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
        bounds = ", ".join(
            money(f"max(case when round(level, 2) = {level} then yhat_{side} end)")
            for level in ("0.8", "0.95")
            for side in ("lower", "upper")
        )
        sql = (
            "select source, product_id, zone_id, strftime(sales_month, '%Y-%m'), horizon::integer, "
            f"{money('avg(yhat)')}, {bounds}, "
            f"max(model_version) from {FORECASTS.qualified_name}{_where_sql(clauses)} "
            "group by source, product_id, zone_id, sales_month, horizon"
        )
        return f"{sql} order by source, product_id, zone_id, sales_month, horizon", params


# Catalogs: loaded once per published warehouse and answered from memory.


@dataclass(frozen=True)
class BuildInfo:
    """meta.build_info of a published warehouse."""

    built_at: datetime
    data_version: str
    dbt_version: str | None


def table_names(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Every `schema.table` of the warehouse the connection uses."""
    return frozenset(
        f"{schema}.{name}"
        for schema, name in con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = current_database()"
        ).fetchall()
    )


def build_info(con: duckdb.DuckDBPyConnection) -> BuildInfo | None:
    """The latest meta.build_info row, or None when the table is empty."""
    row = con.execute(
        "select built_at, data_version, dbt_version from meta.build_info "
        "order by built_at desc limit 1"
    ).fetchone()
    if row is None:
        return None
    return BuildInfo(built_at=as_utc(row[0]), data_version=row[1], dbt_version=row[2])


def latest_sales_month(con: duckdb.DuckDBPyConnection) -> str | None:
    """The last month (`YYYY-MM`) with recorded sales (zero-filled months do not count)."""
    row = con.execute(
        "select strftime(max(sales_month), '%Y-%m') from marts.fct_sales_monthly "
        "where sales is not null and not coalesce(is_zero_filled, false)"
    ).fetchone()
    return None if row is None else row[0]


@dataclass(frozen=True)
class PublishedForecasts:
    """What ml.forecasts holds: the model that made it, the data version that model was trained
    on (from ml.model_runs; None when no run records it) and the horizons it covers."""

    model_version: str
    data_version: str | None
    horizons: tuple[int, int]


def published_forecasts(
    con: duckdb.DuckDBPyConnection, tables: frozenset[str]
) -> PublishedForecasts | None:
    """The warehouse's forecasts at a glance, or None when it has none."""
    if FORECASTS.qualified_name not in tables:
        return None
    row = con.execute(
        f"select max(model_version), min(horizon), max(horizon) from {FORECASTS.qualified_name}"
    ).fetchone()
    if row is None or row[0] is None:
        return None
    model_version, first, last = row
    data_version = None
    if MODEL_RUNS.qualified_name in tables:
        run = con.execute(
            f"select training_data_version from {MODEL_RUNS.qualified_name} "
            "where model_version = ? order by trained_at desc limit 1",
            [model_version],
        ).fetchone()
        data_version = None if run is None else run[0]
    return PublishedForecasts(model_version, data_version, (int(first), int(last)))


def _rows(con: duckdb.DuckDBPyConnection, sql: str, row: type[Row]) -> list[Row]:
    """Every row `sql` returns, as `row` Structs (columns in field order)."""
    return [row(*r) for r in con.execute(sql).fetchall()]


def products(con: duckdb.DuckDBPyConnection) -> dict[str, Product]:
    """marts.dim_product by product_id, ordered by product_id."""
    sql = (
        "select product_id, product_name, flavor, brand, producer, calorie_category, "
        "coalesce(is_own_brand, false), tamales_inc_product_code, teinvento_id_product, "
        "coalesce(is_unknown, false) from marts.dim_product order by product_id"
    )
    return {product.product_id: product for product in _rows(con, sql, Product)}


def zones(con: duckdb.DuckDBPyConnection) -> dict[str, Zone]:
    """marts.dim_zone by zone_id, ordered by zone_id."""
    sql = (
        "select zone_id, zone_name, tamales_inc_zone, teinvento_id_region "
        "from marts.dim_zone order by zone_id"
    )
    return {zone.zone_id: zone for zone in _rows(con, sql, Zone)}


def points_of_sale(con: duckdb.DuckDBPyConnection) -> list[PointOfSale]:
    """marts.dim_point_of_sale, ordered by point_of_sale_id."""
    sql = (
        "select point_of_sale_id, source, zone_id, description "
        "from marts.dim_point_of_sale order by point_of_sale_id"
    )
    return _rows(con, sql, PointOfSale)


# /predictions: one series' feature row.


@dataclass(frozen=True)
class Series:
    """One series of the feature mart: a source's sales of a product in a zone."""

    source: str
    product_id: str
    zone_id: str

    @property
    def series_id(self) -> str:
        return f"{self.source}:{self.product_id}:{self.zone_id}"

    def params(self) -> list[object]:
        return [self.source, self.product_id, self.zone_id]


_SERIES_WHERE = "where source = ? and product_id = ? and zone_id = ?"


def feature_rows(cur: duckdb.DuckDBPyConnection, series: Series, month: date) -> pl.DataFrame:
    """The series' marts.sales_features row of `month` (every column; none if it has no row)."""
    return cur.execute(
        f"select * from marts.sales_features {_SERIES_WHERE} and sales_month = ?",
        [*series.params(), month],
    ).pl()


def all_feature_rows(cur: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Every marts.sales_features row (every column)."""
    return cur.execute("select * from marts.sales_features").pl()


def feature_months(cur: duckdb.DuckDBPyConnection, series: Series) -> tuple[str, str] | None:
    """The first and last month (`YYYY-MM`) with a feature row of the series; None if none."""
    first, last = cur.execute(
        "select strftime(min(sales_month), '%Y-%m'), strftime(max(sales_month), '%Y-%m') "
        f"from marts.sales_features {_SERIES_WHERE}",
        series.params(),
    ).fetchone() or (None, None)
    return None if first is None else (first, last)


# /models/current: the promoted model's run and the backtest against the baselines.


@dataclass(frozen=True)
class ModelRun:
    """The ml.model_runs row of a model version."""

    trained_at: datetime | None
    model_name: str | None
    is_champion: bool | None


def model_run(cur: duckdb.DuckDBPyConnection, version: str) -> ModelRun | None:
    """The latest ml.model_runs row of `version`, or None."""
    row = cur.execute(
        f"select trained_at, model_name, is_champion from {MODEL_RUNS.qualified_name} "
        "where model_version = ? order by trained_at desc limit 1",
        [version],
    ).fetchone()
    if row is None:
        return None
    trained_at = None if row[0] is None else as_utc(row[0])
    return ModelRun(trained_at=trained_at, model_name=row[1], is_champion=row[2])


def overall_backtest(cur: duckdb.DuckDBPyConnection) -> list[BacktestMetric]:
    """Every model's overall backtest metrics (ml.backtest_metrics), best WAPE first."""
    sql = (
        f"select model, wape, mase, rmse, bias, n from {BACKTEST_METRICS.qualified_name} "
        "where scope = 'overall' order by wape nulls last, model"
    )
    return _rows(cur, sql, BacktestMetric)
