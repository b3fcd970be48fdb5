"""GET /models/current: the promoted model and its backtest against the baselines."""

from __future__ import annotations

from litestar import Controller, get

from tamales_inc.forecasting.tables import BACKTEST_METRICS, MODEL_RUNS
from tamales_sales_service import queries
from tamales_sales_service.dependencies import CurrentModel, CurrentSnapshot
from tamales_sales_service.errors import UnknownId, responses
from tamales_sales_service.schemas import BacktestMetric, ModelInfo


class ModelController(Controller):
    """The model behind /predictions and /forecasts."""

    path = "/models"
    tags = ["models"]

    @get(
        "/current",
        operation_id="getCurrentModel",
        summary="The promoted model and its backtest",
        description=(
            "The model behind /predictions: its version, the data version it was trained on, "
            "the warehouse's data version, its registry metrics, its training run and the "
            "overall backtest of every model including the baselines (best WAPE first). "
            "A 404 until a model is promoted."
        ),
        sync_to_thread=True,
        responses=responses(400, 404, 429, 503),
    )
    def get_current_model(self, snapshot: CurrentSnapshot, model: CurrentModel) -> ModelInfo:
        """Version, training data version and metrics against the baselines (404 if none yet)."""
        if model.loaded is None:
            raise UnknownId(model.missing_reason())
        cur = snapshot.cursor()
        run = None
        if snapshot.has_table(MODEL_RUNS.qualified_name):
            run = queries.model_run(cur, model.loaded.version)
        backtest: list[BacktestMetric] = []
        if snapshot.has_table(BACKTEST_METRICS.qualified_name):
            backtest = queries.overall_backtest(cur)
        return ModelInfo(
            version=model.loaded.version,
            training_data_version=model.loaded.training_data_version,
            warehouse_data_version=snapshot.build.data_version,
            metrics=model.loaded.metrics,  # plain JSON, read from the registry's metadata.json
            trained_at=run.trained_at if run else None,
            model_name=run.model_name if run else None,
            is_champion=run.is_champion if run else None,
            backtest=backtest,
        )
