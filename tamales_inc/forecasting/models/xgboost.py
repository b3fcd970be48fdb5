"""`XGBoostForecaster`: one global gradient-boosted model over every series and horizon, and the
helpers that turn mart rows into its training rows, weights and design matrix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import polars as pl
import xgboost as xgb

from tamales_inc.forecasting.data import prepare
from tamales_inc.forecasting.inputs import (
    CATEGORICAL_FEATURES,
    FEATURE_NAMES,
    model_features,
    scale_expr,
)
from tamales_inc.forecasting.models.base import (
    DEFAULT_HORIZONS,
    MODEL_FILE,
    Forecaster,
    finish,
    register,
)
from tamales_inc.forecasting.targets import attach_seasonal_value, build_targets, months_before

BOOSTER_FILE = "booster.ubj"


def training_rows(features: pl.DataFrame, horizons: tuple[int, ...]) -> pl.DataFrame:
    """Every (row t, horizon h) of the prepared mart rows `features` whose target month t+h is
    among them, with `y_target`, the row's `scale` and its `seasonal_value`."""
    frame = features.with_columns(scale_expr())
    rows = attach_seasonal_value(build_targets(frame, horizons), frame)
    if rows.is_empty():
        raise ValueError("no (month, horizon) pair with a known target: history too short")
    return rows


def category_vocabularies(features: pl.DataFrame) -> dict[str, list[str]]:
    """The sorted values of each categorical feature (their codes are the positions)."""
    return {
        name: sorted(v for v in features[name].cast(pl.String).unique().to_list() if v is not None)
        for name in CATEGORICAL_FEATURES
    }


def row_weights(rows: pl.DataFrame, recency_halflife: float | None) -> np.ndarray:
    """Weights proportional to the series scale (the loss then tracks sales units) and, with a
    half-life in months, halved for every `recency_halflife` months before the last target."""
    scale = rows["scale"].to_numpy()
    weight = scale / scale.mean()
    if recency_halflife:
        last = rows["target_month"].max()
        age = rows.select(months_before("target_month", last).cast(pl.Float64)).to_series()
        weight = weight * np.power(0.5, age.to_numpy() / recency_halflife)
    return weight


def design_matrix(
    rows: pl.DataFrame,
    feature_names: tuple[str, ...],
    categories: dict[str, list[str]],
    *,
    use_base_margin: bool,
    nthread: int,
    label: np.ndarray | None = None,
    weight: np.ndarray | None = None,
) -> xgb.DMatrix:
    """The DMatrix of `rows` (expanded per horizon): `model_features` in `feature_names` order,
    categories coded by their position in `categories` (unknown values missing), and with
    `use_base_margin` the base forecast over scale as the starting margin."""
    inputs = model_features(rows)
    columns = []
    for name in feature_names:
        if name in CATEGORICAL_FEATURES:
            lookup = {value: float(i) for i, value in enumerate(categories[name])}
            codes = inputs[name].replace_strict(lookup, default=None, return_dtype=pl.Float64)
            columns.append(codes.to_numpy())
        else:
            columns.append(inputs[name].cast(pl.Float64).to_numpy())
    data = np.column_stack(columns).astype(np.float64)
    data = np.where(np.isfinite(data), data, np.nan)
    margin = None
    if use_base_margin:
        margin = np.nan_to_num(inputs["base_ratio"].cast(pl.Float64).to_numpy(), nan=0.0)
    return xgb.DMatrix(
        data,
        label=label,
        weight=weight,
        base_margin=margin,
        feature_names=list(feature_names),
        feature_types=["c" if n in CATEGORICAL_FEATURES else "q" for n in feature_names],
        enable_categorical=True,
        nthread=nthread,
    )


@register
class XGBoostForecaster(Forecaster):
    """One global gradient-boosted model over every series and horizon (direct strategy).

    Target: y_{t+h} over the series scale known at t (mean level of the last 12 months). With
    `use_base_margin` the trees boost from the `SeasonalYoYForecaster` forecast given as base
    margin; by default they start from a constant and that forecast is one input among the
    others. Rows are weighted by scale (the loss tracks errors in sales units) and, with
    `recency_halflife`, by recency (half-life in months). Product, zone, source and calorie
    category are categorical features. Fixed rounds, no early stopping; the defaults come from
    `bench/tune_xgboost.py` (validation origins before the reported backtest window): absolute
    error, the loss WAPE scores.
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

    def booster_params(self) -> dict[str, Any]:
        """The parameters given to `xgboost.train`."""
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

    def _matrix(self, rows: pl.DataFrame, **labels: np.ndarray) -> xgb.DMatrix:
        return design_matrix(
            rows,
            self.feature_names,
            self.categories,
            use_base_margin=self.use_base_margin,
            nthread=self.nthread,
            **labels,
        )

    def fit(self, features: pl.DataFrame) -> Self:
        """Fit on every (row, horizon) of `features` whose target month is inside `features`:
        label y_{t+h} / scale, rows weighted by scale and, with `recency_halflife`, by recency."""
        super().fit(features)
        prepared = prepare(features)
        rows = training_rows(prepared, self.horizons)
        self.categories = category_vocabularies(prepared)
        scale = rows["scale"].to_numpy()
        matrix = self._matrix(
            rows,
            label=rows["y_target"].to_numpy() / scale,
            weight=row_weights(rows, self.recency_halflife),
        )
        self.booster = xgb.train(
            self.booster_params(), matrix, num_boost_round=self.n_estimators, verbose_eval=False
        )
        return self

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        ratio = self._fitted().predict(self._matrix(frame))
        return finish(
            frame.with_columns(pl.Series("ratio", ratio, dtype=pl.Float64)),
            pl.col("ratio") * pl.col("scale"),
        )

    def _fitted(self) -> xgb.Booster:
        if self.booster is None:
            raise RuntimeError("XGBoostForecaster used before fit")
        return self.booster

    def feature_importance(self) -> dict[str, float]:
        """Total gain per feature name (features never used in a split are 0)."""
        if self.booster is None:
            return {}
        gain = self.booster.get_score(importance_type="total_gain")
        return {name: float(gain.get(name, 0.0)) for name in self.feature_names}

    def save(self, path: Path) -> None:
        """Write `model.json` (params, feature order, categories), `booster.ubj` and the kept
        sales history."""
        booster = self._fitted()
        super().save(path)
        booster.save_model(str(path / BOOSTER_FILE))

    def _state(self) -> dict[str, Any]:
        return {"feature_names": list(self.feature_names), "categories": self.categories}

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        self.feature_names = tuple(body["feature_names"])
        unknown = set(self.feature_names) - set(FEATURE_NAMES)
        if unknown:
            raise ValueError(f"{path / MODEL_FILE}: features unknown to this code: {unknown}")
        self.categories = {k: list(v) for k, v in body["categories"].items()}
        super()._restore(path, body)
        self.booster = xgb.Booster(params={"nthread": self.nthread})
        self.booster.load_model(str(path / BOOSTER_FILE))
