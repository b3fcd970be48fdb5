"""Choices that are never scored on the months they were made on: combination members and
weights, and the champion.

Protocol (declared before any run; `ml.backtest_predictions` holds what it is applied to):
- What is known at origin o: the backtest forecasts whose target month is <= o (so made at
  earlier origins), scored against their actuals.
- A combination's members and weights used at origin o are chosen on what is known at o (at the
  first origin nothing is: the default members AutoETS, AutoTheta and AutoARIMA, equal
  weights). Its backtest forecasts are
  therefore out-of-sample like every model's.
- The champion is the candidate with the lowest WAPE over every backtest forecast (the choice a
  run ships; its WAPE on those same months is the in-sample-choice figure). The honest figure
  applies the same rule at each of the later half of the origins, on what is known there, and
  scores the candidate it picks on that origin's forecasts only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from tamales_inc.forecasting.metrics import score, wape
from tamales_inc.forecasting.models.combination import combine_columns, normalised

# Never a member or a champion: the exercise's base model is reported, never shipped.
NOT_SHIPPED: tuple[str, ...] = ("exercise_base",)
# The classic combination (M4): ETS, Theta and ARIMA, equal weights.
DEFAULT_MEMBERS: tuple[str, ...] = ("auto_ets", "auto_theta", "auto_arima")
KEYS: tuple[str, ...] = ("origin_month", "series_id", "horizon")


@dataclass(frozen=True)
class CombinationSpec:
    """A combination candidate: fixed `members` or the best `k` candidates known at each
    origin; their mean (equal or inverse-WAPE weights) or median."""

    label: str
    method: str  # mean | median
    weighting: str = "equal"  # equal | inverse_wape
    members: tuple[str, ...] = ()
    k: int = 3


COMBINATIONS: tuple[CombinationSpec, ...] = (
    CombinationSpec("comb_stat_mean", "mean", members=DEFAULT_MEMBERS),
    CombinationSpec("comb_best3_mean", "mean"),
    CombinationSpec("comb_best3_median", "median"),
    CombinationSpec("comb_best3_weighted", "mean", weighting="inverse_wape"),
)


@dataclass(frozen=True)
class MemberChoice:
    """A combination's members and weights (summing to one) and what they were chosen on."""

    members: tuple[str, ...]
    weights: tuple[float, ...]
    n_known: int


def known_at(predictions: pl.DataFrame, origin: date | None) -> pl.DataFrame:
    """The scored forecasts whose target month is <= `origin` (every one when None)."""
    scored = predictions.filter(pl.col("y_true").is_not_null())
    if origin is None:
        return scored
    return scored.filter(pl.col("sales_month") <= origin)


def wape_by_model(rows: pl.DataFrame) -> dict[str, float]:
    """Pooled WAPE per model of scored forecast rows."""
    return {
        str(model): wape(part["y_true"].to_numpy(), part["y_pred"].to_numpy())
        for (model,), part in rows.group_by(["model"], maintain_order=True)
    }


def ranked(rows: pl.DataFrame, among: list[str]) -> list[tuple[str, float]]:
    """(model, WAPE) of the models `among` on `rows`, best first (ties by name)."""
    scores = wape_by_model(rows.filter(pl.col("model").is_in(among)))
    finite = [(m, w) for m, w in scores.items() if w == w]
    return sorted(finite, key=lambda item: (item[1], item[0]))


def choose_members(spec: CombinationSpec, known: pl.DataFrame, pool: list[str]) -> MemberChoice:
    """`spec`'s members and weights from the forecasts `known` (targets already observed)."""
    order = ranked(known, pool)
    if spec.members:
        members = tuple(m for m in spec.members if m in pool)
    elif order:
        members = tuple(m for m, _ in order[: spec.k])
    else:
        members = tuple(m for m in DEFAULT_MEMBERS if m in pool)
    if not members:  # none of the named members was backtested: the first k of the pool
        members = tuple(pool[: spec.k])
    scores = dict(order)
    if spec.weighting == "inverse_wape" and all(scores.get(m, 0) > 0 for m in members):
        weights = normalised([1.0 / scores[m] for m in members])
    else:
        weights = normalised([1.0] * len(members))
    return MemberChoice(members, weights, known.height)


def combination_backtest(
    predictions: pl.DataFrame, spec: CombinationSpec, origins: list[date], pool: list[str]
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """`spec`'s backtest forecasts (rows shaped like `predictions`), members and weights chosen
    at each origin on what is known there; and the choice per origin."""
    pieces, choices = [], []
    for origin in origins:
        choice = choose_members(spec, known_at(predictions, origin), pool)
        at_origin = predictions.filter(pl.col("origin_month") == origin)
        wide = at_origin.filter(pl.col("model") == choice.members[0]).drop("model", "y_pred")
        for name in choice.members:
            wide = wide.join(
                at_origin.filter(pl.col("model") == name).select(
                    *KEYS, pl.col("y_pred").alias(name)
                ),
                on=list(KEYS),
                how="inner",
            )
        combined = wide.with_columns(
            combine_columns(choice.members, choice.weights, spec.method).alias("y_pred"),
            pl.lit(spec.label).alias("model"),
        )
        pieces.append(combined.select(predictions.columns))
        choices.append(
            {
                "origin_month": str(origin),
                "members": list(choice.members),
                "weights": list(choice.weights),
                "n_known": choice.n_known,
            }
        )
    return pl.concat(pieces), choices


def candidates_of(predictions: pl.DataFrame) -> list[str]:
    """The models that may be champion (every backtested one but `NOT_SHIPPED`)."""
    names = predictions["model"].unique().sort().to_list()
    return [name for name in names if name not in NOT_SHIPPED]


def choose_champion(predictions: pl.DataFrame, origin: date | None = None) -> str | None:
    """The candidate with the lowest WAPE on the forecasts known at `origin` (all if None)."""
    order = ranked(known_at(predictions, origin), candidates_of(predictions))
    return order[0][0] if order else None


@dataclass(frozen=True)
class SelectionReport:
    """The champion's in-sample-choice figure and the protocol's honest one."""

    champion: str
    in_sample_wape: float  # chosen and scored on every backtest forecast
    honest_origins: list[date]
    honest_choices: dict[str, str]  # origin -> candidate chosen on what was known there
    honest_wape: float  # those choices scored on their origin's forecasts only
    champion_wape_same_months: float  # the shipped champion on the same forecasts
    seasonal_naive_wape_same_months: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "champion": self.champion,
            "in_sample_wape": self.in_sample_wape,
            "honest_origins": [str(o) for o in self.honest_origins],
            "honest_choices": self.honest_choices,
            "honest_wape": self.honest_wape,
            "champion_wape_same_months": self.champion_wape_same_months,
            "seasonal_naive_wape_same_months": self.seasonal_naive_wape_same_months,
        }


def selection_report(
    predictions: pl.DataFrame, origins: list[date], champion: str, baseline: str
) -> SelectionReport:
    """Apply the champion rule at each of the later half of `origins` (at least the last one) on
    what is known there, and score each pick on its origin's forecasts."""
    later = origins[len(origins) // 2 :] or origins[-1:]
    picked, choices = [], {}
    for origin in later:
        name = choose_champion(predictions, origin) or champion
        choices[str(origin)] = name
        picked.append(
            predictions.filter((pl.col("model") == name) & (pl.col("origin_month") == origin))
        )
    honest = pl.concat(picked).filter(pl.col("y_true").is_not_null())
    same = predictions.filter(pl.col("origin_month").is_in(later))

    def on_same(model: str) -> float:
        rows = same.filter((pl.col("model") == model) & pl.col("y_true").is_not_null())
        return wape(rows["y_true"].to_numpy(), rows["y_pred"].to_numpy())

    overall = known_at(predictions, None).filter(pl.col("model") == champion)
    return SelectionReport(
        champion=champion,
        in_sample_wape=wape(overall["y_true"].to_numpy(), overall["y_pred"].to_numpy()),
        honest_origins=later,
        honest_choices=choices,
        honest_wape=wape(honest["y_true"].to_numpy(), honest["y_pred"].to_numpy()),
        champion_wape_same_months=on_same(champion),
        seasonal_naive_wape_same_months=on_same(baseline),
    )


def add_combinations(
    predictions: pl.DataFrame, origins: list[date], specs: tuple[CombinationSpec, ...]
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, list[dict[str, Any]]]]:
    """The base models' backtest forecasts plus every combination's, their metrics, and each
    combination's members and weights per origin."""
    pool = candidates_of(predictions)
    frames, choices = [predictions], {}
    for spec in specs:
        rows, per_origin = combination_backtest(predictions, spec, origins, pool)
        frames.append(rows)
        choices[spec.label] = per_origin
    combined = pl.concat(frames).sort("model", "origin_month", "series_id", "horizon")
    return combined, score(combined), choices
