"""Stage one table of one version: parse its blobs into raw and quarantine parquet temp files.

Nothing here replaces a landed file: a staged table is published (renamed into place) or
discarded by its delivery, once every table of the delivery is staged and checked.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from polars.io.plugins import register_io_source

from ingest.cancel import CancelToken
from ingest.contract import TABLES, TableSpec
from ingest.discovery import TableKey
from ingest.errors import IngestError
from ingest.manifest import BlobRecord, TableRecord
from ingest.parsing import BlobParser, empty_quarantine
from ingest.progress import Progress
from ingest.source import BlobInfo, Download
from tamales_inc.core.files import remove_path, temp_path
from tamales_inc.core.settings import Settings

SALES = "sales"  # the measure whose total a delivery's tables are compared on
# lz4 writes the landed tables about a third faster than polars' default zstd, for files about
# 10% larger; DuckDB reads either.
COMPRESSION = "lz4"


@dataclass
class StagedTable:
    """A table parsed into temp files beside its landed paths, with its state record."""

    key: TableKey
    raw: Path
    quarantine: Path
    raw_tmp: Path
    quarantine_tmp: Path
    record: TableRecord
    seconds: float
    first_rejects: dict[str, str] = field(default_factory=dict)

    def publish(self) -> None:
        """Rename the temp files onto the landed paths."""
        os.replace(self.raw_tmp, self.raw)
        os.replace(self.quarantine_tmp, self.quarantine)

    def discard(self) -> None:
        """Delete the temp files (and the version folders they made, if left empty)."""
        for tmp in (self.raw_tmp, self.quarantine_tmp):
            remove_path(tmp)
            _remove_if_empty(tmp.parent)


class Landing:
    """Stages the changed tables one by one from a single ordered stream of downloads."""

    def __init__(
        self,
        settings: Settings,
        run_id: str,
        ingested_at: datetime,
        downloads: Iterator[Download],
        progress: Progress,
        cancel: CancelToken,
    ) -> None:
        self.settings = settings
        self.run_id = run_id
        self.ingested_at = ingested_at
        self.downloads = downloads
        self.progress = progress
        self.cancel = cancel

    def stage(self, key: TableKey, blobs: list[BlobInfo]) -> StagedTable:
        """Write the table's raw and quarantine parquet to temp files from its blobs."""
        started = time.perf_counter()
        spec = TABLES[(key.source, key.table)]
        raw = self.settings.raw_path(key.source, key.version, key.table)
        quarantine = self.settings.quarantine_path(key.source, key.version, key.table)
        raw_tmp, quarantine_tmp = temp_path(raw, self.run_id), temp_path(quarantine, self.run_id)
        records: list[BlobRecord] = []
        rejected: list[pl.DataFrame] = []
        totals: list[float] = []
        try:
            rows = self._landed_rows(key, spec, blobs, records, rejected, totals)
            _sink(rows, spec, raw_tmp)
            bad = pl.concat(rejected) if rejected else empty_quarantine()
            bad.write_parquet(quarantine_tmp)
            _check_written(key, raw_tmp, records, blobs)
        except BaseException:
            for tmp in (raw_tmp, quarantine_tmp):
                remove_path(tmp)
                _remove_if_empty(tmp.parent)
            raise
        sales_total = math.fsum(totals) if SALES in spec.names else None
        record = self._record(key, raw, quarantine, records, sales_total)
        first_rejects = {
            frame["blob_name"][0]: f"line {frame['line_number'][0]}: {frame['reason'][0]}"
            for frame in rejected
        }
        seconds = time.perf_counter() - started
        return StagedTable(
            key, raw, quarantine, raw_tmp, quarantine_tmp, record, seconds, first_rejects
        )

    def _landed_rows(
        self,
        key: TableKey,
        spec: TableSpec,
        blobs: list[BlobInfo],
        records: list[BlobRecord],
        rejected: list[pl.DataFrame],
        totals: list[float],
    ) -> Iterator[pl.DataFrame]:
        """Parse the table's blobs in order: yield their landed rows, collect the rest."""
        has_sales = SALES in spec.names
        for blob in blobs:
            self.cancel.check()
            download = next(self.downloads)
            if download.blob.name != blob.name:
                raise RuntimeError(f"download order broken: {download.blob.name} != {blob.name}")
            parser = BlobParser(
                download.content,
                spec,
                blob_name=blob.name,
                data_version=key.version,
                ingested_at=self.ingested_at,
                lines=download.lines,
            )
            yield from parser.batches()
            download.check_unchanged()
            records.append(_blob_record(download, parser))
            del download
            if parser.quarantined.height:
                rejected.append(parser.quarantined)
            if has_sales and parser.rows_landed:
                totals.append(parser.sales_total)
            self.progress.advance(blob.size, parser.rows_read)

    def _record(
        self,
        key: TableKey,
        raw: Path,
        quarantine: Path,
        blobs: list[BlobRecord],
        sales_total: float | None,
    ) -> TableRecord:
        """The state record of a table just staged."""
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
            sales_total=sales_total,
        )


def _remove_if_empty(folder: Path) -> None:
    """Remove a version folder that holds nothing (made for temps that are gone)."""
    try:
        folder.rmdir()
    except OSError:
        pass


def remove_empty_folders(*roots: Path) -> None:
    """Remove the empty `<source>/<version>` and `<source>` folders under `roots` (made for
    temps now gone)."""
    for root in roots:
        for folder in [*sorted(root.glob("*/*")), *sorted(root.glob("*"))]:
            if folder.is_dir():
                _remove_if_empty(folder)


def _blob_record(download: Download, parsed: BlobParser) -> BlobRecord:
    blob = download.blob
    return BlobRecord(
        name=blob.name,
        etag=blob.etag,
        size=blob.size,
        checksum=f"md5:{download.md5}",
        checksum_source="service" if blob.content_md5 else "computed",
        rows_read=parsed.rows_read,
        rows_landed=parsed.rows_landed,
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

    register_io_source(guarded, schema=spec.landed_schema).sink_parquet(
        path, compression=COMPRESSION, maintain_order=False
    )
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
