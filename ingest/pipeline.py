"""The ingest run: list, skip unchanged tables, land the rest atomically, record it all."""

from __future__ import annotations

import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import polars as pl
from polars.io.plugins import register_io_source

from ingest.contract import SOURCE_PREFIXES, TABLES
from ingest.discovery import TableKey, discover
from ingest.download import DEFAULT_WORKERS, Prefetcher
from ingest.errors import IngestError, redact
from ingest.landing import exclusive_lock, publish, remove_stale_temps, temp_path
from ingest.manifest import (
    BlobRecord,
    IngestState,
    TableRecord,
    run_manifest_path,
    write_json_atomic,
)
from ingest.parsing import empty_quarantine, parse_blob
from ingest.progress import Progress
from ingest.source import AzureSource, BlobInfo, Download, LocalSource, Source
from tamales_inc.core.settings import Settings

PAUSE_HOOK_ENV = "TAMALES_INGEST_PAUSE_AFTER_BLOBS"  # test hook: sleep after N parsed blobs

Echo = Callable[[str], None]


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

    def summary(self) -> str:
        note = (
            f"landed from {self.blobs} blobs"
            if self.status == "landed"
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
        return [t for t in self.tables if t.status == "landed"]

    @property
    def unchanged(self) -> list[TableReport]:
        return [t for t in self.tables if t.status == "unchanged"]

    def summary(self) -> str:
        return (
            f"ingest: {len(self.tables)} tables ({len(self.landed)} landed, "
            f"{len(self.unchanged)} unchanged), read {self.rows_read:,} / landed "
            f"{self.rows_landed:,} / quarantined {self.rows_quarantined:,}, "
            f"{self.blobs_downloaded} blobs ({self.bytes_downloaded / 1e6:,.1f} MB) downloaded, "
            f"{self.seconds:.2f} s"
        )


def open_source(settings: Settings, echo: Echo | None = None) -> Source:
    """The configured source: SAS URL, connection string + container, folder, or the sample."""
    if settings.blob_url:
        return AzureSource.from_url(settings.blob_url)
    if settings.connection_string or settings.container:
        if not (settings.connection_string and settings.container):
            missing = (
                "TAMALES_CONTAINER"
                if settings.connection_string
                else ("AZURE_STORAGE_CONNECTION_STRING")
            )
            raise IngestError(
                f"{missing} is not set; a connection-string source needs both "
                "AZURE_STORAGE_CONNECTION_STRING and TAMALES_CONTAINER"
            )
        return AzureSource.from_connection_string(settings.connection_string, settings.container)
    if settings.source_dir:
        return LocalSource(settings.source_dir)
    from ingest.sample.provision import ensure_sample_container

    if echo:
        echo(
            "ingest: no source configured; generating the sample container in "
            f"{settings.sample_container_dir}"
        )
    return LocalSource(ensure_sample_container(settings))


def _new_run_id() -> str:
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def _pause_after() -> int | None:
    value = os.environ.get(PAUSE_HOOK_ENV)
    return int(value) if value and value.isdigit() else None


def _is_unchanged(record: TableRecord | None, blobs: list[BlobInfo], settings: Settings) -> bool:
    if record is None or not record.matches(blobs):
        return False
    key = record.key
    return (
        settings.raw_path(key.source, key.version, key.table).is_file()
        and settings.quarantine_path(key.source, key.version, key.table).is_file()
    )


class _Landing:
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
        self.pause_after = _pause_after()

    def land(self, key: TableKey, blobs: list[BlobInfo]) -> tuple[TableReport, TableRecord]:
        """Write the table's raw and quarantine parquet (temp + rename) from its blobs."""
        started = time.perf_counter()
        spec = TABLES[(key.source, key.table)]
        raw = self.settings.raw_path(key.source, key.version, key.table)
        quarantine = self.settings.quarantine_path(key.source, key.version, key.table)
        raw_tmp, quarantine_tmp = temp_path(raw, self.run_id), temp_path(quarantine, self.run_id)
        records: list[BlobRecord] = []
        rejected: list[pl.DataFrame] = []

        def batches() -> Iterator[pl.DataFrame]:
            for blob in blobs:
                download = next(self.downloads)
                if download.blob.name != blob.name:
                    raise RuntimeError(
                        f"download order broken: {download.blob.name} != {blob.name}"
                    )
                parsed = parse_blob(
                    download.data,
                    spec,
                    blob_name=blob.name,
                    data_version=key.version,
                    ingested_at=self.ingested_at,
                )
                records.append(
                    BlobRecord(
                        name=blob.name,
                        etag=blob.etag,
                        size=blob.size,
                        checksum=f"md5:{download.md5}",
                        checksum_source="service" if blob.content_md5 else "computed",
                        rows_read=parsed.rows_read,
                        rows_landed=parsed.landed.height,
                        rows_quarantined=parsed.quarantined.height,
                    )
                )
                del download
                if parsed.quarantined.height:
                    rejected.append(parsed.quarantined)
                self.progress.advance(blob.size, parsed.rows_read)
                self._maybe_pause()
                if parsed.landed.height:
                    yield parsed.landed

        # Streamed by polars' sink (row order across blobs is not part of the contract: blob_name +
        # line_number identify a row). The sink writes its file asynchronously, so a failure
        # inside the source must not propagate through it (the file could appear after the
        # error): the source ends cleanly, the sink closes its file, and the error is re-raised.
        failures: list[BaseException] = []

        def guarded(
            with_columns: list[str] | None,
            predicate: pl.Expr | None,
            n_rows: int | None,
            batch_size: int | None,
        ) -> Iterator[pl.DataFrame]:
            try:
                yield from batches()
            except BaseException as exc:  # re-raised below, once the sink has finished
                failures.append(exc)

        try:
            register_io_source(guarded, schema=spec.landed_schema).sink_parquet(
                raw_tmp, maintain_order=False
            )
            if failures:
                raise failures[0]
            bad = pl.concat(rejected) if rejected else empty_quarantine()
            bad.write_parquet(quarantine_tmp)
            landed = sum(r.rows_landed for r in records)
            written = pl.scan_parquet(raw_tmp).select(pl.len()).collect().item()
            if written != landed or len(records) != len(blobs):
                raise IngestError(
                    f"{key}: wrote {written} rows, parsed {landed}; nothing published"
                )
        except BaseException:
            raw_tmp.unlink(missing_ok=True)
            quarantine_tmp.unlink(missing_ok=True)
            raise
        publish(raw_tmp, raw)
        publish(quarantine_tmp, quarantine)
        record = TableRecord(
            source=key.source,
            version=key.version,
            table=key.table,
            rows_read=sum(r.rows_read for r in records),
            rows_landed=landed,
            rows_quarantined=bad.height,
            raw_path=raw.relative_to(self.settings.home).as_posix(),
            quarantine_path=quarantine.relative_to(self.settings.home).as_posix(),
            landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            run_id=self.run_id,
            blobs=records,
        )
        report = TableReport(
            key=key,
            status="landed",
            rows_read=record.rows_read,
            rows_landed=record.rows_landed,
            rows_quarantined=record.rows_quarantined,
            blobs=len(blobs),
            bytes_downloaded=sum(b.size for b in blobs),
            seconds=time.perf_counter() - started,
            raw_path=raw,
            quarantine_path=quarantine,
        )
        return report, record

    def _maybe_pause(self) -> None:
        if self.pause_after is not None and self.progress.blobs == self.pause_after:
            print(
                f"ingest: pausing after {self.pause_after} blobs ({PAUSE_HOOK_ENV} test hook)",
                file=sys.stderr,
                flush=True,
            )
            time.sleep(3600)


def run_ingest(
    settings: Settings,
    *,
    workers: int = DEFAULT_WORKERS,
    echo: Echo | None = None,
    progress_stream: TextIO | None = None,
) -> IngestReport:
    """Land every table of every version found in the configured source; skip unchanged ones.

    `echo` receives one summary line per table and one for the run; `progress_stream` gets
    throttled progress lines. Raises `IngestError` (one clear line) on any failure; outputs that
    were already landed are never left half-written.
    """
    started = time.perf_counter()
    run_id = _new_run_id()
    started_at = datetime.now(UTC)
    ingested_at = started_at.replace(tzinfo=None)
    with exclusive_lock(settings.manifests_dir):
        remove_stale_temps(settings.raw_dir, settings.quarantine_dir, settings.manifests_dir)
        source = open_source(settings, echo)
        report = IngestReport(run_id=run_id, source=source.description)
        error: BaseException | None = None
        records: dict[TableKey, TableRecord] = {}
        try:
            _run(
                settings,
                source,
                report,
                records,
                run_id,
                ingested_at,
                workers,
                echo,
                progress_stream,
            )
        except BaseException as exc:
            error = exc
            raise
        finally:
            report.blobs_downloaded = source.downloads
            report.seconds = time.perf_counter() - started
            source.close()
            report.manifest_path = _write_run_manifest(settings, report, records, started_at, error)
    if echo:
        echo(report.summary())
    return report


def _run(
    settings: Settings,
    source: Source,
    report: IngestReport,
    records: dict[TableKey, TableRecord],
    run_id: str,
    ingested_at: datetime,
    workers: int,
    echo: Echo | None,
    progress_stream: TextIO | None,
) -> None:
    listed = [blob for prefix in SOURCE_PREFIXES for blob in source.list_blobs(prefix)]
    report.blobs_listed = len(listed)
    found = discover(listed)
    report.ignored = [(n, r) for n, r in found.ignored]
    if not found.tables:
        raise IngestError(
            f"no CSV blobs under {' or '.join(SOURCE_PREFIXES)} in {source.description} "
            f"({len(listed)} blobs listed): the container is empty or not laid out as "
            "<source>/<dataset>/<country>/<yyyymmdd>/...; nothing was landed or replaced"
        )
    unexpected = [(n, r) for n, r in found.ignored if r != "Spark success marker"]
    if echo and unexpected:
        name, reason = unexpected[0]
        echo(
            f"ingest: ignored {len(unexpected)} blobs outside the contract, e.g. {name} ({reason})"
        )
    state = IngestState(settings.manifests_dir)
    todo = {
        key: blobs
        for key, blobs in found.tables.items()
        if not _is_unchanged(state.get(key), blobs, settings)
    }
    found_keys = {str(t) for t in found.tables}
    report.missing = sorted(k for k in state.tables if k not in found_keys)
    if echo:
        for key in report.missing:
            echo(f"ingest: {key} is landed but no longer in the source; left as it is")
    queue = [blob for blobs in todo.values() for blob in blobs]
    progress = Progress(len(queue), sum(b.size for b in queue), stream=progress_stream)
    prefetcher = Prefetcher(source, queue, workers=workers)
    landing = _Landing(settings, run_id, ingested_at, iter(prefetcher), progress)
    try:
        for key, blobs in found.tables.items():
            if key in todo:
                table_report, record = landing.land(key, blobs)
                state.put(record)
            else:
                record = state.get(key)
                assert record is not None
                table_report = _unchanged_report(settings, record)
            records[key] = record
            report.tables.append(table_report)
            if echo:
                echo(table_report.summary())
    finally:
        report.bytes_downloaded = progress.bytes
        prefetcher.close()


def _unchanged_report(settings: Settings, record: TableRecord) -> TableReport:
    key = record.key
    return TableReport(
        key=key,
        status="unchanged",
        rows_read=record.rows_read,
        rows_landed=record.rows_landed,
        rows_quarantined=record.rows_quarantined,
        blobs=len(record.blobs),
        bytes_downloaded=0,
        seconds=0.0,
        raw_path=settings.raw_path(key.source, key.version, key.table),
        quarantine_path=settings.quarantine_path(key.source, key.version, key.table),
    )


def _write_run_manifest(
    settings: Settings,
    report: IngestReport,
    records: dict[TableKey, TableRecord],
    started_at: datetime,
    error: BaseException | None,
) -> Path:
    """One JSON per run: source (no secrets), per-table reconciliation and blob checksums."""
    tables = []
    for table in report.tables:
        record = records[table.key]
        tables.append(
            {
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
                "blobs": [asdict(b) for b in record.blobs],
            }
        )
    payload = {
        "run_id": report.run_id,
        "status": "failed" if error else "succeeded",
        "error": redact(str(error) or type(error).__name__) if error else None,
        "source": report.source,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(report.seconds, 3),
        "blobs_listed": report.blobs_listed,
        "blobs_downloaded": report.blobs_downloaded,
        "bytes_downloaded": report.bytes_downloaded,
        "rows_read": report.rows_read,
        "rows_landed": report.rows_landed,
        "rows_quarantined": report.rows_quarantined,
        "tables": tables,
        "missing_from_source": report.missing,
        "ignored_blobs": [{"name": n, "reason": r} for n, r in report.ignored],
    }
    path = run_manifest_path(settings.manifests_dir, report.run_id)
    write_json_atomic(path, payload)
    return path
