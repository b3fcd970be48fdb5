"""Benchmark `tamales_inc.forecasting.train`: training + backtest time per scale, accuracy table.

For each scale (default 1 and 100) a published warehouse is needed: it is copied from the
transform benchmark's home (`data/bench/transform/scale-<n>/`) when that exists, else built once
from the cached sample container (`data/bench/containers/scale-<n>/`, shared with the other
benchmarks) by running ingest and transform in subprocesses. The training run then happens in
this process on a private copy under `data/bench/train/scale-<n>/` (report charts skipped), next
to a reference measured in the same run: one bare `xgboost.train` with the same parameters and
rounds on a random matrix of the training set's shape, times the number of fits a run makes
(one per origin plus the final fit). Prints Markdown tables and writes them to
`bench/results/train.md`.

The same training also runs on scale-1 samples of other generator seeds (`--seeds`, default 1-5;
each built once), and a table gives every model's WAPE over seasonal naive's per seed.

    uv run python bench/bench_train.py [--scales 1,100] [--repeat 1] [--seeds 1,2,3,4,5]
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
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
    measured_on,
    sample_container,
    sample_name,
    scale_parser,
    warehouse_is_current,
    write_results,
)

sys.path.insert(0, str(REPO_ROOT))

from tamales_inc.core.settings import Settings  # noqa: E402
from tamales_inc.forecasting.backtest import DEFAULT_ORIGINS, run_backtest  # noqa: E402
from tamales_inc.forecasting.data import read_features  # noqa: E402
from tamales_inc.forecasting.models import DEFAULT_HORIZONS, XGBoostForecaster, default_models  # noqa: E402
from tamales_inc.forecasting.models.xgboost import training_rows  # noqa: E402
from tamales_inc.forecasting.report import model_table  # noqa: E402
from tamales_inc.forecasting.train import TrainingResult, choose_champion, run_training  # noqa: E402

TARGET_SECONDS = 30.0  # training + backtest at scale 1
TARGET_RATIO = 0.8  # XGBoost WAPE / seasonal naive WAPE


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: {' '.join(argv)} failed:\n{done.stderr[-3000:]}")


def warehouse_for(scale: int, seed: int = DEFAULT_SEED) -> Path:
    """A published warehouse at `scale` (reused from the transform benchmark or built once)."""
    shared = BENCH_DIR / "transform" / f"scale-{scale}" / "warehouse" / "tamales.duckdb"
    if seed == DEFAULT_SEED and warehouse_is_current(shared):
        return shared
    home = BENCH_DIR / "train" / f"build-{sample_name(scale, seed)}"
    built = home / "warehouse" / "tamales.duckdb"
    if warehouse_is_current(built):
        return built
    container = sample_container(scale, seed=seed)
    env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container))
    print(f"bench: ingest + transform of scale {scale} into {home}", flush=True)
    _run([sys.executable, "-m", "ingest", "--quiet"], env)
    _run([sys.executable, "-m", "tamales_inc.warehouse.transform", "--force"], env)
    return built


def fresh_home(scale: int, seed: int = DEFAULT_SEED) -> Settings:
    """A private TAMALES_HOME holding only a copy of the scale's published warehouse."""
    home = BENCH_DIR / "train" / sample_name(scale, seed)
    shutil.rmtree(home, ignore_errors=True)
    (home / "warehouse").mkdir(parents=True)
    shutil.copyfile(warehouse_for(scale, seed), home / "warehouse" / "tamales.duckdb")
    return Settings.from_env({"TAMALES_HOME": str(home)})


def bare_fit_seconds(settings: Settings) -> float:
    """One plain xgboost.train with the model's parameters on random data of the same shape."""
    import xgboost as xgb

    features = read_features(settings).features
    rows = training_rows(features, DEFAULT_HORIZONS).height
    model = XGBoostForecaster()
    rng = np.random.default_rng(0)
    data = rng.normal(size=(rows, len(model.feature_names)))
    matrix = xgb.DMatrix(data, label=rng.normal(size=rows), nthread=model.nthread)
    params = {k: v for k, v in model.booster_params().items() if k != "max_cat_to_onehot"}
    started = time.perf_counter()
    xgb.train(params, matrix, num_boost_round=model.n_estimators)
    return time.perf_counter() - started


def bench_scale(scale: int, repeat: int) -> tuple[dict[str, float | int | str], TrainingResult]:
    runs = []
    for _ in range(repeat):
        settings = fresh_home(scale)
        result = run_training(settings, report=False)
        runs.append((result, settings))
    result, settings = min(runs, key=lambda r: r[0].seconds["train_and_backtest"])
    fits = DEFAULT_ORIGINS + 1
    reference = fits * min(bare_fit_seconds(settings) for _ in range(3))
    rows = read_features(settings).features.height
    return (
        {
            "scale": scale,
            "rows": rows,
            "train_backtest": result.seconds["train_and_backtest"],
            "total": result.seconds["total"],
            "reference": reference,
            "wape": result.champion_wape,
            "sn_wape": result.seasonal_naive_wape,
            "champion": result.champion,
        },
        result,
    )


def timing_table(rows: list[dict[str, float | int | str]]) -> str:
    head = [
        "scale",
        "feature rows",
        "train + backtest s",
        "whole run s (publish incl.)",
        "reference: 7 bare xgboost fits s",
        "ratio",
        "champion WAPE / seasonal naive",
        "meets < 30 s",
    ]
    cells = []
    for r in rows:
        seconds = float(r["train_backtest"])
        wape, sn_wape = float(r["wape"]), float(r["sn_wape"])
        cells.append(
            [
                r["scale"],
                f"{int(r['rows']):,}",
                f"{seconds:.1f}",
                f"{float(r['total']):.1f}",
                f"{float(r['reference']):.1f}",
                f"{seconds / float(r['reference']):.1f}",
                f"{r['champion']} {wape:.3f} / {sn_wape:.3f} = {wape / sn_wape:.2f}",
                "yes" if seconds < TARGET_SECONDS else "no",
            ]
        )
    return markdown_table(head, "rrrrrrrc", cells)


def accuracy_table(result: TrainingResult, predictions: pl.DataFrame) -> str:
    metrics = result.metrics
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
        for model in dict.fromkeys(("xgboost", result.champion))
        if model in wape
    ]
    lines.append(
        f"WAPE / seasonal naive WAPE: {', '.join(ratios)} (XGBoost target <= {TARGET_RATIO}); "
        f"champion {result.champion}."
    )
    cov = result.coverage.filter(pl.col("horizon") == 0)
    parts = [f"{int(lv * 100)}%: {c:.2f}" for lv, c in cov.select("level", "coverage").iter_rows()]
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
        home = warehouse_for(1, seed).parents[1]  # <home>/warehouse/tamales.duckdb
        features = read_features(Settings.from_env({"TAMALES_HOME": str(home)})).features
        factories = {model.name: model.clone for model in default_models()}
        metrics = run_backtest(factories, features, horizons=DEFAULT_HORIZONS).metrics
        overall = metrics.filter(pl.col("scope") == "overall")
        wape = dict(overall.select("model", "wape").iter_rows())
        for model, value in wape.items():
            ratios.setdefault(model, []).append(value / wape["seasonal_naive"])
        champions.append(choose_champion(metrics)[0])
        print(f"bench: seed {seed}: champion {champions[-1]}", flush=True)
    head = ["model", *(f"seed {s}" for s in seeds), "mean"]
    rows = [
        [model, *(f"{v:.2f}" for v in values), f"{np.mean(values):.2f}"]
        for model, values in sorted(ratios.items(), key=lambda kv: np.mean(kv[1]))
    ]
    rows.append(["champion", *champions, ""])
    return markdown_table(head, "l" + "r" * (len(head) - 1), rows)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the Markdown tables."""
    parser = scale_parser("bench_train", __doc__, "1,100")
    parser.add_argument(
        "--seeds",
        type=lambda text: [int(v) for v in text.split(",") if v],
        default="1,2,3,4,5",
        help="other generator seeds scored at scale 1 (empty: skip)",
    )
    opts = parser.parse_args(argv)
    rows, first = [], None
    for scale in opts.scales:
        row, result = bench_scale(scale, opts.repeat)
        print(
            f"bench: scale {scale}: train + backtest {float(row['train_backtest']):.1f} s, "
            f"reference {float(row['reference']):.1f} s",
            flush=True,
        )
        rows.append(row)
        if first is None:
            import duckdb

            db = BENCH_DIR / "train" / f"scale-{scale}" / "warehouse" / "tamales.duckdb"
            con = duckdb.connect(str(db), read_only=True)
            preds = con.execute("select * from ml.backtest_predictions").pl()
            con.close()
            first = (scale, result, preds)
    text = f"{timing_table(rows)}\n\n"
    if first is not None:
        scale, result, preds = first
        text += f"Backtest accuracy at scale {scale} (6 origins, horizons 1-3):\n\n"
        text += accuracy_table(result, preds) + "\n\n"
    if opts.seeds:
        text += (
            "WAPE / seasonal naive WAPE on scale-1 samples of other generator seeds (the same "
            "process, shock included, with other noise and levels):\n\n"
            f"{seed_table(opts.seeds)}\n\n"
        )
    text += f"{measured_on()}\n"
    write_results("train", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
