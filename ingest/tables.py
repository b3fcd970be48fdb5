"""The landed tables by name: each source, its dataset folder and its tables, in contract order.

Polars-free and cheap to import, for the stages that need the list of tables but not their
columns (the transform's up-to-date check, `just status`, `just gc`); `ingest.contract` gives
each of these names its typed columns.
"""

from __future__ import annotations

from typing import NamedTuple


class TableName(NamedTuple):
    """Where a landed table's blobs come from: `<source>/<dataset>/...`, and its name."""

    source: str
    dataset: str
    table: str


TAMALES_DATASET = "ventas_mensuales_tamales_inc"
TEINVENTO_DATASET = "ventas_reportadas_mercado_tamales"

MONTHLY_SALES = TableName("tamales_inc", TAMALES_DATASET, "monthly_sales")
FACT_TABLE = TableName("teinvento_inc", TEINVENTO_DATASET, "fact_table")
PRODUCT_DIM = TableName("teinvento_inc", TEINVENTO_DATASET, "product_dim")
REGION_DIM = TableName("teinvento_inc", TEINVENTO_DATASET, "region_dim")

TABLE_NAMES: tuple[TableName, ...] = (MONTHLY_SALES, FACT_TABLE, PRODUCT_DIM, REGION_DIM)
LANDED_TABLES: tuple[tuple[str, str], ...] = tuple((t.source, t.table) for t in TABLE_NAMES)
"""(source, table) of every landed table, the keys of `ingest.contract.TABLES`."""
