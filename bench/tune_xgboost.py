"""Choose XGBoostForecaster's hyper-parameters on validation origins before the backtest window.

The reported backtest (`tamales_inc.forecasting.train`) refits at the last 6 months (origins
Mar-Aug 2020 for
data version 20200901) and scores horizons 1-3. To keep that number honest, this script tunes on
the history known at the first backtest origin only: the mart is cut there (`cut_at_origin`) and
the same rolling-origin backtest runs over the 6 origins before it (Sep 2019 - Feb 2020), scoring
only (origin, horizon) pairs whose target month is at or before the cut (Oct 2019 - Mar 2020).
Every grid setting's validation WAPE is printed, the lowest wins (ties go to the earlier grid
entry, which lists smaller models first), and only then is the chosen setting scored once on the
reported backtest window next to the seasonal naive baseline. Deterministic (fixed seed, no row
subsampling); about 5 minutes on 2 cores at scale 1.

    uv run python bench/tune_xgboost.py [--origins 6] [--top 10] [--validation-only]
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tamales_inc.core.settings import Settings  # noqa: E402
from tamales_inc.forecasting.backtest import DEFAULT_ORIGINS, backtest_origins, run_backtest  # noqa: E402
from tamales_inc.forecasting.data import read_features  # noqa: E402
from tamales_inc.forecasting.metrics import overall_metric  # noqa: E402
from tamales_inc.forecasting.models import (  # noqa: E402
    DEFAULT_HORIZONS,
    SeasonalNaiveForecaster,
    SeasonalYoYForecaster,
    XGBoostForecaster,
)
from tamales_inc.forecasting.report import model_table  # noqa: E402
from tamales_inc.forecasting.targets import cut_at_origin  # noqa: E402

GRID: dict[str, tuple] = {  # 288 settings, about 5 minutes
    "recency_halflife": (3.0, 6.0, 12.0, None),
    "max_depth": (2, 3, 4),
    "n_estimators": (100, 200, 400),
    "learning_rate": (0.05, 0.1),
    # boost from the transparent base forecast (`inputs.base_forecast_expr`) or from a constant
    "use_base_margin": (True, False),
    # squared error, or absolute error (the L1 loss WAPE scores)
    "objective": ("reg:squarederror", "reg:absoluteerror"),
}


def settings_grid() -> list[dict]:
    """Every combination of `GRID`, smaller models (depth, rounds, eta) first within a half-life."""
    keys = list(GRID)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*GRID.values())]


def describe(params: dict) -> str:
    half = params["recency_halflife"]
    return (
        f"half-life {'none' if half is None else f'{half:g}':>4}  depth {params['max_depth']}  "
        f"rounds {params['n_estimators']:>3}  eta {params['learning_rate']:<4g}  "
        f"base margin {'yes' if params['use_base_margin'] else 'no ':3}  "
        f"{params['objective'].removeprefix('reg:')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/tune_xgboost.py", description=__doc__)
    parser.add_argument("--origins", type=int, default=DEFAULT_ORIGINS)
    parser.add_argument("--top", type=int, default=10, help="settings listed at the end")
    parser.add_argument(
        "--validation-only", action="store_true", help="do not score the reported window"
    )
    opts = parser.parse_args(argv)
    horizons = DEFAULT_HORIZONS
    features = read_features(Settings.from_env()).features
    test_origins = backtest_origins(features, opts.origins)
    known = cut_at_origin(features, test_origins[0])
    val_origins = backtest_origins(known, opts.origins)
    print(
        f"tune: validation origins {val_origins[0]}..{val_origins[-1]} on data <= "
        f"{test_origins[0]}; reported backtest origins {test_origins[0]}..{test_origins[-1]}"
    )
    baseline = run_backtest(
        {"seasonal_naive": SeasonalNaiveForecaster, "seasonal_yoy": SeasonalYoYForecaster},
        known,
        horizons=horizons,
        n_origins=opts.origins,
    )
    val_sn = overall_metric(baseline.metrics, "seasonal_naive")
    val_yoy = overall_metric(baseline.metrics, "seasonal_yoy")
    print(
        f"tune: validation seasonal naive WAPE {val_sn:.4f}, seasonal_yoy {val_yoy:.4f} "
        f"({val_yoy / val_sn:.3f}x)"
    )

    results = []
    started = time.perf_counter()
    for params in settings_grid():

        def make(params: dict = params) -> XGBoostForecaster:
            return XGBoostForecaster(horizons=horizons, **params)

        bt = run_backtest({"xgboost": make}, known, horizons=horizons, n_origins=opts.origins)
        wape = overall_metric(bt.metrics, "xgboost")
        results.append((wape, params))
        print(
            f"  {describe(params)}  validation WAPE {wape:.4f} ({wape / val_sn:.3f}x)", flush=True
        )
    print(f"tune: {len(results)} settings in {time.perf_counter() - started:.0f} s")

    ranked = sorted(enumerate(results), key=lambda item: (item[1][0], item[0]))
    print(f"tune: top {opts.top} on validation:")
    for rank, (_, (wape, params)) in enumerate(ranked[: opts.top], start=1):
        print(f"  {rank:>2}. {describe(params)}  WAPE {wape:.4f} ({wape / val_sn:.3f}x)")
    best_wape, best = ranked[0][1]
    print(f"tune: chosen {best} (validation WAPE {best_wape:.4f}, {best_wape / val_sn:.3f}x)")

    if opts.validation_only:
        return 0
    # The reported window, looked at once, for the chosen setting only.
    final = run_backtest(
        {
            "seasonal_naive": SeasonalNaiveForecaster,
            "xgboost": lambda: XGBoostForecaster(horizons=horizons, **best),
        },
        features,
        horizons=horizons,
        n_origins=opts.origins,
    )
    table = model_table(final.metrics, final.predictions)
    rows = {row["model"]: row for row in table.iter_rows(named=True)}
    xgb, sn = rows["xgboost"], rows["seasonal_naive"]
    print(
        f"tune: reported backtest: xgboost WAPE {xgb['wape']:.4f} vs seasonal naive "
        f"{sn['wape']:.4f} = {xgb['wape'] / sn['wape']:.3f}x (MASE {xgb['mase']:.3f}); "
        + ", ".join(
            f"{s} {xgb[f'wape_{s}']:.3f} vs {sn[f'wape_{s}']:.3f}"
            for s in ("tamales_inc", "teinvento_inc")
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
