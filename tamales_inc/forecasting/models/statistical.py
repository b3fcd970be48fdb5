"""statsforecast's per-series models (AutoETS, AutoTheta, AutoARIMA, AutoCES) as forecasters.

Each series is fitted on its own by the statsforecast model (season 12). What a fit keeps, per
series, is a table of forecasts: the in-sample one-step-ahead forecasts (one per month) and the
forecasts of horizons 1..H from the series' last month. `predict` answers every (row t, horizon
h) with the stored forecast of month t+h made at the latest month <= t that has one, so one mart
row is enough and nothing is refitted at predict time (the API's single-row predict is a join).
Where no stored forecast applies (h > 1 from a month before the last), the answer is the seasonal
naive forecast, like every declared fallback below.

Declared fallbacks, per series, decided on the months up to the fit's last month:
- gaps: months with no value (the market feed's empty months; zero-filled months are real zeros
  and stay 0) are linearly interpolated between their neighbours, carried forward at the end;
  leading empty months are dropped;
- all-zero history: every forecast is 0 (`zero`);
- short history (fewer than two seasons, 24 months): seasonal naive when a season is known, else
  naive (`seasonal_naive:short`, `naive:short`): a season-12 model cannot be estimated, and a
  non-seasonal one ignores the strongest pattern in these sales;
- negative months (returns): fitted as they are (AutoETS then only considers additive
  components, the others accept any sign);
- a fit that raises or forecasts a non-finite value: seasonal naive (`seasonal_naive:failed`).
"""

from __future__ import annotations

import logging
import os
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import polars as pl

from tamales_inc.forecasting.data import prepare
from tamales_inc.forecasting.models.base import (
    DEFAULT_HORIZONS,
    Forecaster,
    finish,
    register,
)
from tamales_inc.forecasting.targets import SEASON_LENGTH

STATE_FILE = "forecasts.parquet"
FITS_FILE = "fits.parquet"

# Stored forecasts: the month forecast from (`origin_month`) and the month forecast.
STATE_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "origin_month": pl.Date(),
    "target_month": pl.Date(),
    "y_stat": pl.Float64(),
}
# How each series was fitted (`method`) on which months.
FITS_SCHEMA: dict[str, pl.DataType] = {
    "series_id": pl.String(),
    "method": pl.String(),
    "first_month": pl.Date(),
    "last_month": pl.Date(),
    "n_months": pl.Int32(),
}

MODEL = "model"
ZERO = "zero"
SHORT_SEASONAL = "seasonal_naive:short"
SHORT_NAIVE = "naive:short"
FAILED = "seasonal_naive:failed"

# Fewer months than this (two seasons) and a series is short.
MIN_SEASONS = 2
# Parallel fitting pays only past this many series to fit (a process pool costs ~0.2 s).
PARALLEL_MIN_SERIES = 64

log = logging.getLogger(__name__)


def prepare_statsforecast_import(cache_dir: Path | None) -> None:
    """Set the variables statsforecast reads at import (call before the first import):
    `NIXTLA_NUMBA_CACHE=1` and `NUMBA_CACHE_DIR` under `cache_dir`, so a statsforecast release
    that JIT-compiles with numba (2.0) compiles once per machine; 2.1+ ships compiled code and
    ignores them."""
    os.environ.setdefault("NIXTLA_NUMBA_CACHE", "1")
    if cache_dir is not None and "NUMBA_CACHE_DIR" not in os.environ:
        (cache_dir / "numba").mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(cache_dir / "numba")


def _statsforecast_model(kind: str, season_length: int) -> Any:
    """A fresh statsforecast model object (imported lazily: the import takes seconds)."""
    from statsforecast import models

    return getattr(models, kind)(season_length=season_length)


@dataclass
class SeriesFit:
    """One series' fit: how (`method`), its months, the fitted statsforecast model (in memory
    only: kept so a later origin can `forward` the new months through it), the forecasts."""

    series_id: str
    method: str
    first_month: Any
    last_month: Any
    n_months: int
    model: Any
    in_sample: np.ndarray  # one-step-ahead forecast of months 2..n (index 0 is month 1: NaN)
    ahead: np.ndarray  # forecasts of horizons 1..H from the last month


def _fill_gaps(values: np.ndarray) -> np.ndarray:
    """Interpolate interior NaN linearly, carry the last value over trailing NaN (leading NaN
    were dropped by the caller)."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    index = np.arange(values.size)
    return np.interp(index, index[~missing], values[~missing])


def _seasonal_naive(y: np.ndarray, horizon: int, season: int) -> tuple[np.ndarray, np.ndarray]:
    """(one-step in-sample forecasts, forecasts of 1..horizon) of seasonal naive, naive where a
    season back is not there."""
    n = y.size
    in_sample = np.full(n, np.nan)
    for t in range(1, n):
        in_sample[t] = y[t - season] if t >= season else y[t - 1]
    ahead = np.array(
        [y[n + h - 1 - season] if n + h - 1 - season >= 0 else y[-1] for h in range(1, horizon + 1)]
    )
    return in_sample, ahead


def _fit_one(
    kind: str,
    season: int,
    horizon: int,
    series_id: str,
    months: tuple[Any, Any],
    y: np.ndarray,
    previous: SeriesFit | None,
) -> SeriesFit:
    """Fit (or, with a previous fit of the same method, forward) one series."""
    n = y.size
    first, last = months
    if not np.any(np.abs(y) > 0):
        zeros = np.zeros(n)
        zeros[0] = np.nan
        return SeriesFit(series_id, ZERO, first, last, n, None, zeros, np.zeros(horizon))
    if n < MIN_SEASONS * season:
        method = SHORT_SEASONAL if n >= season else SHORT_NAIVE
        in_sample, ahead = _seasonal_naive(y, horizon, season)
        return SeriesFit(series_id, method, first, last, n, None, in_sample, ahead)
    try:
        with warnings.catch_warnings():
            # statsforecast's numerical warnings (e.g. many differences) say nothing a user of
            # `train` can act on; a fit that fails takes the fallback below
            warnings.simplefilter("ignore")
            if previous is not None and previous.method == MODEL and previous.model is not None:
                model = previous.model
                out = model.forward(y=y, h=horizon, fitted=True)
            else:
                model = _statsforecast_model(kind, season).fit(y)
                out = model.predict(horizon)
                out["fitted"] = model.predict_in_sample()["fitted"]
        ahead = np.asarray(out["mean"], dtype=np.float64)
        in_sample = np.asarray(out["fitted"], dtype=np.float64).copy()
        if not np.isfinite(ahead).all():
            raise ValueError("non-finite forecast")
    except Exception as exc:  # noqa: BLE001 - any model failure takes the declared fallback
        log.debug("%s %s: %s, seasonal naive instead", kind, series_id, exc)
        in_sample, ahead = _seasonal_naive(y, horizon, season)
        return SeriesFit(series_id, FAILED, first, last, n, None, in_sample, ahead)
    in_sample[0] = np.nan  # the first month has no earlier month to forecast it from
    in_sample[~np.isfinite(in_sample)] = np.nan
    return SeriesFit(series_id, MODEL, first, last, n, model, in_sample, ahead)


def _fit_chunk(args: tuple) -> list[SeriesFit]:
    kind, season, horizon, items = args
    return [_fit_one(kind, season, horizon, *item) for item in items]


def series_arrays(features: pl.DataFrame) -> list[tuple[str, tuple[Any, Any], np.ndarray]]:
    """(series_id, (first month, last month), sales) per series of prepared mart rows: from the
    first month with a value to the series' last row, gaps filled (`_fill_gaps`)."""
    frame = features.select("series_id", "sales_month", "sales").with_columns(
        pl.col("sales").is_not_null().cum_max().over("series_id").alias("_started")
    )
    frame = frame.filter(pl.col("_started"))
    out = []
    for (series_id,), part in frame.group_by(["series_id"], maintain_order=True):
        months = part["sales_month"]
        values = _fill_gaps(part["sales"].cast(pl.Float64).fill_null(np.nan).to_numpy().copy())
        out.append((str(series_id), (months[0], months[-1]), values))
    return out


class StatisticalForecaster(Forecaster):
    """A statsforecast model fitted per series; see the module docstring for what it stores,
    how it predicts and its declared fallbacks. `n_jobs` > 1 fits in that many processes when
    there are at least `PARALLEL_MIN_SERIES` series."""

    statsforecast_model: ClassVar[str]
    # statsforecast's `forward` (apply the fitted parameters to a longer history) is reliable
    forwards: ClassVar[bool] = True
    feature_names = ("sales", "the series' sales history up to t")

    def __init__(
        self,
        *,
        horizons: tuple[int, ...] = DEFAULT_HORIZONS,
        season_length: int = SEASON_LENGTH,
        n_jobs: int = 1,
    ) -> None:
        super().__init__(horizons=horizons)
        self.season_length = int(season_length)
        self.n_jobs = int(n_jobs)
        self.forecasts: pl.DataFrame = pl.DataFrame(schema=STATE_SCHEMA)
        self.fits: pl.DataFrame = pl.DataFrame(schema=FITS_SCHEMA)
        self._fitted: dict[str, SeriesFit] = {}

    def fit(self, features: pl.DataFrame) -> Self:
        """Fit every series of `features` on its own (see the module docstring)."""
        super().fit(features)
        self._fit_series(prepare(features), previous={})
        return self

    def update(self, features: pl.DataFrame) -> Forecaster:
        """The same model on a longer history: series fitted by the model keep its parameters
        and take in the new months (statsforecast's `forward`); the others are fitted anew."""
        if not self.forwards:
            return super().update(features)
        model = self.clone()
        assert isinstance(model, StatisticalForecaster)
        Forecaster.fit(model, features)
        model._fit_series(prepare(features), previous=self._fitted)
        return model

    def _fit_series(self, features: pl.DataFrame, previous: dict[str, SeriesFit]) -> None:
        horizon = max(self.horizons)
        items = [
            (series_id, months, y, previous.get(series_id))
            for series_id, months, y in series_arrays(features)
        ]
        fits = self._run(items, horizon)
        self._fitted = {fit.series_id: fit for fit in fits}
        self.forecasts = _forecast_rows(fits)
        self.fits = pl.DataFrame(
            [(f.series_id, f.method, f.first_month, f.last_month, f.n_months) for f in fits],
            schema=FITS_SCHEMA,
            orient="row",
        )
        counts = self.fits.group_by("method").len().sort("method").rows()
        log.debug("%s: %s", self.name, ", ".join(f"{m} {n}" for m, n in counts))

    def _run(self, items: list[tuple], horizon: int) -> list[SeriesFit]:
        kind, season = self.statsforecast_model, self.season_length
        if self.n_jobs <= 1 or len(items) < PARALLEL_MIN_SERIES:
            return [_fit_one(kind, season, horizon, *item) for item in items]
        _statsforecast_model(kind, season)  # import once before forking
        chunks = [items[i :: self.n_jobs] for i in range(self.n_jobs)]
        with ProcessPoolExecutor(self.n_jobs, mp_context=get_context("fork")) as pool:
            parts = list(pool.map(_fit_chunk, [(kind, season, horizon, c) for c in chunks]))
        order = {item[0]: i for i, item in enumerate(items)}
        return sorted((fit for part in parts for fit in part), key=lambda f: order[f.series_id])

    def _predict(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The stored forecast of each target month from the latest origin <= t; seasonal naive
        where none applies."""
        keys = frame.select("series_id", "sales_month", "target_month").unique()
        stored = (
            keys.join(self.forecasts, on=["series_id", "target_month"], how="inner")
            .filter(pl.col("origin_month") <= pl.col("sales_month"))
            .sort("origin_month")
            .group_by("series_id", "sales_month", "target_month")
            .agg(pl.col("y_stat").last())
        )
        joined = frame.join(
            stored,
            on=["series_id", "sales_month", "target_month"],
            how="left",
            maintain_order="left",
        )
        fallback = pl.coalesce("seasonal_value", "last_sales")
        return finish(joined, pl.coalesce(pl.col("y_stat"), fallback))

    def method_counts(self) -> dict[str, int]:
        """How many series each method (model or fallback) fitted."""
        return dict(self.fits.group_by("method").len().sort("method").iter_rows())

    def save(self, path: Path) -> None:
        """`model.json`, the kept history, the stored forecasts and each series' method."""
        super().save(path)
        self.forecasts.write_parquet(path / STATE_FILE)
        self.fits.write_parquet(path / FITS_FILE)

    def _state(self) -> dict[str, Any]:
        return {"methods": self.method_counts()}

    def _restore(self, path: Path, body: dict[str, Any]) -> None:
        super()._restore(path, body)
        self.forecasts = pl.read_parquet(path / STATE_FILE).cast(STATE_SCHEMA)
        self.fits = pl.read_parquet(path / FITS_FILE).cast(FITS_SCHEMA)


def _forecast_rows(fits: list[SeriesFit]) -> pl.DataFrame:
    """The stored forecasts of every fit: in-sample one-step ones and 1..H from the last month."""
    series, origins, offsets, values = [], [], [], []
    for fit in fits:
        n = fit.n_months
        steps = np.arange(1, n)  # in-sample: month k forecast from month k - 1
        series.append(np.full(n - 1 + fit.ahead.size, fit.series_id, dtype=object))
        origins.append(np.concatenate([steps - 1, np.full(fit.ahead.size, n - 1)]))
        offsets.append(np.concatenate([steps, n - 1 + np.arange(1, fit.ahead.size + 1)]))
        values.append(np.concatenate([fit.in_sample[1:], fit.ahead]))
    if not fits:
        return pl.DataFrame(schema=STATE_SCHEMA)
    firsts = pl.DataFrame(
        {"series_id": [f.series_id for f in fits], "_first": [f.first_month for f in fits]},
        schema={"series_id": pl.String(), "_first": pl.Date()},
    )
    frame = pl.DataFrame(
        {
            "series_id": np.concatenate(series).tolist(),
            "_origin": np.concatenate(origins).astype(np.int32),
            "_target": np.concatenate(offsets).astype(np.int32),
            "y_stat": np.concatenate(values).astype(np.float64),
        }
    ).join(firsts, on="series_id", how="left")
    return (
        frame.filter(pl.col("y_stat").is_finite())
        .select(
            "series_id",
            pl.col("_first").dt.offset_by(pl.format("{}mo", "_origin")).alias("origin_month"),
            pl.col("_first").dt.offset_by(pl.format("{}mo", "_target")).alias("target_month"),
            "y_stat",
        )
        .cast(STATE_SCHEMA)
    )


@register
class AutoETSForecaster(StatisticalForecaster):
    """statsforecast `AutoETS` (error, trend, season chosen per series by AICc), season 12."""

    name = "auto_ets"
    statsforecast_model = "AutoETS"


@register
class AutoThetaForecaster(StatisticalForecaster):
    """statsforecast `AutoTheta` (standard, optimised and dynamic Theta, chosen per series),
    season 12 after a seasonality test."""

    name = "auto_theta"
    statsforecast_model = "AutoTheta"


@register
class AutoARIMAForecaster(StatisticalForecaster):
    """statsforecast `AutoARIMA` (stepwise search of seasonal ARIMA orders), season 12."""

    name = "auto_arima"
    statsforecast_model = "AutoARIMA"


@register
class AutoCESForecaster(StatisticalForecaster):
    """statsforecast `AutoCES` (complex exponential smoothing), season 12. Refitted at every
    origin: its `forward` is not reliable on new months (it diverges on some series)."""

    name = "auto_ces"
    statsforecast_model = "AutoCES"
    forwards = False
