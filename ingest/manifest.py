"""Ingest state (what is landed, from which blobs) and the per-run JSON manifests; never secrets."""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.discovery import TableKey
from ingest.errors import IngestError, redact
from ingest.report import DeliveryReport, IngestReport, TableReport
from ingest.source import BlobInfo
from tamales_inc.core.files import write_json_atomic
from tamales_inc.core.settings import INGEST_RUNS_DIR as RUNS_DIR
from tamales_inc.core.settings import INGEST_STATE_FILE as STATE_FILE

STATE_FORMAT = 1


@dataclass(frozen=True)
class BlobRecord:
    """One ingested blob: identity (name, etag, size), checksum and its row counts."""

    name: str
    etag: str
    size: int
    checksum: str
    checksum_source: str
    rows_read: int
    rows_landed: int
    rows_quarantined: int


@dataclass(frozen=True)
class TableRecord:
    """One landed table of one version: its blobs, row reconciliation and output files."""

    source: str
    version: str
    table: str
    rows_read: int
    rows_landed: int
    rows_quarantined: int
    raw_path: str
    quarantine_path: str
    landed_at: str
    run_id: str
    blobs: list[BlobRecord] = field(default_factory=list)
    sales_total: float | None = None
    accepted_override: bool = False

    @property
    def key(self) -> TableKey:
        return TableKey(self.source, self.version, self.table)

    def matches(self, blobs: list[BlobInfo]) -> bool:
        """True when `blobs` are exactly the blobs this table was landed from (name, etag, size)."""
        landed = sorted((b.name, b.etag, b.size) for b in self.blobs)
        return landed == sorted((b.name, b.etag, b.size) for b in blobs)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableRecord:
        blobs = [BlobRecord(**blob) for blob in data.get("blobs", [])]
        return cls(**{**data, "blobs": blobs})


class IngestState:
    """The landed tables recorded under `manifests/ingest_state.json` (updated per delivery)."""

    def __init__(self, manifests_dir: Path) -> None:
        self.path = manifests_dir / STATE_FILE
        self.tables: dict[str, TableRecord] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.tables = {
                    key: TableRecord.from_dict(value) for key, value in data["tables"].items()
                }
            except (ValueError, KeyError, TypeError) as exc:
                raise IngestError(
                    f"ingest state {self.path} is unreadable ({exc}); delete it to land every "
                    "table again"
                ) from None

    def get(self, key: TableKey) -> TableRecord | None:
        """The record of a landed table, if any."""
        return self.tables.get(str(key))

    def put(self, *records: TableRecord) -> None:
        """Record the landed tables of a delivery and save the state atomically, once."""
        for record in records:
            self.tables[str(record.key)] = record
        self.save()

    def landed_versions(self, source: str) -> list[str]:
        """The versions of `source` with at least one landed table, oldest first."""
        return sorted(
            {record.version for record in self.tables.values() if record.source == source}
        )

    def version_tables(self, source: str, version: str) -> dict[str, TableRecord]:
        """The landed tables of one delivery, by table name."""
        return {
            record.table: record
            for record in self.tables.values()
            if (record.source, record.version) == (source, version)
        }

    def save(self) -> None:
        payload = {
            "format": STATE_FORMAT,
            "tables": {key: asdict(self.tables[key]) for key in sorted(self.tables)},
        }
        write_json_atomic(self.path, payload)


def new_run_id(started_at: datetime) -> str:
    """A run's id: its UTC start time and a random suffix (`20240101T120000Z-a1b2c3`)."""
    return f"{started_at:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def run_manifest_path(manifests_dir: Path, run_id: str) -> Path:
    """Where a run's manifest goes."""
    return manifests_dir / RUNS_DIR / f"{run_id}.json"


def write_run_manifest(
    manifests_dir: Path,
    report: IngestReport,
    records: dict[TableKey, TableRecord],
    started_at: datetime,
    error: BaseException | None,
) -> Path:
    """One JSON per run, failed and interrupted runs too: source (no secrets), each delivery's
    outcome and broken rules, per-table reconciliation and blob checksums, unexpected blobs."""
    payload = {
        "run_id": report.run_id,
        "status": _status(error),
        "error": redact(str(error) or type(error).__name__) if error else None,
        "source": report.source,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 3),
        "accept": list(report.accept),
        "blobs_listed": report.blobs_listed,
        "blobs_downloaded": report.blobs_downloaded,
        "bytes_downloaded": report.bytes_downloaded,
        "rows_read": report.rows_read,
        "rows_landed": report.rows_landed,
        "rows_quarantined": report.rows_quarantined,
        "deliveries": [_delivery_entry(delivery) for delivery in report.deliveries],
        "tables": [_table_entry(table, records[table.key]) for table in report.tables],
        "missing_from_source": report.missing,
        "unexpected_blobs": [{"name": n, "rule": r} for n, r in report.unexpected],
    }
    path = run_manifest_path(manifests_dir, report.run_id)
    write_json_atomic(path, payload)
    return path


def _status(error: BaseException | None) -> str:
    if error is None:
        return "succeeded"
    return "interrupted" if isinstance(error, KeyboardInterrupt) else "failed"


def _delivery_entry(delivery: DeliveryReport) -> dict[str, Any]:
    """A delivery's part of the run manifest: its outcome and every rule it broke."""
    return {
        "key": str(delivery.key),
        "source": delivery.key.source,
        "version": delivery.key.version,
        "status": delivery.status,
        "accepted_override": delivery.accepted,
        "previous_landing_kept": delivery.kept,
        "violations": [
            {"subject": v.subject, "rule": v.rule, "waivable": v.waivable}
            for v in delivery.violations
        ],
    }


def _table_entry(table: TableReport, record: TableRecord) -> dict[str, Any]:
    """A table's part of the run manifest: what this run did and where the landed files are."""
    return {
        "key": str(table.key),
        "source": table.key.source,
        "version": table.key.version,
        "table": table.key.table,
        "status": table.status,
        "rows_read": table.rows_read,
        "rows_landed": table.rows_landed,
        "rows_quarantined": table.rows_quarantined,
        "reconciled": table.rows_read == table.rows_landed + table.rows_quarantined,
        "seconds": round(table.seconds, 3),
        "raw_path": record.raw_path,
        "quarantine_path": record.quarantine_path,
        "landed_by_run": record.run_id,
        "sales_total": record.sales_total,
        "accepted_override": record.accepted_override,
        "blobs": [asdict(b) for b in record.blobs],
    }
