"""Training run: backtest every model, register the champion, forecast, publish the `ml` tables."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.backtest import (
    DEFAULT_ORIGINS,
    PREDICTION_TABLE_COLUMNS,
    BacktestResult,
    run_backtest,
)
from tamales_inc.forecasting.features import FeatureSnapshot, file_sha256, read_features
from tamales_inc.forecasting.forecast import FORECAST_COLUMNS, make_forecasts
from tamales_inc.forecasting.intervals import LEVELS, conformal_quantiles, interval_coverage
from tamales_inc.forecasting.metrics import METRIC_COLUMNS
from tamales_inc.forecasting.models import (
    DEFAULT_HORIZONS,
    XGBoostForecaster,
    default_models,
)
from tamales_inc.forecasting.registry import new_version, promote, save_version
from tamales_inc.forecasting.report import write_report
from tamales_inc.warehouse.publish import staged_warehouse

DEFAULT_SEED = 42
THREADS = 2
BASELINE = "seasonal_naive"

ML_TABLES: dict[str, str] = {
    "backtest_predictions": """
        model varchar not null, origin_month date not null, source varchar not null,
        product_id varchar not null, zone_id varchar not null, sales_month date not null,
        horizon integer not null, y_true double, y_pred double""",
    "backtest_metrics": """
        model varchar not null, scope varchar not null, scope_value varchar not null,
        wape double, mase double, rmse double, bias double, n bigint not null""",
    "model_runs": """
        run_id varchar not null, model_version varchar not null, trained_at timestamp not null,
        model_name varchar not null, params varchar not null, training_data_version varchar,
        warehouse_sha256 varchar not null, wape double, mase double, seasonal_naive_wape double,
        is_champion boolean not null, is_promoted boolean not null""",
    "forecasts": """
        source varchar not null, product_id varchar not null, zone_id varchar not null,
        sales_month date not null, horizon integer not null, yhat double not null,
        yhat_lower double not null, yhat_upper double not null, level double not null,
        model_version varchar not null""",
    "interval_coverage": """
        model_version varchar not null, model_name varchar not null, horizon integer not null,
        level double not null, coverage double, n bigint not null, relative_width double""",
}
RUN_COLUMNS: tuple[str, ...] = (
    "run_id",
    "model_version",
    "trained_at",
    "model_name",
    "params",
    "training_data_version",
    "warehouse_sha256",
    "wape",
    "mase",
    "seasonal_naive_wape",
    "is_champion",
    "is_promoted",
)


class TrainingError(Exception):
    """A training run that cannot proceed (missing warehouse, too little history, ...)."""


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
    seconds: dict[str, float] = field(default_factory=dict)


def _log(message: str) -> None:
    print(f"train: {message}", flush=True)


def _overall(metrics: pl.DataFrame, model: str, column: str) -> float:
    row = metrics.filter((pl.col("model") == model) & (pl.col("scope") == "overall"))
    return float(row[column][0]) if row.height else float("nan")


def choose_champion(metrics: pl.DataFrame) -> tuple[str, bool, str]:
    """(champion, is_promoted, reason): lowest overall WAPE; promoted only if it beats the
    seasonal naive baseline."""
    overall = metrics.filter((pl.col("scope") == "overall") & pl.col("wape").is_not_nan())
    if overall.is_empty():
        raise TrainingError("no model produced a finite backtest WAPE")
    best = overall.sort("wape", "model").row(0, named=True)
    champion, wape = str(best["model"]), float(best["wape"])
    baseline = _overall(metrics, BASELINE, "wape")
    if champion == BASELINE:
        return champion, False, "the champion is the seasonal naive baseline itself"
    if not wape < baseline:
        return champion, False, f"WAPE {wape:.4f} does not beat seasonal naive {baseline:.4f}"
    return (
        champion,
        True,
        f"WAPE {wape:.4f} < seasonal naive {baseline:.4f} ({wape / baseline:.2f}x)",
    )


def _write_ml_tables(
    db_path: Path, tables: dict[str, pl.DataFrame], run_row: dict[str, Any]
) -> None:
    """Replace the run's result tables and append the run to `ml.model_runs` in `db_path`."""
    con = duckdb.connect(str(db_path))
    try:
        con.execute(f"set threads = {THREADS}")
        con.execute("begin transaction")
        con.execute("create schema if not exists ml")
        for name, frame in tables.items():
            con.execute(f"create or replace table ml.{name} ({ML_TABLES[name]})")
            con.register("_frame", frame.to_arrow())
            con.execute(f"insert into ml.{name} select {', '.join(frame.columns)} from _frame")
            con.unregister("_frame")
        con.execute(f"create table if not exists ml.model_runs ({ML_TABLES['model_runs']})")
        con.execute(
            f"insert into ml.model_runs ({', '.join(RUN_COLUMNS)}) "
            f"values ({', '.join('?' for _ in RUN_COLUMNS)})",
            [run_row[c] for c in RUN_COLUMNS],
        )
        con.execute("commit")
    finally:
        con.close()


def _publish(
    settings: Settings, snapshot: FeatureSnapshot, tables: dict[str, pl.DataFrame], run_row: dict
) -> None:
    with staged_warehouse(settings, from_current=True) as staged:
        if file_sha256(staged) != snapshot.warehouse_sha256:
            raise TrainingError(
                f"{settings.warehouse_path} changed while training (a transform ran): rerun train"
            )
        _write_ml_tables(staged, tables, run_row)


def run_training(
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    horizons: tuple[int, ...] = DEFAULT_HORIZONS,
    n_origins: int = DEFAULT_ORIGINS,
    report: bool = True,
) -> TrainingResult:
    """Backtest, pick and register the champion, forecast, publish `ml.*`, write the report."""
    started = time.perf_counter()
    snapshot = read_features(settings)
    features = snapshot.features
    n_series = features["series_id"].n_unique()
    _log(
        f"{features.height} feature rows, {n_series} series, data version "
        f"{snapshot.data_version}; backtest over {n_origins} origins, horizons {list(horizons)}"
    )

    models = {m.name: m for m in default_models(horizons=horizons, seed=seed)}
    factories = {name: m.clone for name, m in models.items()}
    t0 = time.perf_counter()
    try:
        backtest: BacktestResult = run_backtest(
            factories, features, horizons=horizons, n_origins=n_origins, log=_log
        )
    except ValueError as exc:
        raise TrainingError(f"backtest failed: {exc}") from exc
    backtest_seconds = time.perf_counter() - t0
    metrics = backtest.metrics
    champion, is_promoted, reason = choose_champion(metrics)
    baseline_wape = _overall(metrics, BASELINE, "wape")
    champion_wape = _overall(metrics, champion, "wape")
    _log(f"champion {champion}: {reason}")

    t0 = time.perf_counter()
    final = factories[champion]().fit(features)
    importance_model = final if isinstance(final, XGBoostForecaster) else None
    if importance_model is None and "xgboost" in factories:
        importance_model = factories["xgboost"]().fit(features)  # type: ignore[assignment]
    fit_seconds = time.perf_counter() - t0

    champion_bt = backtest.predictions.filter(pl.col("model") == champion)
    quantiles = conformal_quantiles(champion_bt, LEVELS)
    coverage = interval_coverage(champion_bt, LEVELS)

    trained_at = datetime.now(UTC).replace(tzinfo=None)
    version = new_version(settings, trained_at, champion)
    forecasts = make_forecasts(final, features, quantiles, horizons=horizons, model_version=version)
    run_id = uuid.uuid4().hex
    overall = {
        row["model"]: {k: row[k] for k in METRIC_COLUMNS}
        for row in metrics.filter(pl.col("scope") == "overall").iter_rows(named=True)
    }
    by_horizon = [
        {k: row[k] for k in ("model", "scope_value", *METRIC_COLUMNS)}
        for row in metrics.filter(pl.col("scope") == "horizon").iter_rows(named=True)
    ]
    importance = importance_model.feature_importance() if importance_model else {}
    feature_names = list(final.feature_names)
    metadata: dict[str, Any] = {
        "version": version,
        "run_id": run_id,
        "model_name": champion,
        "params": final.params,
        "feature_names": feature_names,
        "horizons": list(horizons),
        "training_data_version": snapshot.data_version,
        "warehouse_sha256": snapshot.warehouse_sha256,
        "warehouse_path": str(snapshot.warehouse_path),
        "n_feature_rows": features.height,
        "n_series": n_series,
        "trained_at": trained_at.isoformat() + "Z",
        "seed": seed,
        "backtest_origins": [str(o) for o in backtest.origins],
        "metrics": {
            "overall": overall.get(champion, {}),
            "by_model": overall,
            "by_horizon": by_horizon,
            "seasonal_naive_wape": baseline_wape,
        },
        "interval_method": "split conformal on |y - yhat| / series scale, per horizon",
        "interval_coverage": coverage.to_dicts(),
        "feature_importance": importance,
        "is_promoted": is_promoted,
        "promotion_reason": reason,
        "seconds": {"backtest": backtest_seconds, "final_fit": fit_seconds},
    }
    model_dir = save_version(settings, version, final, quantiles, metadata)
    run_row = {
        "run_id": run_id,
        "model_version": version,
        "trained_at": trained_at,
        "model_name": champion,
        "params": json.dumps(final.params, sort_keys=True),
        "training_data_version": snapshot.data_version,
        "warehouse_sha256": snapshot.warehouse_sha256,
        "wape": champion_wape,
        "mase": _overall(metrics, champion, "mase"),
        "seasonal_naive_wape": baseline_wape,
        "is_champion": True,
        "is_promoted": is_promoted,
    }
    tables = {
        "backtest_predictions": backtest.predictions.select(PREDICTION_TABLE_COLUMNS),
        "backtest_metrics": metrics,
        "forecasts": forecasts.select(FORECAST_COLUMNS),
        "interval_coverage": coverage.select(
            pl.lit(version).alias("model_version"),
            pl.lit(champion).alias("model_name"),
            "horizon",
            "level",
            "coverage",
            "n",
            "relative_width",
        ),
    }
    try:
        _publish(settings, snapshot, tables, run_row)
    except BaseException:
        shutil.rmtree(model_dir, ignore_errors=True)
        raise
    if is_promoted:
        promote(settings, version)
    report_dir = None
    if report:
        report_dir = settings.reports_dir / version
        write_report(
            report_dir,
            version=version,
            champion=champion,
            is_promoted=is_promoted,
            features=features,
            predictions=backtest.predictions,
            metrics=metrics,
            forecasts=forecasts,
            coverage=coverage,
            importance=importance,
            summary={
                "promotion_reason": reason,
                "training_data_version": snapshot.data_version,
                "warehouse_sha256": snapshot.warehouse_sha256,
                "origins": backtest.origins,
                "horizons": list(horizons),
            },
        )
    total = time.perf_counter() - started
    seconds = {
        "backtest": backtest_seconds,
        "final_fit": fit_seconds,
        "train_and_backtest": backtest_seconds + fit_seconds,
        "total": total,
    }
    overall_cov = dict(
        coverage.filter(pl.col("horizon") == 0).select("level", "coverage").iter_rows()
    )
    _log(
        f"{features.height} rows in, {len(models)} models x {len(backtest.origins)} origins, "
        f"champion {champion} WAPE {champion_wape:.4f} vs seasonal naive {baseline_wape:.4f}, "
        f"{'promoted' if is_promoted else 'not promoted'} {version}, "
        f"{forecasts.height} forecast rows, interval coverage "
        f"80%={overall_cov.get(0.8, float('nan')):.2f} "
        f"95%={overall_cov.get(0.95, float('nan')):.2f}, "
        f"{seconds['train_and_backtest']:.1f} s train+backtest, {total:.1f} s total"
    )
    return TrainingResult(
        run_id=run_id,
        model_version=version,
        champion=champion,
        is_promoted=is_promoted,
        champion_wape=champion_wape,
        seasonal_naive_wape=baseline_wape,
        metrics=metrics,
        coverage=coverage,
        forecasts=forecasts,
        model_dir=model_dir,
        report_dir=report_dir,
        seconds=seconds,
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tamales_inc.forecasting.train",
        description="Backtest the forecasters on the published warehouse, register and promote "
        "the champion, write forecasts and the report.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default 42)")
    parser.add_argument(
        "--horizon", type=int, default=len(DEFAULT_HORIZONS), help="months ahead H (default 3)"
    )
    parser.add_argument(
        "--origins",
        type=int,
        default=DEFAULT_ORIGINS,
        help="backtest origins K, the last K months (default 6)",
    )
    parser.add_argument("--no-report", action="store_true", help="skip the charts and report")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: returns the exit code."""
    args = _parser().parse_args(argv)
    if not 1 <= args.horizon <= 12:
        print(f"train: --horizon must be between 1 and 12, got {args.horizon}", file=sys.stderr)
        return 2
    if args.origins < 1:
        print(f"train: --origins must be >= 1, got {args.origins}", file=sys.stderr)
        return 2
    try:
        run_training(
            Settings.from_env(),
            seed=args.seed,
            horizons=tuple(range(1, args.horizon + 1)),
            n_origins=args.origins,
            report=not args.no_report,
        )
    except (TrainingError, FileNotFoundError, ValueError, duckdb.Error) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"train: failed: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
