"""Choose the forecasters' settings on real series at tuning cut-offs declared before the
accuracy benchmark's window, never on the months it scores.

The accuracy benchmark (`just bench-accuracy`) scores each set's last `N_CUTOFFS` cut-offs,
`CUTOFF_STEP` months apart. The tuning cut-offs are the `N_CUTOFFS` cut-offs before those, on the
same step, ending `HOLDOUT_MONTHS` months before the first scored cut-off: every held-out month of
a tuning cut-off is at or before the first scored cut-off, so no month the benchmark scores (nor
anything after its first cut-off) is ever seen here. Per set and tuning cut-off, the container is
built and run through ingest and transform once (cached under `data/bench/tune/`); each
configuration then trains in this process the way `train` does (backtest, combinations, champion,
final fits) and its champion and candidates are scored on the held-out months. Prints, per
configuration, the mean over cut-offs of WAPE / AutoETS WAPE and WAPE / seasonal naive WAPE.

    uv run python bench/tune_models.py [--sets us_employment,departures] [--configs default]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date

import polars as pl
from accuracy.container import build_container
from accuracy.mart import series_ids
from accuracy.scoring import actuals
from accuracy.series import CUTOFF_STEP, HOLDOUT_MONTHS, N_CUTOFFS, SETS, cutoff_window

# bench/measure.py and bench/accuracy/: this script's folder is first on sys.path
from accuracy.series import default_cutoffs as scored_cutoffs
from measure import BENCH_DIR, REPO_ROOT, clean_env

from tamales_inc.core.months import month_after
from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.backtest import run_backtest
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.forecast import active_origins
from tamales_inc.forecasting.metrics import wape
from tamales_inc.forecasting.models import (
    Forecaster,
    SeasonalNaiveForecaster,
    XGBoostForecaster,
    default_models,
)
from tamales_inc.forecasting.models.combination import CombinationForecaster
from tamales_inc.forecasting.selection import (
    COMBINATIONS,
    add_combinations,
    candidates_of,
    choose_champion,
    choose_members,
    known_at,
)

TUNE_DIR = BENCH_DIR / "tune"
HORIZONS = tuple(range(1, HOLDOUT_MONTHS + 1))


def tuning_cutoffs(series: pl.DataFrame) -> list[date]:
    """The declared tuning cut-offs: `N_CUTOFFS` of them, `CUTOFF_STEP` apart, the last one
    `HOLDOUT_MONTHS` before the first scored cut-off."""
    first_scored = scored_cutoffs(series)[0]
    last = month_after(first_scored, -HOLDOUT_MONTHS)
    return [month_after(last, -CUTOFF_STEP * k) for k in reversed(range(N_CUTOFFS))]


def mart_for(name: str, cutoff: date, seed: int = 42) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The published mart of one set at one tuning cut-off and the held-out truth."""
    series_set = SETS[name]
    series = series_set.series()
    folder = TUNE_DIR / name / f"{cutoff:%Y-%m}"
    home = folder / "home"
    window = cutoff_window(series, cutoff)
    container = build_container(window, cutoff, series_set.code, folder / "container", seed)
    settings = Settings.from_env({"TAMALES_HOME": str(home)})
    if not settings.warehouse_path.exists():
        env = clean_env(TAMALES_HOME=str(home), TAMALES_SOURCE_DIR=str(container.path))
        for argv in (["-m", "ingest", "--quiet"], ["-m", "tamales_inc.warehouse.transform"]):
            done = subprocess.run(
                [sys.executable, *argv], env=env, cwd=REPO_ROOT, capture_output=True, text=True
            )
            if done.returncode != 0:
                raise SystemExit(f"tune: {argv} failed:\n{done.stderr[-2000:]}")
    features = read_features(settings).features
    truth = actuals(container.holdout, series_ids(settings, container))
    return features, truth


def statsforecast_reference(features: pl.DataFrame, cutoff: date) -> pl.DataFrame:
    """AutoETS and SeasonalNaive of statsforecast on the mart's history (the benchmark's
    references), as (model, series_id, sales_month, y_pred)."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS, SeasonalNaive

    history = features.filter(pl.col("sales").is_not_null()).select(
        pl.col("series_id").alias("unique_id"), pl.col("sales_month").alias("ds"), "sales"
    )
    engine = StatsForecast(
        models=[AutoETS(season_length=12), SeasonalNaive(season_length=12)], freq="1mo", n_jobs=1
    )
    out = engine.forecast(df=history.rename({"sales": "y"}), h=HOLDOUT_MONTHS)
    long = out.unpivot(index=["unique_id", "ds"], variable_name="model", value_name="y_pred")
    return long.select(
        "model", pl.col("unique_id").alias("series_id"), pl.col("ds").alias("sales_month"), "y_pred"
    )


Config = Callable[[], list[Forecaster]]


def train_like(features: pl.DataFrame, models: list[Forecaster], n_origins: int) -> dict:
    """What `train` ships, in memory: every candidate's final forecasts and the champion."""
    by_name = {m.name: m for m in models}
    base = run_backtest(
        {n: m.clone for n, m in by_name.items()}, features, horizons=HORIZONS, n_origins=n_origins
    )
    predictions, _, _ = add_combinations(base.predictions, base.origins, COMBINATIONS)
    champion = choose_champion(predictions)
    fitted = {n: m.clone().fit(features) for n, m in by_name.items()}
    pool = candidates_of(base.predictions)
    for spec in COMBINATIONS:
        chosen = choose_members(spec, known_at(predictions, None), pool)
        fitted[spec.label] = CombinationForecaster.from_fitted(
            fitted, label=spec.label, members=chosen.members, weights=chosen.weights,
            method=spec.method, horizons=HORIZONS,
        )  # fmt: skip
    origins = active_origins(features)
    frames = []
    for name, model in fitted.items():
        out = model.predict(origins, HORIZONS)
        frames.append(
            out.select(
                pl.lit(name).alias("model"),
                "series_id",
                pl.col("target_month").alias("sales_month"),
                "y_pred",
            )
        )
    forecasts = pl.concat(frames)
    chosen = forecasts.filter(pl.col("model") == champion).with_columns(
        pl.lit("champion").alias("model")
    )
    return {"forecasts": pl.concat([forecasts, chosen]), "champion": champion}


def score(forecasts: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    rows = forecasts.join(truth, on=["series_id", "sales_month"], how="inner")
    return {
        str(m): wape(p["y_true"].to_numpy(), p["y_pred"].to_numpy())
        for (m,), p in rows.group_by(["model"])
    }


def _xgboost_variant(label: str, **params: object) -> Forecaster:
    """An `XGBoostForecaster` with other settings, named `label` (for comparing settings)."""
    cls = type(f"XGBoost_{label}", (XGBoostForecaster,), {"name": label})
    return cls(horizons=HORIZONS, **params)


def _xgboost_grid() -> list[Forecaster]:
    return [
        SeasonalNaiveForecaster(horizons=HORIZONS),
        XGBoostForecaster(horizons=HORIZONS),
        _xgboost_variant("xgb_r300_d4", n_estimators=300, max_depth=4),
        _xgboost_variant(
            "xgb_r300_d6_sq", n_estimators=300, max_depth=6, objective="reg:squarederror"
        ),
        _xgboost_variant("xgb_r300_d4_margin", n_estimators=300, max_depth=4, use_base_margin=True),
        _xgboost_variant("xgb_r600_d6_lr02", n_estimators=600, max_depth=6, learning_rate=0.02),
        _xgboost_variant(
            "xgb_r300_d4_half12", n_estimators=300, max_depth=4, recency_halflife=12.0
        ),
    ]


CONFIGS: dict[str, tuple[Config, int]] = {
    "xgboost_grid": (_xgboost_grid, 6),
    "default": (lambda: default_models(horizons=HORIZONS), 6),
    "default_12_origins": (lambda: default_models(horizons=HORIZONS), 12),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tune_models", description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--configs", default="default")
    parser.add_argument(
        "--cutoffs", default="", help="indices of the tuning cut-offs to run (default: all)"
    )
    opts = parser.parse_args(argv)
    picked = {int(i) for i in opts.cutoffs.split(",") if i}
    os.environ.setdefault("NIXTLA_NUMBA_CACHE", "1")
    results = []
    for name in opts.sets.split(","):
        series = SETS[name].series()
        for index, cutoff in enumerate(tuning_cutoffs(series)):
            if picked and index not in picked:
                continue
            started = time.perf_counter()
            features, truth = mart_for(name, cutoff)
            reference = statsforecast_reference(features, cutoff)
            for config in opts.configs.split(","):
                make, n_origins = CONFIGS[config]
                t0 = time.perf_counter()
                out = train_like(features, make(), n_origins)
                scores = score(pl.concat([out["forecasts"], reference]), truth)
                ets, snaive = scores["AutoETS"], scores["SeasonalNaive"]
                for model, value in scores.items():
                    results.append(
                        {
                            "set": name,
                            "cutoff": str(cutoff),
                            "config": config,
                            "model": model,
                            "wape": value,
                            "vs_ets": value / ets,
                            "vs_snaive": value / snaive,
                        }
                    )
                print(
                    f"{name} {cutoff:%Y-%m} {config}: champion {out['champion']} "
                    f"{scores['champion'] / ets:.3f}x ETS {scores['champion'] / snaive:.3f}x SN "
                    f"({time.perf_counter() - t0:.0f} s); WAPE / AutoETS: "
                    + ", ".join(f"{m} {v / ets:.3f}" for m, v in sorted(scores.items())),
                    flush=True,
                )
            print(f"  ({time.perf_counter() - started:.0f} s)", flush=True)
    frame = pl.DataFrame(results)
    tag = "-".join(
        [opts.sets.replace(",", "+"), opts.configs.replace(",", "+"), *sorted(map(str, picked))]
    )
    out_path = TUNE_DIR / f"results-{tag}.parquet"
    frame.write_parquet(out_path)
    summary = (
        frame.group_by("set", "config", "model")
        .agg(pl.col("vs_ets").mean(), pl.col("vs_snaive").mean())
        .sort("set", "config", "vs_ets")
    )
    with pl.Config(tbl_rows=200):
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
