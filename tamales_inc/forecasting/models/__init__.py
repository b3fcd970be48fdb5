"""Forecasters, one module per model family, all of one shape (`base.Forecaster`): keyword
constructor, `fit`, `predict(features, horizons)`, `save(path)` / `Forecaster.load(path)`.

- `base.py`: `Forecaster`, its predict plumbing (horizons stacked, history lookups) and save/load
  by kind (`MODEL_CLASSES`, filled by `@register`).
- `baselines.py`: naive, seasonal naive, seasonal_yoy, the exercise's base model.
- `xgboost.py`: the global gradient-boosted model and its training rows, weights and matrix.
- `combination.py`: the weighted mean or median of other fitted models (members and weights
  are chosen by `forecasting.selection`).
- `statistical.py`: statsforecast's AutoETS, AutoTheta, AutoARIMA and AutoCES, fitted per
  series, with their declared fallbacks (short, all-zero, gappy series, failed fits).

A new family is a new module here with
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
from tamales_inc.forecasting.models.combination import CombinationForecaster
from tamales_inc.forecasting.models.statistical import (
    AutoARIMAForecaster,
    AutoCESForecaster,
    AutoETSForecaster,
    AutoThetaForecaster,
    StatisticalForecaster,
)
from tamales_inc.forecasting.models.xgboost import XGBoostForecaster

__all__ = [
    "AutoARIMAForecaster",
    "AutoCESForecaster",
    "AutoETSForecaster",
    "AutoThetaForecaster",
    "CombinationForecaster",
    "DEFAULT_HORIZONS",
    "MODEL_CLASSES",
    "PREDICTION_COLUMNS",
    "ExerciseBaseForecaster",
    "Forecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "SeasonalYoYForecaster",
    "StatisticalForecaster",
    "XGBoostForecaster",
    "default_models",
]


def default_models(
    *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, seed: int = 42, n_jobs: int = 1
) -> list[Forecaster]:
    """The models every run scores: four baselines, four statsforecast models fitted per series
    (`n_jobs` processes) and the global XGBoost."""
    return [
        NaiveForecaster(horizons=horizons),
        SeasonalNaiveForecaster(horizons=horizons),
        SeasonalYoYForecaster(horizons=horizons),
        ExerciseBaseForecaster(horizons=horizons),
        AutoETSForecaster(horizons=horizons, n_jobs=n_jobs),
        AutoThetaForecaster(horizons=horizons, n_jobs=n_jobs),
        AutoARIMAForecaster(horizons=horizons, n_jobs=n_jobs),
        AutoCESForecaster(horizons=horizons, n_jobs=n_jobs),
        XGBoostForecaster(horizons=horizons, seed=seed),
    ]
