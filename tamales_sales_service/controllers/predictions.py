"""POST /predictions: a forecast from the current model, computed from the feature mart."""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import date
from typing import Annotated

import anyio
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
from tamales_sales_service.snapshot import Snapshot

SeriesMonth = tuple[str, str, str, date]  # source, product_id, zone_id, features month
log = logging.getLogger(__name__)
_BUILDING = threading.Lock()  # one table is scored at a time; requests meanwhile wait for it


@dataclass(frozen=True)
class Predicted:
    """One feature row's horizon-1 prediction: the model's raw outputs and the known actual."""

    series_id: str
    outputs: dict[str, object]
    actual: float | None


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


def _checked(outputs: dict[str, object]) -> dict[str, float]:
    """The model's yhat and interval bounds, rounded to cents; ModelUnavailable if not finite."""
    return {name: _finite(outputs[name], name) for name in PREDICTION_OUTPUT}


def _predict_row(
    cur: duckdb.DuckDBPyConnection,
    model: ServedModel,
    series: queries.Series,
    month: date,
    asked: str,
) -> Predicted:
    """The prediction from the series' feature row of `month`, computed now (UnknownId when
    there is no such row, ModelUnavailable when the model cannot score it)."""
    features = _features(cur, series, month, asked)
    try:
        outputs = model.predict(features).row(0, named=True)
    except ModelUnavailable:
        raise
    except Exception as exc:  # a model that cannot score the published features
        raise ModelUnavailable(
            f"model {model.version or '?'} could not predict: {type(exc).__name__}"
        ) from exc
    actual = features["target_sales_next_month"][0]
    return Predicted(str(features["series_id"][0]), outputs, actual)


def prediction_table(
    cur: duckdb.DuckDBPyConnection, model: ServedModel
) -> dict[SeriesMonth, Predicted]:
    """The horizon-1 prediction of every feature row, scored in one batch.

    A model forecasts from each row using only that row and its series' history up to it, so
    the batch holds exactly what scoring the rows one at a time gives (a test compares the two
    for every registered model); a request then costs a dictionary lookup. The warehouse and
    the model are immutable once published, so the table lives in the snapshot's result cache
    under the model's version.
    """
    features = queries.all_feature_rows(cur)
    predicted = model.predict(features)  # in input order
    table: dict[SeriesMonth, Predicted] = {}
    keys = features.select("source", "product_id", "zone_id", "sales_month")
    actuals = features["target_sales_next_month"]
    for key, outputs, actual in zip(
        keys.iter_rows(), predicted.iter_rows(named=True), actuals, strict=True
    ):
        table[key] = Predicted(str(outputs["series_id"]), outputs, actual)
    return table


def _table_or_empty(snapshot: Snapshot, model: ServedModel) -> dict[SeriesMonth, Predicted]:
    """The prediction table, or an empty one when the model cannot score the whole mart: kept
    like a table, so the batch is not tried again on every request (each row is then scored
    alone, and fails alone)."""
    try:
        return prediction_table(snapshot.cursor(), model)
    except Exception as exc:  # noqa: BLE001 - logged once; requests fall back to one row
        log.warning(
            "model %s could not score the feature mart in one batch (%s); scoring each request's "
            "row alone",
            model.version,
            type(exc).__name__,
        )
        return {}


async def _predict(
    snapshot: Snapshot, model: ServedModel, series: queries.Series, month: date, asked: str
) -> Predicted:
    """The prediction from the series' feature row of `month`: from the snapshot's prediction
    table of the served model (scored once per warehouse and model), else scored alone (result
    cache off, a missing row's 404, a model that cannot score the whole mart)."""
    key = ("predictions", model.version)
    table = snapshot.cache.peek(key)
    if table is None and snapshot.cache.maxsize > 0:

        def build() -> dict[SeriesMonth, Predicted]:
            with _BUILDING:
                return snapshot.cache.get(key, lambda: _table_or_empty(snapshot, model))

        table = await anyio.to_thread.run_sync(build)
    hit = table.get((series.source, series.product_id, series.zone_id, month)) if table else None
    if hit is not None:
        return hit
    return await anyio.to_thread.run_sync(
        lambda: _predict_row(snapshot.cursor(), model, series, month, asked)
    )


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
        status_code=200,
        responses=responses(400, 404, 413, 429, 503),
    )
    async def create_prediction(
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
        predicted = await _predict(snapshot, model, series, features_month, data.month)
        values, actual = _checked(predicted.outputs), predicted.actual
        return Prediction(
            series_id=predicted.series_id,
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
