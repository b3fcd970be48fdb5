"""Processed exports: the published staging tables and marts written out as parquet, atomically."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb

from tamales_inc.core.errors import TamalesError
from tamales_inc.core.files import atomic_output
from tamales_inc.core.settings import Settings
from tamales_inc.warehouse.publish import require_published

# staging model -> (source, table name under processed/<source>/<version>/)
STAGING_EXPORTS: dict[str, tuple[str, str]] = {
    "stg_tamales_inc__monthly_sales": ("tamales_inc", "monthly_sales"),
    "stg_teinvento_inc__sales": ("teinvento_inc", "sales"),
    "stg_teinvento_inc__products": ("teinvento_inc", "products"),
    "stg_teinvento_inc__regions": ("teinvento_inc", "regions"),
}
WAREHOUSE_SOURCE = "warehouse"


class ExportError(TamalesError):
    """The published warehouse cannot be exported as it is."""


@dataclass(frozen=True)
class ExportedTable:
    """One parquet file written by the export."""

    relation: str
    path: Path
    rows: int


def _copy_to_parquet(con: duckdb.DuckDBPyConnection, relation: str, target: Path) -> int:
    """Write `relation` to `target` through a temp file; the number of rows written."""
    with atomic_output(target) as tmp:
        literal = str(tmp).replace("'", "''")
        # COPY answers with the number of rows it wrote
        (rows,) = con.execute(
            f"copy (select * from {relation}) to '{literal}' (format parquet)"
        ).fetchone()
    return rows


def export_processed(settings: Settings) -> list[ExportedTable]:
    """Write the published staging tables and marts to `processed/` as parquet.

    Staging tables go to `processed/<source>/<version>/<table>.parquet` (the version they hold);
    marts to `processed/warehouse/<build data_version>/<table>.parquet`. Each file is written to a
    temp name and renamed into place.
    """
    exported: list[ExportedTable] = []
    con = duckdb.connect(
        str(require_published(settings)),
        read_only=True,
        config={"memory_limit": settings.duckdb_memory_limit},  # bounded like the dbt build
    )
    con.execute("set preserve_insertion_order = false")  # lets COPY write in parallel
    try:
        for model, (source, table) in STAGING_EXPORTS.items():
            relation = f"staging.{model}"
            versions = [
                row[0]
                for row in con.execute(
                    f"select distinct data_version from {relation} order by 1"
                ).fetchall()
            ]
            if len(versions) != 1:
                raise ExportError(
                    f"{relation} holds data versions {versions}; expected exactly one"
                )
            target = settings.processed_path(source, versions[0], table)
            exported.append(
                ExportedTable(relation, target, _copy_to_parquet(con, relation, target))
            )
        (build_version,) = con.execute("select data_version from meta.build_info").fetchone()
        marts = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        for table in marts:
            relation = f"marts.{table}"
            target = settings.processed_path(WAREHOUSE_SOURCE, build_version, table)
            exported.append(
                ExportedTable(relation, target, _copy_to_parquet(con, relation, target))
            )
    finally:
        con.close()
    return exported
