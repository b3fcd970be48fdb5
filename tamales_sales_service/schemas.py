"""Request and response bodies of the sales API, as msgspec Structs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args

import msgspec

from ingest.contract import SOURCES

MONTH_PATTERN = r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$"
Source = Literal[SOURCES]  # type: ignore[valid-type]  # the raw-data contract's sources
GroupBy = Literal["month", "product", "zone", "source"]
GROUP_BY_DIMENSIONS: tuple[GroupBy, ...] = get_args(GroupBy)
_DIMENSION = f"({'|'.join(GROUP_BY_DIMENSIONS)})"
# One to four dimensions, comma-separated (each at most once: checked by the handler).
GROUP_BY_PATTERN = f"^{_DIMENSION}(,{_DIMENSION}){{0,{len(GROUP_BY_DIMENSIONS) - 1}}}$"
CENTS = 2  # amounts of money are rounded to this many decimals in every answer
# marts.sales_features columns that are amounts of money (the others are ratios and counts).
MONEY_FEATURES = frozenset(
    {
        "sales",
        "target_sales_next_month",
        "sales_lag_1",
        "sales_lag_2",
        "sales_lag_3",
        "sales_lag_6",
        "sales_lag_12",
        "rolling_mean_3",
        "rolling_mean_6",
        "rolling_mean_12",
        "rolling_std_3",
        "rolling_std_6",
        "rolling_std_12",
        "yoy_change",
        "other_source_sales",
        "market_category_sales",
    }
)
Month = Annotated[
    str,
    msgspec.Meta(
        pattern=MONTH_PATTERN, description="A calendar month as YYYY-MM", examples=["2020-08"]
    ),
]
Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ErrorBody(msgspec.Struct):
    """Every 4xx/5xx answer: the status code and a one-line reason."""

    status_code: int
    detail: str
    extra: list[dict[str, Any]] | dict[str, Any] | None = None


class Health(msgspec.Struct):
    """Service status, why it is degraded if it is, and what it serves: versions and ages."""

    status: Literal["ok", "degraded"]
    reasons: list[str]
    data_version: str
    warehouse_built_at: datetime
    data_age_seconds: float
    latest_sales_month: str | None
    dbt_version: str | None
    model_version: str | None
    model_training_data_version: str | None
    model_trained_at: datetime | None
    model_age_seconds: float | None
    model_is_stale: bool | None
    forecast_data_version: str | None
    forecasts_are_stale: bool | None
    warehouse_loaded_at: datetime


class Product(msgspec.Struct):
    """One conformed product (marts.dim_product)."""

    product_id: str
    product_name: str | None
    flavor: str | None
    brand: str | None
    producer: str | None
    calorie_category: str | None
    is_own_brand: bool
    tamales_inc_product_code: str | None
    teinvento_id_product: int | None
    is_unknown: bool


class Zone(msgspec.Struct):
    """One zone (marts.dim_zone)."""

    zone_id: str
    zone_name: str | None
    tamales_inc_zone: str | None
    teinvento_id_region: int | None


class PointOfSale(msgspec.Struct):
    """One point of sale: a source's sales in a zone (marts.dim_point_of_sale)."""

    point_of_sale_id: str
    source: str
    zone_id: str
    description: str | None


class SalesRow(msgspec.Struct):
    """Monthly sales; with `group_by`, the columns grouped away are null (source never is)."""

    source: str | None
    product_id: str | None
    zone_id: str | None
    sales_month: str | None
    sales: float | None
    n_sales_lines: int
    n_return_lines: int
    n_series_months: int
    is_zero_filled: bool | None


class SalesPage(msgspec.Struct):
    """A page of sales rows with the total number of rows matching the filters."""

    total: int
    limit: int
    offset: int
    group_by: str | None  # the dimensions grouped by, comma-separated as asked
    items: list[SalesRow]


class FeatureRow(msgspec.Struct):
    """One row of marts.sales_features: a series (source, product, zone) at a month."""

    series_id: str
    source: str
    product_id: str
    zone_id: str
    sales_month: str
    calorie_category: str | None
    is_own_brand: bool | None
    data_version: str | None
    sales: float | None
    target_sales_next_month: float | None
    sales_lag_1: float | None
    sales_lag_2: float | None
    sales_lag_3: float | None
    sales_lag_6: float | None
    sales_lag_12: float | None
    rolling_mean_3: float | None
    rolling_mean_6: float | None
    rolling_mean_12: float | None
    rolling_std_3: float | None
    rolling_std_6: float | None
    rolling_std_12: float | None
    month_of_year: int | None
    yoy_change: float | None
    yoy_pct_change: float | None
    other_source_sales: float | None
    market_category_sales: float | None
    own_share_of_market: float | None
    month_weight: float | None
    source_yoy_ratio: float | None
    n_sales_lines: int | None
    n_return_lines: int | None
    months_of_history: int | None


class FeaturePage(msgspec.Struct):
    """A page of feature rows with the total number matching the filters."""

    total: int
    limit: int
    offset: int
    items: list[FeatureRow]


class ForecastRow(msgspec.Struct):
    """A published forecast of one series and month, with 80 % and 95 % intervals."""

    source: str
    product_id: str
    zone_id: str
    sales_month: str
    horizon: int
    yhat: float | None
    yhat_lower_80: float | None
    yhat_upper_80: float | None
    yhat_lower_95: float | None
    yhat_upper_95: float | None
    model_version: str | None


class ForecastPage(msgspec.Struct):
    """A page of forecasts with the total number matching the filters, and whether they were
    made from the data version the warehouse holds (`is_stale` when not)."""

    total: int
    limit: int
    offset: int
    data_version: str
    forecast_data_version: str | None
    is_stale: bool
    items: list[ForecastRow]


class PredictionRequest(msgspec.Struct):
    """Ask the current model for one series' sales in `month` (from the month before's features)."""

    product_id: Identifier
    zone_id: Identifier
    source: Source
    month: Month


class Prediction(msgspec.Struct):
    """A horizon-1 point forecast with its 80 % and 95 % intervals."""

    series_id: str
    source: str
    product_id: str
    zone_id: str
    sales_month: str
    features_month: str
    yhat: float
    yhat_lower_80: float
    yhat_upper_80: float
    yhat_lower_95: float
    yhat_upper_95: float
    actual_sales: float | None
    model_version: str
    training_data_version: str | None


class BacktestMetric(msgspec.Struct):
    """Overall backtest metrics of one model (the promoted one or a baseline)."""

    model: str
    wape: float | None
    mase: float | None
    rmse: float | None
    bias: float | None
    n: int | None


class ModelInfo(msgspec.Struct):
    """The promoted model: versions, its own metrics and the backtest against the baselines."""

    version: str
    training_data_version: str | None
    warehouse_data_version: str
    metrics: dict[str, Any]
    trained_at: datetime | None
    model_name: str | None
    is_champion: bool | None
    backtest: list[BacktestMetric]
