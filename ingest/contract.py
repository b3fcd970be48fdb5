"""The raw-data contract: data versions, landed tables, typed columns, lineage and quarantine.

Blobs are named `<source>/<dataset>/<country>/<yyyymmdd version>/...`. A source with one table
(the ERP export) feeds it every CSV under a version folder; a source with several (the Spark star
schema) keeps each table's part files in a folder named after the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from ingest import tables as names

MONTHS: tuple[str, ...] = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
YEAR_RANGE: tuple[int, int] = (1900, 2100)


LINEAGE_SCHEMA: dict[str, pl.DataType] = {
    "blob_name": pl.String(),
    "line_number": pl.Int64(),
    "data_version": pl.String(),
    "ingested_at": pl.Datetime("us"),
}
QUARANTINE_SCHEMA: dict[str, pl.DataType] = {
    "blob_name": pl.String(),
    "line_number": pl.Int64(),
    "raw_line": pl.String(),
    "reason": pl.String(),
    "data_version": pl.String(),
    "ingested_at": pl.Datetime("us"),
}


@dataclass(frozen=True)
class Column:
    """One CSV column: landed name and type; `required` columns may not be empty."""

    name: str
    dtype: pl.DataType
    required: bool = False


Predicate = Callable[[pl.Expr, pl.Expr], pl.Expr]


@dataclass(frozen=True)
class Rule:
    """A value rule of one column: `broken(text, value)` is True for a row that breaks it.

    `text` is the field as read and `value` that text cast to the column's type (the same column
    when the table was read typed); a null result does not fire. `message` is the quarantine
    reason, `{}` standing for the field's text. A `parse` rule catches text that does not parse,
    which a typed read has refused already.
    """

    column: Column
    broken: Predicate
    message: str
    parse: bool = False

    def reason(self, text: pl.Expr) -> pl.Expr:
        """The quarantine reason for a row that breaks the rule."""
        return pl.format(self.message, text) if "{}" in self.message else pl.lit(self.message)


def _empty(text: pl.Expr, value: pl.Expr) -> pl.Expr:
    return text.is_null()


def _unparsed(text: pl.Expr, value: pl.Expr) -> pl.Expr:
    return text.is_not_null() & value.is_null()


def _not_finite(text: pl.Expr, value: pl.Expr) -> pl.Expr:
    return value.is_nan() | value.is_infinite()


def _outside_years(text: pl.Expr, value: pl.Expr) -> pl.Expr:
    return ~value.is_between(*YEAR_RANGE)


def _not_a_month(text: pl.Expr, value: pl.Expr) -> pl.Expr:
    return ~text.is_in(MONTHS)


def column_rules(column: Column) -> list[Rule]:
    """The rules of one column, in the order a broken row's reason is chosen."""
    name = column.name
    rules: list[Rule] = []
    if column.required:
        rules.append(Rule(column, _empty, f"{name}: empty"))
    if column.dtype.is_integer():
        rules.append(Rule(column, _unparsed, f"{name}: not an integer: '{{}}'", parse=True))
    elif column.dtype.is_float():
        not_finite = f"{name}: not a finite number: '{{}}'"
        rules.append(Rule(column, _unparsed, not_finite, parse=True))
        rules.append(Rule(column, _not_finite, not_finite))
    if name == "year":
        low, high = YEAR_RANGE
        rules.append(Rule(column, _outside_years, f"year: outside {low}-{high}: '{{}}'"))
    elif name == "month":
        rules.append(Rule(column, _not_a_month, "month: not Jan..Dec: '{}'"))
    return rules


@dataclass(frozen=True)
class TableSpec:
    """A landed table: where its blobs come from and the columns of each CSV line, in order."""

    source: str
    dataset: str
    table: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def rules(self) -> list[Rule]:
        """Every value rule, column by column: the first one a row breaks gives its reason."""
        return [rule for column in self.columns for rule in column_rules(column)]

    @property
    def landed_schema(self) -> dict[str, pl.DataType]:
        """Contract columns in order, then the lineage columns."""
        return {column.name: column.dtype for column in self.columns} | LINEAGE_SCHEMA


def _col(name: str, dtype: pl.DataType, required: bool = False) -> Column:
    return Column(name, dtype, required)


_S, _I32, _I64, _F64 = pl.String(), pl.Int32(), pl.Int64(), pl.Float64()

MONTHLY_SALES = TableSpec(
    *names.MONTHLY_SALES,
    (
        _col("year", _I32, True),
        _col("month", _S, True),
        _col("country", _S),
        _col("calorie_category", _S),
        _col("flavor", _S),
        _col("zone", _S),
        _col("product_code", _S),
        _col("product_name", _S),
        _col("sales", _F64, True),
    ),
)


def _market_feed(name: names.TableName, *columns: Column) -> TableSpec:
    """A table of the market feed (a Spark star schema)."""
    return TableSpec(*name, columns)


FACT_TABLE = _market_feed(
    names.FACT_TABLE,
    _col("year", _I32, True),
    _col("month", _S, True),
    _col("sales", _F64),
    _col("id_region", _I64, True),
    _col("id_product", _I64, True),
)
PRODUCT_DIM = _market_feed(
    names.PRODUCT_DIM,
    _col("id_product", _I64, True),
    _col("calorie_category", _S),
    _col("product", _S),
    _col("product_brand", _S),
    _col("producer", _S),
)
REGION_DIM = _market_feed(
    names.REGION_DIM,
    _col("id_region", _I64, True),
    _col("country", _S),
    _col("region", _S),
)

TABLES: dict[tuple[str, str], TableSpec] = {
    (spec.source, spec.table): spec for spec in (MONTHLY_SALES, FACT_TABLE, PRODUCT_DIM, REGION_DIM)
}
SOURCES: tuple[str, ...] = tuple(dict.fromkeys(spec.source for spec in TABLES.values()))
"""The sources in contract order; every other list of them derives from `TABLES`."""
SOURCE_PREFIXES: tuple[str, ...] = tuple(f"{source}/" for source in SOURCES)
"""The blob name prefixes an ingest lists: one folder per source at the container's root."""


def source_tables(source: str) -> tuple[TableSpec, ...]:
    """The tables of one source, in contract order."""
    return tuple(spec for spec in TABLES.values() if spec.source == source)
