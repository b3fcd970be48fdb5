"""More series than the default sample: extra ERP products, four zones each (`--series N`).

The default sample has `DEFAULT_SERIES` series (20 ERP: 5 products x 4 zones, and 11 market
feed). Asking for more adds ERP product codes (`X000001`, ...) after the default ones, each
sold in the four zones in order (the last one in as many zones as needed), so the mart holds
exactly N series. Their monthly totals follow the default products' process (level x zone x
trend x yearly season x the spring-2020 shock x autocorrelated noise) from their own random
stream, and each (product, zone, month) is split into a few lines, one of them sometimes a
return. Nothing of the default sample changes: the extra lines are appended to the ERP zone files
after the default ones, from a stream the default never draws from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ingest.contract import MONTHS
from ingest.sample.catalog import COUNTRY, MARKET_SERIES, OWN_PRODUCTS, SHOCK, ZONES
from ingest.sample.model import OWN_FIRST_T, month_of, rng_for, season_profile

DEFAULT_SERIES = len(OWN_PRODUCTS) * len(ZONES) + len(MARKET_SERIES)
MAX_SERIES = 100_000
STREAM_EXTRA = 6  # the generator stream of the extra products (the default uses 0-5)
PRODUCT_NAMES = ("Tamal mix", "Atole mix")
LINES_PER_KEY = (2, 7)  # lines per (product, zone, month): from 2 to 6
RETURN_SHARE = 0.05  # share of keys with a small return line


@dataclass(frozen=True)
class ExtraProduct:
    """An extra ERP product code and the zones (indexes into ZONES) it is sold in."""

    code: str
    product_name: str
    flavor: str
    zones: tuple[int, ...]


def extra_products(series: int) -> list[ExtraProduct]:
    """The extra products that bring the sample to `series` series (none for the default)."""
    if not DEFAULT_SERIES <= series <= MAX_SERIES:
        raise ValueError(
            f"series: expected an integer between {DEFAULT_SERIES} and {MAX_SERIES}, got {series!r}"
        )
    missing, out, k = series - DEFAULT_SERIES, [], 0
    while missing > 0:
        k += 1
        zones = tuple(range(min(len(ZONES), missing)))
        out.append(ExtraProduct(f"X{k:06d}", PRODUCT_NAMES[k % 2], f"Extra {k:06d}", zones))
        missing -= len(zones)
    return out


def extra_lines(
    seed: int, products: list[ExtraProduct], last_t: int
) -> dict[int, list[tuple[int, str]]]:
    """The ERP lines of the extra products from Jan 2019 to month index `last_t`, per zone index,
    as (month index, line text)."""
    rng = rng_for(seed, STREAM_EXTRA)
    t = np.arange(OWN_FIRST_T, last_t + 1)
    shock = {zi: np.array([SHOCK.get(month_of(m), 1.0) for m in t]) for zi in range(len(ZONES))}
    out: dict[int, list[tuple[int, str]]] = {zi: [] for zi in range(len(ZONES))}
    phi, sigma = 0.55, 0.08
    for product in products:
        base = float(np.exp(rng.normal(np.log(60_000.0), 1.0)))
        growth = float(rng.normal(0.03, 0.06))
        season = season_profile(product.product_name)[t % 12]
        trend = (1.0 + growth) ** ((t - OWN_FIRST_T) / 12.0)
        for zi in product.zones:
            zone = ZONES[zi]
            depth = 1.0 - (1.0 - shock[zi]) * zone.shock_depth
            noise = np.empty(t.size)
            noise[0] = rng.normal(0.0, sigma / np.sqrt(1.0 - phi**2))
            eps = rng.normal(0.0, sigma, size=t.size)
            for m in range(1, t.size):
                noise[m] = phi * noise[m - 1] + eps[m]
            totals = base * zone.weight * trend * season * depth.clip(0.2, 1.0) * np.exp(noise)
            for m, total in zip(t, totals, strict=True):
                out[zi].extend(_key_lines(rng, product, zone.name, int(m), float(total)))
    return out


def _key_lines(
    rng: np.random.Generator, product: ExtraProduct, zone: str, t: int, total: float
) -> list[tuple[int, str]]:
    """The lines of one (product, zone, month): a few positive lines summing to `total`, and
    sometimes a small return (the positive lines then sum to `total` plus the return)."""
    n = int(rng.integers(*LINES_PER_KEY))
    amounts = [round(float(total * w), 2) for w in rng.dirichlet(np.ones(n))]
    if rng.random() < RETURN_SHARE:
        refund = round(total * 0.02, 2)
        amounts[0] = round(amounts[0] + refund, 2)
        amounts.append(-refund)
    month = month_of(t)
    prefix = ",".join(
        [
            str(month.year),
            MONTHS[month.month - 1],
            COUNTRY,
            "Regular",
            product.flavor,
            zone,
            product.code,
            product.product_name,
        ]
    )
    return [(t, f"{prefix},{amount!r}") for amount in amounts]
