"""Land one table of one version: parse its blobs, write raw and quarantine parquet atomically."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from polars.io.plugins import register_io_source

from ingest.contract import TABLES, TableSpec
from ingest.discovery import TableKey
from ingest.errors import IngestError
from ingest.manifest import BlobRecord, TableRecord
from ingest.parsing import ParsedBlob, empty_quarantine, parse_blob
from ingest.progress import Progress
from ingest.report import TableReport
from ingest.source import BlobInfo, Download
from tamales_inc.core.files import atomic_output
from tamales_inc.core.settings import Settings


class Landing:
    """Lands the changed tables one by one from a single ordered stream of downloads."""

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        ingested_at: datetime,
        downloads: Iterator[Download],
        progress: Progress,
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.ingested_at = ingested_at
        self.downloads = downloads
        self.progress = progress

    def land(self, key: TableKey, blobs: list[BlobInfo]) -> tuple[TableReport, TableRecord]:
        """Write the table's raw and quarantine parquet (temp + rename) from its blobs."""
        started = time.perf_counter()
        spec = TABLES[(key.source, key.table)]
        raw = self.settings.raw_path(key.source, key.version, key.table)
        quarantine = self.settings.quarantine_path(key.source, key.version, key.table)
        records: list[BlobRecord] = []
        rejected: list[pl.DataFrame] = []
        with (
            atomic_output(raw, self.run_id) as raw_tmp,
            atomic_output(quarantine, self.run_id) as quarantine_tmp,
        ):
            _sink(self._landed_rows(key, spec, blobs, records, rejected), spec, raw_tmp)
            bad = pl.concat(rejected) if rejected else empty_quarantine()
            bad.write_parquet(quarantine_tmp)
            _check_written(key, raw_tmp, records, blobs)
        record = self._record(key, raw, quarantine, records)
        return TableReport.landed(record, self.settings, time.perf_counter() - started), record

    def _landed_rows(
        self,
        key: TableKey,
        spec: TableSpec,
        blobs: list[BlobInfo],
        records: list[BlobRecord],
        rejected: list[pl.DataFrame],
    ) -> Iterator[pl.DataFrame]:
        """Parse the table's blobs in order: yield their landed rows, collect the rest."""
        for blob in blobs:
            download = next(self.downloads)
            if download.blob.name != blob.name:
                raise RuntimeError(f"download order broken: {download.blob.name} != {blob.name}")
            parsed = parse_blob(
                download.data,
                spec,
                blob_name=blob.name,
                data_version=key.version,
                ingested_at=self.ingested_at,
            )
            records.append(_blob_record(download, parsed))
            del download
            if parsed.quarantined.height:
                rejected.append(parsed.quarantined)
            self.progress.advance(blob.size, parsed.rows_read)
            if parsed.landed.height:
                yield parsed.landed

    def _record(
        self, key: TableKey, raw: Path, quarantine: Path, blobs: list[BlobRecord]
    ) -> TableRecord:
        """The state record of a table just landed."""
        return TableRecord(
            source=key.source,
            version=key.version,
            table=key.table,
            rows_read=sum(b.rows_read for b in blobs),
            rows_landed=sum(b.rows_landed for b in blobs),
            rows_quarantined=sum(b.rows_quarantined for b in blobs),
            raw_path=raw.relative_to(self.settings.home).as_posix(),
            quarantine_path=quarantine.relative_to(self.settings.home).as_posix(),
            landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            run_id=self.run_id,
            blobs=blobs,
        )


def _blob_record(download: Download, parsed: ParsedBlob) -> BlobRecord:
    blob = download.blob
    return BlobRecord(
        name=blob.name,
        etag=blob.etag,
        size=blob.size,
        checksum=f"md5:{download.md5}",
        checksum_source="service" if blob.content_md5 else "computed",
        rows_read=parsed.rows_read,
        rows_landed=parsed.landed.height,
        rows_quarantined=parsed.quarantined.height,
    )


def _sink(frames: Iterator[pl.DataFrame], spec: TableSpec, path: Path) -> None:
    """Stream `frames` into one parquet file with polars' sink.

    Row order across blobs is not part of the contract (blob_name + line_number identify a row).
    The sink writes its file asynchronously, so a failure inside the source must not propagate
    through it (the file could appear after the error): the source ends cleanly, the sink closes
    its file, and the error is re-raised here.
    """
    failures: list[BaseException] = []

    def guarded(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        try:
            yield from frames
        except BaseException as exc:  # re-raised below, once the sink has finished
            failures.append(exc)

    register_io_source(guarded, schema=spec.landed_schema).sink_parquet(path, maintain_order=False)
    if failures:
        raise failures[0]


def _check_written(
    key: TableKey, raw_tmp: Path, records: list[BlobRecord], blobs: list[BlobInfo]
) -> None:
    """Fail unless every blob was parsed and the file holds every landed row."""
    landed = sum(r.rows_landed for r in records)
    written = pl.scan_parquet(raw_tmp).select(pl.len()).collect().item()
    if written != landed or len(records) != len(blobs):
        raise IngestError(f"{key}: wrote {written} rows, parsed {landed}; nothing published")
