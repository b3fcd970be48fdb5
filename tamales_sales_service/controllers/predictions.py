"""POST /predictions: a forecast from the current model, computed from the feature mart."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated

import duckdb
import polars as pl
from litestar import Controller, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from tamales_inc.core.months import format_month, month_after, parse_month
from tamales_inc.forecasting.registry import PREDICTION_OUTPUT
from tamales_sales_service import queries
from tamales_sales_service.dependencies import CurrentModel, CurrentSnapshot
from tamales_sales_service.errors import (
    ModelUnavailable,
    UnknownId,
    WarehouseUnavailable,
    responses,
)
from tamales_sales_service.schemas import CENTS, Prediction, PredictionRequest
from tamales_sales_service.served_model import ServedModel


def _finite(value: object, name: str) -> float:
    """The model's output `name` rounded to cents; ModelUnavailable when not finite."""
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ModelUnavailable(f"the current model returned a non-finite {name}")
    return round(number, CENTS)


def _features(
    cur: duckdb.DuckDBPyConnection, series: queries.Series, month: date, asked: str
) -> pl.DataFrame:
    """The series' feature row of `month` (the month before `asked`), or UnknownId saying which
    months have one."""
    features = queries.feature_rows(cur, series, month)
    if features.height > 0:
        return features
    months = queries.feature_months(cur, series)
    if months is None:
        raise UnknownId(f"no sales series {series.series_id}: see GET /sales for what exists")
    raise UnknownId(
        f"no features for {series.series_id} in {format_month(month)} (the month before "
        f"{asked}); months with features run {months[0]}..{months[1]}"
    )


def _predicted_values(model: ServedModel, features: pl.DataFrame) -> dict[str, float]:
    """The model's yhat and interval bounds for the one feature row; ModelUnavailable when the
    model cannot score it."""
    try:
        row = model.predict(features).row(0, named=True)
        return {name: _finite(row[name], name) for name in PREDICTION_OUTPUT}
    except ModelUnavailable:
        raise
    except Exception as exc:  # a model that cannot score the published features
        raise ModelUnavailable(
            f"model {model.version or '?'} could not predict: {type(exc).__name__}"
        ) from exc


class PredictionController(Controller):
    """Horizon-1 predictions on demand."""

    path = "/predictions"
    tags = ["predictions"]

    @post(
        operation_id="createPrediction",
        summary="Predict one series' sales in a month",
        description=(
            "The promoted model's horizon-1 forecast of a series (source, product, zone) in "
            "`month`, computed from the series' feature row of the month before, with 80 % and "
            "95 % intervals and the actual sales when the month is already known (amounts "
            "rounded to cents). `month` may be one month past the last month of data. The body "
            "is a flat JSON object of at most the configured size (64 KiB by default; larger "
            "is a 413); a body that is not that object, however nested, is a 400."
        ),
        sync_to_thread=True,
        status_code=200,
        responses=responses(400, 404, 413, 429, 503),
    )
    def create_prediction(
        self,
        snapshot: CurrentSnapshot,
        model: CurrentModel,
        data: Annotated[
            PredictionRequest,
            Body(
                media_type=RequestEncodingType.JSON,
                title="Prediction request",
                description="The series (product_id, zone_id, source) and the month to predict",
            ),
        ],
    ) -> Prediction:
        """Predict a series' sales in `month` from its features of the month before.

        `month` may be one month past the last month of data (the next month to forecast).
        """
        snapshot.require_product(data.product_id)
        snapshot.require_zone(data.zone_id)
        if not snapshot.has_table("marts.sales_features"):
            raise WarehouseUnavailable("the warehouse has no marts.sales_features yet")
        loaded = model.require()
        features_month = month_after(parse_month(data.month), -1)
        series = queries.Series(data.source, data.product_id, data.zone_id)
        features = _features(snapshot.cursor(), series, features_month, data.month)
        values = _predicted_values(model, features)
        actual = features["target_sales_next_month"][0]
        return Prediction(
            series_id=str(features["series_id"][0]),
            source=data.source,
            product_id=data.product_id,
            zone_id=data.zone_id,
            sales_month=data.month,
            features_month=format_month(features_month),
            actual_sales=None if actual is None else round(float(actual), CENTS),
            model_version=str(loaded.version),
            training_data_version=loaded.training_data_version,
            **values,
        )
