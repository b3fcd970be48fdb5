"""Forecasters of one shape (keyword constructor, fit, predict, save/load): baselines, XGBoost."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import xgboost as xgb

from tamales_inc.forecasting.features import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    SERIES_KEYS,
    attach_seasonal_value,
    base_forecast_expr,
    build_targets,
    model_features,
    prepare,
    scale_expr,
    stack_horizons,
)
from tamales_inc.forecasting.metrics import SEASON_LENGTH

DEFAULT_HORIZONS: tuple[int, ...] = (1, 2, 3)
MODEL_FILE = "model.json"
HISTORY_FILE = "history.parquet"
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "sales_month": pl.Date(),
    "sales": pl.Float64(),
}

PREDICTION_COLUMNS: tuple[str, ...] = (
    "series_id",
    *SERIES_KEYS,
    "sales_month",
    "horizon",
    "target_month",
    "y_pred",
    "scale",
)


def _expand(features: pl.DataFrame, horizons: tuple[int, ...]) -> pl.DataFrame:
    """One row per input row and horizon, with the target month and the row's scale."""
    return stack_horizons(features.with_columns(scale_expr()), horizons)


def _finish(frame: pl.DataFrame, y_pred: pl.Expr) -> pl.DataFrame:
    return frame.with_columns(y_pred.fill_null(0.0).fill_nan(0.0).alias("y_pred")).select(
        PREDICTION_COLUMNS
    )


def _sales_history(features: pl.DataFrame) -> pl.DataFrame:
    return features.select(HISTORY_SCHEMA.keys()).cast(HISTORY_SCHEMA)


class Forecaster(ABC):
    """A direct multi-horizon forecaster over every series of `marts.sales_features`.

    Like mlforecast, `fit` keeps the series' sales history, so one mart row is enough to predict
    from (the API predicts from a single row): the values a forecast needs from earlier months
    (the last known value, the same month a season before the target, the month 13 back) are
    looked up in the rows given, completed by that history. Saved as `history.parquet` next to
    `model.json`.
    """

    name: ClassVar[str]
    season_length: int = SEASON_LENGTH
    # the model's inputs in order (mart columns, or values looked up in the kept history)
    feature_names: tuple[str, ...] = ()

    def __init__(self, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS) -> None:
        self.horizons = tuple(int(h) for h in horizons)
        self.history: pl.DataFrame = pl.DataFrame(schema=HISTORY_SCHEMA)

    @property
    def params(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-serialisable)."""
        return {"horizons": list(self.horizons)}

    def clone(self) -> Forecaster:
        """A fresh, unfitted model with the same parameters."""
        return type(self)(**self.params)

    def fit(self, features: pl.DataFrame) -> Self:
        """Learn from the history in `features` (rows of `marts.sales_features`)."""
        self.history = _sales_history(prepare(features))
        return self

    def predict(
        self, features: pl.DataFrame, horizons: tuple[int, ...] | None = None
    ) -> pl.DataFrame:
        """Forecast y_{t+h} from every row t of `features` for each horizon h.

        Returns `PREDICTION_COLUMNS`: the row's series keys and month, `horizon`, `target_month`,
        `y_pred` and the row's series `scale`. Only rows at or before each row are used.
        """
        prepared = prepare(features)
        return self._predict(
            self._with_history(_expand(prepared, horizons or self.horizons), prepared)
        )

    @abstractmethod
    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Predictions for `frame`: the rows expanded per horizon, with `last_sales` and
        `seasonal_value` (see `_with_history`)."""

    def _with_history(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        """`frame` with `last_sales` (the latest non-NULL sales up to t: market rows can be
        empty) and `seasonal_value`, looked up in the sales of `features` completed by the
        history kept from `fit`."""
        own = _sales_history(features)
        kept = self.history.join(own, on=["series_id", "sales_month"], how="anti")
        known = pl.concat([own, kept]).sort("series_id", "sales_month")
        last = known.select(
            "series_id",
            "sales_month",
            pl.col("sales").forward_fill().over("series_id").alias("last_sales"),
        )
        frame = frame.join(last, on=["series_id", "sales_month"], how="left", maintain_order="left")
        return attach_seasonal_value(frame, known, self.season_length)

    def save(self, path: Path) -> None:
        """Write the model to the artifact directory `path` (created if needed)."""
        path.mkdir(parents=True, exist_ok=True)
        body = {"kind": self.name, "params": self.params, **self._state()}
        (path / MODEL_FILE).write_text(json.dumps(body, indent=2, sort_keys=True), "utf-8")
        self.history.write_parquet(path / HISTORY_FILE)

    def _state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def load(cls, path: Path) -> Forecaster:
        """Read a model written by `save` (any kind) from `path`."""
        body = json.loads((path / MODEL_FILE).read_text("utf-8"))
        kind = body.get("kind")
        if kind not in MODEL_CLASSES:
            raise ValueError(f"{path / MODEL_FILE}: unknown model kind {kind!r}")
        model = MODEL_CLASSES[kind](**body["params"])
        model._restore(path, body)
        return model

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        self.history = pl.read_parquet(path / HISTORY_FILE).cast(HISTORY_SCHEMA)


class NaiveForecaster(Forecaster):
    """The last known value, for every horizon."""

    name = "naive"
    feature_names = ("sales",)

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return _finish(frame, pl.col("last_sales"))


class SeasonalNaiveForecaster(Forecaster):
    """The same month a season earlier; the last value where the history is shorter."""

    name = "seasonal_naive"
    feature_names = ("sales", "sales a season before the target month")

    def __init__(
        self, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, season_length: int = SEASON_LENGTH
    ) -> None:
        super().__init__(horizons=horizons)
        self.season_length = int(season_length)

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "season_length": self.season_length}

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return _finish(frame, pl.coalesce("seasonal_value", "last_sales"))


class SeasonalYoYForecaster(Forecaster):
    """The mean of the seasonal naive forecast and the same value times the year-over-year ratio
    at t (the source's pooled ratio; see `features.base_forecast_expr`): a forecast combination
    with no fitted weight, hedging between last year's level coming back and this year's level
    persisting. The XGBoost model can boost from it (`use_base_margin`)."""

    name = "seasonal_yoy"
    feature_names = (
        "sales",
        "sales a year before the target month",
        "sales_lag_12",
        "source_yoy_ratio",
        "rolling_mean_3",
    )

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        return _finish(frame.with_columns(base_forecast_expr()), pl.col("base_forecast"))


class ExerciseBaseForecaster(Forecaster):
    """The original exercise's base model: `sales * month_weight + ln(sales)` (ln only if > 0)."""

    name = "exercise_base"
    feature_names = ("sales", "month_weight")

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        sales = pl.col("last_sales")
        weight = pl.col("month_weight").cast(pl.Float64).fill_null(1.0)
        log_term = pl.when(sales > 0).then(sales.log()).otherwise(0.0)
        return _finish(frame, sales * weight + log_term)


class XGBoostForecaster(Forecaster):
    """One global gradient-boosted model over every series and horizon (direct strategy).

    Target: y_{t+h} over the series scale known at t (mean level of the last 12 months). With
    `use_base_margin` the trees boost from the `SeasonalYoYForecaster` forecast given as base
    margin; by default they start from a constant and that forecast is one input among the
    others. Rows are weighted
    by scale (the loss tracks errors in sales units) and, with `recency_halflife`, by recency
    (half-life in months). Product, zone, source and calorie category are categorical features.
    Fixed rounds, no early stopping; the defaults come from `bench/tune_xgboost.py` (validation
    origins before the reported backtest window): absolute error, the loss WAPE scores.
    """

    name = "xgboost"

    def __init__(
        self,
        *,
        horizons: tuple[int, ...] = DEFAULT_HORIZONS,
        # Defaults chosen by bench/tune_xgboost.py on validation origins before the backtest.
        n_estimators: int = 100,
        max_depth: int = 3,
        learning_rate: float = 0.05,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        objective: str = "reg:absoluteerror",
        use_base_margin: bool = False,
        recency_halflife: float | None = None,
        seed: int = 42,
        # One thread: the training sets are small (about 2k rows), where a second OpenMP thread
        # gains little when idle and spin-waits badly when other jobs share the 2 cores.
        nthread: int = 1,
    ) -> None:
        super().__init__(horizons=horizons)
        self.n_estimators = int(n_estimators)
        self.max_depth = int(max_depth)
        self.learning_rate = float(learning_rate)
        self.min_child_weight = float(min_child_weight)
        self.subsample = float(subsample)
        self.colsample_bytree = float(colsample_bytree)
        self.reg_lambda = float(reg_lambda)
        self.objective = objective
        self.use_base_margin = bool(use_base_margin)
        self.recency_halflife = None if recency_halflife is None else float(recency_halflife)
        self.seed = int(seed)
        self.nthread = int(nthread)
        self.feature_names: tuple[str, ...] = FEATURE_NAMES
        self.categories: dict[str, list[str]] = {}
        self.booster: xgb.Booster | None = None

    @property
    def params(self) -> dict[str, Any]:
        return {
            **super().params,
            "n_estimators": self.n_estimators,
            "max_depth": self.max_depth,
            "learning_rate": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "reg_lambda": self.reg_lambda,
            "objective": self.objective,
            "use_base_margin": self.use_base_margin,
            "recency_halflife": self.recency_halflife,
            "seed": self.seed,
            "nthread": self.nthread,
        }

    def _booster_params(self) -> dict[str, Any]:
        return {
            "tree_method": "hist",
            "objective": self.objective,
            "max_depth": self.max_depth,
            "eta": self.learning_rate,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "lambda": self.reg_lambda,
            "seed": self.seed,
            "nthread": self.nthread,
            "max_cat_to_onehot": 1,
            "verbosity": 0,
        }

    def _matrix(
        self,
        frame: pl.DataFrame,
        label: np.ndarray | None = None,
        weight: np.ndarray | None = None,
    ) -> xgb.DMatrix:
        inputs = model_features(frame)
        columns = []
        for name in self.feature_names:
            if name in CATEGORICAL_FEATURES:
                lookup = {value: float(i) for i, value in enumerate(self.categories[name])}
                codes = inputs[name].replace_strict(lookup, default=None, return_dtype=pl.Float64)
                columns.append(codes.to_numpy())
            else:
                columns.append(inputs[name].cast(pl.Float64).to_numpy())
        data = np.column_stack(columns).astype(np.float64)
        data = np.where(np.isfinite(data), data, np.nan)
        margin = None
        if self.use_base_margin:
            margin = np.nan_to_num(inputs["base_ratio"].cast(pl.Float64).to_numpy(), nan=0.0)
        types = ["c" if n in CATEGORICAL_FEATURES else "q" for n in self.feature_names]
        return xgb.DMatrix(
            data,
            label=label,
            weight=weight,
            base_margin=margin,
            feature_names=list(self.feature_names),
            feature_types=types,
            enable_categorical=True,
            nthread=self.nthread,
        )

    def fit(self, features: pl.DataFrame) -> Self:
        """Fit on every (row, horizon) of `features` whose target month is inside `features`:
        label y_{t+h} / scale, rows weighted by scale and, with `recency_halflife`, by recency."""
        super().fit(features)
        frame = prepare(features).with_columns(scale_expr())
        targets = attach_seasonal_value(build_targets(frame, self.horizons), frame)
        if targets.is_empty():
            raise ValueError("no (month, horizon) pair with a known target: history too short")
        self.categories = {
            name: sorted(v for v in frame[name].cast(pl.String).unique().to_list() if v is not None)
            for name in CATEGORICAL_FEATURES
        }
        scale = targets["scale"].to_numpy()
        weight = scale / scale.mean()
        if self.recency_halflife:
            last = targets["target_month"].max()
            age = targets.select(
                (
                    (last.year - pl.col("target_month").dt.year()) * 12  # type: ignore[union-attr]
                    + last.month  # type: ignore[union-attr]
                    - pl.col("target_month").dt.month()
                ).cast(pl.Float64)
            ).to_series()
            weight = weight * np.power(0.5, age.to_numpy() / self.recency_halflife)
        matrix = self._matrix(targets, label=targets["y_target"].to_numpy() / scale, weight=weight)
        self.booster = xgb.train(
            self._booster_params(), matrix, num_boost_round=self.n_estimators, verbose_eval=False
        )
        return self

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.booster is None:
            raise RuntimeError("XGBoostForecaster.predict called before fit")
        ratio = self.booster.predict(self._matrix(frame))
        return _finish(
            frame.with_columns(pl.Series("ratio", ratio, dtype=pl.Float64)),
            pl.col("ratio") * pl.col("scale"),
        )

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature name (features never used in a split are 0)."""
        if self.booster is None:
            return {}
        gain = self.booster.get_score(importance_type="total_gain")
        return {name: float(gain.get(name, 0.0)) for name in self.feature_names}

    def _state(self) -> dict[str, Any]:
        return {"feature_names": list(self.feature_names), "categories": self.categories}

    def save(self, path: Path) -> None:
        """Write `model.json` (params, feature order, categories), `booster.ubj` and the kept
        sales history."""
        if self.booster is None:
            raise RuntimeError("XGBoostForecaster.save called before fit")
        super().save(path)
        self.booster.save_model(str(path / "booster.ubj"))

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        self.feature_names = tuple(body["feature_names"])
        unknown = set(self.feature_names) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"{path / MODEL_FILE}: features unknown to this code: {unknown}")
        self.categories = {k: list(v) for k, v in body["categories"].items()}
        super()._restore(path, body)
        booster = xgb.Booster(params={"nthread": self.nthread})
        booster.load_model(str(path / "booster.ubj"))
        self.booster = booster


MODEL_CLASSES: dict[str, type[Forecaster]] = {
    cls.name: cls
    for cls in (
        NaiveForecaster,
        SeasonalNaiveForecaster,
        SeasonalYoYForecaster,
        ExerciseBaseForecaster,
        XGBoostForecaster,
    )
}


def default_models(
    *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, seed: int = 42
) -> list[Forecaster]:
    """The models every run scores: four baselines and the global XGBoost."""
    return [
        NaiveForecaster(horizons=horizons),
        SeasonalNaiveForecaster(horizons=horizons),
        SeasonalYoYForecaster(horizons=horizons),
        ExerciseBaseForecaster(horizons=horizons),
        XGBoostForecaster(horizons=horizons, seed=seed),
    ]
