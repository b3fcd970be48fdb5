"""Write a sample container folder: the model's numbers as the raw container's CSV blobs."""

from __future__ import annotations

import csv
import io
import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from ingest.contract import MONTHS, SOURCES, source_tables
from ingest.sample.catalog import (
    COUNTRY,
    OWN_PRODUCTS,
    PRODUCT_DIM_PARTS,
    PRODUCTS,
    REGION_DIM_PARTS,
    REGIONS,
    TAMALES_INC_DIR,
    TEINVENTO_DIR,
    ZONES,
    fact_part_sizes,
)
from ingest.sample.extra import DEFAULT_SERIES, extra_lines, extra_products
from ingest.sample.model import (
    HORIZON_MONTHS,
    OWN_FIRST_T,
    STREAM_UUID,
    FactRows,
    base_lines,
    market_facts,
    month_index,
    month_of,
    own_totals,
    restated_facts,
    restated_sales,
    rng_for,
    split_lines,
)
from tamales_inc.core.files import remove_path, temp_path
from tamales_inc.core.versions import is_version

DEFAULT_VERSIONS: tuple[str, ...] = ("20200801", "20200901")
DEFAULT_SEED = 42
MAX_SCALE = 20000  # 20000: about 224M ERP lines, 18 GB of CSV
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SampleSummary:
    """What `generate` wrote: data rows per blob (relative posix blob name), and timing."""

    out_dir: Path
    versions: tuple[str, ...]
    scale: int
    seed: int
    blob_rows: dict[str, int] = field(repr=False)
    seconds: float = 0.0

    @property
    def n_blobs(self) -> int:
        return len(self.blob_rows)

    def rows(
        self, source: str | None = None, version: str | None = None, table: str | None = None
    ) -> int:
        """Data rows over the blobs matching source, version and (teinvento) table."""
        total = 0
        for name, n in self.blob_rows.items():
            parts = name.split("/")
            if source is not None and parts[0] != source:
                continue
            if version is not None and parts[3] != version:
                continue
            if table is not None and parts[4] != table:
                continue
            total += n
        return total

    def line(self) -> str:
        """The one-line summary printed by the CLI."""
        sources = ", ".join(self._source_rows(source) for source in SOURCES)
        return (
            f"sample: {self.n_blobs} blobs, versions {','.join(self.versions)}, {sources}, "
            f"scale {self.scale}, seed {self.seed}, {self.seconds:.1f} s -> {self.out_dir}"
        )

    def _source_rows(self, source: str) -> str:
        """`<source> <n> rows`, or each table's rows for a source with several tables."""
        tables = [spec.table for spec in source_tables(source)]
        if len(tables) == 1:
            return f"{source} {self.rows(source):,} rows"
        counts = " / ".join(f"{table} {self.rows(source, table=table):,}" for table in tables)
        return f"{source} {counts} rows"


def parse_versions(versions: Sequence[str]) -> tuple[str, ...]:
    """Validate `yyyymmdd` version names (a month Jan 2019 - Dec 2025), sorted and unique."""
    out: set[str] = set()
    for v in versions:
        v = v.strip()
        if not is_version(v):
            raise ValueError(f"version {v!r}: expected a date as yyyymmdd, e.g. 20200801")
        if not OWN_FIRST_T <= _cutoff(v) < HORIZON_MONTHS:
            raise ValueError(f"version {v!r}: must fall between 20190101 and 20251231")
        out.add(v)
    if not out:
        raise ValueError("versions: give at least one version (yyyymmdd)")
    return tuple(sorted(out))


def _cutoff(version: str) -> int:
    """The month index of a version's month (its snapshot covers the months up to it)."""
    return month_index(date(int(version[:4]), int(version[4:6]), 1))


@dataclass
class _Container:
    """A container being written: its folder, versions (with their cutoff month indexes), seed,
    the model's monthly totals both feeds follow, and the data rows of each blob written."""

    root: Path
    versions: tuple[str, ...]
    seed: int
    cutoffs: list[int] = field(init=False)
    totals: np.ndarray = field(init=False)
    blob_rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cutoffs = [_cutoff(v) for v in self.versions]
        self.totals = own_totals(self.seed)

    def wrote(self, path: Path, rows: int) -> None:
        """Count a blob written under the root."""
        self.blob_rows[path.relative_to(self.root).as_posix()] = rows


def _csv_text(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buf.getvalue()


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _fmt(x: float) -> str:
    return "" if np.isnan(x) else repr(float(x))


def _write_spark_table(
    container: _Container,
    table_dir: Path,
    rows: list[list[str]],
    part_sizes: Sequence[int],
    job_uuid: uuid.UUID,
) -> None:
    """Write rows as Spark part files (0 rows = a zero-byte part) and the `_SUCCESS` marker."""
    assert sum(part_sizes) == len(rows)
    table_dir.mkdir(parents=True, exist_ok=True)
    start = 0
    for i, n in enumerate(part_sizes):
        path = table_dir / f"part-{i:05d}-{job_uuid}-c000.csv"
        chunk = rows[start : start + n]
        start += n
        _write(path, _csv_text(chunk))
        container.wrote(path, len(chunk))
    success = table_dir / "_SUCCESS"
    success.write_bytes(b"")
    container.wrote(success, 0)


def _spark_uuid(seed: int, version: str, table: str) -> uuid.UUID:
    rng = rng_for(seed, STREAM_UUID, int(version), sum(map(ord, table)))
    return uuid.UUID(bytes=rng.bytes(16), version=4)


def _generate_into(
    root: Path, scale: int, versions: tuple[str, ...], seed: int, series: int = DEFAULT_SERIES
) -> dict[str, int]:
    """Write every blob of the container under `root`; return the data rows per blob name."""
    container = _Container(root, versions, seed)
    _write_own_sales(container, scale)
    if series > DEFAULT_SERIES:
        _append_extra_products(container, series)
    _write_market_feed(container)
    return container.blob_rows


def _append_extra_products(container: _Container, series: int) -> None:
    """Append the extra products' lines (`extra.py`) to every version's ERP zone files."""
    lines = extra_lines(container.seed, extra_products(series), max(container.cutoffs))
    for version, cutoff in zip(container.versions, container.cutoffs, strict=True):
        for zi, zone in enumerate(ZONES):
            rel = (
                f"{TAMALES_INC_DIR}/{version}/csv/{zone.folder}/"
                f"ventas_mensuales_{zone.folder}_{version}.csv"
            )
            kept = [line for t, line in lines[zi] if t <= cutoff]
            path = container.root / rel
            with path.open("a", encoding="utf-8", newline="\n") as handle:
                handle.write("".join(line + "\n" for line in kept))
            container.wrote(path, container.blob_rows[rel] + len(kept))


def _write_own_sales(container: _Container, scale: int) -> None:
    """The ERP export: per version and zone, one file of the lines up to the version's month.

    Zone by zone (each zone's lines split and sorted on their own, written in pieces), so memory
    follows one zone's lines, not the container's.
    """
    seed, cutoffs = container.seed, container.cutoffs
    lines = base_lines(seed, container.totals)
    keep = lines.t <= cutoffs[-1]
    per_version = [s[keep] for s in restated_sales(seed, lines, cutoffs)]
    line_t, line_code, line_zone = lines.t[keep], lines.code[keep], lines.zone[keep]
    base_order = lines.order[keep]
    low_cal = lines.low_calorie[keep]
    prefix_id = ((line_t * len(OWN_PRODUCTS) + line_code) * len(ZONES) + line_zone) * 2 + low_cal
    line_t, prefix_id = line_t.astype(np.int16), prefix_id.astype(np.int32)  # small when repeated
    prefixes = pl.Series("prefix", _line_prefixes())
    if scale > 1:
        log.info("splitting %s lines x %d", f"{keep.sum():,}", scale)
    for zi, zone in enumerate(ZONES):
        rows = np.flatnonzero(line_zone == zi)
        values = [v[rows] for v in per_version]
        if scale > 1:
            values, order = split_lines(seed, values, scale, rows)
            zone_t, zone_prefix = np.repeat(line_t[rows], scale), np.repeat(prefix_id[rows], scale)
        else:
            order, zone_t, zone_prefix = base_order[rows], line_t[rows], prefix_id[rows]
        by_order = np.argsort(order, kind="stable")
        del order
        for vi, version in enumerate(container.versions):
            idx = by_order[zone_t[by_order] <= cutoffs[vi]]
            rel = (
                f"{TAMALES_INC_DIR}/{version}/csv/{zone.folder}/"
                f"ventas_mensuales_{zone.folder}_{version}.csv"
            )
            path = container.root / rel
            _write_sales_lines(path, prefixes, zone_prefix, values[vi], idx)
            container.wrote(path, len(idx))
            if scale > 1:
                log.info("wrote %s (%s lines)", rel, f"{len(idx):,}")


WRITE_LINES = 1_000_000  # ERP lines formatted and written at a time


def _write_sales_lines(
    path: Path, prefixes: pl.Series, prefix_id: np.ndarray, sales: np.ndarray, idx: np.ndarray
) -> None:
    """Write line `i` of `idx` as `<prefixes[prefix_id[i]]><repr(sales[i])>`, a piece at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        for start in range(0, len(idx), WRITE_LINES):
            piece = idx[start : start + WRITE_LINES]
            text = pl.Series("sales", list(map(repr, sales[piece].tolist())), dtype=pl.String)
            lines = prefixes.gather(prefix_id[piece]) + text
            pl.DataFrame({"line": lines}).write_csv(
                handle, include_header=False, quote_style="never", line_terminator="\n"
            )


def _line_prefixes() -> list[str]:
    """The text of an ERP line before its sales, one per (month, code, zone, calorie category)
    in that nesting order."""
    prefixes: list[str] = []
    for t in range(HORIZON_MONTHS):
        month = month_of(t)
        for product in OWN_PRODUCTS:
            for zone in ZONES:
                for category in ("Regular", "Low-Calorie"):
                    fields = [
                        str(month.year),
                        MONTHS[month.month - 1],
                        COUNTRY,
                        category,
                        product.flavor,
                        zone.name,
                        product.code,
                        product.product_name,
                    ]
                    prefixes.append(",".join(fields) + ",")
    return prefixes


def _write_market_feed(container: _Container) -> None:
    """The market feed: per version, a Spark star schema (fact table and two dimensions)."""
    seed, cutoffs = container.seed, container.cutoffs
    facts = market_facts(seed, container.totals)
    fact_sales = restated_facts(seed, facts, cutoffs)
    fact_by_order = np.argsort(facts.order, kind="stable")
    product_rows = [
        [str(p.id_product), p.calorie_category, p.product, p.product_brand, p.producer]
        for p in PRODUCTS
    ]
    region_rows = [[str(rid), country, name] for rid, country, name in REGIONS]
    for vi, version in enumerate(container.versions):
        base = container.root / TEINVENTO_DIR / version
        idx = fact_by_order[facts.t[fact_by_order] <= cutoffs[vi]]
        rows = [_fact_row(facts, fact_sales[vi], i) for i in idx.tolist()]
        tables = {
            "fact_table": (rows, fact_part_sizes(len(rows))),
            "product_dim": (_shuffled(product_rows, seed, version, 1), PRODUCT_DIM_PARTS),
            "region_dim": (_shuffled(region_rows, seed, version, 2), REGION_DIM_PARTS),
        }
        for table, (table_rows, sizes) in tables.items():
            job = _spark_uuid(seed, version, table)
            _write_spark_table(container, base / table, table_rows, sizes, job)


def _fact_row(facts: FactRows, sales: np.ndarray, i: int) -> list[str]:
    month = month_of(int(facts.t[i]))
    return [
        str(month.year),
        MONTHS[month.month - 1],
        _fmt(sales[i]),
        str(facts.id_region[i]),
        str(facts.id_product[i]),
    ]


def _shuffled(rows: list[list[str]], seed: int, version: str, salt: int) -> list[list[str]]:
    perm = rng_for(seed, STREAM_UUID, int(version), salt, 7).permutation(len(rows))
    return [rows[i] for i in perm]


def generate(
    out_dir: Path,
    scale: int = 1,
    versions: Sequence[str] = DEFAULT_VERSIONS,
    seed: int = DEFAULT_SEED,
    *,
    force: bool = False,
    series: int = DEFAULT_SERIES,
) -> SampleSummary:
    """Write a sample container under `out_dir` (built in a temp sibling, then renamed in place).

    `out_dir` may be missing or empty; a non-empty one is replaced only with `force=True`.
    `series` above the default's 31 adds ERP products, four zones each (`extra.py`).
    """
    started = time.perf_counter()
    if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= MAX_SCALE:
        raise ValueError(f"scale: expected an integer between 1 and {MAX_SCALE}, got {scale!r}")
    parsed = parse_versions(versions)
    extra_products(series)  # validates the count
    out_dir = Path(out_dir).resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir}: exists and is not a directory")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise FileExistsError(f"{out_dir}: exists and is not empty (use --force to replace it)")
    tmp = temp_path(out_dir)
    try:
        tmp.mkdir()
        blob_rows = _generate_into(tmp, scale, parsed, seed, series)
        _replace_dir(tmp, out_dir)
    except BaseException:
        remove_path(tmp)
        raise
    return SampleSummary(
        out_dir=out_dir,
        versions=parsed,
        scale=scale,
        seed=seed,
        blob_rows=dict(sorted(blob_rows.items())),
        seconds=time.perf_counter() - started,
    )


def _replace_dir(new: Path, target: Path) -> None:
    """Move `new` to `target`; an existing `target` is moved aside first and removed after."""
    if not target.exists():
        os.replace(new, target)
        return
    if not any(target.iterdir()):
        target.rmdir()
        os.replace(new, target)
        return
    old = temp_path(target)
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    remove_path(old)
