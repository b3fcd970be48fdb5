"""Forecasters, one module per model family, all of one shape (`base.Forecaster`): keyword
constructor, `fit`, `predict(features, horizons)`, `save(path)` / `Forecaster.load(path)`.

- `base.py`: `Forecaster`, its predict plumbing (horizons stacked, history lookups) and save/load
  by kind (`MODEL_CLASSES`, filled by `@register`).
- `baselines.py`: naive, seasonal naive, seasonal_yoy, the exercise's base model.
- `xgboost.py`: the global gradient-boosted model and its training rows, weights and matrix.

A new family (e.g. statistical models or forecast combinations) is a new module here with
`@register`ed `Forecaster` subclasses, imported below; `default_models()` lists what every
training run backtests.
"""

from __future__ import annotations

from tamales_inc.forecasting.models.base import (
    DEFAULT_HORIZONS,
    MODEL_CLASSES,
    PREDICTION_COLUMNS,
    Forecaster,
)
from tamales_inc.forecasting.models.baselines import (
    ExerciseBaseForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    SeasonalYoYForecaster,
)
from tamales_inc.forecasting.models.xgboost import XGBoostForecaster

__all__ = [
    "DEFAULT_HORIZONS",
    "MODEL_CLASSES",
    "PREDICTION_COLUMNS",
    "ExerciseBaseForecaster",
    "Forecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "SeasonalYoYForecaster",
    "XGBoostForecaster",
    "default_models",
]


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
