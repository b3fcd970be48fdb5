"""Combinations and the selection protocol: weights sum to one, members and the champion are
chosen on earlier origins only, combined forecasts, save/load of a combination."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from tamales_inc.core.settings import Settings
from tamales_inc.forecasting.data import read_features
from tamales_inc.forecasting.forecast import active_origins
from tamales_inc.forecasting.models import (
    CombinationForecaster,
    Forecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    SeasonalYoYForecaster,
)
from tamales_inc.forecasting.models.combination import normalised
from tamales_inc.forecasting.selection import (
    COMBINATIONS,
    DEFAULT_MEMBERS,
    CombinationSpec,
    choose_champion,
    choose_members,
    combination_backtest,
    known_at,
    selection_report,
)

ORIGINS = [date(2020, m, 1) for m in range(1, 7)]


def _predictions(errors: dict[str, list[float]]) -> pl.DataFrame:
    """One series, horizon 1, actual 100 at every month; model m misses by errors[m][i] at
    origin i."""
    rows = []
    for model, misses in errors.items():
        for origin, miss in zip(ORIGINS, misses, strict=True):
            rows.append(
                {
                    "model": model,
                    "origin_month": origin,
                    "source": "s",
                    "product_id": "p",
                    "zone_id": "z",
                    "sales_month": date(origin.year, origin.month + 1, 1),
                    "horizon": 1,
                    "y_true": 100.0,
                    "y_pred": 100.0 + miss,
                    "series_id": "s:p:z",
                    "scale": 100.0,
                    "mase_scale": 10.0,
                }
            )
    return pl.DataFrame(rows)


ERRORS = {  # a is best early, b late; c always middling; exercise_base is never shipped
    "a": [1, 1, 1, 30, 30, 30],
    "b": [30, 30, 30, 1, 1, 1],
    "c": [10, 10, 10, 10, 10, 10],
    "d": [20, 20, 20, 20, 20, 20],
    "exercise_base": [0, 0, 0, 0, 0, 0],
}


def test_weights_are_normalised_to_one() -> None:
    assert sum(normalised([1.0, 3.0])) == pytest.approx(1.0)
    assert normalised([0.0, 0.0]) == (0.5, 0.5)
    assert normalised([-1.0, 1.0]) == (0.0, 1.0)
    assert CombinationForecaster(members=("naive", "seasonal_naive")).weights == (0.5, 0.5)


@pytest.mark.parametrize("spec", COMBINATIONS, ids=lambda s: s.label)
def test_every_combination_choice_sums_to_one_and_uses_known_months_only(spec) -> None:
    predictions = _predictions(ERRORS)
    pool = ["a", "b", "c", "d"]
    rows, choices = combination_backtest(predictions, spec, ORIGINS, pool)
    assert rows["origin_month"].n_unique() == len(ORIGINS)
    for choice in choices:
        assert sum(choice["weights"]) == pytest.approx(1.0)
        assert len(choice["members"]) == len(choice["weights"]) >= 1
        assert "exercise_base" not in choice["members"]
    # at the first origin nothing is known: the declared default members
    first = choices[0]
    assert first["n_known"] == 0
    defaults = [m for m in spec.members or DEFAULT_MEMBERS if m in pool] or pool[: spec.k]
    assert first["members"] == defaults
    # scrambling every actual after an origin changes no choice made at or before it
    cut = ORIGINS[3]
    scrambled = predictions.with_columns(
        pl.when(pl.col("sales_month") > cut)
        .then(pl.col("y_true") * 5)
        .otherwise(pl.col("y_true"))
        .alias("y_true")
    )
    _, again = combination_backtest(scrambled, spec, ORIGINS, pool)
    kept = [c for c in choices if date.fromisoformat(c["origin_month"]) <= cut]
    assert kept == again[: len(kept)]


def test_best_k_picks_the_best_known_and_inverse_wape_favours_the_better() -> None:
    predictions = _predictions(ERRORS)
    known = known_at(predictions, ORIGINS[3])  # targets up to April: origins Jan-Mar, a best
    spec = CombinationSpec("w", "mean", weighting="inverse_wape", k=2)
    choice = choose_members(spec, known, ["a", "b", "c", "d"])
    assert choice.members == ("a", "c")
    assert choice.weights[0] > choice.weights[1]
    assert sum(choice.weights) == pytest.approx(1.0)


def test_median_and_mean_combine_member_forecasts() -> None:
    predictions = _predictions({"a": [1] * 6, "b": [10] * 6, "c": [40] * 6})
    for method, expected in (("median", 110.0), ("mean", 117.0)):
        spec = CombinationSpec(method, method, members=("a", "b", "c"))
        rows, _ = combination_backtest(predictions, spec, ORIGINS, ["a", "b", "c"])
        assert rows["y_pred"].to_list() == pytest.approx([expected] * len(ORIGINS))


def test_honest_figure_scores_each_pick_on_later_months_only() -> None:
    predictions = _predictions(ERRORS)
    assert choose_champion(predictions) == "c"  # lowest WAPE over every origin
    report = selection_report(predictions, ORIGINS, "c", "d")
    assert report.honest_origins == ORIGINS[3:]
    # known at Apr: a's three early wins; at May a still leads (33/400 vs c 40/400); at Jun c
    assert report.honest_choices == {"2020-04-01": "a", "2020-05-01": "a", "2020-06-01": "c"}
    assert report.in_sample_wape == pytest.approx(0.10)
    assert report.champion_wape_same_months == pytest.approx(0.10)
    assert report.seasonal_naive_wape_same_months == pytest.approx(0.20)
    picks = [report.honest_choices[str(o)] for o in ORIGINS[3:]]
    expected = np.mean([ERRORS[m][i + 3] for i, m in enumerate(picks)]) / 100
    assert report.honest_wape == pytest.approx(expected)
    assert report.honest_wape > report.in_sample_wape  # choosing on the past cost here


@pytest.fixture(scope="module")
def features(warehouse_settings: Settings) -> pl.DataFrame:
    return read_features(warehouse_settings).features


def test_combination_forecaster_fits_predicts_saves_and_loads(
    features: pl.DataFrame, tmp_path: Path
) -> None:
    members = {
        m.name: m.fit(features)
        for m in (NaiveForecaster(), SeasonalNaiveForecaster(), SeasonalYoYForecaster())
    }
    combination = CombinationForecaster.from_fitted(
        members,
        label="comb_test",
        members=tuple(members),
        weights=(0.2, 0.3, 0.5),
        method="mean",
    )
    assert combination.name == "comb_test"
    last = active_origins(features)
    out = combination.predict(last)
    parts = [members[n].predict(last)["y_pred"].to_numpy() for n in members]
    expected = 0.2 * parts[0] + 0.3 * parts[1] + 0.5 * parts[2]
    assert out["y_pred"].to_numpy() == pytest.approx(expected)
    combination.save(tmp_path / "c")
    loaded = Forecaster.load(tmp_path / "c")
    assert isinstance(loaded, CombinationForecaster) and loaded.name == "comb_test"
    assert loaded.params == combination.params
    assert loaded.predict(last).equals(out)
    # one row gives the same forecast as the batch
    assert loaded.predict(last.slice(2, 1)).equals(
        out.filter(pl.col("series_id") == last["series_id"][2])
    )
    # a fresh fit of the same members gives the same forecasts
    refit = CombinationForecaster(**combination.params).fit(features)
    assert refit.predict(last)["y_pred"].to_numpy() == pytest.approx(out["y_pred"].to_numpy())
