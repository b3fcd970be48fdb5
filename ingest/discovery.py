"""Group listed blobs into deliveries (one data version of one source) and the tables they feed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ingest.layout import DATA, MARKER, place

if TYPE_CHECKING:
    from ingest.source import BlobInfo

SUCCESS_MARKER = "Spark success marker"  # what `classify` says of a `_SUCCESS` blob


@dataclass(frozen=True, order=True)
class TableKey:
    """One landed table of one source and data version."""

    source: str
    version: str
    table: str

    def __str__(self) -> str:
        return f"{self.source}/{self.version}/{self.table}"

    @property
    def delivery(self) -> DeliveryKey:
        return DeliveryKey(self.source, self.version)


@dataclass(frozen=True, order=True)
class DeliveryKey:
    """One delivery: a data version of one source, accepted or rejected as a whole."""

    source: str
    version: str

    def __str__(self) -> str:
        return f"{self.source}/{self.version}"

    def table(self, name: str) -> TableKey:
        return TableKey(self.source, self.version, name)


@dataclass
class Delivery:
    """The blobs of one delivery: data files per table (sorted by name), the ERP files per zone
    folder, the tables with a Spark `_SUCCESS` marker, and the unexpected blobs with their rule."""

    key: DeliveryKey
    tables: dict[TableKey, list[BlobInfo]] = field(default_factory=dict)
    zones: dict[str, list[BlobInfo]] = field(default_factory=dict)
    markers: set[str] = field(default_factory=set)
    unexpected: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Discovery:
    """Every delivery found (sorted by source and version), plus the unexpected blobs that sit in
    no delivery (no `<yyyymmdd>` version folder)."""

    deliveries: dict[DeliveryKey, Delivery] = field(default_factory=dict)
    outside: list[tuple[str, str]] = field(default_factory=list)

    @property
    def tables(self) -> dict[TableKey, list[BlobInfo]]:
        """The data blobs of every table found, by table."""
        return {key: blobs for d in self.deliveries.values() for key, blobs in d.tables.items()}

    @property
    def unexpected(self) -> list[tuple[str, str]]:
        """Every unexpected blob with the rule it breaks, sorted by name."""
        inside = [item for d in self.deliveries.values() for item in d.unexpected]
        return sorted(inside + self.outside)


def classify(name: str) -> TableKey | str:
    """The table a data blob feeds, or why it feeds none: `SUCCESS_MARKER` for a Spark
    `_SUCCESS`, else the layout rule the blob breaks."""
    placed = place(name)
    if placed.kind == DATA and placed.version is not None and placed.table is not None:
        return TableKey(placed.source, placed.version, placed.table)
    return SUCCESS_MARKER if placed.kind == MARKER else placed.rule


def discover(blobs: Iterable[BlobInfo]) -> Discovery:
    """Place every listed blob in its delivery, table and zone (see `ingest.layout`)."""
    found = Discovery()
    for blob in sorted(blobs, key=lambda b: b.name):
        placed = place(blob.name)
        if placed.version is None:
            found.outside.append((blob.name, placed.rule))
            continue
        key = DeliveryKey(placed.source, placed.version)
        delivery = found.deliveries.setdefault(key, Delivery(key))
        if placed.kind == DATA and placed.table is not None:
            delivery.tables.setdefault(key.table(placed.table), []).append(blob)
            if placed.zone is not None:
                delivery.zones.setdefault(placed.zone, []).append(blob)
        elif placed.kind == MARKER and placed.table is not None:
            delivery.markers.add(placed.table)
        else:
            delivery.unexpected.append((blob.name, placed.rule))
    found.deliveries = dict(sorted(found.deliveries.items()))
    for delivery in found.deliveries.values():
        delivery.tables = dict(sorted(delivery.tables.items()))
    return found
