"""Write one cut-off of a series set as a raw container the real ingest reads unchanged.

The layout is the original container's (docs/contracts.md, section 1): per data version, one
headerless ERP CSV per zone folder and the market feed's Spark part files (`fact_table`,
`product_dim`, `region_dim`, each with `_SUCCESS`). The data version is the cut-off month
(`yyyymm01`) and the container holds no month after it: the held-out months stay in memory.

Placement (declared, by position in the set's sorted series keys): every `MARKET_EVERY`-th series
is a market-feed series (a competitor product in one region), the others are the company's own
ERP series; each source's series fill products x zones in order (`Centro`, `E. Privados`, `Norte`,
`Sur`), four zones to a product. Every product is `Regular`.

An ERP month of a series is split into point-of-sale lines: a seeded number of non-negative
integer lines that sum exactly to the month's value (a multinomial draw); the split of a
(series, month) depends only on the seed, the series key and the month, so every cut-off's
container carries the same lines for the months they share. Lines are shuffled in each file.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from ingest.contract import MONTHS
from ingest.sample.catalog import (
    COUNTRY,
    REGION_DIM_PARTS,
    REGIONS,
    SPARK_ID_STEP,
    TAMALES_INC_DIR,
    TEINVENTO_DIR,
    ZONES,
    fact_part_sizes,
)
from tamales_inc.core.files import atomic_output, remove_path
from tamales_inc.core.months import month_number

MARKET_EVERY = 4
LINES_PER_MONTH = (2, 12)  # fewest and most point-of-sale lines of an ERP series' month
ERP_PRODUCT_NAME = "Tamal mix"
CALORIE_CATEGORY = "Regular"
FEED_BRAND = "Mercado"
FEED_PRODUCER = "OTROS FABRICANTES"
FEED_FIRST_ID = 200  # feed product k gets the Spark id (FEED_FIRST_ID + k) << 33

# placement of a series: which source, product and zone hold it
PLACEMENT_SCHEMA: dict[str, pl.DataType] = {
    "series_key": pl.String(),
    "source": pl.String(),
    "product_code": pl.String(),  # ERP product code (NULL for feed series)
    "product_name": pl.String(),  # ERP product name, or the feed's product
    "flavor": pl.String(),  # ERP flavor (NULL for feed series)
    "id_product": pl.Int64(),  # feed product id (NULL for ERP series)
    "zone": pl.String(),  # zone / region name as written in the files
    "id_region": pl.Int64(),  # feed region id (NULL for ERP series)
}


@dataclass(frozen=True)
class Container:
    """A written container and what the bench keeps outside it."""

    path: Path
    version: str
    cutoff: date
    placement: pl.DataFrame  # PLACEMENT_SCHEMA
    history: pl.DataFrame  # series_key, month, units: what the container holds
    holdout: pl.DataFrame  # series_key, month, units: the months after the cut-off
    erp_lines: int
    feed_rows: int


def place_series(keys: Sequence[str], code: str) -> pl.DataFrame:
    """Where each series goes (`PLACEMENT_SCHEMA`), by position in the sorted keys."""
    region_ids = {name: rid for rid, _country, name in REGIONS}
    rows, n_erp, n_feed = [], 0, 0
    for i, key in enumerate(sorted(keys)):
        if i % MARKET_EVERY == MARKET_EVERY - 1:
            product, zone = divmod(n_feed, len(ZONES))
            n_feed += 1
            name = ZONES[zone].name
            rows.append(
                {
                    "series_key": key,
                    "source": "teinvento_inc",
                    "product_name": f"{FEED_BRAND} {code}{product:03d}",
                    "id_product": (FEED_FIRST_ID + product) * SPARK_ID_STEP,
                    "zone": name,
                    "id_region": region_ids[name],
                }
            )
        else:
            product, zone = divmod(n_erp, len(ZONES))
            n_erp += 1
            rows.append(
                {
                    "series_key": key,
                    "source": "tamales_inc",
                    "product_code": f"{code}{product:03d}",
                    "product_name": ERP_PRODUCT_NAME,
                    "flavor": f"Serie {code}{product:03d}",
                    "zone": ZONES[zone].name,
                }
            )
    return pl.DataFrame(rows, schema=PLACEMENT_SCHEMA)


def split_units(units: int, seed: int, series_key: str, month: date) -> list[int]:
    """A (series, month) value as point-of-sale lines: integers summing exactly to `units`."""
    stream = [seed, zlib.crc32(series_key.encode()), month_number(month)]
    rng = np.random.default_rng(np.random.SeedSequence(stream))
    n = int(rng.integers(LINES_PER_MONTH[0], LINES_PER_MONTH[1] + 1))
    parts = rng.multinomial(abs(units), rng.dirichlet(np.ones(n)))
    return [int(p) if units >= 0 else -int(p) for p in parts]


def _rng(seed: int, *salt: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, *salt]))


def _write_lines(path: Path, lines: Sequence[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.writelines(line + "\n" for line in lines)


def _shuffled(lines: list[str], seed: int, salt: int) -> list[str]:
    order = _rng(seed, 7, salt).permutation(len(lines))
    return [lines[i] for i in order]


def _erp_files(root: Path, history: pl.DataFrame, version: str, seed: int) -> int:
    """One CSV per zone folder; returns the number of lines written."""
    erp = history.filter(pl.col("source") == "tamales_inc")
    total = 0
    for z, zone in enumerate(ZONES):
        lines = []
        for row in erp.filter(pl.col("zone") == zone.name).iter_rows(named=True):
            month: date = row["month"]
            prefix = ",".join(
                [
                    str(month.year),
                    MONTHS[month.month - 1],
                    COUNTRY,
                    CALORIE_CATEGORY,
                    row["flavor"],
                    zone.name,
                    row["product_code"],
                    row["product_name"],
                ]
            )
            for value in split_units(row["units"], seed, row["series_key"], month):
                lines.append(f"{prefix},{value}")
        name = f"ventas_mensuales_{zone.folder}_{version}.csv"
        _write_lines(
            root / TAMALES_INC_DIR / version / "csv" / zone.folder / name,
            _shuffled(lines, seed, z),
        )
        total += len(lines)
    return total


def _spark_table(
    table_dir: Path, lines: list[str], part_sizes: Sequence[int], seed: int, salt: int
) -> None:
    """Rows as Spark part files (an empty part is a zero-byte file) plus the `_SUCCESS` marker."""
    if sum(part_sizes) != len(lines):
        raise ValueError(f"{table_dir.name}: parts hold {sum(part_sizes)} rows, not {len(lines)}")
    job = uuid.UUID(bytes=_rng(seed, 11, salt).bytes(16), version=4)
    start = 0
    for i, size in enumerate(part_sizes):
        _write_lines(table_dir / f"part-{i:05d}-{job}-c000.csv", lines[start : start + size])
        start += size
    (table_dir / "_SUCCESS").write_bytes(b"")


def _feed_files(root: Path, history: pl.DataFrame, version: str, seed: int) -> int:
    """The market feed's star schema; returns the number of fact rows."""
    feed = history.filter(pl.col("source") == "teinvento_inc")
    facts = [
        f"{m.year},{MONTHS[m.month - 1]},{units},{region},{product}"
        for m, units, region, product in feed.select(
            "month", "units", "id_region", "id_product"
        ).iter_rows()
    ]
    feed_products = feed.select("id_product", "product_name").unique().sort("id_product")
    products = [
        f"{pid},{CALORIE_CATEGORY},{name},{FEED_BRAND},{FEED_PRODUCER}"
        for pid, name in feed_products.rows()
    ]
    regions = [f"{rid},{country},{name}" for rid, country, name in REGIONS]
    base = root / TEINVENTO_DIR / version
    half = len(products) // 2
    tables = {
        "fact_table": (_shuffled(facts, seed, 100), fact_part_sizes(len(facts))),
        "product_dim": (products, (0, len(products) - half, half)),
        "region_dim": (regions, REGION_DIM_PARTS),
    }
    for salt, (table, (lines, sizes)) in enumerate(tables.items()):
        _spark_table(base / table, lines, sizes, seed, salt)
    return len(facts)


def build_container(
    window: pl.DataFrame, cutoff: date, code: str, out_dir: Path, seed: int
) -> Container:
    """Write the history of `window` (a `series.cutoff_window` frame) up to `cutoff` as a
    container at `out_dir` (replaced whole, written under a temporary name first)."""
    placement = place_series(window["series_key"].unique().to_list(), code)
    placed = window.join(placement, on="series_key", how="inner")
    history = placed.filter(pl.col("month") <= cutoff)
    if set(history["source"].unique()) != {"tamales_inc", "teinvento_inc"}:
        raise ValueError(
            f"cut-off {cutoff}: both sources need a series with history "
            f"(a set needs at least {MARKET_EVERY} series)"
        )
    version = f"{cutoff:%Y%m%d}"
    remove_path(out_dir)
    with atomic_output(out_dir) as tmp:
        erp_lines = _erp_files(tmp, history, version, seed)
        feed_rows = _feed_files(tmp, history, version, seed)
    columns = ["series_key", "month", "units"]
    return Container(
        path=out_dir,
        version=version,
        cutoff=cutoff,
        placement=placement,
        history=history.select(columns),
        holdout=placed.filter(pl.col("month") > cutoff).select(columns),
        erp_lines=erp_lines,
        feed_rows=feed_rows,
    )
