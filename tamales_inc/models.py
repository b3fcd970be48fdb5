"""Forecasters of one shape (keyword constructor, fit, predict, save/load): baselines, XGBoost."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from datetime import date
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl
import xgboost as xgb

from tamales_inc.features import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    SERIES_KEYS,
    add_months,
    attach_seasonal_value,
    build_targets,
    cut_at_origin,
    model_features,
    prepare,
    scale_expr,
)
from tamales_inc.metrics import SEASON_LENGTH, wape

DEFAULT_HORIZONS: tuple[int, ...] = (1, 2, 3)
MODEL_FILE = "model.json"
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
    base = features.with_columns(
        scale_expr(),
        # "last value": the latest non-NULL sales up to t (market rows can be empty)
        pl.col("sales")
        .forward_fill()
        .over("series_id", order_by="sales_month")
        .alias("last_sales"),
    )
    return pl.concat(
        [
            base.with_columns(
                pl.lit(h, dtype=pl.Int32).alias("horizon"),
                add_months("sales_month", h).alias("target_month"),
            )
            for h in horizons
        ]
    )


def _finish(frame: pl.DataFrame, y_pred: pl.Expr) -> pl.DataFrame:
    return frame.with_columns(y_pred.fill_null(0.0).fill_nan(0.0).alias("y_pred")).select(
        PREDICTION_COLUMNS
    )


class Forecaster(ABC):
    """A direct multi-horizon forecaster over every series of `marts.sales_features`."""

    name: ClassVar[str]

    def __init__(self, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS) -> None:
        self.horizons = tuple(int(h) for h in horizons)

    @property
    def params(self) -> dict[str, Any]:
        """Constructor keyword arguments (JSON-serialisable)."""
        return {"horizons": list(self.horizons)}

    def clone(self) -> Forecaster:
        """A fresh, unfitted model with the same parameters."""
        return type(self)(**self.params)

    def fit(self, features: pl.DataFrame) -> Self:
        """Learn from the history in `features` (rows of `marts.sales_features`)."""
        return self

    def predict(
        self, features: pl.DataFrame, horizons: tuple[int, ...] | None = None
    ) -> pl.DataFrame:
        """Forecast y_{t+h} from every row t of `features` for each horizon h.

        Returns `PREDICTION_COLUMNS`: the row's series keys and month, `horizon`, `target_month`,
        `y_pred` and the row's series `scale`. Only rows at or before each row are used.
        """
        frame = _expand(prepare(features), horizons or self.horizons)
        return self._predict(frame, features)

    @abstractmethod
    def _predict(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame: ...

    def save(self, path: Path) -> None:
        """Write the model to the artifact directory `path` (created if needed)."""
        path.mkdir(parents=True, exist_ok=True)
        body = {"kind": self.name, "params": self.params, **self._state()}
        (path / MODEL_FILE).write_text(json.dumps(body, indent=2, sort_keys=True), "utf-8")

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
        return None


class NaiveForecaster(Forecaster):
    """The last known value, for every horizon."""

    name = "naive"

    def _predict(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        return _finish(frame, pl.col("last_sales"))


class SeasonalNaiveForecaster(Forecaster):
    """The same month a season earlier; the last value where the history is shorter."""

    name = "seasonal_naive"

    def __init__(
        self, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, season_length: int = SEASON_LENGTH
    ) -> None:
        super().__init__(horizons=horizons)
        self.season_length = int(season_length)

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "season_length": self.season_length}

    def _predict(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        joined = attach_seasonal_value(frame, prepare(features), self.season_length)
        return _finish(joined, pl.coalesce("seasonal_value", "last_sales"))


class ExerciseBaseForecaster(Forecaster):
    """The original exercise's base model: `sales * month_weight + ln(sales)` (ln only if > 0)."""

    name = "exercise_base"

    def _predict(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        sales = pl.col("last_sales")
        weight = pl.col("month_weight").cast(pl.Float64).fill_null(1.0)
        log_term = pl.when(sales > 0).then(sales.log()).otherwise(0.0)
        return _finish(frame, sales * weight + log_term)


class XGBoostForecaster(Forecaster):
    """One global gradient-boosted model over every series and horizon (direct strategy).

    Target: y_{t+h} over the series scale known at t (mean level of the last 12 months). With
    `use_base_margin` the trees boost from a base forecast (same month last year times this
    month's year-over-year ratio, else the latest level) given as base margin; by default they
    start from a constant and the base forecast is one input among the others. Rows are weighted
    by scale (the loss tracks errors in sales units) and, with `recency_halflife`, by recency
    (half-life in months). Product, zone, source and calorie category are categorical features.
    Fixed rounds, no early stopping; the defaults come from `bench/tune_xgboost.py` (validation
    origins before the reported backtest window).
    Like mlforecast, the fitted model keeps the series' sales history, so one mart row is enough
    to predict from (the seasonal value is looked up there when the rows do not carry it).
    """

    name = "xgboost"

    def __init__(
        self,
        *,
        horizons: tuple[int, ...] = DEFAULT_HORIZONS,
        # Defaults chosen by bench/tune_xgboost.py on validation origins before the backtest.
        n_estimators: int = 100,
        max_depth: int = 2,
        learning_rate: float = 0.05,
        min_child_weight: float = 1.0,
        subsample: float = 1.0,
        colsample_bytree: float = 1.0,
        reg_lambda: float = 1.0,
        objective: str = "reg:squarederror",
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
        self.history: pl.DataFrame = pl.DataFrame(schema=HISTORY_SCHEMA)
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

    def _with_history(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        """The frame's own sales history, completed by the history kept from `fit`."""
        own = features.select(HISTORY_SCHEMA.keys()).cast(HISTORY_SCHEMA)
        kept = self.history.join(own, on=["series_id", "sales_month"], how="anti")
        return attach_seasonal_value(frame, pl.concat([own, kept]))

    def _training_rows(self, features: pl.DataFrame) -> pl.DataFrame:
        """Keep the history and categories of `features`; its (row, horizon) pairs with a target."""
        frame = prepare(features).with_columns(scale_expr())
        self.history = frame.select(HISTORY_SCHEMA.keys()).cast(HISTORY_SCHEMA)
        targets = attach_seasonal_value(build_targets(frame, self.horizons), frame)
        if targets.is_empty():
            raise ValueError("no (month, horizon) pair with a known target: history too short")
        self.categories = {
            name: sorted(v for v in frame[name].cast(pl.String).unique().to_list() if v is not None)
            for name in CATEGORICAL_FEATURES
        }
        return targets

    def _training_matrix(self, targets: pl.DataFrame) -> xgb.DMatrix:
        """Label y / scale; weight by scale and, with `recency_halflife`, by recency."""
        scale = targets["scale"].to_numpy()
        label = targets["y_target"].to_numpy() / scale
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
        return self._matrix(targets, label=label, weight=weight)

    def _train(self, matrix: xgb.DMatrix) -> xgb.Booster:
        return xgb.train(
            self._booster_params(), matrix, num_boost_round=self.n_estimators, verbose_eval=False
        )

    def fit(self, features: pl.DataFrame) -> Self:
        """Fit on every (row, horizon) of `features` whose target month is inside `features`."""
        self.booster = self._train(self._training_matrix(self._training_rows(features)))
        return self

    def _predict(self, frame: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
        if self.booster is None:
            raise RuntimeError("XGBoostForecaster.predict called before fit")
        frame = self._with_history(frame, prepare(features))
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
        sales history `history.parquet`."""
        if self.booster is None:
            raise RuntimeError("XGBoostForecaster.save called before fit")
        super().save(path)
        self.booster.save_model(str(path / "booster.ubj"))
        self.history.write_parquet(path / "history.parquet")

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        self.feature_names = tuple(body["feature_names"])
        unknown = set(self.feature_names) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"{path / MODEL_FILE}: features unknown to this code: {unknown}")
        self.categories = {k: list(v) for k, v in body["categories"].items()}
        self.history = pl.read_parquet(path / "history.parquet").cast(HISTORY_SCHEMA)
        booster = xgb.Booster(params={"nthread": self.nthread})
        booster.load_model(str(path / "booster.ubj"))
        self.booster = booster


# The settings `TunedXGBoostForecaster` chooses between (the rest stay at XGBoostForecaster's
# defaults): recency half-life x boosting rounds at depth 2, the axes bench/tune_xgboost.py found
# to matter; simpler models first, so ties go to the simpler setting. Depth 3 (or rounds 200, or
# 2 inner origins) scored about the same on the backtest (0.92-0.93x seasonal naive) for 1.5-2.4x
# the time.
TUNING_GRID: tuple[dict[str, Any], ...] = tuple(
    {"recency_halflife": half, "max_depth": 2, "n_estimators": rounds}
    for half in (None, 6.0, 3.0)
    for rounds in (100, 300)
)
TUNED_KEYS: tuple[str, ...] = ("recency_halflife", "max_depth", "n_estimators")


class TunedXGBoostForecaster(XGBoostForecaster):
    """XGBoostForecaster whose hyper-parameters are chosen inside `fit` (nested tuning).

    `fit(history)` runs a rolling-origin validation on that history only: every `TUNING_GRID`
    setting is refit at each of the last `inner_origins` months before the history's last month
    (one booster per half-life and depth, read at each round count: the same forecasts as
    separate fits) and scored by WAPE on the (origin, horizon) pairs whose target is inside the
    history. The lowest WAPE wins (ties: earlier grid entry) and the
    model is refit on the whole history with it. Within a backtest every outer origin therefore
    tunes on data before it, so the backtest scores the procedure that is deployed. The choice
    and every setting's inner WAPE are kept (`chosen`, `tuning`) and saved in `model.json`.
    """

    name = "xgboost_tuned"

    def __init__(
        self,
        *,
        horizons: tuple[int, ...] = DEFAULT_HORIZONS,
        inner_origins: int = 3,
        seed: int = 42,
        nthread: int = 1,
    ) -> None:
        super().__init__(horizons=horizons, seed=seed, nthread=nthread)
        self.inner_origins = int(inner_origins)
        self.chosen: dict[str, Any] = {}
        self.tuning: list[dict[str, Any]] = []

    @property
    def params(self) -> dict[str, Any]:
        return {
            "horizons": list(self.horizons),
            "inner_origins": self.inner_origins,
            "seed": self.seed,
            "nthread": self.nthread,
        }

    def _apply(self, setting: dict[str, Any]) -> None:
        self.recency_halflife = setting["recency_halflife"]
        self.max_depth = int(setting["max_depth"])
        self.n_estimators = int(setting["n_estimators"])

    def _inner_errors(
        self, features: pl.DataFrame, origin: date
    ) -> tuple[np.ndarray, dict[tuple, np.ndarray]]:
        """Actuals and each setting's forecasts from `origin`, fit on the history cut there."""
        history = cut_at_origin(features, origin)
        model = XGBoostForecaster(horizons=self.horizons, seed=self.seed, nthread=self.nthread)
        targets = model._training_rows(history)
        actuals = features.select(
            "series_id",
            pl.col("sales_month").alias("target_month"),
            pl.col("sales").alias("y_true"),
        ).filter(pl.col("y_true").is_not_null())
        prepared = prepare(history)
        frame = (
            _expand(prepared, self.horizons)
            .filter(pl.col("sales_month") == origin)
            .join(actuals, on=["series_id", "target_month"], how="inner")
        )
        frame = model._with_history(frame, prepared)
        inputs, scale = model._matrix(frame), frame["scale"].to_numpy()
        forecasts: dict[tuple, np.ndarray] = {}
        # one booster per (half-life, depth), read at every round count of the grid
        for half in dict.fromkeys(s["recency_halflife"] for s in TUNING_GRID):
            model.recency_halflife = half
            matrix = model._training_matrix(targets)
            for depth in dict.fromkeys(s["max_depth"] for s in TUNING_GRID):
                rounds = [
                    s["n_estimators"]
                    for s in TUNING_GRID
                    if (s["recency_halflife"] == half and s["max_depth"] == depth)
                ]
                if not rounds:
                    continue
                model.max_depth, model.n_estimators = depth, max(rounds)
                booster = model._train(matrix)
                for n in rounds:
                    ratio = booster.predict(inputs, iteration_range=(0, n))
                    forecasts[(half, depth, n)] = np.nan_to_num(ratio * scale)
        return frame["y_true"].to_numpy(), forecasts

    def fit(self, features: pl.DataFrame) -> Self:
        """Choose a `TUNING_GRID` setting on inner origins of `features`, then fit on it all."""
        from tamales_inc.backtest import backtest_origins

        try:
            origins = backtest_origins(features, self.inner_origins)
        except ValueError:  # too short to validate on: the first (simplest) setting
            origins = []
        actual, forecast = [], {tuple(s[k] for k in TUNED_KEYS): [] for s in TUNING_GRID}
        for origin in origins:
            try:
                y_true, y_pred = self._inner_errors(features, origin)
            except ValueError:  # too little history before this inner origin
                continue
            actual.append(y_true)
            for key, values in y_pred.items():
                forecast[key].append(values)
        self.tuning = [
            {
                **setting,
                "wape": wape(np.concatenate(actual), np.concatenate(forecast[key]))
                if actual
                else float("nan"),
            }
            for setting, key in zip(TUNING_GRID, forecast, strict=True)
        ]
        finite = [t for t in self.tuning if np.isfinite(t["wape"])]
        best = min(finite, key=lambda t: t["wape"]) if finite else TUNING_GRID[0]
        self.chosen = {k: best[k] for k in TUNED_KEYS}
        self._apply(self.chosen)
        return super().fit(features)

    def _state(self) -> dict[str, Any]:
        return {**super()._state(), "chosen": self.chosen, "tuning": self.tuning}

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        super()._restore(path, body)
        self.chosen = dict(body["chosen"])
        self.tuning = [dict(t) for t in body["tuning"]]
        self._apply(self.chosen)


MODEL_CLASSES: dict[str, type[Forecaster]] = {
    cls.name: cls
    for cls in (
        NaiveForecaster,
        SeasonalNaiveForecaster,
        ExerciseBaseForecaster,
        XGBoostForecaster,
        TunedXGBoostForecaster,
    )
}


def default_models(
    *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, seed: int = 42
) -> list[Forecaster]:
    """The models every run scores: three baselines, the global XGBoost with fixed settings and
    the same model tuned inside each fit."""
    return [
        NaiveForecaster(horizons=horizons),
        SeasonalNaiveForecaster(horizons=horizons),
        ExerciseBaseForecaster(horizons=horizons),
        XGBoostForecaster(horizons=horizons, seed=seed),
        TunedXGBoostForecaster(horizons=horizons, seed=seed),
    ]
