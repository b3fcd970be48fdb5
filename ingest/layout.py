"""The declared blob layout of each source: which blobs a delivery holds, and where.

A delivery is one data version of one source: the blobs under
`<source>/<dataset>/<country>/<yyyymmdd>/`. The ERP export keeps one folder per zone under `csv/`,
each holding exactly one CSV file; the Spark market feed keeps one folder per table holding
`part-*.csv` files and the job's `_SUCCESS` marker. Any other blob is unexpected: `place` names
the rule it breaks, and it is never landed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from ingest.contract import FACT_TABLE, MONTHLY_SALES, PRODUCT_DIM, REGION_DIM, SOURCES, TableSpec
from tamales_inc.core.versions import is_version

COUNTRY = "mx"
ZONES_FOLDER = "csv"
SUCCESS_MARKER = "_SUCCESS"
PART_PATTERN = "part-*.csv"
DATA, MARKER, UNEXPECTED = "data", "marker", "unexpected"


@dataclass(frozen=True)
class SourceLayout:
    """Where one source's blobs live: a zone-file export (one table) or Spark table folders."""

    source: str
    dataset: str
    country: str
    zone_table: str | None = None
    spark_tables: tuple[str, ...] = ()

    @property
    def tables(self) -> tuple[str, ...]:
        """The tables every delivery of the source must hold, in contract order."""
        return (self.zone_table,) if self.zone_table else self.spark_tables

    @property
    def expected(self) -> str:
        """The blob names of a delivery, as a pattern for messages."""
        if self.zone_table:
            return f"{ZONES_FOLDER}/<zone>/<one file>.csv"
        return f"<{'|'.join(self.spark_tables)}>/{PART_PATTERN} and {SUCCESS_MARKER}"


def _zone_files(spec: TableSpec) -> SourceLayout:
    return SourceLayout(spec.source, spec.dataset, COUNTRY, zone_table=spec.table)


def _spark_tables(*specs: TableSpec) -> SourceLayout:
    return SourceLayout(
        specs[0].source, specs[0].dataset, COUNTRY, spark_tables=tuple(s.table for s in specs)
    )


LAYOUTS: dict[str, SourceLayout] = {
    layout.source: layout
    for layout in (
        _zone_files(MONTHLY_SALES),
        _spark_tables(FACT_TABLE, PRODUCT_DIM, REGION_DIM),
    )
}
if tuple(LAYOUTS) != SOURCES:  # every source of the contract has exactly one layout
    raise RuntimeError(f"layouts {tuple(LAYOUTS)} do not match the contract's sources {SOURCES}")


@dataclass(frozen=True)
class Placement:
    """Where a listed blob sits: a data file of a table (and zone), a Spark marker, or an
    unexpected blob with the rule it breaks. `version` is None for a blob outside any delivery."""

    name: str
    source: str
    version: str | None
    kind: str
    table: str | None = None
    zone: str | None = None
    rule: str = ""


def place(name: str) -> Placement:
    """Where blob `name` (listed under a source's prefix) belongs in the declared layout."""
    parts = name.split("/")
    source = parts[0]
    layout = LAYOUTS.get(source)
    if layout is None:
        return Placement(name, source, None, UNEXPECTED, rule=f"unknown source {source!r}")
    if len(parts) < 5 or not is_version(parts[3]):
        rule = "not under <source>/<dataset>/<country>/<version>/"
        if len(parts) >= 5:
            rule = f"version folder {parts[3]!r} is not a yyyymmdd date"
        return Placement(name, source, None, UNEXPECTED, rule=rule)
    dataset, country, version, rest = parts[1], parts[2], parts[3], parts[4:]

    def unexpected(rule: str) -> Placement:
        return Placement(name, source, version, UNEXPECTED, rule=rule)

    if dataset != layout.dataset:
        return unexpected(f"unknown dataset {dataset!r} (expected {layout.dataset!r})")
    if country != layout.country:
        return unexpected(f"country folder {country!r} is not {layout.country!r}")
    if any(not part or part.startswith(".") for part in rest):
        return unexpected("hidden or metadata file, or an empty folder name")
    if layout.zone_table:
        return _place_zone_file(name, source, version, layout.zone_table, rest) or unexpected(
            _zone_rule(rest)
        )
    return _place_spark_file(name, source, version, layout, rest) or unexpected(
        _spark_rule(layout, rest)
    )


def _place_zone_file(
    name: str, source: str, version: str, table: str, rest: list[str]
) -> Placement | None:
    """`csv/<zone>/<file>.csv`, the one layout of an ERP blob."""
    if len(rest) == 3 and rest[0] == ZONES_FOLDER and rest[2].lower().endswith(".csv"):
        return Placement(name, source, version, DATA, table=table, zone=rest[1])
    return None


def _zone_rule(rest: list[str]) -> str:
    expected = f"expected {ZONES_FOLDER}/<zone>/<one file>.csv"
    if len(rest) == 1:
        return f"a file beside the {ZONES_FOLDER} folder; {expected}"
    if rest[0] != ZONES_FOLDER:
        return f"folder {rest[0]!r} is not {ZONES_FOLDER!r}; {expected}"
    if len(rest) == 2:
        return f"a file next to the zone folders; {expected}"
    if len(rest) > 3:
        return f"a folder inside zone folder {rest[1]!r}; a zone folder holds one .csv file"
    return f"not a .csv file; {expected}"


def _place_spark_file(
    name: str, source: str, version: str, layout: SourceLayout, rest: list[str]
) -> Placement | None:
    """`<table>/part-*.csv` or `<table>/_SUCCESS`, the layout of a Spark blob."""
    if len(rest) != 2 or rest[0] not in layout.spark_tables:
        return None
    if rest[1] == SUCCESS_MARKER:
        return Placement(name, source, version, MARKER, table=rest[0])
    if fnmatchcase(rest[1].lower(), PART_PATTERN):
        return Placement(name, source, version, DATA, table=rest[0])
    return None


def _spark_rule(layout: SourceLayout, rest: list[str]) -> str:
    if len(rest) != 2 or rest[0] not in layout.spark_tables:
        return f"not in a table folder ({', '.join(layout.spark_tables)})"
    return f"not a {PART_PATTERN} file or {SUCCESS_MARKER}"
