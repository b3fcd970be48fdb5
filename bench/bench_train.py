"""Benchmark `tamales_inc.forecasting.train`: seconds, peak RSS and seconds per series at several
series counts, and the accuracy table.

For each series count (default 31, the sample's, and 1,000; `--series 31,1000,10000`) a published
warehouse of the scale-1 sample generated with that many series (products x zones; 31 is the
default sample) is built once (ingest + transform in subprocesses) and cached under
`data/bench/train/`. The training run then happens twice as `python -m
tamales_inc.forecasting.train --no-report` in a measured subprocess on a private copy of it
(wall seconds, peak RSS): first with an empty cache folder (`TAMALES_CACHE_DIR`; a first run on
a machine), then again (a later run). "train + backtest" is the run's own figure (every
candidate's backtest over 6 origins, the combinations and every candidate's final fit). Prints
Markdown tables and writes them to `bench/results/train.md`.

The same training also runs on scale-1 samples of other generator seeds (`--seeds`, default 1-5;
each built once), and a table gives every candidate's WAPE over seasonal naive's per seed.

    uv run python bench/bench_train.py [--series 31,1000] [--repeat 1] [--seeds 1,2,3,4,5]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

# bench/measure.py: this script's folder is first on sys.path when run as `python bench/...`
from measure import (
    BENCH_DIR,
    DEFAULT_SEED,
    REPO_ROOT,
    clean_env,
    markdown_table,
    measure,
    measured_on,
    sample_container,
    sample_name,
    scale_parser,
    warehouse_is_current,
    write_results,
)

sys.path.insert(0, str(REPO_ROOT))

from tamales_inc.core.settings import Settings  # noqa: E402
from tamales_inc.forecasting.backtest import run_backtest  # noqa: E402
from tamales_inc.forecasting.data import read_features  # noqa: E402
from tamales_inc.forecasting.models import DEFAULT_HORIZONS, default_models  # noqa: E402
from tamales_inc.forecasting.report import model_table  # noqa: E402
from tamales_inc.forecasting.selection import (  # noqa: E402
    COMBINATIONS,
    add_combinations,
    choose_champion,
)

SAMPLE_SERIES = 31  # the default sample's series count
TARGET_COLD_SECONDS = 60.0  # whole `just train` at 31 series, first run on a machine
TARGET_WARM_SECONDS = 30.0  # whole `just train` at 31 series, later runs
TARGET_1000_SECONDS = 300.0  # train + backtest at 1,000 series
TARGET_RATIO = 0.8  # champion WAPE / seasonal naive WAPE on the sample
SUMMARY = re.compile(
    r"champion (?P<champion>\S+) WAPE (?P<wape>[\d.]+) vs seasonal naive (?P<sn>[\d.]+) .*?"
    r"(?P<train>[\d.]+) s train\+backtest, (?P<total>[\d.]+) s total"
)


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed:\n{done.stderr[-3000:]}")


def warehouse_for(series: int, seed: int = DEFAULT_SEED) -> Path:
    """A published warehouse of the scale-1 sample with `series` series (built once)."""
    name = sample_name(1, seed) + ("" if series == SAMPLE_SERIES else f"-series-{series}")
    shared = BENCH_DIR / "transform" / "scale-1" / "warehouse" / "tamales.duckdb"
    if seed == DEFAULT_SEED and series == SAMPLE_SERIES and warehouse_is_current(shared):
        return shared
    home = BENCH_DIR / "train" / f"build-{name}"
    built = home / "warehouse" / "tamales.duckdb"
    if warehouse_is_current(built):
        return built
    container = sample_container(1, seed=seed, series=None if series == SAMPLE_SERIES else series)
    env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container))
    print(f"bench: ingest + transform of {series} series into {home}", flush=True)
    _run([sys.executable, "-m", "ingest", "--quiet"], env)
    _run([sys.executable, "-m", "tamales_inc.warehouse.transform", "--force"], env)
    return built


def fresh_home(series: int, seed: int = DEFAULT_SEED) -> Path:
    """A private TAMALES_HOME holding only a copy of the published warehouse."""
    home = BENCH_DIR / "train" / f"series-{series}"
    shutil.rmtree(home, ignore_errors=True)
    (home / "warehouse").mkdir(parents=True)
    shutil.copyfile(warehouse_for(series, seed), home / "warehouse" / "tamales.duckdb")
    return home


def timed_train(home: Path, cache: Path) -> dict[str, float | str]:
    """One measured `python -m tamales_inc.forecasting.train --no-report` on `home`."""
    env = clean_env(TAMALES_HOME=str(home), TAMALES_CACHE_DIR=str(cache))
    run = measure([sys.executable, "-m", "tamales_inc.forecasting.train", "--no-report"], env)
    found = SUMMARY.search(run["stdout"])
    if found is None:
        raise SystemExit(f"bench: no summary line in the train output: {run['stdout'][-500:]}")
    return {
        "seconds": run["seconds"],
        "cpu_seconds": run["cpu_seconds"],
        "peak_rss_mb": run["peak_rss_mb"],
        "train_backtest": float(found["train"]),
        "champion": found["champion"],
        "wape": float(found["wape"]),
        "sn_wape": float(found["sn"]),
    }


def bench_series(series: int, repeat: int) -> dict[str, float | int | str]:
    """Cold and warm measured runs at `series` series (best of `repeat` warm runs)."""
    cache = BENCH_DIR / "train" / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    cold = timed_train(fresh_home(series), cache)
    warm = min(
        (timed_train(fresh_home(series), cache) for _ in range(repeat)),
        key=lambda r: float(r["seconds"]),
    )
    home = warehouse_for(series).parents[1]
    n_series = (
        read_features(Settings.from_env({"TAMALES_HOME": str(home)}))
        .features["series_id"]
        .n_unique()
    )
    return {"series": n_series, "cold": cold["seconds"], **warm}


def timing_table(rows: list[dict[str, float | int | str]]) -> str:
    head = [
        "series",
        "whole run s, first run (empty cache)",
        "whole run s, later run",
        "CPU s, later run",
        "train + backtest s",
        "train + backtest s per series",
        "peak RSS MB",
        "champion WAPE / seasonal naive",
        "meets target",
    ]
    cells = []
    for r in rows:
        n, seconds = int(r["series"]), float(r["train_backtest"])
        if n <= SAMPLE_SERIES:
            meets = float(r["cold"]) < TARGET_COLD_SECONDS and float(r["seconds"]) < (
                TARGET_WARM_SECONDS
            )
        else:
            meets = seconds * 1000 / n < TARGET_1000_SECONDS
        wape, sn = float(r["wape"]), float(r["sn_wape"])
        cells.append(
            [
                f"{n:,}",
                f"{float(r['cold']):.1f}",
                f"{float(r['seconds']):.1f}",
                f"{float(r['cpu_seconds']):.1f}",
                f"{seconds:.1f}",
                f"{seconds / n:.3f}",
                f"{float(r['peak_rss_mb']):,.0f}",
                f"{r['champion']} {wape:.3f} / {sn:.3f} = {wape / sn:.2f}",
                "yes" if meets else "no",
            ]
        )
    return markdown_table(head, "rrrrrrrlc", cells)


def accuracy_table(home: Path) -> str:
    """Every candidate's backtest metrics from the published `ml` tables of a trained home."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "tamales.duckdb"), read_only=True)
    try:
        predictions = con.execute("select * from ml.backtest_predictions").pl()
        metrics = con.execute("select * from ml.backtest_metrics").pl()
        run = con.execute(
            "select run_id, model_name from ml.model_runs where is_champion "
            "order by trained_at desc limit 1"
        ).fetchone()
        champion_version = con.execute(
            "select model_version from ml.model_runs where is_champion order by trained_at desc"
        ).fetchone()
        coverage = con.execute(
            "select level, coverage from ml.interval_coverage where horizon = 0 "
            "and model_version = ?",
            [champion_version[0] if champion_version else ""],
        ).pl()
    finally:
        con.close()
    champion = run[1] if run else "-"
    table = model_table(metrics, predictions)
    by_h = metrics.filter(pl.col("scope") == "horizon")
    horizons = sorted(by_h["scope_value"].unique().to_list(), key=int)
    head = ["model", "WAPE", "MASE"]
    for h in horizons:
        head += [f"WAPE h{h}", f"MASE h{h}"]
    head += ["WAPE own sales (tamales_inc)", "WAPE market feed (teinvento_inc)", "bias"]
    mase_h = {(m, v): x for m, v, x in by_h.select("model", "scope_value", "mase").iter_rows()}
    rows = []
    for row in table.iter_rows(named=True):
        model = row["model"]
        cells = [model, f"{row['wape']:.3f}", f"{row['mase']:.3f}"]
        for h in horizons:
            cells += [f"{row[f'wape_h{h}']:.3f}", f"{mase_h[(model, h)]:.3f}"]
        cells += [f"{row['wape_tamales_inc']:.3f}", f"{row['wape_teinvento_inc']:.3f}"]
        cells.append(f"{row['bias']:+.3f}")
        rows.append(cells)
    lines = [markdown_table(head, "l" + "r" * (len(head) - 1), rows), ""]
    wape = dict(table.select("model", "wape").iter_rows())
    ratios = [
        f"{model} {wape[model] / wape['seasonal_naive']:.2f}"
        for model in dict.fromkeys(("xgboost", champion))
        if model in wape
    ]
    lines.append(
        f"WAPE / seasonal naive WAPE: {', '.join(ratios)} (target <= {TARGET_RATIO}); "
        f"champion {champion}."
    )
    parts = [f"{int(lv * 100)}%: {c:.2f}" for lv, c in coverage.iter_rows()]
    lines.append(
        f"Interval coverage on the backtest (leave-one-origin-out conformal): {', '.join(parts)}."
    )
    return "\n".join(lines)


def seed_table(seeds: list[int]) -> str:
    """WAPE / seasonal naive WAPE per model on scale-1 samples of other generator seeds: the same
    generating process (shock included) with other noise, levels and line splits. Backtest only
    (the warehouse is read in place; nothing is registered or published)."""
    ratios: dict[str, list[float]] = {}
    champions = []
    for seed in seeds:
        home = warehouse_for(SAMPLE_SERIES, seed).parents[1]  # <home>/warehouse/tamales.duckdb
        features = read_features(Settings.from_env({"TAMALES_HOME": str(home)})).features
        factories = {model.name: model.clone for model in default_models()}
        base = run_backtest(factories, features, horizons=DEFAULT_HORIZONS)
        predictions, metrics, _ = add_combinations(base.predictions, base.origins, COMBINATIONS)
        overall = metrics.filter(pl.col("scope") == "overall")
        wape = dict(overall.select("model", "wape").iter_rows())
        for model, value in wape.items():
            ratios.setdefault(model, []).append(value / wape["seasonal_naive"])
        champions.append(str(choose_champion(predictions)))
        print(f"bench: seed {seed}: champion {champions[-1]}", flush=True)
    head = ["model", *(f"seed {s}" for s in seeds), "mean"]
    rows = [
        [model, *(f"{v:.2f}" for v in values), f"{np.mean(values):.2f}"]
        for model, values in sorted(ratios.items(), key=lambda kv: np.mean(kv[1]))
    ]
    rows.append(["champion", *champions, ""])
    return markdown_table(head, "l" + "r" * (len(head) - 1), rows)


def _series_list(text: str) -> list[int]:
    return [int(v) for v in text.split(",") if v]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown tables."""
    parser = scale_parser("bench_train", __doc__, "1")
    parser.add_argument(
        "--series",
        type=_series_list,
        default=f"{SAMPLE_SERIES},1000",
        help="series counts of the generated samples (products x zones)",
    )
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(v) for v in text.split(",") if v],
        default="1,2,3,4,5",
        help="other generator seeds scored at 31 series (empty: skip)",
    )
    opts = parser.parse_args(argv)
    rows = []
    for series in opts.series:
        row = bench_series(series, opts.repeat)
        print(
            f"bench: {series} series: first run {float(row['cold']):.1f} s, later run "
            f"{float(row['seconds']):.1f} s, train + backtest {float(row['train_backtest']):.1f} s",
            flush=True,
        )
        rows.append(row)
    text = f"{timing_table(rows)}\n\n"
    if SAMPLE_SERIES in opts.series:
        text += "Backtest accuracy on the sample (31 series, 6 origins, horizons 1-3):\n\n"
        text += accuracy_table(fresh_home_trained()) + "\n\n"
    if opts.seeds:
        text += (
            "WAPE / seasonal naive WAPE on scale-1 samples of other generator seeds (the same "
            "process, shock included, with other noise and levels):\n\n"
            f"{seed_table(opts.seeds)}\n\n"
        )
    text += f"{measured_on()}\n"
    write_results("train", text)
    return 0


def fresh_home_trained() -> Path:
    """The 31-series home the last timed run trained (its `ml` tables are published)."""
    return BENCH_DIR / "train" / f"series-{SAMPLE_SERIES}"


if __name__ == "__main__":
    sys.exit(main())
