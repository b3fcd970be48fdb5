"""The `train` command: skipped when the published training has the same inputs, else a run.

Cheap to import: the up-to-date check (`freshness`) reads the published warehouse and the
package's sources; the models (polars, xgboost, statsforecast) are imported only when a run is
due. `python -m tamales_inc.forecasting` runs it (`python -m tamales_inc.forecasting.train`
too, after importing the models first).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from tamales_inc.core.cli import make_parser, run_command
from tamales_inc.core.errors import UsageError
from tamales_inc.core.files import exclusive_lock, require_free_space, require_writable
from tamales_inc.core.runs import recorded_run
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.freshness import UpToDate, check_up_to_date, training_fingerprint
from tamales_inc.warehouse.publish import require_published

PROG = "train"
# the command's defaults (the library's, `train.DEFAULT_SEED`, `models.DEFAULT_HORIZONS` and
# `backtest.DEFAULT_ORIGINS`, import the models; a test keeps them equal)
DEFAULT_SEED = 42
DEFAULT_HORIZON = 3
DEFAULT_ORIGINS = 6
LOCK_FILE = ".train.lock"  # in the registry folder: one training at a time per TAMALES_HOME
log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The `train` command line."""
    parser = make_parser(
        PROG,
        "Backtest the forecasters on the published warehouse, register and promote the "
        "champion, write forecasts and the report; skipped when the published training has the "
        "same inputs (warehouse build, forecasting code, parameters).",
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--horizon",
        type=int,
        default=DEFAULT_HORIZON,
        help=f"months ahead H (default {DEFAULT_HORIZON})",
    )
    parser.add_argument(
        "--origins",
        type=int,
        default=DEFAULT_ORIGINS,
        help=f"backtest origins K, the last K months (default {DEFAULT_ORIGINS})",
    )
    parser.add_argument("--no-report", action="store_true", help="skip the charts and report")
    parser.add_argument(
        "--force", action="store_true", help="retrain even when the inputs did not change"
    )
    return parser


def command(args: argparse.Namespace) -> None:
    """Train with the parsed options (unless up to date) and print the summary line."""
    if not 1 <= args.horizon <= 12:
        raise UsageError(f"--horizon must be between 1 and 12, got {args.horizon}")
    if args.origins < 1:
        raise UsageError(f"--origins must be >= 1, got {args.origins}")
    settings = Settings.from_env()
    horizons = tuple(range(1, args.horizon + 1))
    options = {
        "seed": args.seed,
        "horizons": list(horizons),
        "origins": args.origins,
        "report": not args.no_report,
        "force": args.force,
    }
    with recorded_run(settings.manifests_dir, PROG, options) as record:
        published = require_published(settings)
        inputs = training_fingerprint(
            settings, seed=args.seed, horizons=horizons, n_origins=args.origins
        )
        record.details["inputs_fingerprint"] = inputs.value
        if not args.force:
            verdict = check_up_to_date(settings, inputs, report=not args.no_report)
            if isinstance(verdict, UpToDate):
                record.status = "up_to_date"
                record.details["model_version"] = verdict.training.model_version
                print(verdict.summary(), flush=True)
                return
            log.info("training (changed: %s)", ", ".join(verdict))
        folders = [settings.models_dir, settings.warehouse_dir]
        require_writable(*folders, *([settings.reports_dir] if not args.no_report else []))
        size = published.stat().st_size  # publishing writes a copy of it with the ml tables
        require_free_space(settings.warehouse_dir, size + size // 10, "a copy of the warehouse")
        with exclusive_lock(settings.models_dir / LOCK_FILE, PROG):
            from tamales_inc.forecasting.train import run_training

            result = run_training(
                settings,
                seed=args.seed,
                horizons=horizons,
                n_origins=args.origins,
                report=not args.no_report,
                inputs=inputs,
            )
        record.details.update(
            model_version=result.model_version,
            champion=result.champion,
            is_promoted=result.is_promoted,
        )
    print(f"{PROG}: {result.summary()}", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: returns the exit code."""
    return run_command(PROG, build_parser(), command, argv)
