"""Training run: backtest every model, register the champion, forecast, publish the `ml` tables.

`run_training` is a list of named steps over one `TrainingRun` record:

    read mart -> backtest -> choose champion -> fit final -> calibrate intervals -> forecast
    -> register -> publish ml tables -> promote -> report
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import polars as pl

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.files import remove_path, require_writable
from tamales_inc.core.fingerprint import Fingerprint
from tamales_inc.core.progress import Progress
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.backtest import DEFAULT_ORIGINS, BacktestResult, run_backtest
from tamales_inc.forecasting.data import FeatureSnapshot, file_sha256, read_features
from tamales_inc.forecasting.forecast import make_forecasts
from tamales_inc.forecasting.freshness import (
    TrainingChanged,
    describe_change,
    registered_with,
    training_fingerprint,
)
from tamales_inc.forecasting.intervals import LEVELS, conformal_quantiles, interval_coverage
from tamales_inc.forecasting.metrics import METRIC_COLUMNS, overall_metric
from tamales_inc.forecasting.models import (
    DEFAULT_HORIZONS,
    Forecaster,
    XGBoostForecaster,
    default_models,
)
from tamales_inc.forecasting.registry import METADATA_FILE, new_version, promote, save_version
from tamales_inc.forecasting.report import FeatureImportance, write_report
from tamales_inc.forecasting.tables import (
    BACKTEST_METRICS,
    BACKTEST_PREDICTIONS,
    FORECASTS,
    INTERVAL_COVERAGE,
    MODEL_RUNS,
    Table,
    write_table,
)
from tamales_inc.warehouse.publish import staged_warehouse

PROG = "train"
DEFAULT_SEED = 42
THREADS = 2
BASELINE = "seasonal_naive"
INTERVAL_METHOD = "split conformal on |y - yhat| / series scale, per horizon"

log = logging.getLogger(__name__)


class TrainingError(TamalesError):
    """A training run that cannot proceed (missing warehouse, too little history, ...)."""


@dataclass(frozen=True)
class TrainingRun:
    """One run's identity and options, and the seconds its timed steps took."""

    settings: Settings
    seed: int
    horizons: tuple[int, ...]
    n_origins: int
    inputs: Fingerprint
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    trained_at: datetime = field(default_factory=lambda: datetime.now(UTC).replace(tzinfo=None))
    started: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def timed(self, step: str) -> Iterator[None]:
        """Record how long the block takes under `seconds[step]`."""
        started = time.perf_counter()
        yield
        self.seconds[step] = time.perf_counter() - started


class Choice(NamedTuple):
    """The champion's name, whether it is promoted, and why."""

    name: str
    is_promoted: bool
    reason: str


@dataclass(frozen=True)
class Champion:
    """The chosen model refitted on every month, its version, intervals and forecasts."""

    choice: Choice
    model: Forecaster
    version: str
    quantiles: pl.DataFrame
    coverage: pl.DataFrame
    forecasts: pl.DataFrame

    @property
    def name(self) -> str:
        return self.choice.name


@dataclass(frozen=True)
class Outcome:
    """What the run computed, for the steps that write it out (register, publish, report)."""

    snapshot: FeatureSnapshot
    backtest: BacktestResult
    champion: Champion


@dataclass
class TrainingResult:
    """What one training run produced."""

    run_id: str
    model_version: str
    champion: str
    is_promoted: bool
    champion_wape: float
    seasonal_naive_wape: float
    metrics: pl.DataFrame
    coverage: pl.DataFrame
    forecasts: pl.DataFrame
    model_dir: Path
    report_dir: Path | None
    n_feature_rows: int
    n_models: int
    origins: list[date]
    seconds: dict[str, float]

    def summary(self) -> str:
        """One line: rows in, champion against seasonal naive, version, forecasts, seconds."""
        cov = dict(
            self.coverage.filter(pl.col("horizon") == 0).select("level", "coverage").iter_rows()
        )
        return (
            f"{self.n_feature_rows} rows in, {self.n_models} models x {len(self.origins)} "
            f"origins, champion {self.champion} WAPE {self.champion_wape:.4f} vs seasonal naive "
            f"{self.seasonal_naive_wape:.4f}, "
            f"{'promoted' if self.is_promoted else 'not promoted'} {self.model_version}, "
            f"{self.forecasts.height} forecast rows, interval coverage "
            f"80%={cov.get(0.8, float('nan')):.2f} 95%={cov.get(0.95, float('nan')):.2f}, "
            f"{self.seconds['train_and_backtest']:.1f} s train+backtest, "
            f"{self.seconds['total']:.1f} s total"
        )


def run_training(
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    n_origins: int = DEFAULT_ORIGINS,
    report: bool = True,
    inputs: Fingerprint | None = None,
) -> TrainingResult:
    """Backtest, pick and register the champion, forecast, publish `ml.*`, write the report.

    `inputs` is the run's fingerprint (`freshness.training_fingerprint`, computed when not
    given): a registered version trained from the same inputs is reused, not stored twice."""
    inputs = inputs or training_fingerprint(
        settings, seed=seed, horizons=tuple(horizons), n_origins=n_origins
    )
    run = TrainingRun(
        settings, seed=seed, horizons=tuple(horizons), n_origins=n_origins, inputs=inputs
    )
    snapshot = read_mart(run)
    require_writable(settings.models_dir, settings.warehouse_dir)  # fails before the backtest
    models = {model.name: model for model in default_models(horizons=run.horizons, seed=seed)}
    backtest = backtest_models(run, models, snapshot.features)
    choice = choose_champion(backtest.metrics)
    log.info("champion %s: %s", choice.name, choice.reason)
    model = fit_final(run, models[choice.name], snapshot.features)
    quantiles, coverage = calibrate_intervals(backtest.predictions, choice.name)
    reused = registered_with(settings, run.inputs, choice.name, METADATA_FILE)
    version = reused or new_version(settings, run.trained_at, choice.name)
    forecasts = make_forecasts(
        model, snapshot.features, quantiles, horizons=run.horizons, model_version=version
    )
    champion = Champion(choice, model, version, quantiles, coverage, forecasts)
    outcome = Outcome(snapshot, backtest, champion)
    model_dir = register(run, outcome) if reused is None else settings.models_dir / reused
    publish_ml_tables(run, outcome, model_dir, keep_model=reused is not None)
    if choice.is_promoted:
        promote(settings, version)
    report_dir = write_run_report(run, outcome, models) if report else None
    return _result(run, outcome, model_dir, report_dir, n_models=len(models))


def read_mart(run: TrainingRun) -> FeatureSnapshot:
    """Read the feature mart of the published warehouse; a missing or empty one is a
    TrainingError."""
    try:
        snapshot = read_features(run.settings)
    except (FileNotFoundError, ValueError, duckdb.Error) as exc:
        raise TrainingError(str(exc)) from exc
    features = snapshot.features
    log.info(
        "%d feature rows, %d series, data version %s; backtest over %d origins, horizons %s",
        features.height,
        features["series_id"].n_unique(),
        snapshot.data_version,
        run.n_origins,
        list(run.horizons),
    )
    return snapshot


def backtest_models(
    run: TrainingRun, models: dict[str, Forecaster], features: pl.DataFrame
) -> BacktestResult:
    """Backtest every model on the same rolling origins."""
    with run.timed("backtest"), Progress("backtest", len(models) * run.n_origins, "fits") as fits:
        factories = {name: _counted(model.clone, fits) for name, model in models.items()}
        try:
            return run_backtest(factories, features, horizons=run.horizons, n_origins=run.n_origins)
        except ValueError as exc:
            raise TrainingError(f"backtest failed: {exc}") from exc


def _counted(factory: Callable[[], Forecaster], progress: Progress) -> Callable[[], Forecaster]:
    """`factory`, counting each model it makes (one per backtest origin) into `progress`."""

    def make() -> Forecaster:
        progress.advance()
        return factory()

    return make


def choose_champion(metrics: pl.DataFrame) -> Choice:
    """The champion: lowest overall WAPE; promoted only if it beats the seasonal naive
    baseline."""
    overall = metrics.filter((pl.col("scope") == "overall") & pl.col("wape").is_not_nan())
    if overall.is_empty():
        raise TrainingError("no model produced a finite backtest WAPE")
    best = overall.sort("wape", "model").row(0, named=True)
    champion, wape = str(best["model"]), float(best["wape"])
    baseline = overall_metric(metrics, BASELINE)
    if champion == BASELINE:
        return Choice(champion, False, "the champion is the seasonal naive baseline itself")
    if not wape < baseline:
        return Choice(
            champion, False, f"WAPE {wape:.4f} does not beat seasonal naive {baseline:.4f}"
        )
    return Choice(
        champion, True, f"WAPE {wape:.4f} < seasonal naive {baseline:.4f} ({wape / baseline:.2f}x)"
    )


def fit_final(run: TrainingRun, model: Forecaster, features: pl.DataFrame) -> Forecaster:
    """A fresh copy of the champion fitted on every month."""
    with run.timed("final_fit"):
        return model.clone().fit(features)


def calibrate_intervals(
    predictions: pl.DataFrame, champion: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The champion's conformal half-widths and their leave-one-origin-out coverage."""
    residuals = predictions.filter(pl.col("model") == champion)
    return conformal_quantiles(residuals, LEVELS), interval_coverage(residuals, LEVELS)


def register(run: TrainingRun, outcome: Outcome) -> Path:
    """Write the champion, its interval half-widths and metadata to `models/<version>/`."""
    champion = outcome.champion
    return save_version(
        run.settings,
        champion.version,
        champion.model,
        champion.quantiles,
        model_metadata(run, outcome),
    )


def model_metadata(run: TrainingRun, outcome: Outcome) -> dict[str, Any]:
    """`metadata.json`: what the model is, what it was trained on, how it scored."""
    snapshot, backtest, champion = outcome.snapshot, outcome.backtest, outcome.champion
    metrics = backtest.metrics
    overall = {
        row["model"]: {k: row[k] for k in METRIC_COLUMNS}
        for row in metrics.filter(pl.col("scope") == "overall").iter_rows(named=True)
    }
    by_horizon = [
        {k: row[k] for k in ("model", "scope_value", *METRIC_COLUMNS)}
        for row in metrics.filter(pl.col("scope") == "horizon").iter_rows(named=True)
    ]
    features = snapshot.features
    return {
        "version": champion.version,
        "run_id": run.run_id,
        "model_name": champion.name,
        "params": champion.model.params,
        "feature_names": list(champion.model.feature_names),
        "horizons": list(run.horizons),
        "training_data_version": snapshot.data_version,
        "warehouse_sha256": snapshot.warehouse_sha256,
        "warehouse_path": str(snapshot.warehouse_path),
        "inputs_fingerprint": run.inputs.value,
        "inputs": run.inputs.parts,
        "n_feature_rows": features.height,
        "n_series": features["series_id"].n_unique(),
        "trained_at": run.trained_at.isoformat() + "Z",
        "seed": run.seed,
        "backtest_origins": [str(o) for o in backtest.origins],
        "metrics": {
            "overall": overall.get(champion.name, {}),
            "by_model": overall,
            "by_horizon": by_horizon,
            "seasonal_naive_wape": overall_metric(metrics, BASELINE),
        },
        "interval_method": INTERVAL_METHOD,
        "interval_coverage": champion.coverage.to_dicts(),
        # the registered model's own importance; empty for models that learn no weights
        "feature_importance": champion.model.feature_importance(),
        "is_promoted": champion.choice.is_promoted,
        "promotion_reason": champion.choice.reason,
        "seconds": {"backtest": run.seconds["backtest"], "final_fit": run.seconds["final_fit"]},
    }


def ml_table_rows(run: TrainingRun, outcome: Outcome) -> dict[Table, pl.DataFrame]:
    """The run's rows of every `ml` table."""
    snapshot, backtest, champion = outcome.snapshot, outcome.backtest, outcome.champion
    metrics = backtest.metrics
    run_row = {
        "run_id": run.run_id,
        "model_version": champion.version,
        "trained_at": run.trained_at,
        "model_name": champion.name,
        "params": json.dumps(champion.model.params, sort_keys=True),
        "training_data_version": snapshot.data_version,
        "warehouse_sha256": snapshot.warehouse_sha256,
        "wape": overall_metric(metrics, champion.name),
        "mase": overall_metric(metrics, champion.name, "mase"),
        "seasonal_naive_wape": overall_metric(metrics, BASELINE),
        "is_champion": True,
        "is_promoted": champion.choice.is_promoted,
        "inputs_fingerprint": run.inputs.value,
        "inputs": run.inputs.to_json(),
    }
    coverage = champion.coverage.with_columns(
        pl.lit(champion.version).alias("model_version"), pl.lit(champion.name).alias("model_name")
    )
    return {
        BACKTEST_PREDICTIONS: backtest.predictions,
        BACKTEST_METRICS: metrics,
        FORECASTS: champion.forecasts,
        INTERVAL_COVERAGE: coverage,
        MODEL_RUNS: pl.DataFrame([run_row]),
    }


def publish_ml_tables(
    run: TrainingRun, outcome: Outcome, model_dir: Path, keep_model: bool = False
) -> None:
    """Write the run's `ml` tables into a copy of the published warehouse and publish it, if
    that warehouse is still the one trained on; on failure the version registered by this run
    goes too (not a reused one, `keep_model`)."""
    rows = ml_table_rows(run, outcome)
    settings, trained_on = run.settings, outcome.snapshot.warehouse_sha256
    try:
        with staged_warehouse(settings, from_current=True, holder=PROG) as staged:
            if file_sha256(staged) != trained_on:
                raise TrainingChanged(
                    f"{settings.warehouse_path} changed while training "
                    f"({describe_change(settings, run.inputs)}); "
                    "nothing was published: rerun train"
                )
            con = duckdb.connect(str(staged))
            try:
                con.execute(f"set threads = {THREADS}")
                con.execute("begin transaction")
                for table, frame in rows.items():
                    write_table(con, table, frame)
                con.execute("commit")
            finally:
                con.close()
    except BaseException:
        if not keep_model:
            remove_path(model_dir)
        raise


def write_run_report(run: TrainingRun, outcome: Outcome, models: dict[str, Forecaster]) -> Path:
    """Charts and the Markdown report under `reports/<version>/`."""
    snapshot, backtest, champion = outcome.snapshot, outcome.backtest, outcome.champion
    out_dir = run.settings.reports_dir / champion.version
    write_report(
        out_dir,
        version=champion.version,
        champion=champion.name,
        is_promoted=champion.choice.is_promoted,
        features=snapshot.features,
        predictions=backtest.predictions,
        metrics=backtest.metrics,
        forecasts=champion.forecasts,
        coverage=champion.coverage,
        importance=report_importance(champion, models, snapshot.features),
        summary={
            "promotion_reason": champion.choice.reason,
            "training_data_version": snapshot.data_version,
            "warehouse_sha256": snapshot.warehouse_sha256,
            "origins": backtest.origins,
            "horizons": list(run.horizons),
        },
    )
    return out_dir


def report_importance(
    champion: Champion, models: dict[str, Forecaster], features: pl.DataFrame
) -> FeatureImportance | None:
    """The feature-importance chart's data: the registered champion's own, when it learns one
    (XGBoost); otherwise a diagnostic XGBoost fit on every month, titled as such (it is not the
    registered model). None when neither exists."""
    own = champion.model.feature_importance()
    if own:
        return FeatureImportance(
            own, f"Feature importance (total gain) of the champion, {champion.version}"
        )
    xgboost = models.get(XGBoostForecaster.name)
    if xgboost is None:
        return None
    return FeatureImportance(
        xgboost.clone().fit(features).feature_importance(),
        f"Diagnostic XGBoost fit on every month (not the registered champion, "
        f"{champion.name}): feature importance (total gain)",
    )


def _result(
    run: TrainingRun, outcome: Outcome, model_dir: Path, report_dir: Path | None, n_models: int
) -> TrainingResult:
    backtest, champion = outcome.backtest, outcome.champion
    seconds = {
        "backtest": run.seconds["backtest"],
        "final_fit": run.seconds["final_fit"],
        "train_and_backtest": run.seconds["backtest"] + run.seconds["final_fit"],
        "total": time.perf_counter() - run.started,
    }
    return TrainingResult(
        run_id=run.run_id,
        model_version=champion.version,
        champion=champion.name,
        is_promoted=champion.choice.is_promoted,
        champion_wape=overall_metric(backtest.metrics, champion.name),
        seasonal_naive_wape=overall_metric(backtest.metrics, BASELINE),
        metrics=backtest.metrics,
        coverage=champion.coverage,
        forecasts=champion.forecasts,
        model_dir=model_dir,
        report_dir=report_dir,
        n_feature_rows=outcome.snapshot.features.height,
        n_models=n_models,
        origins=backtest.origins,
        seconds=seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point (`tamales_inc.forecasting.cli`): returns the exit code."""
    from tamales_inc.forecasting.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
