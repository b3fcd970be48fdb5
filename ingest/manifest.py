"""Ingest state (what is landed, from which blobs) and the per-run JSON manifests; never secrets."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ingest.discovery import TableKey
from ingest.landing import publish, temp_path
from ingest.source import BlobInfo

STATE_FILE = "ingest_state.json"
RUNS_DIR = "runs"
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


def write_json_atomic(path: Path, payload: object) -> None:
    """Write JSON to a temp file beside `path`, then rename it into place."""
    tmp = temp_path(path, str(os.getpid()))
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    publish(tmp, path)


class IngestState:
    """The landed tables recorded under `manifests/ingest_state.json` (updated per table)."""

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
                from ingest.errors import IngestError

                raise IngestError(
                    f"ingest state {self.path} is unreadable ({exc}); delete it to land every "
                    "table again"
                ) from None

    def get(self, key: TableKey) -> TableRecord | None:
        """The record of a landed table, if any."""
        return self.tables.get(str(key))

    def put(self, record: TableRecord) -> None:
        """Record a landed table and save the state atomically."""
        self.tables[str(record.key)] = record
        self.save()

    def save(self) -> None:
        payload = {
            "format": STATE_FORMAT,
            "tables": {key: asdict(self.tables[key]) for key in sorted(self.tables)},
        }
        write_json_atomic(self.path, payload)


def run_manifest_path(manifests_dir: Path, run_id: str) -> Path:
    """Where a run's manifest goes."""
    return manifests_dir / RUNS_DIR / f"{run_id}.json"
