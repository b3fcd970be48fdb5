"""Real-data accuracy benchmark: public monthly series through the real pipeline, scored on
held-out months against statsforecast's AutoETS, SeasonalNaive and Naive.

For each series set (bench/accuracy/series.py) and cut-off, the set's history up to the cut-off
is written as a raw container under `data/bench/accuracy/<set>/<cut-off>/container/`
(bench/accuracy/container.py), and `python -m ingest`, `python -m
tamales_inc.warehouse.transform` and `python -m tamales_inc.forecasting.train --no-report` run on
it in subprocesses with a fresh TAMALES_HOME beside it. The next three months, kept out of the
container, are the truth: the promoted champion's `ml.forecasts`, every candidate model and
statsforecast's models (fitted in this process on the published mart) are scored on them with
WAPE and MASE per horizon and cut-off, and their means over cut-offs. Prints Markdown tables
and rewrites the generated section of docs/benchmarks.md.

    uv run python bench/bench_accuracy.py [--sets us_employment,departures] [--cutoffs 4]
        [--seed 42] [--no-docs]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import polars as pl
from accuracy.container import build_container
from accuracy.forecasts import candidate_forecasts, champion_forecasts, statistical_forecasts
from accuracy.mart import check_history, series_ids
from accuracy.report import (
    DOCS_BEGIN,
    DOCS_END,
    CutoffResult,
    coverage_table,
    footer,
    metric_table,
    run_table,
    summary_table,
)
from accuracy.scoring import actuals, coverage, scored_rows, scores
from accuracy.series import (
    HOLDOUT_MONTHS,
    N_CUTOFFS,
    SETS,
    SeriesSet,
    cutoff_window,
    default_cutoffs,
)

# bench/measure.py and bench/accuracy/: this script's folder is first on sys.path
from measure import BENCH_DIR, REPO_ROOT, clean_env, write_results, write_section

from tamales_inc.core.files import remove_path
from tamales_inc.core.months import parse_month
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.intervals import LEVELS
from tamales_inc.forecasting.registry import load_run_record

ACCURACY_DIR = BENCH_DIR / "accuracy"
DOCS_PATH = REPO_ROOT / "docs" / "benchmarks.md"
HORIZONS: tuple[int, ...] = tuple(range(1, HOLDOUT_MONTHS + 1))
DEFAULT_SEED = 42
# statsforecast 2.0 compiled its models with numba at first use (2.1.1, the version required,
# ships them compiled): the bench and its child processes cache any numba compile under data/.
NUMBA_ENV: dict[str, str] = {
    "NIXTLA_NUMBA_CACHE": "1",
    "NUMBA_CACHE_DIR": str(BENCH_DIR / "numba-cache"),
}
ERROR_TAIL = 3000


def _stage(argv: list[str], env: dict[str, str]) -> float:
    """Run one pipeline command; its wall seconds (exit with its stderr tail if it fails)."""
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-ERROR_TAIL:]
        raise SystemExit(f"bench: {' '.join(argv[2:])} failed (exit {done.returncode}):\n{tail}")
    return time.perf_counter() - started


def run_pipeline(container: Path, home: Path) -> dict[str, float]:
    """Ingest, transform and train through their command lines on a fresh home."""
    remove_path(home)
    env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container), **NUMBA_ENV)
    python = sys.executable
    return {
        "ingest": _stage([python, "-m", "ingest", "--quiet"], env),
        "transform": _stage([python, "-m", "tamales_inc.warehouse.transform"], env),
        "train": _stage(
            [
                python,
                "-m",
                "tamales_inc.forecasting.train",
                "--no-report",
                "--horizon",
                str(HOLDOUT_MONTHS),
            ],
            env,
        ),
    }


def run_cutoff(
    series_set: SeriesSet, series: pl.DataFrame, cutoff: date, seed: int
) -> CutoffResult:
    """Build the cut-off's container, run the pipeline on it, forecast and score."""
    folder = ACCURACY_DIR / series_set.name / f"{cutoff:%Y-%m}"
    started = time.perf_counter()
    container = build_container(
        cutoff_window(series, cutoff), cutoff, series_set.code, folder / "container", seed
    )
    seconds = {"build": time.perf_counter() - started}
    seconds |= run_pipeline(container.path, folder / "home")
    settings = Settings.from_env({"TAMALES_HOME": str(folder / "home")})
    features = read_features(settings).features
    ids = series_ids(settings, container)
    check_history(features, ids, container)
    run, champion = champion_forecasts(settings, ids)

    started = time.perf_counter()
    candidates = candidate_forecasts(settings, str(run["run_id"]), HORIZONS)
    seconds["candidates"] = time.perf_counter() - started
    started = time.perf_counter()
    statistical = statistical_forecasts(features, cutoff, HORIZONS)
    seconds["statsforecast"] = time.perf_counter() - started

    forecasts = pl.concat([champion, candidates, statistical])
    rows = scored_rows(forecasts, actuals(container.holdout, ids), features, cutoff)
    return CutoffResult(
        set_name=series_set.name,
        cutoff=cutoff,
        n_series=dict(ids.group_by("source").len().iter_rows()),
        erp_lines=container.erp_lines,
        champion=str(run["model_name"]),
        is_promoted=bool(run["is_promoted"]),
        candidates=candidates["model"].unique(maintain_order=True).to_list(),
        scores=scores(rows),
        coverage=coverage(rows),
        seconds=seconds,
        selection=load_run_record(settings, str(run["run_id"]))["selection"],
    )


def set_section(series_set: SeriesSet, results: list[CutoffResult]) -> str:
    """The Markdown of one set: how it was built, WAPE and MASE tables, the per cut-off runs."""
    series = results[0].n_series
    intro = (
        f"#### {series_set.name}\n\n{series_set.origin}; {series_set.rule}: "
        f"{sum(series.values())} series ({series.get('tamales_inc', 0)} ERP, "
        f"{series.get('teinvento_inc', 0)} market feed), values x 10^{series_set.decimals}."
    )
    return "\n\n".join(
        [
            intro,
            f"WAPE on the {HOLDOUT_MONTHS} held-out months after each cut-off:",
            metric_table(results, "wape"),
            "MASE (scale: the series' mean absolute 12-month difference up to the cut-off):",
            metric_table(results, "mase"),
            "Interval coverage on the held-out months (nominal 80% and 95%), every model with "
            "intervals:",
            coverage_table(results, LEVELS),
            "Per cut-off: the champion training chose and promoted, interval coverage on the "
            "held-out months, and seconds per step:",
            run_table(results, LEVELS),
        ]
    )


def _cutoff_list(text: str) -> int | list[date]:
    try:
        if text.isdigit():
            count = int(text)
            if not 1 <= count <= N_CUTOFFS:
                raise ValueError
            return count
        return [parse_month(part) for part in text.split(",") if part]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give a count 1-{N_CUTOFFS} (the latest declared cut-offs) or months "
            "YYYY-MM,YYYY-MM"
        ) from None


def _set_list(text: str) -> list[str]:
    names = [name for name in text.split(",") if name]
    unknown = [name for name in names if name not in SETS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown set(s) {unknown}; known: {', '.join(SETS)}")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench_accuracy", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sets", type=_set_list, default=",".join(SETS), help="comma-separated series sets"
    )
    parser.add_argument(
        "--cutoffs",
        type=_cutoff_list,
        default=str(N_CUTOFFS),
        help=f"how many of each set's declared cut-offs, latest first (default {N_CUTOFFS}), "
        "or months YYYY-MM,...",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="line-split seed")
    parser.add_argument(
        "--jobs", type=int, default=1, help="cut-offs run at the same time (default 1)"
    )
    parser.add_argument(
        "--no-docs", action="store_true", help=f"do not rewrite the section of {DOCS_PATH.name}"
    )
    return parser


def _cutoffs_of(series: pl.DataFrame, wanted: int | list[date], name: str) -> list[date]:
    declared = default_cutoffs(series)
    if isinstance(wanted, int):
        return declared[-wanted:]
    empty = [c for c in wanted if cutoff_window(series, c).is_empty()]
    if empty:
        raise SystemExit(f"bench: {name} has no series with a full window at {empty[0]:%Y-%m}")
    return sorted(wanted)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, rewrite the docs section."""
    opts = _parser().parse_args(argv)
    os.environ.update(NUMBA_ENV)
    started = time.perf_counter()
    # imported once here and timed: the fits of every cut-off reuse it
    from statsforecast import StatsForecast  # noqa: F401
    from statsforecast.models import AutoETS  # noqa: F401

    import_seconds = time.perf_counter() - started
    work = []
    for name in opts.sets:
        series = SETS[name].series()
        work += [(name, series, c) for c in _cutoffs_of(series, opts.cutoffs, name)]

    def one(item: tuple[str, pl.DataFrame, date]) -> CutoffResult:
        name, series, cutoff = item
        print(f"bench: {name} cut-off {cutoff:%Y-%m} ...", flush=True)
        result = run_cutoff(SETS[name], series, cutoff, opts.seed)
        print(
            f"bench: {name} {cutoff:%Y-%m}: champion {result.champion} "
            f"({'promoted' if result.is_promoted else 'not promoted'}), "
            f"{sum(result.seconds.values()):.1f} s",
            flush=True,
        )
        return result

    # the pipeline of a cut-off runs in child processes: threads overlap cut-offs
    with ThreadPoolExecutor(max_workers=opts.jobs) as pool:
        done = list(pool.map(one, work))
    sections, by_set = [], {}
    for name in opts.sets:
        results = [r for r in done if r.set_name == name]
        by_set[name] = results
        sections.append(set_section(SETS[name], results))
    text = "\n\n".join(
        [
            "Summary (means over cut-offs):",
            summary_table(by_set, LEVELS),
            *sections,
            footer(import_seconds),
        ]
    )
    write_results("accuracy", text + "\n")
    if not opts.no_docs:
        write_section(DOCS_PATH, DOCS_BEGIN, DOCS_END, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
