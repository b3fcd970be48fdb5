"""Training run: backtest every candidate, choose the champion, register every candidate,
forecast, publish the `ml` tables.

`run_training` is a list of named steps over one `TrainingRun` record:

    read mart -> backtest (models, then combinations) -> choose champion -> fit candidates
    (final fits, intervals) -> forecast -> register -> publish ml tables -> promote -> report
"""

from __future__ import annotations

import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
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
    StatisticalForecaster,
    XGBoostForecaster,
    default_models,
)
from tamales_inc.forecasting.models.combination import CombinationForecaster
from tamales_inc.forecasting.models.statistical import prepare_statsforecast_import
from tamales_inc.forecasting.registry import (
    METADATA_FILE,
    new_version,
    promote,
    run_record_path,
    save_run_record,
    save_version,
)
from tamales_inc.forecasting.report import FeatureImportance, write_report
from tamales_inc.forecasting.selection import (
    COMBINATIONS,
    SelectionReport,
    add_combinations,
    candidates_of,
    choose_members,
    known_at,
    selection_report,
)
from tamales_inc.forecasting.selection import choose_champion as select_champion
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
class Candidate:
    """One candidate refitted on every month, its version, intervals and their coverage."""

    name: str
    model: Forecaster
    version: str
    quantiles: pl.DataFrame
    coverage: pl.DataFrame
    is_reused: bool = False  # registered by an earlier run with the same inputs


@dataclass(frozen=True)
class Champion:
    """The chosen candidate, why, how the choice scores honestly, and its forecasts."""

    choice: Choice
    candidate: Candidate
    selection: SelectionReport
    forecasts: pl.DataFrame

    @property
    def name(self) -> str:
        return self.choice.name

    @property
    def model(self) -> Forecaster:
        return self.candidate.model

    @property
    def version(self) -> str:
        return self.candidate.version

    @property
    def quantiles(self) -> pl.DataFrame:
        return self.candidate.quantiles

    @property
    def coverage(self) -> pl.DataFrame:
        return self.candidate.coverage


@dataclass(frozen=True)
class Outcome:
    """What the run computed, for the steps that write it out (register, publish, report)."""

    snapshot: FeatureSnapshot
    backtest: BacktestResult
    candidates: dict[str, Candidate]
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
    honest_wape: float
    honest_seasonal_naive_wape: float
    metrics: pl.DataFrame
    coverage: pl.DataFrame
    forecasts: pl.DataFrame
    model_dir: Path
    candidate_versions: dict[str, str]
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
            f"{self.n_feature_rows} rows in, {self.n_models} candidates x {len(self.origins)} "
            f"origins, champion {self.champion} WAPE {self.champion_wape:.4f} vs seasonal naive "
            f"{self.seasonal_naive_wape:.4f} (chosen out of sample: {self.honest_wape:.4f} vs "
            f"{self.honest_seasonal_naive_wape:.4f}), "
            f"{'promoted' if self.is_promoted else 'not promoted'} {self.model_version}, "
            f"{len(self.candidate_versions)} versions registered, "
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
    """Backtest every candidate, pick the champion, register every candidate, forecast, publish
    `ml.*`, promote, write the report.

    `inputs` is the run's fingerprint (`freshness.training_fingerprint`, computed when not
    given): a candidate registered from the same inputs is reused, not stored twice."""
    inputs = inputs or training_fingerprint(
        settings, seed=seed, horizons=tuple(horizons), n_origins=n_origins
    )
    prepare_statsforecast_import(settings.cache_dir)
    run = TrainingRun(
        settings, seed=seed, horizons=tuple(horizons), n_origins=n_origins, inputs=inputs
    )
    snapshot = read_mart(run)
    require_writable(settings.models_dir, settings.warehouse_dir)  # fails before the backtest
    models = {
        model.name: model
        for model in default_models(horizons=run.horizons, seed=seed, n_jobs=settings.train_jobs)
    }
    backtest = backtest_models(run, models, snapshot.features)
    choice, selection = choose_champion(backtest)
    log.info("champion %s: %s", choice.name, choice.reason)
    candidates = fit_candidates(run, models, backtest, snapshot.features)
    champion = Champion(
        choice,
        candidates[choice.name],
        selection,
        make_forecasts(
            candidates[choice.name].model,
            snapshot.features,
            candidates[choice.name].quantiles,
            horizons=run.horizons,
            model_version=candidates[choice.name].version,
        ),
    )
    outcome = Outcome(snapshot, backtest, candidates, champion)
    model_dirs, created = register(run, outcome)
    publish_ml_tables(run, outcome, created)
    if choice.is_promoted:
        promote(settings, champion.version)
    report_dir = write_run_report(run, outcome, models) if report else None
    return _result(run, outcome, model_dirs, report_dir)


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
    """Backtest every model on the same rolling origins, then add the combinations (members
    and weights chosen at each origin on what is known there)."""
    factories = {name: model.clone for name, model in models.items()}
    with run.timed("backtest"), Progress("backtest", len(models) * run.n_origins, "fits") as fits:
        try:
            base = run_backtest(
                factories,
                features,
                horizons=run.horizons,
                n_origins=run.n_origins,
                progress=fits.advance,
            )
        except ValueError as exc:
            raise TrainingError(f"backtest failed: {exc}") from exc
        predictions, metrics, choices = add_combinations(
            base.predictions, base.origins, COMBINATIONS
        )
    return BacktestResult(predictions, metrics, base.origins, base.seconds, choices)


def choose_champion(backtest: BacktestResult) -> tuple[Choice, SelectionReport]:
    """The champion: the candidate with the lowest WAPE over the backtest (`selection`);
    promoted only if it beats the seasonal naive baseline. Also the honest figure of that
    rule (chosen on earlier origins, scored on later ones)."""
    champion = select_champion(backtest.predictions)
    if champion is None:
        raise TrainingError("no model produced a finite backtest WAPE")
    metrics = backtest.metrics
    wape, baseline = overall_metric(metrics, champion), overall_metric(metrics, BASELINE)
    selection = selection_report(backtest.predictions, backtest.origins, champion, BASELINE)
    log.info(
        "champion %s chosen on every origin: WAPE %.4f; the rule applied at origins %s on what "
        "was known there: WAPE %.4f vs %s %.4f on the same months",
        champion,
        wape,
        ", ".join(f"{o:%Y-%m}" for o in selection.honest_origins),
        selection.honest_wape,
        BASELINE,
        selection.seasonal_naive_wape_same_months,
    )
    if champion == BASELINE:
        choice = Choice(champion, False, "the champion is the seasonal naive baseline itself")
    elif not wape < baseline:
        choice = Choice(
            champion, False, f"WAPE {wape:.4f} does not beat seasonal naive {baseline:.4f}"
        )
    else:
        choice = Choice(
            champion,
            True,
            f"WAPE {wape:.4f} < seasonal naive {baseline:.4f} ({wape / baseline:.2f}x)",
        )
    return choice, selection


def fit_candidates(
    run: TrainingRun,
    models: dict[str, Forecaster],
    backtest: BacktestResult,
    features: pl.DataFrame,
) -> dict[str, Candidate]:
    """Every candidate refitted on every month (a combination reuses its members' fits, with
    the members and weights chosen on every backtest forecast), its version and its
    conformal intervals with their leave-one-origin-out coverage."""
    fitted: dict[str, Forecaster] = {}
    with run.timed("final_fit"):
        for name, model in models.items():
            fitted[name] = model.clone().fit(features)
        pool = candidates_of(backtest.predictions.filter(pl.col("model").is_in(list(models))))
        for spec in COMBINATIONS:
            chosen = choose_members(spec, known_at(backtest.predictions, None), pool)
            fitted[spec.label] = CombinationForecaster.from_fitted(
                fitted,
                label=spec.label,
                members=chosen.members,
                weights=chosen.weights,
                method=spec.method,
                horizons=run.horizons,
            )
    candidates = {}
    for name, model in fitted.items():
        quantiles, coverage = calibrate_intervals(backtest.predictions, name)
        reused = registered_with(run.settings, run.inputs, name, METADATA_FILE)
        version = reused or new_version(run.settings, run.trained_at, name)
        candidates[name] = Candidate(
            name, model, version, quantiles, coverage, is_reused=reused is not None
        )
    return candidates


def calibrate_intervals(predictions: pl.DataFrame, model: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A model's conformal half-widths and their leave-one-origin-out coverage."""
    residuals = predictions.filter(pl.col("model") == model)
    return conformal_quantiles(residuals, LEVELS), interval_coverage(residuals, LEVELS)


def register(run: TrainingRun, outcome: Outcome) -> tuple[dict[str, Path], list[Path]]:
    """Write every candidate (model, interval half-widths, metadata) to `models/<version>/`,
    except those an earlier run with the same inputs registered (reused, never stored twice),
    and the run's record (`models/runs/<run_id>.json`, which names them all). Returns every
    candidate's folder and the folders this run created."""
    dirs: dict[str, Path] = {}
    created: list[Path] = []
    try:
        for name, candidate in outcome.candidates.items():
            if candidate.is_reused:
                dirs[name] = run.settings.models_dir / candidate.version
                continue
            dirs[name] = save_version(
                run.settings,
                candidate.version,
                candidate.model,
                candidate.quantiles,
                model_metadata(run, outcome, candidate),
            )
            created.append(dirs[name])
        save_run_record(run.settings, run.run_id, run_record(run, outcome))
    except BaseException:
        for path in created:
            remove_path(path)
        raise
    return dirs, created


def run_record(run: TrainingRun, outcome: Outcome) -> dict[str, Any]:
    """The run's record: its identity, the data it read, every candidate's version, the
    champion, whether it was promoted and the selection figures."""
    snapshot, champion = outcome.snapshot, outcome.champion
    return {
        "run_id": run.run_id,
        "trained_at": run.trained_at.isoformat() + "Z",
        "training_data_version": snapshot.data_version,
        "warehouse_sha256": snapshot.warehouse_sha256,
        "seed": run.seed,
        "horizons": list(run.horizons),
        "backtest_origins": [str(o) for o in outcome.backtest.origins],
        "candidates": {name: c.version for name, c in outcome.candidates.items()},
        "champion": champion.name,
        "champion_version": champion.version,
        "is_promoted": champion.choice.is_promoted,
        "promotion_reason": champion.choice.reason,
        "selection": champion.selection.as_dict(),
    }


def model_metadata(run: TrainingRun, outcome: Outcome, candidate: Candidate) -> dict[str, Any]:
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
    model = candidate.model
    is_champion = candidate.name == champion.name
    return {
        "version": candidate.version,
        "run_id": run.run_id,
        "model_name": candidate.name,
        "model_kind": type(model).name,
        "params": model.params,
        "feature_names": list(model.feature_names),
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
            "overall": overall.get(candidate.name, {}),
            "by_model": overall,
            "by_horizon": by_horizon,
            "seasonal_naive_wape": overall_metric(metrics, BASELINE),
        },
        "combination_choices": backtest.combinations.get(candidate.name, []),
        "series_methods": model.method_counts() if isinstance(model, StatisticalForecaster) else {},
        "interval_method": INTERVAL_METHOD,
        "interval_coverage": candidate.coverage.to_dicts(),
        # the registered model's own importance; empty for models that learn no weights
        "feature_importance": model.feature_importance(),
        "is_champion": is_champion,
        "is_promoted": is_champion and champion.choice.is_promoted,
        "promotion_reason": champion.choice.reason if is_champion else "not the champion",
        "selection": champion.selection.as_dict(),
        "seconds": {
            "backtest": run.seconds["backtest"],
            "final_fit": run.seconds["final_fit"],
            "model_backtest": backtest.seconds.get(candidate.name),
        },
    }


def ml_table_rows(run: TrainingRun, outcome: Outcome) -> dict[Table, pl.DataFrame]:
    """The run's rows of every `ml` table (one `model_runs` and coverage block per candidate)."""
    snapshot, backtest, champion = outcome.snapshot, outcome.backtest, outcome.champion
    metrics = backtest.metrics
    run_rows, coverage = [], []
    for name, candidate in outcome.candidates.items():
        is_champion = name == champion.name
        run_rows.append(
            {
                "run_id": run.run_id,
                "model_version": candidate.version,
                "trained_at": run.trained_at,
                "model_name": name,
                "params": json.dumps(candidate.model.params, sort_keys=True),
                "training_data_version": snapshot.data_version,
                "warehouse_sha256": snapshot.warehouse_sha256,
                "wape": overall_metric(metrics, name),
                "mase": overall_metric(metrics, name, "mase"),
                "seasonal_naive_wape": overall_metric(metrics, BASELINE),
                "is_champion": is_champion,
                "is_promoted": is_champion and champion.choice.is_promoted,
                "inputs_fingerprint": run.inputs.value,
                "inputs": run.inputs.to_json(),
            }
        )
        coverage.append(
            candidate.coverage.with_columns(
                pl.lit(candidate.version).alias("model_version"), pl.lit(name).alias("model_name")
            )
        )
    return {
        BACKTEST_PREDICTIONS: backtest.predictions,
        BACKTEST_METRICS: metrics,
        FORECASTS: champion.forecasts,
        INTERVAL_COVERAGE: pl.concat(coverage),
        MODEL_RUNS: pl.DataFrame(run_rows, schema=MODEL_RUNS.schema),
    }


def publish_ml_tables(run: TrainingRun, outcome: Outcome, created: list[Path]) -> None:
    """Write the run's `ml` tables into a copy of the published warehouse and publish it, if
    that warehouse is still the one trained on; on failure the versions this run registered go
    too (`created`; never a reused one)."""
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
        for path in created:
            remove_path(path)
        remove_path(run_record_path(settings, run.run_id))
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
    run: TrainingRun, outcome: Outcome, model_dirs: dict[str, Path], report_dir: Path | None
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
        honest_wape=champion.selection.honest_wape,
        honest_seasonal_naive_wape=champion.selection.seasonal_naive_wape_same_months,
        metrics=backtest.metrics,
        coverage=champion.coverage,
        forecasts=champion.forecasts,
        model_dir=model_dirs[champion.name],
        candidate_versions={name: c.version for name, c in outcome.candidates.items()},
        report_dir=report_dir,
        n_feature_rows=outcome.snapshot.features.height,
        n_models=len(outcome.candidates),
        origins=backtest.origins,
        seconds=seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point (`tamales_inc.forecasting.cli`): returns the exit code."""
    from tamales_inc.forecasting.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
