"""What an ingest run did: one report per table and one for the run, each with its summary line."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.discovery import TableKey

if TYPE_CHECKING:
    from ingest.manifest import TableRecord
    from tamales_inc.core.settings import Settings

LANDED, UNCHANGED = "landed", "unchanged"


@dataclass(frozen=True)
class TableReport:
    """The outcome for one table of one version (`status`: `landed` or `unchanged`)."""

    key: TableKey
    status: str
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    blobs: int
    bytes_downloaded: int
    seconds: float
    raw_path: Path
    quarantine_path: Path

    @classmethod
    def landed(cls, record: TableRecord, settings: Settings, seconds: float) -> TableReport:
        """A table this run landed (downloading every blob) in `seconds`."""
        downloaded = sum(blob.size for blob in record.blobs)
        return cls._of(record, settings, LANDED, downloaded, seconds)

    @classmethod
    def unchanged(cls, record: TableRecord, settings: Settings) -> TableReport:
        """A table a previous run landed from the same blobs: nothing downloaded."""
        return cls._of(record, settings, UNCHANGED, 0, 0.0)

    @classmethod
    def _of(
        cls, record: TableRecord, settings: Settings, status: str, downloaded: int, seconds: float
    ) -> TableReport:
        key = record.key
        return cls(
            key=key,
            status=status,
            rows_read=record.rows_read,
            rows_landed=record.rows_landed,
            rows_quarantined=record.rows_quarantined,
            blobs=len(record.blobs),
            bytes_downloaded=downloaded,
            seconds=seconds,
            raw_path=settings.raw_path(key.source, key.version, key.table),
            quarantine_path=settings.quarantine_path(key.source, key.version, key.table),
        )

    def summary(self) -> str:
        note = (
            f"landed from {self.blobs} blobs"
            if self.status == LANDED
            else "unchanged, nothing downloaded"
        )
        return (
            f"{self.key}: read {self.rows_read:,} / landed {self.rows_landed:,} / "
            f"quarantined {self.rows_quarantined:,} / {self.seconds:.2f} s ({note})"
        )


@dataclass
class IngestReport:
    """What a run did: one report per table, downloads, ignored blobs and the manifest path."""

    run_id: str
    source: str
    tables: list[TableReport] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    blobs_listed: int = 0
    blobs_downloaded: int = 0
    bytes_downloaded: int = 0
    seconds: float = 0.0
    manifest_path: Path | None = None

    @property
    def rows_read(self) -> int:
        return sum(t.rows_read for t in self.tables)

    @property
    def rows_landed(self) -> int:
        return sum(t.rows_landed for t in self.tables)

    @property
    def rows_quarantined(self) -> int:
        return sum(t.rows_quarantined for t in self.tables)

    @property
    def landed(self) -> list[TableReport]:
        return [t for t in self.tables if t.status == LANDED]

    @property
    def unchanged(self) -> list[TableReport]:
        return [t for t in self.tables if t.status == UNCHANGED]

    def summary(self) -> str:
        return (
            f"ingest: {len(self.tables)} tables ({len(self.landed)} landed, "
            f"{len(self.unchanged)} unchanged), read {self.rows_read:,} / landed "
            f"{self.rows_landed:,} / quarantined {self.rows_quarantined:,}, "
            f"{self.blobs_downloaded} blobs ({self.bytes_downloaded / 1e6:,.1f} MB) downloaded, "
            f"{self.seconds:.2f} s"
        )
