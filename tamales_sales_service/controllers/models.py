"""GET /models/current: the promoted model and its backtest against the baselines."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.datastructures import State

from tamales_sales_service.db import UnknownId, as_utc
from tamales_sales_service.errors import responses
from tamales_sales_service.schemas import BacktestMetric, ModelInfo


class ModelController(Controller):
    """The model behind /predictions and /forecasts."""

    path = "/models"
    tags = ["models"]

    @get(
        "/current",
        operation_id="getCurrentModel",
        sync_to_thread=True,
        responses=responses(404, 503),
    )
    def get_current_model(self, state: State) -> ModelInfo:
        """Version, training data version and metrics against the baselines (404 if none yet)."""
        snap = state.warehouse.snapshot
        model = state.models.model
        if model is None:
            reason = f" ({state.models.last_error})" if state.models.last_error else ""
            raise UnknownId(f"no model promoted yet{reason}: run `just train`")
        version = model.version
        cur = snap.cursor()
        run: tuple[Any, ...] | None = None
        if snap.has_table("ml.model_runs"):
            run = cur.execute(
                "select trained_at, model_name, is_champion from ml.model_runs "
                "where model_version = ? order by trained_at desc limit 1",
                [version],
            ).fetchone()
        backtest: list[BacktestMetric] = []
        if snap.has_table("ml.backtest_metrics"):
            backtest = [
                BacktestMetric(*r)
                for r in cur.execute(
                    "select model, wape, mase, rmse, bias, n from ml.backtest_metrics "
                    "where scope = 'overall' order by wape nulls last, model"
                ).fetchall()
            ]
        return ModelInfo(
            version=version,
            training_data_version=model.training_data_version,
            warehouse_data_version=snap.build.data_version,
            metrics=model.metrics,  # plain JSON, read from the registry's metadata.json
            trained_at=as_utc(run[0]) if run and run[0] is not None else None,
            model_name=run[1] if run else None,
            is_champion=run[2] if run else None,
            backtest=backtest,
        )
