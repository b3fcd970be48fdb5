"""`CombinationForecaster`: the weighted mean or the median of other fitted forecasters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import polars as pl

from tamales_inc.forecasting.models.base import (
    DEFAULT_HORIZONS,
    MODEL_CLASSES,
    PREDICTION_COLUMNS,
    Forecaster,
    register,
)

MEMBERS_DIR = "members"
METHODS: tuple[str, ...] = ("mean", "median")
# Weights must sum to one within this tolerance.
WEIGHT_TOLERANCE = 1e-9


def normalised(weights: list[float] | tuple[float, ...]) -> tuple[float, ...]:
    """Non-negative weights scaled to sum to one (equal weights when they sum to zero)."""
    values = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    total = values.sum()
    if values.size == 0:
        return ()
    if not np.isfinite(total) or total <= 0:
        return tuple([1.0 / values.size] * values.size)
    return tuple(float(v) for v in values / total)


def combine_columns(columns: tuple[str, ...], weights: tuple[float, ...], method: str) -> pl.Expr:
    """The combined forecast of the member forecast `columns` (weighted mean, or median)."""
    if method == "median":
        return pl.concat_list(columns).list.median()
    return pl.sum_horizontal(pl.col(c) * w for c, w in zip(columns, weights, strict=True))


@register
class CombinationForecaster(Forecaster):
    """Forecast combination: the weighted mean (weights sum to one) or the median of its
    members' forecasts. Members are named by model kind; `fit` fits a default instance of each
    (`from_fitted` reuses models already fitted on the same history). `label` is the name the
    backtest, registry and reports use (e.g. `comb_best3_median`)."""

    name = "combination"

    def __init__(
        self,
        *,
        horizons: tuple[int, ...] = DEFAULT_HORIZONS,
        label: str = "combination",
        members: tuple[str, ...] = (),
        weights: tuple[float, ...] = (),
        method: str = "mean",
    ) -> None:
        super().__init__(horizons=horizons)
        if method not in METHODS:
            raise ValueError(f"combination method must be one of {METHODS}, got {method!r}")
        self.label = label
        self.name = label  # type: ignore[misc]  # the instance's name; the kind stays `combination`
        self.members = tuple(members)
        self.weights = normalised(weights) if weights else normalised([1.0] * len(self.members))
        if len(self.weights) != len(self.members):
            raise ValueError(f"{len(self.members)} members but {len(self.weights)} weights")
        self.method = method
        self.models: dict[str, Forecaster] = {}

    @classmethod
    def from_fitted(
        cls,
        models: dict[str, Forecaster],
        *,
        label: str,
        members: tuple[str, ...],
        weights: tuple[float, ...] = (),
        method: str = "mean",
        horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    ) -> CombinationForecaster:
        """A combination of already fitted models (looked up by name in `models`)."""
        combination = cls(
            horizons=horizons, label=label, members=members, weights=weights, method=method
        )
        combination.models = {name: models[name] for name in members}
        combination.history = models[members[0]].history
        return combination

    @property
    def feature_names(self) -> tuple[str, ...]:  # type: ignore[override]
        names: list[str] = []
        for model in self.models.values():
            names.extend(n for n in model.feature_names if n not in names)
        return tuple(names)

    def fit(self, features: pl.DataFrame) -> Self:
        """Fit a default instance of every member on `features`."""
        super().fit(features)
        self.models = {
            name: MODEL_CLASSES[name](horizons=self.horizons).fit(features) for name in self.members
        }
        return self

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Each member's forecast of the rows of `frame`, combined. `predict` expands the rows
        per horizon and completes them from the kept history once for every member (they were
        fitted on the same history), so a single-row predict costs one lookup plus each
        member's own step."""
        if not self.models:
            raise RuntimeError(f"{self.label} used before fit")
        columns = [f"_member_{name}" for name in self.members]
        combined = frame.with_columns(
            pl.Series(column, self.models[name]._predict(frame)["y_pred"])
            for column, name in zip(columns, self.members, strict=True)
        )
        return combined.with_columns(
            combine_columns(tuple(columns), self.weights, self.method).alias("y_pred")
        ).select(PREDICTION_COLUMNS)

    def update(self, features: pl.DataFrame) -> Forecaster:
        """Every member moved to the longer history (`Forecaster.update`)."""
        updated = {name: model.update(features) for name, model in self.models.items()}
        return self.from_fitted(
            updated,
            label=self.label,
            members=self.members,
            weights=self.weights,
            method=self.method,
            horizons=self.horizons,
        )

    def save(self, path: Path) -> None:
        """`model.json` and each member saved under `members/<name>/`."""
        super().save(path)
        for name, model in self.models.items():
            model.save(path / MEMBERS_DIR / name)

    def _state(self) -> dict[str, Any]:
        return {"feature_names": list(self.feature_names)}

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        super()._restore(path, body)
        self.models = {name: Forecaster.load(path / MEMBERS_DIR / name) for name in self.members}
