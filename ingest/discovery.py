"""Map blob names `<source>/<dataset>/<country>/<version>/...` to the landed tables they feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.contract import SOURCES, source_tables
from tamales_inc.core.versions import is_version

if TYPE_CHECKING:
    from ingest.source import BlobInfo

SUCCESS_MARKER = "Spark success marker"
_DATASETS: dict[str, str] = {source: source_tables(source)[0].dataset for source in SOURCES}
_TABLES: dict[str, tuple[str, ...]] = {
    source: tuple(spec.table for spec in source_tables(source)) for source in SOURCES
}


@dataclass(frozen=True, order=True)
class TableKey:
    """One landed table of one source and data version."""

    source: str
    version: str
    table: str

    def __str__(self) -> str:
        return f"{self.source}/{self.version}/{self.table}"


@dataclass
class Discovery:
    """Blobs grouped by the table they feed (sorted by name), plus the blobs left out and why."""

    tables: dict[TableKey, list[BlobInfo]] = field(default_factory=dict)
    ignored: list[tuple[str, str]] = field(default_factory=list)


def classify(name: str) -> TableKey | str:
    """The table a blob feeds, or the reason it is not ingested."""
    parts = name.split("/")
    if len(parts) < 5:
        return "not under <source>/<dataset>/<country>/<version>/"
    source, dataset, _country, version = parts[:4]
    basename = parts[-1]
    if source not in _DATASETS:
        return f"unknown source {source!r}"
    if dataset != _DATASETS[source]:
        return f"unknown dataset {dataset!r} (expected {_DATASETS[source]!r})"
    if not is_version(version):
        return f"version folder {version!r} is not a yyyymmdd date"
    if basename == "_SUCCESS":
        return SUCCESS_MARKER
    if basename.startswith(("_", ".")):
        return "hidden or metadata file"
    if not basename.lower().endswith(".csv"):
        return "not a .csv file"
    tables = _TABLES[source]
    if len(tables) == 1:  # every CSV of the version feeds the source's one table
        return TableKey(source, version, tables[0])
    if len(parts) != 6 or parts[4] not in tables:
        return f"not in a table folder ({', '.join(sorted(tables))})"
    return TableKey(source, version, parts[4])


def discover(blobs: Iterable[BlobInfo]) -> Discovery:
    """Group listed blobs into tables; everything else goes to `ignored` with its reason."""
    found = Discovery()
    for blob in sorted(blobs, key=lambda b: b.name):
        key = classify(blob.name)
        if isinstance(key, TableKey):
            found.tables.setdefault(key, []).append(blob)
        else:
            found.ignored.append((blob.name, key))
    found.tables = dict(sorted(found.tables.items()))
    return found
