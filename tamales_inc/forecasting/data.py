"""The feature mart as training reads it: `marts.sales_features` from the published warehouse."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.publish import require_published

MART_TABLE = "marts.sales_features"
BUILD_INFO_TABLE = "meta.build_info"

SERIES_KEYS: tuple[str, ...] = ("source", "product_id", "zone_id")

# The mart's lags and rolling statistics of a series' sales, all in sales units.
HISTORY_COLUMNS: tuple[str, ...] = (
    "sales_lag_1",
    "sales_lag_2",
    "sales_lag_3",
    "sales_lag_6",
    "sales_lag_12",
    "rolling_mean_3",
    "rolling_mean_6",
    "rolling_mean_12",
    "rolling_std_3",
    "rolling_std_6",
    "rolling_std_12",
)

# Columns of `marts.sales_features` the forecasters rely on (docs/contracts.md section 3).
REQUIRED_COLUMNS: tuple[str, ...] = (
    "series_id",
    *SERIES_KEYS,
    "sales_month",
    "calorie_category",
    "is_own_brand",
    "data_version",
    "sales",
    "target_sales_next_month",
    *HISTORY_COLUMNS,
    "month_of_year",
    "yoy_change",
    "yoy_pct_change",
    "other_source_sales",
    "market_category_sales",
    "own_share_of_market",
    "month_weight",
    "source_yoy_ratio",
    "n_sales_lines",
    "n_return_lines",
    "months_of_history",
)


@dataclass(frozen=True)
class FeatureSnapshot:
    """The feature mart as read from one published warehouse file."""

    features: pl.DataFrame
    data_version: str
    warehouse_sha256: str
    warehouse_path: Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_columns(features: pl.DataFrame, needed: tuple[str, ...] = REQUIRED_COLUMNS) -> None:
    """Raise a one-line ValueError naming the feature columns that are missing."""
    missing = [name for name in needed if name not in features.columns]
    if missing:
        raise ValueError(f"sales_features frame lacks column(s): {', '.join(missing)}")


def read_features(settings: Settings) -> FeatureSnapshot:
    """Read `marts.sales_features` from the published warehouse (read-only) with its lineage:
    the file's sha256 and the data version it was built from."""
    path = require_published(settings)
    sha = file_sha256(path)
    features, version = _read_mart(path)
    check_columns(features)
    if features.is_empty():
        raise ValueError(f"{path}: {MART_TABLE} is empty, nothing to train on")
    features = prepare(features)
    if version is None:
        version = str(features["data_version"].max())
    return FeatureSnapshot(features, str(version), sha, path)


def _read_mart(path: Path) -> tuple[pl.DataFrame, str | None]:
    """The mart's rows in series and month order, and `meta.build_info`'s data version if any."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = {
            row[0]
            for row in con.execute(
                "select table_schema || '.' || table_name from information_schema.tables"
            ).fetchall()
        }
        if MART_TABLE not in tables:
            raise ValueError(f"{path} has no table {MART_TABLE}: rerun `just transform`")
        features = con.execute(f"select * from {MART_TABLE} order by series_id, sales_month").pl()
        version = None
        if BUILD_INFO_TABLE in tables:
            row = con.execute(f"select max(data_version) from {BUILD_INFO_TABLE}").fetchone()
            version = row[0] if row else None
    finally:
        con.close()
    return features, version


def prepare(features: pl.DataFrame) -> pl.DataFrame:
    """Normalise dtypes (month as Date, sales as Float64) and sort by series and month."""
    check_columns(features, ("series_id", *SERIES_KEYS, "sales_month"))
    return features.with_columns(
        pl.col("sales_month").cast(pl.Date),
        *(
            pl.col(name).cast(pl.Float64)
            for name in ("sales", "target_sales_next_month")
            if name in features.columns
        ),
    ).sort("series_id", "sales_month")
