"""POST /predictions: a forecast from the current model, computed from the feature mart."""

from __future__ import annotations

import math

from litestar import Controller, post
from litestar.datastructures import State
from litestar.params import JSONBody

from tamales_inc.core.months import month_after
from tamales_inc.forecasting.registry import PREDICTION_OUTPUT
from tamales_sales_service.db import UnknownId, WarehouseUnavailable
from tamales_sales_service.errors import responses
from tamales_sales_service.forecaster import ModelUnavailable
from tamales_sales_service.queries import month_start
from tamales_sales_service.schemas import Prediction, PredictionRequest


def _finite(value: object, name: str) -> float:
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise ModelUnavailable(f"the current model returned a non-finite {name}")
    return number


class PredictionController(Controller):
    """Horizon-1 predictions on demand."""

    path = "/predictions"
    tags = ["predictions"]

    @post(
        operation_id="createPrediction",
        sync_to_thread=True,
        status_code=200,
        responses=responses(404, 503),
    )
    def create_prediction(self, state: State, data: JSONBody[PredictionRequest]) -> Prediction:
        """Predict a series' sales in `month` from its features of the month before.

        `month` may be one month past the last month of data (the next month to forecast).
        """
        snap = state.warehouse.snapshot
        snap.require_product(data.product_id)
        snap.require_zone(data.zone_id)
        if not snap.has_table("marts.sales_features"):
            raise WarehouseUnavailable("the warehouse has no marts.sales_features yet")
        model = state.models.require()
        target = month_start(data.month)
        features_month = month_after(target, -1)
        series = [data.source, data.product_id, data.zone_id]
        cur = snap.cursor()
        features = cur.execute(
            "select * from marts.sales_features "
            "where source = ? and product_id = ? and zone_id = ? and sales_month = ?",
            [*series, features_month],
        ).pl()
        if features.height == 0:
            first, last = cur.execute(
                "select strftime(min(sales_month), '%Y-%m'), strftime(max(sales_month), '%Y-%m') "
                "from marts.sales_features where source = ? and product_id = ? and zone_id = ?",
                series,
            ).fetchone() or (None, None)
            series_id = ":".join(series)
            if first is None:
                raise UnknownId(f"no sales series {series_id}: see GET /sales for what exists")
            raise UnknownId(
                f"no features for {series_id} in {features_month:%Y-%m} (the month before "
                f"{data.month}); months with features run {first}..{last}"
            )
        try:
            model, predicted = state.models.predict(features)
            row = predicted.row(0, named=True)
            values = {name: _finite(row[name], name) for name in PREDICTION_OUTPUT}
        except ModelUnavailable:
            raise
        except Exception as exc:  # a model that cannot score the published features
            raise ModelUnavailable(
                f"model {getattr(model, 'version', '?')} could not predict: {type(exc).__name__}"
            ) from exc
        actual = features["target_sales_next_month"][0]
        return Prediction(
            series_id=str(features["series_id"][0]),
            source=data.source,
            product_id=data.product_id,
            zone_id=data.zone_id,
            sales_month=data.month,
            features_month=f"{features_month:%Y-%m}",
            actual_sales=None if actual is None else float(actual),
            model_version=str(model.version),
            training_data_version=getattr(model, "training_data_version", None),
            **values,
        )
