"""Latent demand model of the sample container: monthly totals, sales lines and the market feed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from ingest.sample.catalog import (
    FACT_EMPTY_SALES_V1,
    FACT_FIRST_MONTH,
    FACT_MIN_SALES,
    LOW_CALORIE_CODE,
    LOW_CALORIE_LINES_V1,
    LOW_CALORIE_MONTHS,
    MARKET_SERIES,
    OWN_PRODUCTS,
    REFERENCE_FIRST_MONTH,
    REFERENCE_LAST_MONTH,
    REGION_ID_BY_NAME,
    SEASONALITY,
    SHOCK,
    ZONES,
)
from tamales_inc.core.months import month_after, months_between

FIRST_MONTH = date(2018, 1, 1)  # month index 0
HORIZON_MONTHS = 8 * 12  # Jan 2018 - Dec 2025: the months any version may cover
OWN_FIRST_T = 12  # the ERP files start in Jan 2019

# Streams of the seeded generator; each part draws from its own so parts stay independent.
_TOTALS, _LINES, _MARKET, _RESTATE, _SPLIT = range(5)
STREAM_UUID = 5  # used by the writer for Spark job ids and part-file shuffles


def month_index(month: date) -> int:
    """Months since Jan 2018 (0-based)."""
    return months_between(FIRST_MONTH, month)


def month_of(t: int) -> date:
    """The first day of the month of a month index."""
    return month_after(FIRST_MONTH, t)


def rng_for(seed: int, stream: int, *extra: int) -> np.random.Generator:
    """A generator for one stream of one seed (independent of every other stream)."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, *extra]))


def season_profile(name: str) -> np.ndarray:
    """A product family's yearly profile (`SEASONALITY`), normalised to mean 1."""
    profile = np.asarray(SEASONALITY[name])
    return profile / profile.mean()


def own_totals(seed: int) -> np.ndarray:
    """Company sales per (code, zone, month index): the learnable signal, shape (5, 4, 96)."""
    rng = rng_for(seed, _TOTALS)
    n_c, n_z, n_t = len(OWN_PRODUCTS), len(ZONES), HORIZON_MONTHS
    t = np.arange(n_t)
    months = t % 12
    out = np.empty((n_c, n_z, n_t))
    pair_effect = np.exp(rng.normal(0.0, 0.15, size=(n_c, n_z)))
    phi, sigma = 0.55, 0.08
    for ci, product in enumerate(OWN_PRODUCTS):
        trend = (1.0 + product.growth) ** ((t - OWN_FIRST_T) / 12.0)
        season = season_profile(product.product_name)[months]
        for zi, zone in enumerate(ZONES):
            shock = np.array(
                [1.0 - (1.0 - SHOCK.get(month_of(m), 1.0)) * zone.shock_depth for m in t]
            ).clip(0.2, 1.0)
            noise = np.empty(n_t)
            noise[0] = rng.normal(0.0, sigma / np.sqrt(1.0 - phi**2))
            eps = rng.normal(0.0, sigma, size=n_t)
            for m in range(1, n_t):
                noise[m] = phi * noise[m - 1] + eps[m]
            out[ci, zi] = (
                product.base * zone.weight * pair_effect[ci, zi] * trend * season * shock
            ) * np.exp(noise)
    return out


@dataclass(frozen=True)
class BaseLines:
    """The ERP sales lines at scale 1, for every key of the horizon (ordered by month, code, zone).

    `sales` is the first delivery's value; restatements are applied per version on top.
    """

    t: np.ndarray  # month index per line
    code: np.ndarray  # index into OWN_PRODUCTS
    zone: np.ndarray  # index into ZONES
    low_calorie: np.ndarray  # bool
    is_first_big: np.ndarray  # bool: the key's largest line (restatements land here)
    sales: np.ndarray
    order: np.ndarray  # random sort key (files are not sorted)


def _line_counts(rng: np.random.Generator, totals: np.ndarray) -> np.ndarray:
    """Lines per (code, zone, month index >= Jan 2019); exact per-code totals in the reference
    window, random with the same mean elsewhere."""
    n_c, n_z, n_t = totals.shape
    counts = np.zeros((n_c, n_z, n_t), dtype=np.int64)
    ref = slice(month_index(REFERENCE_FIRST_MONTH), month_index(REFERENCE_LAST_MONTH) + 1)
    n_ref = ref.stop - ref.start
    zone_w = np.array([z.line_weight for z in ZONES])[:, None]
    for ci, product in enumerate(OWN_PRODUCTS):
        minimum = max(3, product.lines_v1 // (n_z * n_ref) * 2 // 3)
        rel = totals[ci] / totals[ci, :, ref].mean(axis=1, keepdims=True)
        weight = zone_w * np.sqrt(rel) * np.exp(rng.normal(0.0, 0.25, size=(n_z, n_t)))
        extra_ref = product.lines_v1 - minimum * n_z * n_ref
        p = weight[:, ref] / weight[:, ref].sum()
        counts[ci, :, ref] = minimum + rng.multinomial(extra_ref, p.ravel()).reshape(n_z, n_ref)
        lam = extra_ref * weight / weight[:, ref].sum()
        other = rng.poisson(lam) + minimum
        outside = np.ones(n_t, dtype=bool)
        outside[ref] = False
        outside[:OWN_FIRST_T] = False
        counts[ci][:, outside] = other[:, outside]
    return counts


def base_lines(seed: int, totals: np.ndarray) -> BaseLines:
    """Split each key's monthly total over its lines: a few large lines carry the total, many
    tiny ones, some returns (negative), exact zeros and float-noise lines."""
    rng = rng_for(seed, _LINES)
    counts = _line_counts(rng, totals)
    # keys ordered by (month, code, zone) so that a month's lines never depend on later months
    tt, cc, zz = np.meshgrid(
        np.arange(OWN_FIRST_T, HORIZON_MONTHS),
        np.arange(len(OWN_PRODUCTS)),
        np.arange(len(ZONES)),
        indexing="ij",
    )
    tt, cc, zz = tt.ravel(), cc.ravel(), zz.ravel()
    n = counts[cc, zz, tt]
    key_total = totals[cc, zz, tt]
    n_keys, n_lines = len(n), int(n.sum())
    key = np.repeat(np.arange(n_keys), n)
    starts = np.concatenate(([0], np.cumsum(n)[:-1]))
    pos = np.arange(n_lines) - starts[key]

    p_big = np.where(cc == 0, 0.05, 0.09)
    n_big = 1 + rng.binomial(n - 1, p_big)
    is_big = pos < n_big[key]
    kind = rng.random(n_lines)  # for the non-big lines
    is_noise = ~is_big & (kind < 0.012)
    is_zero = ~is_big & (kind >= 0.012) & (kind < 0.032)
    is_return = ~is_big & (kind >= 0.032) & (kind < 0.072)
    is_small = ~is_big & ~is_noise & ~is_zero & ~is_return

    sales = np.zeros(n_lines)
    small = np.round(np.exp(rng.normal(np.log(2.0), 1.55, size=n_lines)), 2).clip(0.01)
    sales[is_small] = small[is_small]
    cap = 1500.0  # returns saturate smoothly below this (most are a few pesos)
    raw = np.exp(rng.normal(np.log(20.0), 2.3, size=n_lines))
    returns = -np.round(raw / (1.0 + raw / cap), 2).clip(0.01)
    sales[is_return] = returns[is_return]
    exponent = rng.integers(36, 54, size=n_lines)
    mantissa = 1.0 + rng.integers(0, 8, size=n_lines) / 8.0
    sign = np.where(rng.random(n_lines) < 0.5, -1.0, 1.0)
    noise = sign * mantissa * np.ldexp(1.0, -exponent)
    sales[is_noise] = noise[is_noise]

    rest = np.bincount(key, weights=sales, minlength=n_keys)
    big_budget = key_total - rest
    if (big_budget <= 0.5 * key_total).any():  # cannot happen with the catalog's levels
        raise RuntimeError(
            "sample model: returns exceed half of a monthly total; check the catalog"
        )
    weights = np.where(is_big, np.exp(rng.normal(0.0, 1.4, size=n_lines)), 0.0)
    weights[is_big & (pos == 0)] *= 8.0  # one dominant line per key (a distributor)
    wsum = np.bincount(key, weights=weights, minlength=n_keys)
    big = np.round(big_budget[key] * weights / wsum[key], 2)
    first_big = is_big & (pos == 0)
    others = np.bincount(key, weights=np.where(is_big & ~first_big, big, 0.0), minlength=n_keys)
    big[first_big] = np.round(big_budget - others, 2)
    sales[is_big] = big[is_big]

    low_calorie = np.zeros(n_lines, dtype=bool)
    lc_code = next(i for i, p in enumerate(OWN_PRODUCTS) if p.code == LOW_CALORIE_CODE)
    first, last = (month_index(month) for month in LOW_CALORIE_MONTHS)
    window = (key_t := tt[key]) >= first
    window &= key_t <= last
    candidates = np.flatnonzero(window & (cc[key] == lc_code))
    low_calorie[rng.choice(candidates, size=LOW_CALORIE_LINES_V1, replace=False)] = True

    return BaseLines(
        t=tt[key],
        code=cc[key],
        zone=zz[key],
        low_calorie=low_calorie,
        is_first_big=first_big,
        sales=sales,
        order=rng.random(n_lines),
    )


def restated_sales(seed: int, lines: BaseLines, cutoffs: list[int]) -> list[np.ndarray]:
    """Per version (cutoff month indexes, ascending), the line values of its snapshot: each later
    delivery restates the largest line of a few keys in the previous delivery's last 3 months."""
    out = [lines.sales]
    current = lines.sales
    for prev, cut in zip(cutoffs, cutoffs[1:], strict=False):
        rng = rng_for(seed, _RESTATE, 0, cut)
        current = current.copy()
        candidates = np.flatnonzero(lines.is_first_big & (lines.t <= prev) & (lines.t >= prev - 2))
        chosen = rng.choice(candidates, size=min(4, len(candidates)), replace=False)
        change = rng.uniform(0.03, 0.12, size=len(chosen)) * rng.choice([-1.0, 1.0], len(chosen))
        current[chosen] = np.round(current[chosen] * (1.0 + change), 2)
        out.append(current)
    return out


@dataclass(frozen=True)
class FactRows:
    """teinvento fact rows for every series and month of the horizon (NaN = empty sales)."""

    t: np.ndarray
    id_region: np.ndarray
    id_product: np.ndarray
    sales: np.ndarray
    order: np.ndarray


def market_facts(seed: int, totals: np.ndarray) -> FactRows:
    """Market-feed sales: own products follow the company's zone sales (times a factor and their
    own noise); competitors have their own level, trend and season; 12 empty values."""
    rng = rng_for(seed, _MARKET)
    code_index = {p.code: i for i, p in enumerate(OWN_PRODUCTS)}
    zone_index = {z.name: i for i, z in enumerate(ZONES)}
    t_all = np.arange(HORIZON_MONTHS)
    shock_all = np.array([SHOCK.get(month_of(m), 1.0) for m in t_all])
    rows_t, rows_region, rows_product, rows_sales = [], [], [], []
    for series in MARKET_SERIES:
        first = month_index(series.first_month)
        t = t_all[first:]
        noise = np.exp(rng.normal(0.0, 0.06, size=len(t)))
        if series.own_code is not None:
            own = totals[code_index[series.own_code], zone_index[series.region], first:]
            sales = own * series.factor * noise
        else:
            trend = (1.0 + series.growth) ** ((t - OWN_FIRST_T) / 12.0)
            season = season_profile(series.season)[t % 12] ** 0.8
            sales = series.level * trend * season * shock_all[first:] * noise
        sales = np.round(sales, 2)
        if series.region == "":
            sales[0] = FACT_MIN_SALES  # the series' first, barely-reported month
        rows_t.append(t)
        rows_region.append(np.full(len(t), REGION_ID_BY_NAME[series.region], dtype=np.int64))
        rows_product.append(np.full(len(t), series.id_product, dtype=np.int64))
        rows_sales.append(sales)
    t = np.concatenate(rows_t)
    sales = np.concatenate(rows_sales)
    ref_first = month_index(FACT_FIRST_MONTH)
    ref_last = month_index(REFERENCE_LAST_MONTH)
    eligible = np.flatnonzero((t >= ref_first) & (t <= ref_last) & (sales != FACT_MIN_SALES))
    sales[rng.choice(eligible, size=FACT_EMPTY_SALES_V1, replace=False)] = np.nan
    later = np.flatnonzero(t > ref_last)
    sales[later[rng.random(len(later)) < FACT_EMPTY_SALES_V1 / len(eligible)]] = np.nan
    return FactRows(
        t=t,
        id_region=np.concatenate(rows_region),
        id_product=np.concatenate(rows_product),
        sales=sales,
        order=rng.random(len(t)),
    )


def restated_facts(seed: int, facts: FactRows, cutoffs: list[int]) -> list[np.ndarray]:
    """Per version, the fact sales of its snapshot: each later delivery revises 3 values of the
    previous delivery's last 3 months."""
    out = [facts.sales]
    current = facts.sales
    for prev, cut in zip(cutoffs, cutoffs[1:], strict=False):
        rng = rng_for(seed, _RESTATE, 1, cut)
        current = current.copy()
        candidates = np.flatnonzero(
            (facts.t <= prev) & (facts.t >= prev - 2) & np.isfinite(current)
        )
        chosen = rng.choice(candidates, size=min(3, len(candidates)), replace=False)
        change = rng.uniform(0.02, 0.08, size=len(chosen)) * rng.choice([-1.0, 1.0], len(chosen))
        current[chosen] = np.round(current[chosen] * (1.0 + change), 2)
        out.append(current)
    return out


def split_lines(
    seed: int, sales: list[np.ndarray], scale: int, rows: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Scale N: split every base line into N sub-lines (random shares summing to the line), so key
    totals do not change with N. Returns the per-version sub-line values and a sort key.

    `rows` (ascending) picks some of the base lines, e.g. one zone's, and `sales` then holds
    their values only: each line draws the same numbers as in a split of all lines (the
    generator skips ahead over the others), so a container can be written zone by zone with
    the memory of one zone.
    """
    rng = rng_for(seed, _SPLIT)
    if rows is None:
        rows = np.arange(len(sales[0]))
    per_line = 2 * scale
    pieces: list[np.ndarray] = []
    position = 0
    for run in np.split(rows, np.flatnonzero(np.diff(rows) != 1) + 1):
        if not len(run):
            continue
        start = int(run[0]) * per_line
        rng.bit_generator.advance(start - position)  # type: ignore[attr-defined]
        pieces.append(rng.random((len(run), 2, scale)))
        position = start + len(run) * per_line
    draws = np.concatenate(pieces) if pieces else np.empty((0, 2, scale))
    del pieces
    weights = -np.log1p(-draws[:, 0, :])
    weights /= weights.sum(axis=1, keepdims=True)
    order = draws[:, 1, :].ravel()
    del draws
    return [(values[:, None] * weights).ravel() for values in sales], order
