"""Map blob names `<source>/<dataset>/<country>/<version>/...` to the landed tables they feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.contract import TABLES
from tamales_inc.core.versions import is_version

if TYPE_CHECKING:
    from ingest.source import BlobInfo

SOURCE_PREFIXES: tuple[str, ...] = ("tamales_inc/", "teinvento_inc/")
_DATASETS: dict[str, str] = {spec.source: spec.dataset for spec in TABLES.values()}
_TEINVENTO_TABLES: frozenset[str] = frozenset(
    table for source, table in TABLES if source == "teinvento_inc"
)


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
        return "Spark success marker"
    if basename.startswith(("_", ".")):
        return "hidden or metadata file"
    if not basename.lower().endswith(".csv"):
        return "not a .csv file"
    if source == "tamales_inc":
        return TableKey(source, version, "monthly_sales")
    if len(parts) != 6 or parts[4] not in _TEINVENTO_TABLES:
        return f"not in a table folder ({', '.join(sorted(_TEINVENTO_TABLES))})"
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
